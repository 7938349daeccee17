// The consumer campaign form (扫码领券活动): its model, the body the API takes, the checks the
// API makes (mirrored so the form says what is wrong before sending), and the words of the
// campaign pages. Pure: tested under Node's runner (console/tests/codes-campaign.test.js).
import { dateTime, toFen } from "../../format.js";
import { chinaToIso } from "../live/plan.js";

// The API's bounds (CampaignBody in backend/codes/campaign_routes.py).
export const LIMITS = {
  name: 40,
  skus: 50,
  valueFen: 100_000, // ¥1,000 a coupon
  validDays: 365,
  budgetFen: 10_000_000_000, // ¥1 亿
  windowDays: 731,
};
const DAY_MS = 86_400_000;

export const PHASE = {
  draft: "草稿",
  upcoming: "未开始",
  running: "进行中",
  finished: "已到期",
  ended: "已提前结束",
};
export const PHASE_TAG = { draft: "info", upcoming: "warning", running: "success", finished: "info", ended: "info" };
export const CAMPAIGN_STATUS = { draft: "草稿", active: "已发布", ended: "已提前结束" };

export const ACTION = {
  publish: {
    label: "发布",
    type: "primary",
    title: "发布消费者活动",
    text: "发布后，消费者在活动时间内扫所选商品上的码即可领券（每个码一张，先扫先得，发完预算为止）。发布后只能追加预算或调整结束时间。",
    done: "活动已发布",
  },
  end: {
    label: "结束",
    type: "danger",
    title: "提前结束活动",
    text: "结束后消费者扫码不再领到券，已领的券在有效期内仍可到店核销。结束后不能恢复。",
    done: "活动已结束",
  },
};

export function emptyForm() {
  return {
    name: "",
    sku_ids: [],
    times: [], // ["YYYY-MM-DD HH:mm", "YYYY-MM-DD HH:mm"] in China time
    coupon_value: "",
    coupon_valid_days: 30,
    budget: "",
  };
}

/** "1234.50" from fen, as a form shows an amount to edit. */
export function plainYuan(fen) {
  if (fen === null || fen === undefined) return "";
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`.replace(/\.00$/, "");
}

export function formFromCampaign(campaign) {
  return {
    name: campaign.name,
    sku_ids: [...campaign.sku_ids],
    times: [dateTime(campaign.starts_at), dateTime(campaign.ends_at)],
    coupon_value: plainYuan(campaign.coupon_value_fen),
    coupon_valid_days: campaign.coupon_valid_days,
    budget: plainYuan(campaign.budget_fen),
  };
}

export function bodyFromForm(form) {
  return {
    name: form.name.trim(),
    sku_ids: [...new Set(form.sku_ids)],
    starts_at: chinaToIso(form.times?.[0]),
    ends_at: chinaToIso(form.times?.[1]),
    coupon_value_fen: toFen(form.coupon_value),
    coupon_valid_days: Number(form.coupon_valid_days),
    budget_fen: toFen(form.budget),
  };
}

// Once published, only these may change (and the budget only upwards).
export const LIVE_FIELDS = ["budget_fen", "ends_at"];

/** The fields of `after` that differ from `before` (only `allowed` ones when given): a PATCH. */
export function changedFields(before, after, allowed = null) {
  const changed = {};
  for (const [field, value] of Object.entries(after)) {
    if (allowed && !allowed.includes(field)) continue;
    if (JSON.stringify(value) !== JSON.stringify(before[field])) changed[field] = value;
  }
  return changed;
}

// ---- checks, by form item ---------------------------------------------------------------------------

const instant = (text) => new Date(chinaToIso(text) ?? NaN).getTime();
const whole = (value, low, high) => Number.isInteger(Number(value)) && Number(value) >= low && Number(value) <= high && String(value).trim() !== "";

export function nameProblem(form) {
  const name = form.name.trim();
  if (!name) return "请填写活动名称";
  return name.length > LIMITS.name ? `活动名称不能超过 ${LIMITS.name} 个字` : "";
}

export function skusProblem(form) {
  if (!form.sku_ids.length) return "请选择参与活动的商品";
  return form.sku_ids.length > LIMITS.skus ? `最多选择 ${LIMITS.skus} 个商品` : "";
}

/** `published`: the campaign is out, so its end must still be ahead (`now`). */
export function timesProblem(form, { now = Date.now(), published = false } = {}) {
  const [starts, ends] = form.times || [];
  if (!starts || !ends) return "请选择活动的开始和结束时间";
  const [from, until] = [instant(starts), instant(ends)];
  if (!Number.isFinite(from) || !Number.isFinite(until)) return "请选择活动的开始和结束时间";
  if (until <= from) return "结束时间须晚于开始时间";
  if (until - from > LIMITS.windowDays * DAY_MS) return "活动时长不能超过两年";
  if (until <= now) return published ? "结束时间须晚于现在" : "结束时间已过，请重新选择";
  return "";
}

export function valueProblem(form) {
  const fen = toFen(form.coupon_value);
  if (fen === null) return "请填写券面值（元，最多两位小数）";
  if (fen < 1 || fen > LIMITS.valueFen) return "券面值须为 0.01 至 1,000 元";
  return "";
}

export function validDaysProblem(form) {
  return whole(form.coupon_valid_days, 1, LIMITS.validDays) ? "" : `有效天数须为 1 至 ${LIMITS.validDays} 天`;
}

/** `floorFen`: a published campaign's budget may only grow from what it is. */
export function budgetProblem(form, { floorFen = 0 } = {}) {
  const fen = toFen(form.budget);
  if (fen === null) return "请填写活动预算（元，最多两位小数）";
  if (fen < 1 || fen > LIMITS.budgetFen) return "活动预算须为 0.01 至 1 亿元";
  const value = toFen(form.coupon_value);
  if (value !== null && fen < value) return "预算不能少于一张券的面值";
  if (fen < floorFen) return "活动已发布，预算只能增加";
  return "";
}

export const PROBLEMS = {
  name: nameProblem,
  sku_ids: skusProblem,
  times: timesProblem,
  coupon_value: valueProblem,
  coupon_valid_days: validDaysProblem,
  budget: budgetProblem,
};

/** { item: problem } for every item that has one ({} when the form may be sent). */
export function problems(form, options = {}) {
  const found = {};
  Object.entries(PROBLEMS).forEach(([item, check]) => {
    const problem = check(form, options);
    if (problem) found[item] = problem;
  });
  return found;
}

/** Which form item an API field belongs to. */
const FIELD_ITEMS = {
  name: "name",
  sku_ids: "sku_ids",
  starts_at: "times",
  ends_at: "times",
  coupon_value_fen: "coupon_value",
  coupon_valid_days: "coupon_valid_days",
  budget_fen: "budget",
};

/** The API's 400 codes.invalid spread over the form's items: { budget: "…", … }; a field the
 * form has no item for lands under "" (shown above the form). */
export function fieldErrors(error) {
  const found = {};
  for (const detail of Array.isArray(error?.details) ? error.details : []) {
    const head = String(detail?.field ?? "").split(/[.[]/)[0];
    const item = FIELD_ITEMS[head] ?? "";
    if (detail?.message && !found[item]) found[item] = detail.message;
  }
  return found;
}

/** How many coupons the budget pays for: "预算可发 200 张券". */
export function couponsFor(form) {
  const [budget, value] = [toFen(form.budget), toFen(form.coupon_value)];
  if (!budget || !value) return "";
  return `预算可发 ${Math.floor(budget / value).toLocaleString("en-US")} 张券`;
}

/** "12 / 200" share for a progress bar, 0–100. */
export function share(part, total) {
  if (!total) return 0;
  return Math.min(100, Math.round((part / total) * 1000) / 10);
}
