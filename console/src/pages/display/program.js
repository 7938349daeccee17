// A display program between its form and the API: the form's model (yuan as typed, times as
// China wall-clock text), the body POST and PATCH /display/programs take (fen, ISO instants),
// the check dates the schedule makes (as publishing will write them), what the rewards cost,
// the API's checks in its words, and where the API's refusals belong on the form.
import { dateTime, toFen, yuan } from "../../format.js";
import { chinaToIso } from "../live/plan.js";

// The API's bounds (the ProgramBody of the spec).
export const LIMITS = {
  name: 40,
  standard: 1000,
  samplePhotos: 6,
  skus: 50,
  checkCount: 52,
  intervalDays: 90,
  photos: 9,
  distance: [50, 5000],
  points: 10_000_000,
  cashFen: 100_000_000,
  vouchers: 10,
  voucherValueFen: 10_000_000,
  budgetFen: 100_000_000_000,
  maxStores: 1_000_000,
  agreement: [20, 20_000],
};
const DAY_MS = 86_400_000;

const emptyReward = (enabled, kind) => ({ enabled, kind, points: "", cash: "", count: 1, template_id: null, value: "" });

export function emptyForm() {
  return {
    name: "",
    standard: "",
    sample_photos: [],
    sku_ids: [],
    audience: { distributor_ids: [], region_ids: [], tiers: [], tags: [] },
    signup_from: "",
    signup_until: "",
    first_check_at: "",
    check_count: 8,
    check_interval_days: 7,
    check_window_days: 3,
    photos_required: 2,
    distance_limit_m: 300,
    check_reward: emptyReward(true, "points"),
    completion_reward: emptyReward(false, "cash"),
    budget: "",
    max_stores: 100,
    salesperson_reviews_first: false,
    agreement_text: "",
  };
}

/** Fen as the yuan a person would type: 500000 → "5000", 1250 → "12.50". */
const plainYuan = (fen) =>
  fen === null || fen === undefined ? "" : yuan(fen, { symbol: false }).replaceAll(",", "").replace(/\.00$/, "");

function rewardForm(spec, fallbackKind) {
  if (!spec) return emptyReward(false, fallbackKind);
  const form = emptyReward(true, spec.kind);
  if (spec.kind === "points") form.points = String(spec.amount);
  if (spec.kind === "cash") form.cash = plainYuan(spec.amount);
  if (spec.kind === "voucher") {
    Object.assign(form, { count: spec.amount, template_id: spec.template_id, value: plainYuan(spec.value_fen) });
  }
  return form;
}

/** The form's model of a program as GET /display/programs/<id> answers it. */
export function formFromProgram(program) {
  const audience = program.audience || {};
  return {
    name: program.name,
    standard: program.standard,
    sample_photos: (program.sample_photos || []).map(({ url, width, height }) => ({ url, width, height })),
    sku_ids: [...program.sku_ids],
    audience: {
      distributor_ids: [...(audience.distributor_ids || [])],
      region_ids: [...(audience.region_ids || [])],
      tiers: [...(audience.tiers || [])],
      tags: [...(audience.tags || [])],
    },
    signup_from: dateTime(program.signup_from),
    signup_until: dateTime(program.signup_until),
    first_check_at: dateTime(program.first_check_at),
    check_count: program.check_count,
    check_interval_days: program.check_interval_days,
    check_window_days: program.check_window_days,
    photos_required: program.photos_required,
    distance_limit_m: program.distance_limit_m,
    check_reward: rewardForm(program.check_reward, "points"),
    completion_reward: rewardForm(program.completion_reward, "cash"),
    budget: plainYuan(program.budget_fen),
    max_stores: program.max_stores,
    salesperson_reviews_first: program.salesperson_reviews_first,
    agreement_text: program.agreement_text || "",
  };
}

const whole = (value) => (/^\d+$/.test(String(value ?? "").trim()) ? Number(String(value).trim()) : null);

/** The API's reward spec from the form's, or null when that reward is not given. */
export function rewardSpec(reward) {
  if (!reward.enabled) return null;
  if (reward.kind === "points") return { kind: "points", amount: whole(reward.points), template_id: null, value_fen: 0 };
  if (reward.kind === "cash") return { kind: "cash", amount: toFen(reward.cash), template_id: null, value_fen: 0 };
  return { kind: "voucher", amount: whole(reward.count), template_id: reward.template_id, value_fen: toFen(reward.value) };
}

/** The body POST /display/programs takes (PATCH takes any part of it, see changedFields). */
export function bodyFromForm(form) {
  return {
    name: form.name.trim(),
    standard: form.standard.trim(),
    sample_photos: form.sample_photos.map(({ url, width, height }) => ({ url, width, height })),
    sku_ids: [...form.sku_ids],
    audience: {
      distributor_ids: [...form.audience.distributor_ids],
      region_ids: [...form.audience.region_ids],
      tiers: [...form.audience.tiers],
      tags: [...form.audience.tags],
    },
    signup_from: chinaToIso(form.signup_from),
    signup_until: chinaToIso(form.signup_until),
    first_check_at: chinaToIso(form.first_check_at),
    check_count: Number(form.check_count),
    check_interval_days: Number(form.check_interval_days),
    check_window_days: Number(form.check_window_days),
    photos_required: Number(form.photos_required),
    distance_limit_m: Number(form.distance_limit_m),
    check_reward: rewardSpec(form.check_reward),
    completion_reward: rewardSpec(form.completion_reward),
    budget_fen: toFen(form.budget),
    max_stores: Number(form.max_stores),
    salesperson_reviews_first: Boolean(form.salesperson_reviews_first),
    agreement_text: form.agreement_text.trim(),
  };
}

/** What may still change once a store has signed (editable "limited"): the signed terms stand. */
export const LIMITED_FIELDS = ["budget_fen", "max_stores", "signup_until"];

/** The PATCH body: only the fields that differ from `before` (the body the saved program
 * makes), and of those only `allowed` ones when given. An unchanged agreement text is not
 * sent, so saving other fields never makes a new agreement version. */
export function changedFields(before, after, allowed = null) {
  const changed = {};
  for (const [field, value] of Object.entries(after)) {
    if (allowed && !allowed.includes(field)) continue;
    if (JSON.stringify(value) !== JSON.stringify(before[field])) changed[field] = value;
  }
  return changed;
}

// ---- schedule and cost ------------------------------------------------------------------------

/** The checks publishing will write: opens_at = first + (seq − 1)·interval, closes_at = opens_at
 * + window (days; China keeps no summer time, so a day is 24 hours). [] until it is complete. */
export function schedule(firstCheckAt, count, intervalDays, windowDays) {
  const first = new Date(chinaToIso(firstCheckAt) ?? NaN).getTime();
  const [n, interval, window] = [count, intervalDays, windowDays].map(Number);
  if (!Number.isFinite(first) || !(n >= 1 && n <= LIMITS.checkCount) || !(interval >= 1) || !(window >= 1)) return [];
  return Array.from({ length: n }, (_, index) => {
    const opens = first + index * interval * DAY_MS;
    return { seq: index + 1, opens_at: new Date(opens).toISOString(), closes_at: new Date(opens + window * DAY_MS).toISOString() };
  });
}

/** What paying a reward spec once takes from the budget (1 point = 1 fen), 0 when unknown. */
export function rewardCost(spec) {
  if (!spec || !spec.amount) return 0;
  if (spec.kind === "voucher") return spec.value_fen ? spec.amount * spec.value_fen : 0;
  return spec.amount;
}

/** The reward as the store reads it, as the API words it: 积分 200, 现金 ¥5.00, 兑换券 2 张（价值 ¥60.00）. */
export function rewardText(spec) {
  if (!spec || !spec.amount) return "";
  if (spec.kind === "points") return `积分 ${spec.amount}`;
  if (spec.kind === "cash") return `现金 ${yuan(spec.amount)}`;
  return `兑换券 ${spec.amount} 张（价值 ${yuan(rewardCost(spec))}）`;
}

/** The most one store can cost: every check passed plus the completion reward. */
export function costPerStore(form) {
  const n = Number(form.check_count) || 0;
  return rewardCost(rewardSpec(form.check_reward)) * n + rewardCost(rewardSpec(form.completion_reward));
}

// ---- the API's checks, in its words ---------------------------------------------------------

const between = (value, low, high) => {
  const number = whole(value);
  return number !== null && number >= low && number <= high;
};

function textProblem(value, label, max, min = 1) {
  const length = String(value ?? "").trim().length;
  if (!length) return `请填写${label}`;
  if (length < min) return `${label}至少 ${min} 个字`;
  if (length > max) return `${label}最多 ${max} 个字`;
  return "";
}

export const nameProblem = (form) => textProblem(form.name, "活动名称", LIMITS.name);
export const standardProblem = (form) => textProblem(form.standard, "陈列标准", LIMITS.standard);
export const agreementProblem = (form) =>
  textProblem(form.agreement_text, "协议内容", LIMITS.agreement[1], LIMITS.agreement[0]);

export function skusProblem(form) {
  if (!form.sku_ids.length) return "请至少选择一个陈列商品";
  return form.sku_ids.length > LIMITS.skus ? `陈列商品最多 ${LIMITS.skus} 个` : "";
}

const instant = (text) => new Date(chinaToIso(text) ?? NaN).getTime();

export function signupProblem(form) {
  if (!form.signup_from || !form.signup_until) return "请选择报名开始和截止时间";
  if (instant(form.signup_until) <= instant(form.signup_from)) return "报名截止时间须晚于开始时间";
  // Mirrors the API: a store signing later could not take the first check.
  const firstClose = instant(form.first_check_at) + Number(form.check_window_days) * DAY_MS;
  if (form.first_check_at && instant(form.signup_until) > firstClose) return "报名截止时间不能晚于第一次检查的拍照截止时间";
  return "";
}

export function scheduleProblem(form) {
  if (!form.first_check_at) return "请选择第一次检查的开始时间";
  if (form.signup_from && instant(form.first_check_at) < instant(form.signup_from)) return "第一次检查不能早于报名开始时间";
  if (!between(form.check_count, 1, LIMITS.checkCount)) return `检查次数须为 1 至 ${LIMITS.checkCount} 次`;
  if (!between(form.check_interval_days, 1, LIMITS.intervalDays)) return `检查间隔须为 1 至 ${LIMITS.intervalDays} 天`;
  if (!between(form.check_window_days, 1, Number(form.check_interval_days) || 1)) return "每次拍照时长须为 1 天至检查间隔的天数";
  return "";
}

export const photosProblem = (form) => (between(form.photos_required, 1, LIMITS.photos) ? "" : `每次照片须为 1 至 ${LIMITS.photos} 张`);
export const distanceProblem = (form) =>
  between(form.distance_limit_m, ...LIMITS.distance) ? "" : `距离要求须为 ${LIMITS.distance[0]} 至 ${LIMITS.distance[1]} 米`;

function amountProblem(text, label, maxFen) {
  if (!String(text ?? "").trim()) return `请填写${label}`;
  const fen = toFen(text);
  if (fen === null) return `${label}请填写金额，最多两位小数`;
  if (fen < 1) return `${label}至少 ¥0.01`;
  return fen > maxFen ? `${label}最多 ${yuan(maxFen)}` : "";
}

export function rewardProblem(reward) {
  if (!reward.enabled) return "";
  if (reward.kind === "points") {
    return between(reward.points, 1, LIMITS.points) ? "" : `积分须为 1 至 ${LIMITS.points.toLocaleString("en-US")} 的整数`;
  }
  if (reward.kind === "cash") return amountProblem(reward.cash, "现金金额", LIMITS.cashFen);
  if (!between(reward.count, 1, LIMITS.vouchers)) return `兑换券张数须为 1 至 ${LIMITS.vouchers} 张`;
  if (!reward.template_id) return "请选择兑换券";
  return amountProblem(reward.value, "每张兑换券的价值", LIMITS.voucherValueFen);
}

export const someRewardProblem = (form) =>
  form.check_reward.enabled || form.completion_reward.enabled ? "" : "请至少设置一种奖励：每次检查通过奖励或全部完成奖励";

export const budgetProblem = (form) => amountProblem(form.budget, "活动预算", LIMITS.budgetFen);
export const maxStoresProblem = (form) =>
  between(form.max_stores, 1, LIMITS.maxStores) ? "" : `门店名额须为 1 至 ${LIMITS.maxStores.toLocaleString("en-US")} 家`;

/** Every check above, by the form item it belongs to. */
export const PROBLEMS = {
  name: nameProblem,
  standard: standardProblem,
  sku_ids: skusProblem,
  signup: signupProblem,
  schedule: scheduleProblem,
  photos_required: photosProblem,
  distance_limit_m: distanceProblem,
  check_reward: (form) => rewardProblem(form.check_reward) || someRewardProblem(form),
  completion_reward: (form) => rewardProblem(form.completion_reward),
  budget: budgetProblem,
  max_stores: maxStoresProblem,
  agreement_text: agreementProblem,
};

/** { item: problem } for every item that has one ({} when the form may be sent). */
export function problems(form, items = Object.keys(PROBLEMS)) {
  const found = {};
  items.forEach((item) => {
    const problem = PROBLEMS[item](form);
    if (problem) found[item] = problem;
  });
  return found;
}

/** Which form item an API field belongs to ("check_reward.value_fen" → "check_reward"). */
const FIELD_ITEMS = {
  signup_from: "signup",
  signup_until: "signup",
  first_check_at: "schedule",
  check_count: "schedule",
  check_interval_days: "schedule",
  check_window_days: "schedule",
  budget_fen: "budget",
  skus: "sku_ids",
};
const ITEMS = new Set([...Object.keys(PROBLEMS), "sample_photos", "audience", "salesperson_reviews_first"]);

/** The API's 400 display.invalid spread over the form's items: { budget: "…", … }; a field
 * the form has no item for lands under "" (shown above the form). */
export function fieldErrors(error) {
  const found = {};
  for (const detail of Array.isArray(error?.details) ? error.details : []) {
    const head = String(detail?.field ?? "").split(/[.[]/)[0];
    const item = FIELD_ITEMS[head] || (ITEMS.has(head) ? head : "");
    if (detail?.message && !found[item]) found[item] = detail.message;
  }
  return found;
}
