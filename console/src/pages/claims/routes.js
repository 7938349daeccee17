// Voucher claims (核销): a distributor claims from the brand the value of the exchange
// vouchers its stores used in orders it delivered, and follows each claim to settlement;
// the brand reviews every distributor's claims, approves or rejects them and settles them.
export default [
  {
    path: "/claims",
    name: "claims",
    component: () => import("./Claims.vue"),
    meta: { title: "兑换券核销", nav: "兑换券核销", group: "核销与对账", order: 50, roles: ["distributor"] },
  },
  {
    path: "/claims/review",
    name: "claim-review",
    component: () => import("./ClaimReview.vue"),
    meta: { title: "兑换券核销审核", nav: "核销审核", group: "核销与对账", order: 52, roles: ["brand"] },
  },
  {
    path: "/claims/:id(\\d+)",
    name: "claim",
    component: () => import("./Claim.vue"),
    meta: { title: "核销单详情", roles: ["distributor", "brand"] },
  },
];
