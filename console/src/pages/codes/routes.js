// 一物一码 (issue 20): product code batches, shipping, diversion alerts, consumer campaigns,
// redemptions and members, and the stores' stock from their scans. Each part adds its entries.
export default [
  {
    path: "/codes/store-stock",
    name: "codes-store-stock",
    component: () => import("./StoreStock.vue"),
    meta: { title: "门店库存与动销", nav: "门店库存与动销", group: "一物一码", order: 58.5 },
  },
];
