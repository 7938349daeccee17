// 数据分析: the brand's (and a distributor's own) figures: sell-in, stores, promotions and
// coupons, live sessions, behaviour in the mini-program, the store profile, RFM tiers and
// repurchase reminders.
const BRAND = ["brand"];
const GROUP = "数据分析";

export default [
  {
    path: "/analytics/sales",
    name: "analytics-sales",
    component: () => import("./Sales.vue"),
    meta: { title: "销售看板", nav: "销售看板", group: GROUP, order: 64 },
  },
  {
    path: "/analytics/stores",
    name: "analytics-stores",
    component: () => import("./Stores.vue"),
    meta: { title: "门店分析", nav: "门店分析", group: GROUP, order: 64.1 },
  },
  {
    path: "/analytics/stores/:id(\\d+)",
    name: "analytics-store",
    component: () => import("./StoreProfile.vue"),
    props: true,
    meta: { title: "门店画像" },
  },
  {
    path: "/analytics/promotions",
    name: "analytics-promotions",
    component: () => import("./Promotions.vue"),
    meta: { title: "促销效果", nav: "促销效果", group: GROUP, order: 64.2, roles: BRAND },
  },
  {
    path: "/analytics/coupons",
    name: "analytics-coupons",
    component: () => import("./Coupons.vue"),
    meta: { title: "优惠券效果", nav: "优惠券效果", group: GROUP, order: 64.3, roles: BRAND },
  },
  {
    path: "/analytics/live",
    name: "analytics-live",
    component: () => import("./Live.vue"),
    meta: { title: "直播效果", nav: "直播效果", group: GROUP, order: 64.4 },
  },
  {
    path: "/analytics/behaviour",
    name: "analytics-behaviour",
    component: () => import("./Behaviour.vue"),
    meta: { title: "用户行为", nav: "用户行为", group: GROUP, order: 64.5, roles: BRAND },
  },
  {
    path: "/analytics/reorders",
    name: "analytics-reorders",
    component: () => import("./Reorders.vue"),
    meta: { title: "复购提醒", nav: "复购提醒", group: GROUP, order: 64.6 },
  },
  {
    path: "/analytics/settings",
    name: "analytics-settings",
    component: () => import("./Settings.vue"),
    meta: { title: "分析设置", nav: "分析设置", group: GROUP, order: 64.7, roles: BRAND },
  },
];
