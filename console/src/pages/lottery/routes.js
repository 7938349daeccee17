// The lottery wheel (抽奖转盘) for brand staff: wheels with their prizes, weights and stock,
// and the prizes won that the brand still has to send or arrange.
export default [
  {
    path: "/lottery/wheels",
    name: "lottery-wheels",
    component: () => import("./Wheels.vue"),
    meta: { title: "抽奖转盘", nav: "抽奖转盘", group: "营销", order: 48, roles: ["brand"] },
  },
  {
    path: "/lottery/prizes",
    name: "lottery-prizes",
    component: () => import("./Prizes.vue"),
    meta: { title: "奖品发放", nav: "奖品发放", group: "营销", order: 48.5, roles: ["brand"] },
  },
];
