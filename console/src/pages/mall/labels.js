// Words of the points-mall pages that only they use.

export const ITEM_STATUS = { on_sale: "在售", off_sale: "已下架" };
export const ITEM_STATUS_TAG = { on_sale: "success", off_sale: "info" };

export const REDEMPTION_STATUS = { pending: "待发货", delivered: "已发货" };
export const REDEMPTION_TAG = { pending: "warning", delivered: "success" };

/** A physical gift is posted; another (a top-up, an e-card) reaches the store another way. */
export const GIFT_KIND = { true: "实物（邮寄）", false: "虚拟（充值、卡密等）" };

// The limits the API holds the fields to, so the form refuses what the server would.
export const LIMITS = { name: 40, description: 200, points: 100_000_000, stock: 10_000_000 };
