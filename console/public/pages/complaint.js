// One complaint: what the store said (with photos), its service level, the timeline with
// internal notes marked, and the steps the viewer may take now (the server says which).
import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";
import { api } from "../api.js";
import { connectLive } from "../live.js";
import { ACTION, CATEGORY, CONTACT, ROLE, STATUS, dateTime, dueIn } from "../format.js";

const html = htm.bind(h);

function Timeline({ events }) {
  return html`
    <ol class="timeline" aria-label="处理记录">
      ${events.map((event) => html`
        <li class=${event.internal ? "internal" : ""} data-testid="timeline-entry">
          <div class="when">${dateTime(event.at)} · ${ROLE[event.actor_role] || event.actor_role}
            ${event.internal && html`<span class="badge warn">内部</span>`}</div>
          ${event.to_status && html`<div class="moved">${event.from_status ? `${STATUS[event.from_status]} → ${STATUS[event.to_status]}` : "提交投诉"}</div>`}
          ${event.message && html`<div class="message">${event.message}</div>`}
        </li>`)}
    </ol>`;
}

function Actions({ complaint, isBrand, onDone }) {
  const [message, setMessage] = useState("");
  const [distributorId, setDistributorId] = useState("");
  const [distributors, setDistributors] = useState([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [note, setNote] = useState("");

  useEffect(() => {
    if (isBrand && complaint.actions.includes("assign")) {
      api("/distributors").then((page) => setDistributors(page.items), () => {});
    }
  }, [complaint.id, complaint.status]);

  async function run(path, body) {
    setBusy(true);
    setError("");
    try {
      onDone(await api(`/complaints/${complaint.id}/${path}`, { method: "POST", body }));
      setMessage("");
      setNote("");
    } catch (failure) {
      setError(failure.message);
    } finally {
      setBusy(false);
    }
  }

  const step = (action) => {
    const body = { message };
    if (action === "assign" && distributorId) body.distributor_id = Number(distributorId);
    return run(action, body);
  };

  return html`
    <section class="card actions">
      <h3>处理</h3>
      ${complaint.content_check.needs_review && isBrand && html`
        <div class="review">
          <p>微信内容安全检测未通过（${complaint.content_check.verdict}），请人工审核原文。</p>
          <button disabled=${busy} onClick=${() => run("content-review", { decision: "approved" })}>审核通过</button>
          <button class="danger" disabled=${busy} onClick=${() => run("content-review", { decision: "rejected" })}>不通过（对经销商隐藏）</button>
        </div>`}
      ${complaint.actions.length > 0 ? html`
        <label>给门店的说明（门店可见，可不填）
          <textarea name="message" maxLength="2000" value=${message} onInput=${(e) => setMessage(e.target.value)}></textarea>
        </label>
        ${complaint.actions.includes("assign") && html`
          <label>转给经销商
            <select name="distributor" value=${distributorId} onChange=${(e) => setDistributorId(e.target.value)}>
              <option value="">门店所属经销商（默认）</option>
              ${distributors.map((d) => html`<option value=${d.id}>${d.name}</option>`)}
            </select>
          </label>`}
        <div class="buttons">
          ${complaint.actions.map((action) => html`
            <button class="primary" disabled=${busy} onClick=${() => step(action)}>${ACTION[action] || action}</button>`)}
        </div>` : html`<p class="muted">当前状态下您无需操作。</p>`}
      <label>内部备注（仅品牌与经销商可见）
        <textarea name="note" maxLength="2000" value=${note} onInput=${(e) => setNote(e.target.value)}></textarea>
      </label>
      <button disabled=${busy || !note.trim()} onClick=${() => run("notes", { message: note, internal: true })}>添加内部备注</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>`;
}

export function ComplaintPage({ params, isBrand }) {
  const id = Number(params[0]);
  const [complaint, setComplaint] = useState(null);
  const [error, setError] = useState("");

  const load = () =>
    api(`/complaints/${id}`).then(
      (found) => {
        setComplaint(found);
        setError("");
      },
      (failure) => setError(failure.status === 404 ? "投诉不存在，或您无权查看" : failure.message),
    );

  useEffect(() => {
    load();
    return connectLive({
      onStatus: () => {},
      onComplaintChanged: (event) => event.id === id && load(),
    });
  }, [id]);

  if (error) return html`<div class="error-box" role="alert">${error} <a href="#/complaints">返回队列</a></div>`;
  if (!complaint) return html`<p class="muted">正在加载…</p>`;
  const due = dueIn(complaint.sla.due_at);
  return html`
    <section class="complaint">
      <div class="page-head">
        <h2>投诉 #${complaint.id} <span class=${`badge ${complaint.status}`} data-testid="complaint-status">${STATUS[complaint.status]}</span></h2>
        <a href="#/complaints">← 返回队列</a>
      </div>
      <div class="columns">
        <div>
          <section class="card">
            <dl class="facts">
              <dt>门店</dt><dd>${complaint.store_name}</dd>
              <dt>分类</dt><dd>${CATEGORY[complaint.category]}</dd>
              <dt>经销商</dt><dd>${complaint.distributor_name || "未转经销商"}</dd>
              <dt>关联订单</dt><dd>${complaint.order_id ? `#${complaint.order_id}` : "—"}</dd>
              <dt>联系偏好</dt><dd>${CONTACT[complaint.contact_preference]}</dd>
              <dt>提交时间</dt><dd>${dateTime(complaint.created_at)}</dd>
              <dt>时限</dt><dd class=${due.late ? "late" : ""}>${due.text}</dd>
              ${complaint.rating && html`<dt>门店评价</dt><dd>${"★".repeat(complaint.rating)} ${complaint.rating_comment}</dd>`}
            </dl>
            <p class="text" data-testid="complaint-text">${complaint.text}</p>
            ${complaint.photos.length > 0 && html`
              <div class="photos">
                ${complaint.photos.map((photo) => html`
                  <a href=${photo.url} target="_blank" rel="noopener"><img src=${photo.url} alt="投诉图片" loading="lazy" /></a>`)}
              </div>`}
          </section>
          <section class="card">
            <h3>处理记录</h3>
            <${Timeline} events=${complaint.timeline} />
          </section>
        </div>
        <${Actions} complaint=${complaint} isBrand=${isBrand} onDone=${setComplaint} />
      </div>
    </section>`;
}
