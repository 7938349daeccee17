// How well complaints are handled, per distributor: first response and resolution times
// (median and P90), missed deadlines and the stores' ratings, with a chart of the times.
import { h } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { api } from "../api.js";
import { minutes } from "../format.js";

const html = htm.bind(h);
const WINDOWS = [7, 30, 90];

function TimesChart({ rows }) {
  const canvas = useRef(null);
  useEffect(() => {
    if (!canvas.current || !window.Chart) return undefined;
    const hours = (value) => (value === null ? null : +(value / 60).toFixed(1));
    const chart = new window.Chart(canvas.current, {
      type: "bar",
      data: {
        labels: rows.map((row) => row.distributor_name),
        datasets: [
          { label: "首次响应 中位数", data: rows.map((r) => hours(r.first_response.median_minutes)), backgroundColor: "#7aa7e6" },
          { label: "首次响应 P90", data: rows.map((r) => hours(r.first_response.p90_minutes)), backgroundColor: "#2f6fca" },
          { label: "解决 中位数", data: rows.map((r) => hours(r.resolution.median_minutes)), backgroundColor: "#f2b66d" },
          { label: "解决 P90", data: rows.map((r) => hours(r.resolution.p90_minutes)), backgroundColor: "#d9822b" },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: "小时" } } },
      },
    });
    return () => chart.destroy();
  }, [rows]);
  return html`<div class="chart"><canvas ref=${canvas} aria-label="处理时长图表" role="img"></canvas></div>`;
}

export function MetricsPage() {
  const [days, setDays] = useState(30);
  const [figures, setFigures] = useState(null);
  const [error, setError] = useState("");

  useEffect(() => {
    setFigures(null);
    setError("");
    api("/complaints/metrics", { query: { days } }).then(setFigures, (failure) => setError(failure.message));
  }, [days]);

  const row = (name, f, key) => html`
    <tr key=${key}>
      <th scope="row">${name}</th>
      <td>${f.filed}</td>
      <td>${minutes(f.first_response.median_minutes)}</td>
      <td>${minutes(f.first_response.p90_minutes)}</td>
      <td>${minutes(f.resolution.median_minutes)}</td>
      <td>${minutes(f.resolution.p90_minutes)}</td>
      <td class=${f.breaches.total ? "late" : ""}>${f.breaches.first_response} / ${f.breaches.resolution}</td>
      <td>${f.rating.count ? `${f.rating.average.toFixed(2)} ★（${f.rating.count} 条）` : "—"}</td>
    </tr>`;

  return html`
    <section>
      <div class="page-head">
        <h2>投诉处理指标</h2>
        <label>统计范围
          <select name="days" value=${days} onChange=${(e) => setDays(Number(e.target.value))}>
            ${WINDOWS.map((d) => html`<option value=${d}>最近 ${d} 天</option>`)}
          </select>
        </label>
      </div>
      ${error && html`<div class="error-box" role="alert">${error}</div>`}
      ${!figures && !error && html`<p class="muted">正在统计…</p>`}
      ${figures && figures.overall.filed === 0 && html`<p class="empty">这段时间没有投诉。</p>`}
      ${figures && figures.overall.filed > 0 && html`
        <table class="metrics">
          <thead><tr>
            <th>经销商</th><th>投诉数</th><th>首次响应 中位数</th><th>首次响应 P90</th>
            <th>解决 中位数</th><th>解决 P90</th><th>超时（响应 / 解决）</th><th>门店评分</th>
          </tr></thead>
          <tbody>
            ${figures.distributors.map((d) => row(d.distributor_name, d, d.distributor_id ?? "none"))}
          </tbody>
          <tfoot>${row("合计", figures.overall, "all")}</tfoot>
        </table>
        <${TimesChart} rows=${figures.distributors} />
        <p class="muted">首次响应：提交到品牌受理；解决：提交到标记已解决。百分位取实际发生的时长（最近秩法）。</p>`}
    </section>`;
}
