// The store pages' words: activity, RFM tiers, channels and the mini-program's event kinds.
export const ACTIVITY = {
  active: { label: "活跃", type: "success" },
  dormant: { label: "沉睡", type: "warning" },
  never: { label: "未下单", type: "info" },
};

export const SEGMENTS = [
  "重要价值客户",
  "重要保持客户",
  "重要发展客户",
  "重要挽留客户",
  "一般价值客户",
  "一般保持客户",
  "一般发展客户",
  "一般挽留客户",
];

/** Tag colour of a tier: the 重要 ones stand out. */
export const segmentType = (segment) => (segment?.startsWith("重要") ? "danger" : "info");

export const CHANNELS = { self: "自主下单", proxy: "代下单", live: "直播" };

export const EVENT_KINDS = {
  page_view: "浏览页面",
  search: "搜索",
  product_view: "查看商品",
  add_to_cart: "加入购物车",
  checkout: "去结算",
  order: "下单",
};

export const TIERS = ["A", "B", "C", "D"];
