// The order page's words: how payments, refunds and carriers are named, and quantities as a
// warehouse counts them (cases of the SKU's 箱规 and loose units).

export const PAYMENT_METHOD = { wechat: "微信支付", offline: "线下收款", zero: "0 元订单（优惠全额抵扣）" };

export const PAYMENT_STATUS = { open: "待支付", succeeded: "已支付", closed: "已关闭", flagged: "异常待核对" };
export const PAYMENT_TAG = { open: "warning", succeeded: "success", closed: "info", flagged: "danger" };

export const REFUND_STATUS = { pending: "待处理", processing: "退款中", succeeded: "已退款", failed: "退款失败" };
export const REFUND_TAG = { pending: "warning", processing: "primary", succeeded: "success", failed: "danger" };

/** Who acted, when the person has no name: the role, or the system. */
export const ACTOR_ROLE = {
  brand_admin: "品牌管理员",
  brand_ops: "品牌运营",
  distributor_admin: "经销商管理员",
  distributor_staff: "经销商员工",
  distributor: "经销商",
  store_owner: "门店老板",
  store_clerk: "门店店员",
  salesperson: "业务员",
  system: "系统",
};

/** The carrier code for "the distributor delivers it itself": no tracking number. The others
 * come from GET /orders/carriers. */
export const SELF_DELIVERY = "own";
export const TRACKING_NO = /^[A-Za-z0-9-]{4,40}$/; // as the API's ship body checks it

/** How the money of an offline payment came (the API keeps it in the payment's note). */
export const OFFLINE_METHODS = ["现金", "银行转账", "微信转账", "支付宝转账", "其他"];

/** Discounts on a line, named: promotions by the order's applied promotions, then coupon
 * and rebate. */
export function adjustmentName(adjustment, promotions) {
  if (adjustment.kind === "coupon") return "优惠券";
  if (adjustment.kind === "rebate") return "返利抵扣";
  const promotion = promotions?.find((p) => p.promotion_id === adjustment.promotion_id);
  return promotion?.name || "促销活动";
}

/** "2 箱 + 3 支（共 23 支）" for a SKU in cases of 10; "3 台" when sold by the unit. */
export function casesAndUnits(quantity, caseSize, unit) {
  if (!caseSize || caseSize <= 1 || quantity < caseSize) return `${quantity} ${unit}`;
  const cases = Math.floor(quantity / caseSize);
  const loose = quantity % caseSize;
  return `${cases} 箱${loose ? ` + ${loose} ${unit}` : ""}（共 ${quantity} ${unit}）`;
}
