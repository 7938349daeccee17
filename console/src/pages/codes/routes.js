// Product codes (一物一码): each part of issue 20 adds its pages here.
export default [
  {
    path: "/codes/diversion",
    name: "codes-diversion",
    component: () => import("./Diversion.vue"),
    meta: { title: "防窜货预警", nav: "防窜货预警", group: "一物一码", order: 84 },
  },
];
