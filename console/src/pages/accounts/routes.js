// The brand's accounts: any store's, salesperson's or distributor's balances and statement
// with CSV, and the standing first-order and invitation rewards.
export default [
  {
    path: "/accounts",
    name: "accounts",
    component: () => import("./Accounts.vue"),
    meta: { title: "账户与对账单", nav: "账户与对账单", group: "核销与对账", order: 53, roles: ["brand"] },
  },
  {
    path: "/accounts/incentives",
    name: "incentives",
    component: () => import("./Incentives.vue"),
    meta: { title: "首单与邀请奖励", nav: "首单与邀请奖励", group: "核销与对账", order: 54, roles: ["brand"] },
  },
];
