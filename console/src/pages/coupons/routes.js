// Coupons (优惠券) for brand staff: templates with their use figures, a new template, one
// template with its batches (issued once or monthly to an audience), and the 领券中心 settings.
const brand = ["brand"];

export default [
  {
    path: "/coupons",
    name: "coupons",
    component: () => import("./Templates.vue"),
    meta: { title: "优惠券", nav: "优惠券", group: "营销", order: 45, roles: brand },
  },
  {
    path: "/coupons/new",
    name: "coupon-new",
    component: () => import("./TemplateForm.vue"),
    meta: { title: "新建优惠券", roles: brand },
  },
  {
    path: "/coupons/:id(\\d+)",
    name: "coupon",
    component: () => import("./Template.vue"),
    meta: { title: "优惠券详情", roles: brand },
  },
  {
    path: "/coupons/claim-center",
    name: "claim-center",
    component: () => import("./ClaimCenter.vue"),
    meta: { title: "领券中心", nav: "领券中心", group: "营销", order: 46, roles: brand },
  },
];
