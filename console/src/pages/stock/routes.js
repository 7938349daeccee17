// A distributor's stock: every SKU with its stock, low-stock warnings, adjustments and their
// history, and whether stores can order it. Brand staff may look at a distributor's, read only.
export default [
  {
    path: "/stock",
    name: "stock",
    component: () => import("./StockList.vue"),
    meta: { title: "库存", nav: "库存", group: "订单与库存", order: 20, roles: ["distributor", "brand"] },
  },
];
