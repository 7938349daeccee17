// Livestream for hosts (distributor and brand staff): the sessions list, and a control panel
// for one session over the /live realtime namespace: start and end it, push a product card,
// start a red-packet rain, drop coupons, run a draw, watch the counters; then its report.
import { h } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { io } from "socket.io-client";
import { api, session as stored } from "../api.js";
import { dateTime } from "../format.js";

const html = htm.bind(h);
const SESSION_STATUS = { scheduled: "未开始", live: "直播中", ended: "已结束" };
const yuan = (fen) => `¥${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;

export function LiveListPage() {
  const [sessions, setSessions] = useState(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api("/live/sessions", { query: { include_ended: true, limit: 50 } }).then(
      (page) => setSessions(page.items),
      (failure) => setError(failure.message),
    );
  }, []);
  if (error) return html`<div class="error-box" role="alert">${error}</div>`;
  if (!sessions) return html`<p class="muted">正在加载…</p>`;
  return html`
    <section>
      <div class="page-head"><h2>直播订货会</h2></div>
      ${sessions.length === 0
        ? html`<p class="empty">还没有直播。通过 API 创建直播后，这里可以开播和控场。</p>`
        : html`
          <table>
            <thead><tr><th>直播</th><th>开始时间</th><th>状态</th><th>受邀门店</th><th></th></tr></thead>
            <tbody>
              ${sessions.map((s) => html`
                <tr data-session=${s.id}>
                  <td>${s.title}</td><td>${dateTime(s.starts_at)}</td>
                  <td><span class=${`badge ${s.status}`}>${SESSION_STATUS[s.status]}</span></td>
                  <td>${s.invited_count}</td>
                  <td><a href=${`#/live/${s.id}`}>${s.status === "ended" ? "查看数据" : "进入控场"}</a></td>
                </tr>`)}
            </tbody>
          </table>`}
    </section>`;
}

// Counters are pushed as absolute values with a version that only grows (one per room,
// backend/livestream/room.py), and pushes can arrive out of order: each counter keeps the
// greatest version shown and an older push is dropped. A (re)join's state is as new as its
// version, for every counter. Counters: viewers, ticker, card (on screen), stock:<product>
// (what is left of it: ticker and card carry it), drop:<id>.
export function newestKeeper() {
  let floor = -1;
  let versions = {};
  return {
    reset(version) {
      floor = typeof version === "number" ? version : -1;
      versions = {};
    },
    /** Whether a push of `key` at `version` is not older than what is shown (then it is). */
    fresh(key, version) {
      if (typeof version !== "number") return true; // a server without versions
      if (version < Math.max(floor, versions[key] ?? -1)) return false;
      versions[key] = version;
      return true;
    },
  };
}

function useHostSocket(sessionId, onEvent) {
  const socket = useRef(null);
  const [online, setOnline] = useState(false);
  useEffect(() => {
    const connection = io("/live", {
      transports: ["websocket"],
      auth: (callback) => callback({ token: stored.get()?.accessToken }),
    });
    connection.on("connect", async () => {
      setOnline(true);
      const joined = await connection.emitWithAck("join", { session_id: sessionId });
      onEvent("state", joined.ok ? joined.data : null);
    });
    connection.on("disconnect", () => setOnline(false));
    connection.onAny((name, data) => onEvent(name, data));
    socket.current = connection;
    return () => connection.disconnect();
  }, [sessionId]);
  const send = async (name, data = {}) => {
    const reply = await socket.current.emitWithAck(name, data);
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.data;
  };
  return { online, send };
}

export function LivePanelPage({ params }) {
  const id = Number(params[0]);
  const [detail, setDetail] = useState(null);
  const [counters, setCounters] = useState({ viewers: 0, likes: 0, orders: 0, gmv_fen: 0 });
  const [status, setStatus] = useState("");
  const [card, setCard] = useState(null);
  const [results, setResults] = useState([]);
  const [report, setReport] = useState(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [streamInput, setStreamInput] = useState(null); // null: what the session has

  const reload = () => api(`/live/sessions/${id}`).then(setDetail, (f) => setError(f.message));
  const loadReport = () => api(`/live/sessions/${id}/report`).then(setReport, () => {});

  const versions = useRef(null);
  if (versions.current === null) versions.current = newestKeeper();
  const { online, send } = useHostSocket(id, (name, data) => {
    const newest = versions.current;
    if (name === "state" && data) {
      newest.reset(data.version);
      setCounters({ viewers: data.viewers, likes: data.likes, orders: data.orders, gmv_fen: data.gmv_fen });
      setStatus(data.status);
      setCard(data.card);
    } else if (name === "viewers") {
      if (newest.fresh("viewers", data.version)) setCounters((c) => ({ ...c, viewers: data.count }));
    } else if (name === "likes") setCounters((c) => ({ ...c, likes: data.total }));
    else if (name === "ticker") {
      if (newest.fresh("ticker", data.version)) {
        setCounters((c) => ({ ...c, orders: data.orders, gmv_fen: data.gmv_fen }));
      }
      if (newest.fresh(`stock:${data.product_id}`, data.version)) {
        setCard((c) => (c && c.product_id === data.product_id ? { ...c, left: data.left } : c));
      }
      loadReport();
    }
    else if (name === "session") {
      setStatus(data.status);
      reload();
    } else if (name === "product") {
      if (newest.fresh("card", data.version)) {
        // What is left may be newer on screen already (a later ticker of this product).
        const stockFresh = newest.fresh(`stock:${data.product_id}`, data.version);
        setCard((c) => (!stockFresh && c && c.product_id === data.product_id ? { ...data, left: c.left } : data));
      }
    } else if (name === "drop_left") {
      if (newest.fresh(`drop:${data.id}`, data.version)) {
        setDetail((d) => d && { ...d, coupon_drops: d.coupon_drops.map((x) => (x.id === data.id ? { ...x, claimed: x.quantity - data.left } : x)) });
      }
    }
    else if (name === "rain_result" || name === "rain" || name === "drop" || name === "draw") {
      if (data?.results || data?.winners) setResults((r) => [data, ...r]);
      reload();
    }
  });

  useEffect(() => {
    reload();
    loadReport();
  }, [id]);

  async function act(name, data, done) {
    setError("");
    setNotice("");
    try {
      await send(name, data);
      if (done) setNotice(done);
      await reload();
      await loadReport();
    } catch (failure) {
      setError(failure.message);
    }
  }

  async function saveStream(event) {
    event.preventDefault();
    setError("");
    setNotice("");
    const value = (streamInput ?? detail.stream_url ?? "").trim();
    try {
      await api(`/live/sessions/${id}`, { method: "PATCH", body: { stream_url: value || null } });
      setNotice(value ? "直播流地址已保存，门店将看到画面" : "已清除直播流地址");
      setStreamInput(null);
      await reload();
    } catch (failure) {
      setError(failure.message);
    }
  }

  async function downloadReport() {
    const response = await fetch(`/api/v1/live/sessions/${id}/report.csv`, {
      headers: { Authorization: `Bearer ${stored.get()?.accessToken}` },
    });
    if (!response.ok) return setError("导出失败，请重试");
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = `live-session-${id}.csv`;
    link.click();
  }

  if (!detail) return error ? html`<div class="error-box" role="alert">${error}</div>` : html`<p class="muted">正在加载…</p>`;
  const live = (status || detail.status) === "live";
  return html`
    <section class="live-panel">
      <div class="page-head">
        <h2>${detail.title} <span class=${`badge ${status || detail.status}`} data-testid="session-status">${SESSION_STATUS[status || detail.status]}</span></h2>
        <span class=${`live ${online ? "online" : ""}`}>${online ? "● 已连接直播间" : "○ 连接中…"}</span>
      </div>
      <div class="counters" data-testid="counters">
        <div><b>${counters.viewers}</b>在线</div>
        <div><b>${counters.likes}</b>点赞</div>
        <div><b data-testid="orders">${counters.orders}</b>订单</div>
        <div><b>${yuan(counters.gmv_fen)}</b>成交额</div>
      </div>
      ${error && html`<div class="error-box" role="alert">${error}</div>`}
      ${notice && html`<p class="notice" role="status">${notice}</p>`}
      ${(status || detail.status) !== "ended" && html`
        <form class="stream-form" onSubmit=${saveStream}>
          <label>直播流地址（https 或 rtmp，门店在小程序里观看）
            <input name="stream_url" value=${streamInput ?? detail.stream_url ?? ""} placeholder="https://… 或 rtmp://…"
              onInput=${(e) => setStreamInput(e.target.value)} maxlength="500" /></label>
          <button type="submit">保存</button>
        </form>`}
      <div class="buttons">
        ${(status || detail.status) === "scheduled" && html`<button class="primary" onClick=${() => act("host:start", {}, "直播已开始")}>开始直播</button>`}
        ${live && html`<button class="danger" onClick=${() => confirm("确定结束直播？") && act("host:end", {}, "直播已结束")}>结束直播</button>`}
      </div>
      <div class="columns">
        <div>
          <section class="card">
            <h3>直播商品</h3>
            ${card && html`<p class="muted">正在讲解：${card.sku.name}（剩余 ${card.left}）</p>`}
            <table>
              <thead><tr><th>商品</th><th>直播价</th><th>库存</th><th>已售</th><th></th></tr></thead>
              <tbody>${detail.products.map((p) => html`
                <tr><td>${p.sku.name}</td><td>${yuan(p.live_price_fen)}</td><td>${p.live_stock}</td><td>${p.sold}</td>
                  <td><button disabled=${!live} onClick=${() => act("host:push_product", { product_id: p.id }, `已推送 ${p.sku.name}`)}>推送讲解</button></td></tr>`)}
              </tbody>
            </table>
          </section>
          <section class="card">
            <h3>红包雨</h3>
            ${detail.rains.length === 0 ? html`<p class="muted">本场没有计划红包雨。</p>` : html`
              <table><thead><tr><th>总额</th><th>个数</th><th>状态</th><th>已领</th><th></th></tr></thead>
                <tbody>${detail.rains.map((r) => html`
                  <tr><td>${yuan(r.total_fen)}</td><td>${r.count}</td><td>${r.status === "planned" ? "未开始" : r.status === "running" ? "进行中" : "已结束"}</td>
                    <td>${r.granted_count} 个 / ${yuan(r.granted_fen)}</td>
                    <td>${r.status === "planned" && html`<button disabled=${!live} onClick=${() => act("host:rain", { rain_id: r.id }, "红包雨开始了")}>开始红包雨</button>`}</td></tr>`)}
                </tbody></table>`}
          </section>
          <section class="card">
            <h3>直播发券</h3>
            ${detail.coupon_drops.length === 0 ? html`<p class="muted">本场没有计划发券。</p>` : html`
              <table><thead><tr><th>券模板</th><th>数量</th><th>已领</th><th>状态</th><th></th></tr></thead>
                <tbody>${detail.coupon_drops.map((d) => html`
                  <tr><td>#${d.template_id}</td><td>${d.quantity}</td><td>${d.claimed}</td>
                    <td>${d.status === "planned" ? "未开始" : d.status === "running" ? "抢券中" : "已结束"}</td>
                    <td>${d.status === "planned" && html`<button disabled=${!live} onClick=${() => act("host:drop", { drop_id: d.id }, "已开始发券")}>开始发券</button>`}
                      ${d.status === "running" && html`<button onClick=${() => act("host:drop_end", { drop_id: d.id }, "发券已结束")}>结束发券</button>`}</td></tr>`)}
                </tbody></table>`}
          </section>
          <section class="card">
            <h3>抽奖</h3>
            ${detail.draws.length === 0 ? html`<p class="muted">本场没有计划抽奖。</p>` : html`
              <table><thead><tr><th>抽奖</th><th>奖品</th><th>资格</th><th>状态</th><th></th></tr></thead>
                <tbody>${detail.draws.map((d) => html`
                  <tr><td>${d.title}</td><td>${d.prizes.map((p) => `${p.name}×${p.count}`).join("、")}</td>
                    <td>${{ present: "开奖时在线", ordered: "本场下单", invited: "全部受邀" }[d.eligibility]}</td>
                    <td title=${d.seed_hash || ""}>${d.status === "planned" ? "未公布" : d.status === "announced" ? "已公布种子哈希" : "已开奖"}</td>
                    <td>${d.status === "planned" && html`<button disabled=${!live} onClick=${() => act("host:draw_announce", { draw_id: d.id }, "已公布抽奖，种子哈希已发布")}>公布抽奖</button>`}
                      ${d.status === "announced" && html`<button onClick=${() => act("host:draw", { draw_id: d.id }, "已开奖")}>开奖</button>`}</td></tr>`)}
                </tbody></table>`}
          </section>
        </div>
        <section class="card">
          <h3>直播数据</h3>
          ${report && html`
            <dl class="facts">
              <dt>峰值在线</dt><dd>${report.peak_viewers}</dd>
              <dt>订单数</dt><dd>${report.orders}</dd>
              <dt>成交额</dt><dd>${yuan(report.gmv_fen)}</dd>
              <dt>红包出资</dt><dd>${yuan(report.red_packets.paid_in_fen)}</dd>
              <dt>门店领取</dt><dd>${yuan(report.red_packets.won_fen)}（${report.red_packets.won_count} 个）</dd>
              <dt>未领退回</dt><dd>${yuan(report.red_packets.returned_fen)}</dd>
              <dt>已取消订单</dt><dd>${report.cancelled_orders}</dd>
              ${report.coupons.map((c) => html`
                <dt>${c.name}</dt><dd>发放 ${c.quantity} · 领取 ${c.claimed} · 已使用 ${c.used}</dd>`)}
              ${report.draws.map((d) => html`
                <dt>抽奖「${d.title}」</dt>
                <dd>${d.winners.length ? d.winners.map((w) => `${w.name}（${w.prize}）`).join("、") : "未开奖"}</dd>`)}
            </dl>`}
          <button onClick=${downloadReport}>导出数据（CSV）</button>
          ${results.length > 0 && html`<h3>结果</h3>${results.map((r) => html`
            <p class="muted">${r.results ? `红包雨：${r.results.length} 家门店领取 ${yuan(r.granted_fen)}` : `抽奖「${r.title}」：${r.winners.length} 位中奖`}</p>`)}`}
        </section>
      </div>
    </section>`;
}
