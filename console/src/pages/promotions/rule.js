// A promotion between the editor and the API: the form's model (yuan and percentages as typed,
// times as China wall-clock text), the body POST and PUT /promotions take (fen, ISO instants),
// the checks the API makes, in its words, and where the API's refusals belong on the form.
import { dateTime, toFen, yuan } from "../../format.js";
import { chinaToIso } from "../live/plan.js";

// The API's bounds (backend/promotions/routes.py, rules.py).
export const MAX_FEN = 10 ** 12;
export const MAX_QUANTITY = 99_999;
export const MAX_SET_QUANTITY = 999;
export const MAX_BUNDLE_PARTS = 50;
export const NAME_MAX = 64;

export function emptyForm() {
  return {
    name: "",
    times: [],
    kind: "reduction",
    gift: { sku_id: null, quantity: 1, per_multiple: false },
    special: { form: "percent", price: "", percent: "" },
    reduction: { threshold: "", amount: "", every: false },
    discount: { percent: "" },
    rebate: { percent: "", base: "paid" },
    points: { per_yuan: "1", threshold: "", multiplier: "2" },
    scope: { mode: "all", sku_ids: [], category_ids: [], bundle: [], bundle_mode: "sets" },
    audience: { distributor_ids: [], region_ids: [], tiers: [], tags: [] },
    channels: [],
    conditions: { min_quantity: 0, min_amount: "" },
    stacking: "shared",
    step: null,
    priority: 0,
    per_store_limit: "",
    budget: "",
  };
}

const plainYuan = (fen) => (fen === null || fen === undefined ? "" : yuan(fen, { symbol: false }).replaceAll(",", ""));
const text = (value) => (value === null || value === undefined ? "" : String(Number(value)));

/** The form's model of a promotion as GET /promotions/<id> answers it. */
export function formFromPromotion(promotion) {
  const form = emptyForm();
  const { reward, scope } = promotion;
  Object.assign(form, {
    name: promotion.name,
    times: [dateTime(promotion.starts_at), dateTime(promotion.ends_at)],
    kind: reward.kind,
    audience: {
      distributor_ids: [...promotion.audience.distributor_ids],
      region_ids: [...promotion.audience.region_ids],
      tiers: [...promotion.audience.tiers],
      tags: [...promotion.audience.tags],
    },
    channels: [...promotion.channels],
    conditions: {
      min_quantity: promotion.conditions.min_quantity,
      min_amount: promotion.conditions.min_amount_fen ? plainYuan(promotion.conditions.min_amount_fen) : "",
    },
    stacking: promotion.stacking,
    step: promotion.step,
    priority: promotion.priority,
    per_store_limit: promotion.per_store_limit ?? "",
    budget: plainYuan(promotion.budget_fen),
  });
  form.scope = {
    mode: scope.bundle.length ? "bundle" : scope.sku_ids.length ? "skus" : scope.category_ids.length ? "categories" : "all",
    sku_ids: [...scope.sku_ids],
    category_ids: [...scope.category_ids],
    bundle: scope.bundle.map((part) => ({ ...part })),
    bundle_mode: scope.bundle_mode,
  };
  if (reward.kind === "gift") form.gift = { sku_id: reward.sku_id, quantity: reward.quantity, per_multiple: reward.per_multiple };
  if (reward.kind === "special_price") {
    const fixed = reward.unit_price_fen !== null && reward.unit_price_fen !== undefined;
    form.special = { form: fixed ? "fixed" : "percent", price: plainYuan(reward.unit_price_fen), percent: text(reward.percent_of_list) };
  }
  if (reward.kind === "reduction") {
    form.reduction = { threshold: plainYuan(reward.threshold_fen), amount: plainYuan(reward.amount_off_fen), every: reward.every };
  }
  if (reward.kind === "discount") form.discount = { percent: text(reward.percent) };
  if (reward.kind === "rebate") form.rebate = { percent: text(reward.percent), base: reward.base };
  if (reward.kind === "points") {
    form.points = { per_yuan: text(reward.per_yuan), threshold: plainYuan(reward.threshold_fen), multiplier: text(reward.multiplier) };
  }
  return form;
}

function rewardBody(form) {
  switch (form.kind) {
    case "gift":
      return { kind: "gift", ...form.gift };
    case "special_price":
      return form.special.form === "fixed"
        ? { kind: "special_price", unit_price_fen: toFen(form.special.price) }
        : { kind: "special_price", percent_of_list: form.special.percent };
    case "reduction":
      return {
        kind: "reduction",
        threshold_fen: toFen(form.reduction.threshold),
        amount_off_fen: toFen(form.reduction.amount),
        every: form.reduction.every,
      };
    case "discount":
      return { kind: "discount", percent: form.discount.percent };
    case "rebate":
      return { kind: "rebate", ...form.rebate };
    default: {
      const threshold = form.points.threshold === "" ? null : toFen(form.points.threshold);
      return {
        kind: "points",
        per_yuan: form.points.per_yuan,
        threshold_fen: threshold,
        multiplier: threshold === null ? "1" : form.points.multiplier,
      };
    }
  }
}

function scopeBody(scope) {
  return {
    sku_ids: scope.mode === "skus" ? scope.sku_ids : [],
    category_ids: scope.mode === "categories" ? scope.category_ids : [],
    bundle: scope.mode === "bundle" ? scope.bundle.map(({ sku_id, set_quantity }) => ({ sku_id, set_quantity })) : [],
    bundle_mode: scope.bundle_mode,
  };
}

/** The body POST and PUT /promotions take. */
export function bodyFromForm(form) {
  return {
    name: form.name.trim(),
    starts_at: chinaToIso(form.times[0]),
    ends_at: chinaToIso(form.times[1]),
    reward: rewardBody(form),
    stacking: form.stacking,
    step: form.step || null,
    priority: Number(form.priority) || 0,
    per_store_limit: form.per_store_limit === "" ? null : Number(form.per_store_limit),
    budget_fen: form.budget === "" ? null : toFen(form.budget),
    audience: form.audience,
    channels: form.channels,
    scope: scopeBody(form.scope),
    conditions: {
      min_quantity: Number(form.conditions.min_quantity) || 0,
      min_amount_fen: form.conditions.min_amount === "" ? 0 : toFen(form.conditions.min_amount),
    },
  };
}

// ---- the API's checks, in its words ------------------------------------------------------------

const PERCENT = /^\d+(\.\d{1,2})?$/;

function amountProblem(value, name, { optional = false } = {}) {
  if (value === "" || value === null || value === undefined) return optional ? "" : `请填写${name}`;
  const fen = toFen(value);
  if (fen === null) return `${name}请填写金额，最多两位小数`;
  if (fen < 1) return `${name}至少 0.01 元`;
  if (fen > MAX_FEN) return `${name}过大`;
  return "";
}

function percentProblem(value, name, { below = 100, orEqual = false } = {}) {
  if (value === "" || value === null || value === undefined) return `请填写${name}`;
  if (!PERCENT.test(String(value))) return `${name}请填写数字，最多两位小数`;
  const number = Number(value);
  if (number <= 0) return `${name}必须大于 0`;
  if (orEqual ? number > below : number >= below) return `${name}必须${orEqual ? "不超过" : "低于"} ${below}`;
  return "";
}

export const nameProblem = (name) =>
  !name.trim() ? "请填写活动名称" : name.trim().length > NAME_MAX ? `活动名称最多 ${NAME_MAX} 个字` : "";

export function timesProblem(times) {
  if (!times || times.length !== 2 || !times[0] || !times[1]) return "请选择活动开始和结束时间";
  if (chinaToIso(times[1]) <= chinaToIso(times[0])) return "结束时间必须晚于开始时间";
  return "";
}

function hasCondition(form) {
  return Number(form.conditions.min_quantity) > 0 || (form.conditions.min_amount !== "" && toFen(form.conditions.min_amount) > 0);
}

export function rewardProblem(form) {
  switch (form.kind) {
    case "gift": {
      const { sku_id, quantity, per_multiple } = form.gift;
      if (!sku_id) return "请选择赠送的商品";
      if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) return "赠送数量须为 1 至 99999 的整数";
      if (per_multiple && form.scope.mode === "bundle" && form.scope.bundle_mode === "sets") {
        return "成套组合的赠品按凑齐的套数赠送，不能再设置“每满送”";
      }
      if (per_multiple && !hasCondition(form)) return "“每满送”需要设置数量或金额条件";
      return "";
    }
    case "special_price":
      return form.special.form === "fixed"
        ? amountProblem(form.special.price, "特价单价")
        : percentProblem(form.special.percent, "特价比例");
    case "reduction": {
      const problem = amountProblem(form.reduction.threshold, "满减门槛") || amountProblem(form.reduction.amount, "减免金额");
      if (problem) return problem;
      return toFen(form.reduction.amount) >= toFen(form.reduction.threshold) ? "减免金额必须小于满减门槛" : "";
    }
    case "discount":
      return percentProblem(form.discount.percent, "折扣比例");
    case "rebate":
      return percentProblem(form.rebate.percent, "返利比例", { below: 100, orEqual: true });
    default: {
      const problem = percentProblem(form.points.per_yuan, "每元积分", { below: 1000, orEqual: true });
      if (problem || form.points.threshold === "") return problem;
      return amountProblem(form.points.threshold, "加倍门槛") ||
        (PERCENT.test(String(form.points.multiplier)) && Number(form.points.multiplier) > 1 && Number(form.points.multiplier) <= 100
          ? "" : "设置了加倍门槛时，倍数必须大于 1（最多 100）");
    }
  }
}

export function scopeProblem(scope) {
  if (scope.mode === "skus" && !scope.sku_ids.length) return "请至少选择一个商品";
  if (scope.mode === "categories" && !scope.category_ids.length) return "请至少选择一个分类";
  if (scope.mode !== "bundle") return "";
  if (scope.bundle.length < 2) return "组合活动至少需要两种商品";
  if (scope.bundle.length > MAX_BUNDLE_PARTS) return `组合最多 ${MAX_BUNDLE_PARTS} 种商品`;
  const bad = scope.bundle.find((part) => !Number.isInteger(part.set_quantity) || part.set_quantity < 1 || part.set_quantity > MAX_SET_QUANTITY);
  return bad ? "每套件数须为 1 至 999 的整数" : "";
}

export function stepProblem(kind, step) {
  if (!step) return "";
  if (kind === "special_price" && step !== 1) return "特价改变商品单价，只能在第 1 步执行";
  if ((kind === "reduction" || kind === "discount") && step === 1) return "满减和折扣是整单优惠，只能在第 2 或第 3 步执行";
  return "";
}

export const budgetProblem = (budget) => amountProblem(budget, "活动资金", { optional: true });

export function limitProblem(limit) {
  if (limit === "" || limit === null) return "";
  const number = Number(limit);
  return Number.isInteger(number) && number >= 1 && number <= 1_000_000 ? "" : "每店限参与次数须为 1 至 1000000 的整数，不限请留空";
}

export function conditionsProblem(conditions) {
  return amountProblem(conditions.min_amount, "最低金额", { optional: true });
}

/** Which form item an API field or reference belongs to ("reward.amount_off_fen" → "reward"). */
const FIELD_ITEMS = {
  name: "name",
  starts_at: "times",
  ends_at: "times",
  reward: "reward",
  scope: "scope",
  step: "step",
  per_store_limit: "per_store_limit",
  budget_fen: "budget",
  audience: "audience",
  channels: "channels",
  conditions: "conditions",
  stacking: "stacking",
  priority: "priority",
};
const REFERENCE_ITEMS = { sku: "scope", category: "scope", distributor: "audience", region: "audience" };

/** The API's refusal spread over the form's items: { reward: "减免金额必须小于满减门槛", … }. */
export function fieldErrors(error, form) {
  const found = {};
  for (const detail of Array.isArray(error?.details) ? error.details : []) {
    let item = detail.field ? FIELD_ITEMS[String(detail.field).split(".")[0]] : REFERENCE_ITEMS[detail.kind];
    if (detail.kind === "sku" && form.kind === "gift" && (detail.ids || []).includes(form.gift.sku_id)) item = "reward";
    if (item && detail.message && !found[item]) found[item] = detail.message;
  }
  return found;
}
