// One order, with everything that happened to it and what the viewer may do to it now.
// (The order list is pages/orders/; this page has no sidebar entry: it opens from there.)
export default [
  {
    path: "/orders/:id(\\d+)",
    name: "order",
    component: () => import("./Detail.vue"),
    meta: { title: "订单详情" },
  },
];
