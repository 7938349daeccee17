// Words of the complaint pages that only they use.

/** What WeChat's content check said about a store's text, as the reviewer reads it. */
export const VERDICT = {
  review: "建议人工审核",
  risky: "认为有风险",
  unchecked: "检测暂不可用，未能检测",
};

/** The periods the metrics page offers, in days. */
export const METRICS_WINDOWS = [7, 30, 90];

/** What the page says once a step is taken. */
export const STEP_DONE = {
  acknowledge: "已受理",
  assign: "已转给经销商",
  respond: "已答复门店",
  resolve: "已标记为已解决",
  close: "投诉已关闭",
};

/** The service-level limits the API accepts, in minutes: first response, resolution. */
export const SLA_LIMITS = { first_response_minutes: 60 * 24 * 30, resolution_minutes: 60 * 24 * 90 };

/** Minutes as hours for the form ("1.5"), and hours typed back to whole minutes. */
export const toHours = (minutes) => Math.round((minutes / 60) * 100) / 100;
export const toMinutes = (hours) => Math.round(Number(hours) * 60);

/** The statuses of a complaint that is over (resolved or closed): no clock runs for them. */
export const SETTLED = ["resolved", "closed"];

/** Whether a complaint missed its first-response or resolution time (and was escalated). */
export const breached = (complaint) =>
  complaint.sla.breached_first_response || complaint.sla.breached_resolution;
