// Store stock and sell-through rows (pages/codes/stock.js): counts, on hand, the percent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { figureRow, percent, percentText, stockRow } from "../src/pages/codes/stock.js";

test("a store's SKU: on hand and a whole sell-through percent from the counts", () => {
  const row = stockRow({
    store: { id: 3, name: "赵记水站" },
    distributor: { id: 2, name: "一号经销商" },
    sku: { id: 7, name: "标准款", spec: "5级过滤", product_name: "RO 净水器" },
    received: 24,
    sold: 5,
    on_hand: 19,
  });
  assert.deepEqual(row, {
    key: "3-7",
    store: { id: 3, name: "赵记水站" },
    distributor: { id: 2, name: "一号经销商" },
    sku: { id: 7, name: "标准款", spec: "5级过滤", label: "RO 净水器 标准款" },
    received: 24,
    sold: 5,
    onHand: 19,
    sellThrough: 21,
  });
});

test("flat ids and names read the same; nothing received is no percent, not 0%", () => {
  const row = stockRow({ store_id: 4, store_name: "孙家小店", sku_id: 8, name: "PP 滤芯", spec: "10寸", received: 0, sold: 0 });
  assert.equal(row.store.name, "孙家小店");
  assert.equal(row.sku.label, "PP 滤芯");
  assert.equal(row.distributor, null);
  assert.equal(row.onHand, 0);
  assert.equal(row.sellThrough, null);
  assert.equal(percentText(row.sellThrough), "—");
});

test("percent is whole and bounded", () => {
  assert.equal(percent(1, 3), 33);
  assert.equal(percent(2, 3), 67);
  assert.equal(percent(5, 4), 100);
  assert.equal(percent(3, 0), null);
  assert.equal(percentText(0), "0%");
});

test("figures: the counts, and the sell-through of items received whole", () => {
  const bySku = figureRow({ sku: { id: 7, name: "澜泉 RO 净水器 RO-500", spec: "" }, codes_made: 1300, boxes_shipped: 80, boxes_received: 60, items_received: 720, items_sold: 300, sell_through: 41.7, diversion_alerts: 2 });
  assert.deepEqual(
    [bySku.sku.id, bySku.sku.label, bySku.codes, bySku.boxesShipped, bySku.boxesReceived, bySku.itemsSold, bySku.sellThrough, bySku.alerts],
    [7, "澜泉 RO 净水器 RO-500", 1300, 80, 60, 300, 42, 2],
  );
  // Nothing received: no percent (the API says null).
  assert.equal(figureRow({ distributor: { id: 2, name: "一号" }, items_received: 0, items_sold: 0, sell_through: null }).sellThrough, null);
  // A small percent stays small (0.4%, not 40%).
  assert.equal(figureRow({ distributor: { id: 2, name: "一号" }, sell_through: 0.4 }).sellThrough, 0);
  assert.equal(figureRow({ distributor: { id: 2, name: "一号" } }).sku, null);
});
