// The live panel's words for the API's codes.
export const SESSION_STATUS = { scheduled: "未开始", live: "直播中", ended: "已结束" };
export const SESSION_TAG = { scheduled: "info", live: "danger", ended: "info" };
export const RAIN_STATUS = { planned: "未开始", running: "进行中", ended: "已结束" };
export const DROP_STATUS = { planned: "未开始", running: "抢券中", ended: "已结束" };
// A draw's state from its status alone, in the draws table and in the data panel alike (a
// draw run with nobody eligible is drawn, only without winners).
export const DRAW_STATUS = { planned: "未公布", announced: "已公布，待开奖", drawn: "已开奖" };
export const STEP_TAG = { planned: "info", announced: "warning", running: "warning", drawn: "success", ended: "success" };
export const ELIGIBILITY = { present: "开奖时在直播间", ordered: "本场下过单", invited: "全部受邀门店" };

/** "澜泉 RO 净水器" and "RO-500 · 500G" for a live product or card (product name, then SKU). */
export function productName(product) {
  return product?.name || product?.sku?.name || "商品";
}
export function skuLine(product) {
  const sku = product?.sku_name ?? product?.sku?.name ?? "";
  const spec = product?.spec ?? product?.sku?.spec ?? "";
  return [sku, spec].filter(Boolean).join(" · ");
}
export function productTitle(product) {
  return [productName(product), skuLine(product)].filter(Boolean).join(" ");
}

/** What came of a draw, from its status (the session's draws) and, once drawn, its winners
 * (the report's): "张建国净水店（滤芯）", "已开奖，无中奖门店", or its state. */
export function drawOutcome(status, winners = []) {
  if (status !== "drawn") return DRAW_STATUS[status] || status;
  return winners.map((w) => `${w.name}（${w.prize}）`).join("、") || "已开奖，无中奖门店";
}
