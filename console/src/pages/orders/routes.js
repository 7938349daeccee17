// The order queue (a distributor's landing page; brand staff see their brand's orders read
// only), and the sheets printed from it: the picking list and the delivery notes.
export default [
  {
    path: "/orders",
    name: "orders",
    component: () => import("./Queue.vue"),
    meta: { title: "订单", nav: "订单", group: "订单与库存", order: 10, roles: ["distributor", "brand"] },
  },
  {
    path: "/orders/print/picking",
    name: "orders-print-picking",
    component: () => import("./PrintPicking.vue"),
    meta: { title: "拣货单", roles: ["distributor"], bare: true },
  },
  {
    path: "/orders/print/delivery",
    name: "orders-print-delivery",
    component: () => import("./PrintDelivery.vue"),
    meta: { title: "送货单", roles: ["distributor"], bare: true },
  },
];
