// Words and numbers as people read them in the console.
export const STATUS = {
  new: "待受理",
  acknowledged: "已受理",
  assigned: "已转经销商",
  responded: "经销商已答复",
  resolved: "已解决",
  reopened: "已重新打开",
  closed: "已关闭",
};

export const CATEGORY = {
  quality: "质量问题",
  damaged: "货损",
  delivery: "配送延迟/未送达",
  wrong_goods: "发错货",
  service: "经销商服务",
  promotion: "活动未兑现",
  other: "其他",
};

export const ROLE = {
  brand_admin: "品牌管理员",
  brand_ops: "品牌运营",
  distributor_admin: "经销商管理员",
  distributor_staff: "经销商员工",
  store_owner: "门店",
  store_clerk: "门店店员",
  system: "系统",
};

export const ACTION = {
  acknowledge: "受理",
  assign: "转给经销商",
  respond: "答复门店",
  resolve: "标记已解决",
  close: "关闭",
};

export const CONTACT = { phone: "电话联系", wechat: "微信联系", none: "无需联系" };

export const isBrandRole = (role) => role === "brand_admin" || role === "brand_ops";

const pad = (n) => String(n).padStart(2, "0");

export function dateTime(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

export function minutes(value) {
  if (value === null || value === undefined) return "—";
  if (value < 60) return `${Math.round(value)} 分钟`;
  if (value < 60 * 48) return `${(value / 60).toFixed(1)} 小时`;
  return `${(value / 1440).toFixed(1)} 天`;
}

// "还剩 1 小时 20 分" or "已超时 15 分钟", from the due time and now.
export function dueIn(iso, now = Date.now()) {
  if (!iso) return { text: "计时暂停", late: false };
  const left = Math.round((new Date(iso).getTime() - now) / 60000);
  const span = (m) => (m >= 60 ? `${Math.floor(m / 60)} 小时 ${m % 60} 分` : `${m} 分钟`);
  return left >= 0
    ? { text: `还剩 ${span(left)}`, late: false }
    : { text: `已超时 ${span(-left)}`, late: true };
}
