// Words and numbers as people read them in the console: money from integer fen, times in China
// time whatever the browser's zone, and the Chinese names of the API's codes.

/** "¥1,234.50", "-¥12.30": integer fen to yuan with thousands separators, sign first. */
export function yuan(fen, { symbol = true } = {}) {
  if (fen === null || fen === undefined || fen === "") return "—";
  const value = Number(fen);
  if (!Number.isFinite(value)) return "—";
  const whole = Math.abs(Math.trunc(value));
  const integer = Math.floor(whole / 100).toLocaleString("en-US");
  const cents = String(whole % 100).padStart(2, "0");
  return `${value < 0 ? "-" : ""}${symbol ? "¥" : ""}${integer}.${cents}`;
}

/** Yuan typed in a form ("12.5") to integer fen (1250); null when it is not an amount. */
export function toFen(text) {
  const trimmed = String(text ?? "").trim();
  if (!/^\d+(\.\d{1,2})?$/.test(trimmed)) return null;
  const [integer, decimals = ""] = trimmed.split(".");
  return Number(integer) * 100 + Number(decimals.padEnd(2, "0"));
}

const CHINA = "Asia/Shanghai";
const parts = (iso, options) => {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return null;
  const found = {};
  new Intl.DateTimeFormat("en-CA", { timeZone: CHINA, hourCycle: "h23", ...options })
    .formatToParts(at)
    .forEach(({ type, value }) => (found[type] = value));
  return found;
};

/** "2026-12-04 18:05" in China time. */
export function dateTime(iso) {
  if (!iso) return "—";
  const p = parts(iso, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
  return p ? `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}` : "—";
}

/** "2026-12-04" in China time. */
export function date(iso) {
  if (!iso) return "—";
  const p = parts(iso, { year: "numeric", month: "2-digit", day: "2-digit" });
  return p ? `${p.year}-${p.month}-${p.day}` : "—";
}

/** Today in China time as YYYY-MM-DD, shifted by `days`. */
export function chinaDay(days = 0) {
  return date(new Date(Date.now() + days * 86_400_000).toISOString());
}

export function minutes(value) {
  if (value === null || value === undefined) return "—";
  if (value < 60) return `${Math.round(value)} 分钟`;
  if (value < 60 * 48) return `${(value / 60).toFixed(1)} 小时`;
  return `${(value / 1440).toFixed(1)} 天`;
}

/** "还剩 1 小时 20 分" or "已超时 15 分钟", from the due time and now. */
export function dueIn(iso, now = Date.now()) {
  if (!iso) return { text: "计时暂停", late: false };
  const left = Math.round((new Date(iso).getTime() - now) / 60000);
  const span = (m) => (m >= 60 ? `${Math.floor(m / 60)} 小时 ${m % 60} 分` : `${m} 分钟`);
  return left >= 0
    ? { text: `还剩 ${span(left)}`, late: false }
    : { text: `已超时 ${span(-left)}`, late: true };
}

export const ROLE = {
  brand_admin: "品牌管理员",
  brand_ops: "品牌运营",
  distributor_admin: "经销商管理员",
  distributor_staff: "经销商员工",
  store_owner: "门店老板",
  store_clerk: "门店店员",
  system: "系统",
};

export const isBrandRole = (role) => role === "brand_admin" || role === "brand_ops";
export const isDistributorRole = (role) =>
  role === "distributor_admin" || role === "distributor_staff";

export const COMPLAINT_STATUS = {
  new: "待受理",
  acknowledged: "已受理",
  assigned: "已转经销商",
  responded: "经销商已答复",
  resolved: "已解决",
  reopened: "已重新打开",
  closed: "已关闭",
};

export const COMPLAINT_CATEGORY = {
  quality: "质量问题",
  damaged: "货损",
  delivery: "配送延迟/未送达",
  wrong_goods: "发错货",
  service: "经销商服务",
  promotion: "活动未兑现",
  other: "其他",
};

export const COMPLAINT_ACTION = {
  acknowledge: "受理",
  assign: "转给经销商",
  respond: "答复门店",
  resolve: "标记已解决",
  close: "关闭",
};

export const CONTACT = { phone: "电话联系", wechat: "微信联系", none: "无需联系" };

export const ORDER_STATUS = {
  pending_payment: "待付款",
  paid: "待接单",
  accepted: "待发货",
  shipped: "配送中",
  delivered: "待签收",
  completed: "已完成",
  cancelled: "已取消",
};

export const CHANNEL = { self: "门店自主下单", proxy: "业务员代下单", live: "直播订货会" };

/** Element Plus tag types by status, so every list colours the same state the same way. */
export const STATUS_TAG = {
  pending_payment: "warning",
  paid: "danger",
  accepted: "warning",
  shipped: "primary",
  delivered: "primary",
  completed: "success",
  cancelled: "info",
  new: "danger",
  acknowledged: "warning",
  assigned: "warning",
  responded: "primary",
  resolved: "success",
  reopened: "danger",
  closed: "info",
};
