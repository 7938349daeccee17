// Store stock and sell-through rows as the console shows them, from GET /codes/store-stock
// and GET /codes/figures. Pure (no Vue), tested in tests/codes-stock.test.js.
//
// The rows read nested objects ({store: {id, name}, sku: {id, name, spec}, distributor}) and,
// as a fallback, flat ids and names (store_id, store_name, sku_id, name…); the sell-through is
// worked out here from the counts (sold ÷ received) so that it is always a whole percent of the
// same figures the row shows, whatever the API adds.

const int = (value) => {
  const n = Number(value);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
};
const first = (row, keys) => {
  for (const key of keys) if (row[key] !== undefined && row[key] !== null) return row[key];
  return undefined;
};

/** A whole percent (0–100) of part in whole, or null when there is no whole. */
export function percent(part, whole) {
  if (!whole || whole <= 0) return null;
  return Math.min(100, Math.max(0, Math.round((part * 100) / whole)));
}

/** "42%", or "—" when there is nothing to divide by. */
export function percentText(value) {
  return value === null || value === undefined ? "—" : `${value}%`;
}

function skuOf(row) {
  const sku = row.sku || {};
  const id = first(sku, ["id"]) ?? row.sku_id ?? null;
  const name = first(sku, ["name"]) ?? row.sku_name ?? row.name ?? "";
  const product = first(sku, ["product_name"]) ?? row.product_name ?? "";
  const spec = first(sku, ["spec"]) ?? row.spec ?? "";
  const label = product && !String(name).includes(product) ? `${product} ${name}` : String(name);
  return { id, name, spec: spec && spec !== name ? spec : "", label: label.trim() };
}

function namedOf(row, key) {
  const nested = row[key];
  if (nested && typeof nested === "object") return { id: nested.id ?? null, name: nested.name ?? "" };
  const id = row[`${key}_id`];
  const name = row[`${key}_name`];
  return id === undefined && name === undefined ? null : { id: id ?? null, name: name ?? "" };
}

/** One row of GET /codes/store-stock. */
export function stockRow(row) {
  const store = namedOf(row, "store") || { id: null, name: "" };
  const sku = skuOf(row);
  const received = int(row.received);
  const sold = int(row.sold);
  const onHand = row.on_hand === undefined || row.on_hand === null ? received - sold : int(row.on_hand);
  return {
    key: `${store.id}-${sku.id}`,
    store,
    distributor: namedOf(row, "distributor"),
    sku,
    received,
    sold,
    onHand,
    sellThrough: percent(sold, received),
  };
}

/** One row of GET /codes/figures (by SKU or by distributor, or its totals). The API's
 * sell_through is a percent with one decimal (null before anything was received); shown whole. */
export function figureRow(row) {
  const received = first(row, ["items_received", "received_items"]);
  const sold = int(first(row, ["items_sold", "sold_items"]));
  let sellThrough = null;
  if (received !== undefined) sellThrough = percent(sold, int(received));
  else if (typeof row.sell_through === "number") sellThrough = Math.round(row.sell_through);
  return {
    sku: row.sku || row.sku_id ? skuOf(row) : null,
    distributor: namedOf(row, "distributor"),
    codes: int(first(row, ["codes_made", "codes_total", "codes"])),
    boxesShipped: int(first(row, ["boxes_shipped", "shipped_boxes"])),
    boxesReceived: int(first(row, ["boxes_received", "received_boxes"])),
    itemsReceived: int(received),
    itemsSold: sold,
    sellThrough,
    alerts: int(first(row, ["diversion_alerts", "alerts", "diversion"])),
  };
}
