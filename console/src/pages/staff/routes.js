// Console accounts: a brand admin manages the brand's and its distributors' staff, a
// distributor admin its own distributor's (brand ops may look). Distributor staff may not.
export default [
  {
    path: "/staff",
    name: "staff",
    component: () => import("./List.vue"),
    meta: {
      title: "员工账号",
      nav: "员工账号",
      group: "账号与通知",
      order: 70,
      roles: ["brand", "distributor_admin"],
    },
  },
];
