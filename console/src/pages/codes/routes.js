// Codes on every box and item (一物一码). Shipping: the shipments of box codes to
// distributors and the distributors' order deliveries (brand ships; a distributor reads its
// own), and where each box is now.
export default [
  {
    path: "/codes/shipments",
    name: "codes-shipments",
    component: () => import("./Shipments.vue"),
    meta: { title: "箱码出库", nav: "箱码出库", group: "一物一码", order: 26 },
  },
  {
    path: "/codes/boxes",
    name: "codes-boxes",
    component: () => import("./Boxes.vue"),
    meta: { title: "箱码查询", nav: "箱码查询", group: "一物一码", order: 26.5 },
  },
];
