// The complaint queue: open complaints by the time their service level falls due, soonest
// first, filtered by status, category, distributor and breach; it reloads itself when the
// server announces a change (Socket.IO) and marks the rows that changed. Resolved and closed
// complaints have no clock running, so those two filters list them newest first instead.
import { h } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { api } from "../api.js";
import { connectLive } from "../live.js";
import { CATEGORY, STATUS, dateTime, dueIn } from "../format.js";

const html = htm.bind(h);
const PAGE_SIZE = 20;
const OPEN = ["new", "acknowledged", "assigned", "responded", "reopened"];
const SETTLED = ["resolved", "closed"];

function filtersFromHash() {
  const query = new URLSearchParams(window.location.hash.split("?")[1] || "");
  return {
    status: query.get("status") || "",
    category: query.get("category") || "",
    distributor_id: query.get("distributor_id") || "",
    breached: query.get("breached") || "",
  };
}

function keepInHash(filters) {
  const query = new URLSearchParams();
  Object.entries(filters).forEach(([key, value]) => value && query.set(key, value));
  const text = query.toString();
  history.replaceState(null, "", `#/complaints${text ? `?${text}` : ""}`);
}

export function QueuePage({ isBrand }) {
  const [filters, setFilters] = useState(filtersFromHash());
  const [items, setItems] = useState([]);
  const [next, setNext] = useState(null);
  const [state, setState] = useState("loading"); // loading | ready | error
  const [error, setError] = useState("");
  const [live, setLive] = useState("offline");
  const [changed, setChanged] = useState(new Set());
  const [distributors, setDistributors] = useState([]);
  const [, tick] = useState(0);
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  async function load(append = false, cursor = null) {
    if (!append) setState("loading");
    try {
      const settled = SETTLED.includes(filtersRef.current.status);
      const page = await api("/complaints", {
        query: {
          sort: settled ? "newest" : "due",
          limit: PAGE_SIZE,
          ...filtersRef.current,
          ...(cursor || {}),
        },
      });
      setItems((shown) => (append ? [...shown, ...page.items] : page.items));
      // The due-time view pages with a cursor object; newest first, with the last id shown.
      setNext(settled ? (page.next_before ? { before: page.next_before } : null) : page.next);
      setState("ready");
    } catch (failure) {
      setError(failure.message);
      setState("error");
    }
  }

  useEffect(() => {
    keepInHash(filters);
    load();
  }, [filters]);

  useEffect(() => {
    if (isBrand) api("/distributors").then((page) => setDistributors(page.items), () => setDistributors([]));
    const stop = connectLive({
      onStatus: setLive,
      onComplaintChanged: (event) => {
        setChanged((ids) => new Set(ids).add(event.id));
        load();
      },
    });
    const clock = setInterval(() => tick((n) => n + 1), 30000); // keep "还剩…" current
    return () => {
      stop();
      clearInterval(clock);
    };
  }, []);

  const choose = (name) => (event) => {
    const value = event.target.type === "checkbox" ? (event.target.checked ? "true" : "") : event.target.value;
    setFilters({ ...filters, [name]: value });
  };

  return html`
    <section>
      <div class="page-head">
        <h2>投诉队列</h2>
        <span class=${`live ${live}`} data-testid="live-status">${live === "online" ? "● 实时更新中" : "○ 实时连接断开，正在重连"}</span>
      </div>
      <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label="筛选">
        <label>状态
          <select name="status" value=${filters.status} onChange=${choose("status")}>
            <option value="">全部未结</option>
            <optgroup label="未结">
              ${OPEN.map((s) => html`<option value=${s}>${STATUS[s]}</option>`)}
            </optgroup>
            <optgroup label="已结">
              ${SETTLED.map((s) => html`<option value=${s}>${STATUS[s]}</option>`)}
            </optgroup>
          </select>
        </label>
        <label>分类
          <select name="category" value=${filters.category} onChange=${choose("category")}>
            <option value="">全部分类</option>
            ${Object.entries(CATEGORY).map(([k, v]) => html`<option value=${k}>${v}</option>`)}
          </select>
        </label>
        ${isBrand && html`
          <label>经销商
            <select name="distributor_id" value=${filters.distributor_id} onChange=${choose("distributor_id")}>
              <option value="">全部经销商</option>
              ${distributors.map((d) => html`<option value=${d.id}>${d.name}</option>`)}
            </select>
          </label>`}
        <label class="check">
          <input type="checkbox" name="breached" checked=${filters.breached === "true"} onChange=${choose("breached")} />只看已超时
        </label>
      </form>
      ${state === "error" && html`
        <div class="error-box" role="alert">${error} <button onClick=${() => load()}>重试</button></div>`}
      ${state === "loading" && items.length === 0 && html`<p class="muted">正在加载…</p>`}
      ${state === "ready" && items.length === 0 && html`<p class="empty">${SETTLED.includes(filters.status) ? "没有符合条件的投诉" : "没有符合条件的未结投诉 🎉"}</p>`}
      ${items.length > 0 && html`
        <table class="queue">
          <thead><tr>
            <th>编号</th><th>门店</th><th>分类</th><th>状态</th><th>经销商</th><th>提交时间</th><th>时限</th>
          </tr></thead>
          <tbody>
            ${items.map((c) => {
              const due = dueIn(c.sla.due_at);
              const breached = c.sla.breached_first_response || c.sla.breached_resolution;
              return html`
                <tr class=${changed.has(c.id) ? "changed" : ""} data-complaint=${c.id}
                    onClick=${() => (window.location.hash = `#/complaints/${c.id}`)}>
                  <td><a href=${`#/complaints/${c.id}`}>#${c.id}</a></td>
                  <td>${c.store_name}</td>
                  <td>${CATEGORY[c.category]}</td>
                  <td><span class=${`badge ${c.status}`}>${STATUS[c.status]}</span>
                    ${c.content_check.needs_review && html` <span class="badge warn">待审核</span>`}</td>
                  <td>${c.distributor_name || "—"}</td>
                  <td>${dateTime(c.created_at)}</td>
                  <td class=${due.late || breached ? "late" : ""}>${due.text}${breached ? " · 已升级" : ""}</td>
                </tr>`;
            })}
          </tbody>
        </table>`}
      ${next && html`<button class="more" onClick=${() => load(true, next)}>加载更多</button>`}
    </section>`;
}
