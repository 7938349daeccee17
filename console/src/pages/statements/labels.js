// Words of the statement pages (对账单) that only they use.

/** A distributor's accounts, named for what their balance means to it. */
export const ACCOUNT_KIND = {
  vouchers: "兑换券核销款",
  cash: "直播红包资金",
};

/** What a balance means, shown under it. */
export const BALANCE_MEANING = {
  vouchers: "品牌已确认、尚未结算给您的核销款",
  cash: "直播红包雨出资与未领退回的累计",
};

/** The object behind an entry, when the console has a page for it. */
export function entrySource(entry) {
  if (entry.cause === "claim_ok" || entry.cause === "claim_paid") {
    return { to: `/claims/${entry.cause_id}`, text: `核销单 #${entry.cause_id}` };
  }
  if (entry.order_id) return { to: `/orders/${entry.order_id}`, text: `订单 #${entry.order_id}` };
  return null;
}
