// The points mall (积分商城) for brand staff: the gifts stores buy with points, and the
// redemptions waiting to be sent.
export default [
  {
    path: "/mall/items",
    name: "mall-items",
    component: () => import("./Items.vue"),
    meta: { title: "积分商城", nav: "积分商城", group: "营销", order: 47, roles: ["brand"] },
  },
  {
    path: "/mall/redemptions",
    name: "mall-redemptions",
    component: () => import("./Redemptions.vue"),
    meta: { title: "兑换发货", nav: "兑换发货", group: "营销", order: 47.5, roles: ["brand"] },
  },
];
