// The distributor's statements (对账单): its accounts with the brand and every movement.
export default [
  {
    path: "/statements",
    name: "statements",
    component: () => import("./Statements.vue"),
    meta: { title: "对账单", nav: "对账单", group: "核销与对账", order: 51, roles: ["distributor"] },
  },
];
