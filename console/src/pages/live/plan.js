// A live session's plan between the form and the API: the form's model (yuan as typed, times as
// China wall-clock text), the body POST and PUT /live/sessions take (fen, ISO instants), and
// the checks the API makes, so that the form refuses what the API would refuse, in its words.
import { dateTime, toFen, yuan } from "../../format.js";

// The API's bounds (backend/livestream/routes.py and service.py).
export const MAX_FEN = 100_000_000;
export const LONGEST_SESSION_MS = 12 * 3600_000;
export const EARLIEST_START_MS = 5 * 60_000;
export const LIMITS = { products: 50, rains: 20, drops: 20, draws: 20, prizes: 10 };
// The platform takes request bodies up to 1 MB (B2BC_MAX_BODY_BYTES), below the 5 MB an image
// may have: a bigger cover would be refused as 请求体过大, so the form says so first.
export const COVER_MAX_BYTES = 1024 * 1024;
export const COVER_TYPES = ["image/jpeg", "image/png", "image/webp"];

/** "2026-12-05 20:00" (China time, as the picker shows it) to an ISO instant. */
export function chinaToIso(text) {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})$/.exec(text || "");
  return match ? `${match[1]}T${match[2]}:00+08:00` : null;
}

const at = (text) => new Date(chinaToIso(text) ?? NaN).getTime();

export function emptyPlan() {
  return {
    title: "",
    cover_url: "",
    times: [],
    stream_url: "",
    audience: { mode: "all", tags: [], store_ids: [] },
    products: [],
    rains: [],
    coupon_drops: [],
    draws: [],
  };
}

export const newRain = () => ({ total: "", count: 10, duration_seconds: 30 });
export const newDrop = () => ({ template_id: null, quantity: 100 });
export const newDraw = () => ({ title: "", prizes: [newPrize()], eligibility: "present" });
export const newPrize = () => ({ name: "", count: 1 });

/** A product row from a SKU the distributor carries (GET /live/skus). */
export function productFromSku(sku) {
  return {
    sku_id: sku.id,
    product_name: sku.product_name,
    name: sku.name,
    unit: sku.unit,
    list_price_fen: sku.list_price_fen,
    stock: sku.stock,
    price: "",
    live_stock: 1,
  };
}

const plainYuan = (fen) => yuan(fen, { symbol: false }).replaceAll(",", "");

/** The form's model of a session as GET /live/sessions/<id> answers it. */
export function planFromSession(session) {
  return {
    title: session.title,
    cover_url: session.cover_url || "",
    times: [dateTime(session.starts_at), dateTime(session.ends_at)],
    stream_url: session.stream_url || "",
    audience: {
      mode: session.audience.mode,
      tags: [...(session.audience.tags || [])],
      store_ids: (session.audience.stores || []).map((store) => store.id),
    },
    products: session.products.map((product) => ({
      sku_id: product.sku.id,
      product_name: product.product_name || "",
      name: product.sku.name,
      unit: product.sku.unit,
      list_price_fen: product.sku.list_price_fen,
      stock: null,
      price: plainYuan(product.live_price_fen),
      live_stock: product.live_stock,
    })),
    rains: session.rains.map((rain) => ({
      total: plainYuan(rain.total_fen),
      count: rain.count,
      duration_seconds: rain.duration_seconds,
    })),
    coupon_drops: session.coupon_drops.map((drop) => ({
      template_id: drop.template_id,
      quantity: drop.quantity,
    })),
    draws: session.draws.map((draw) => ({
      title: draw.title,
      prizes: draw.prizes.map((prize) => ({ name: prize.name, count: prize.count })),
      eligibility: draw.eligibility,
    })),
  };
}

/** The body of POST /live/sessions and PUT /live/sessions/<id>. */
export function bodyFromPlan(plan) {
  const { mode, tags, store_ids } = plan.audience;
  return {
    title: plan.title.trim(),
    cover_url: plan.cover_url,
    stream_url: plan.stream_url.trim() || null,
    starts_at: chinaToIso(plan.times?.[0]),
    ends_at: chinaToIso(plan.times?.[1]),
    audience: {
      mode,
      tags: mode === "tags" ? tags : [],
      store_ids: mode === "stores" ? store_ids : [],
    },
    products: plan.products.map((product) => ({
      sku_id: product.sku_id,
      live_price_fen: toFen(product.price),
      live_stock: Number(product.live_stock),
    })),
    rains: plan.rains.map((rain) => ({
      total_fen: toFen(rain.total),
      count: Number(rain.count),
      duration_seconds: Number(rain.duration_seconds),
    })),
    coupon_drops: plan.coupon_drops.map((drop) => ({
      template_id: drop.template_id,
      quantity: Number(drop.quantity),
    })),
    draws: plan.draws.map((draw) => ({
      title: draw.title.trim(),
      prizes: draw.prizes.map((prize) => ({ name: prize.name.trim(), count: Number(prize.count) })),
      eligibility: draw.eligibility,
    })),
  };
}

// ---- the API's checks, each answering its Chinese message or "" ------------------------------

const whole = (value, low, high) =>
  Number.isInteger(Number(value)) && String(value).trim() !== "" && Number(value) >= low && Number(value) <= high;

export function titleProblem(title) {
  const text = (title || "").trim();
  if (!text) return "请填写直播标题";
  if (text.length > 64) return "标题不能超过 64 个字";
  return "";
}

/** `plannedStart`: the start already saved (an edit may keep it once it has passed). */
export function timesProblem(times, { now = Date.now(), plannedStart = "" } = {}) {
  if (!times || times.length !== 2 || !times[0] || !times[1]) return "请选择开始和结束时间";
  const [start, end] = times.map(at);
  if (Number.isNaN(start) || Number.isNaN(end)) return "请选择开始和结束时间";
  if (times[0] !== plannedStart && start < now - EARLIEST_START_MS) return "开始时间不能早于现在";
  if (!(start < end)) return "结束时间须晚于开始时间";
  if (end - start > LONGEST_SESSION_MS) return "直播不能超过 12 小时";
  return "";
}

export function streamProblem(url) {
  const text = (url || "").trim();
  if (!text) return "";
  if (text.length > 500) return "直播流地址不能超过 500 个字符";
  if (!/^(https|rtmp):\/\/[^\s/?#@]+(\S*)$/i.test(text)) {
    return "直播流地址须为 https:// 或 rtmp:// 开头的完整地址";
  }
  return "";
}

export function audienceProblem(audience) {
  if (audience.mode === "tags" && audience.tags.length === 0) return "按标签邀请须至少选择一个标签";
  if (audience.mode === "stores" && audience.store_ids.length === 0) return "请选择受邀门店";
  return "";
}

export function livePriceProblem(product) {
  const fen = toFen(product.price);
  if (fen === null) return "请填写直播价（元，最多两位小数）";
  if (fen < 1) return "直播价须大于 0";
  if (fen > MAX_FEN) return "直播价过高";
  if (product.list_price_fen !== null && fen > product.list_price_fen) {
    return `直播价不能高于商品标价 ${yuan(product.list_price_fen)}`;
  }
  return "";
}

export function liveStockProblem(value) {
  return whole(value, 1, 1_000_000) ? "" : "直播库存须为 1 至 1,000,000 的整数";
}

export function rainTotalProblem(rain) {
  const fen = toFen(rain.total);
  if (fen === null) return "请填写红包总额（元，最多两位小数）";
  if (fen < 1 || fen > MAX_FEN) return "红包总额须在 ¥0.01 至 ¥1,000,000.00 之间";
  if (whole(rain.count, 1, 10_000) && fen < Number(rain.count)) return "红包总额须不少于每个红包 1 分";
  return "";
}

export const rainCountProblem = (value) => (whole(value, 1, 10_000) ? "" : "红包个数须为 1 至 10,000");
export const rainDurationProblem = (value) =>
  whole(value, 5, 600) ? "" : "红包雨时长须为 5 至 600 秒";
export const dropTemplateProblem = (value) => (value ? "" : "请选择优惠券");
export const dropQuantityProblem = (value) =>
  whole(value, 1, 100_000) ? "" : "发放张数须为 1 至 100,000";

export function shortNameProblem(value, what) {
  const text = (value || "").trim();
  if (!text) return `请填写${what}`;
  if (text.length > 32) return `${what}不能超过 32 个字`;
  return "";
}

export const prizeCountProblem = (value) => (whole(value, 1, 100) ? "" : "中奖名额须为 1 至 100");

/** An el-form rule from one of the checks above. */
export function rule(check, trigger = ["blur", "change"]) {
  return {
    trigger,
    validator: (_rule, value, callback) => {
      const problem = check(value);
      return problem ? callback(new Error(problem)) : callback();
    },
  };
}
