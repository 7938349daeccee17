// The stock pages' words: why a stock figure was changed by hand, and which way each reason
// usually moves it (the adjustment dialog starts there).
export const STOCK_REASON = {
  stocktake: "盘点",
  damage: "报损",
  receipt: "到货入库",
  return: "退货入库",
  other: "其他",
};

// How an adjustment is given: add, take away, or set to the counted figure.
export const ADJUST_MODE = { add: "增加", remove: "减少", count: "盘点为" };

export const MODE_FOR_REASON = {
  stocktake: "count",
  damage: "remove",
  receipt: "add",
  return: "add",
  other: "add",
};

export const MAX_DELTA = 1_000_000; // the API's bound on one adjustment
export const MAX_STOCK = 1_000_000_000;

/** "12 支/箱" or "按支": how the SKU is packed. */
export function caseText(row) {
  return row.case_size > 1 ? `${row.case_size} ${row.unit}/箱` : `按${row.unit}`;
}

/** "+5" / "−3": a change of stock with its sign. */
export function signed(delta) {
  return delta > 0 ? `+${delta}` : delta < 0 ? `−${-delta}` : "0";
}
