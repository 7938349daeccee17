// Codes on every box and item (一物一码): the consumers' e-coupons redeemed in stores (brand
// and distributor staff) and the brand's members (brand staff only).
const BRAND = ["brand"];

export default [
  {
    path: "/codes/redemptions",
    name: "codes-redemptions",
    component: () => import("./Redemptions.vue"),
    meta: { title: "电子券核销", nav: "电子券核销", group: "一物一码", order: 47.6 },
  },
  {
    path: "/codes/members",
    name: "codes-members",
    component: () => import("./Members.vue"),
    meta: { title: "品牌会员", nav: "品牌会员", group: "一物一码", order: 47.7, roles: BRAND },
  },
];
