// Promotions (促销活动): the brand's list by status, the editor with the simulator beside it,
// and one promotion's page (its state, moves, budget chart and the simulator).
const BRAND = ["brand"];

export default [
  {
    path: "/promotions",
    name: "promotions",
    component: () => import("./List.vue"),
    meta: { title: "促销活动", nav: "促销活动", group: "营销", order: 44, roles: BRAND },
  },
  {
    path: "/promotions/new",
    name: "promotion-new",
    component: () => import("./Editor.vue"),
    meta: { title: "新建活动", roles: BRAND },
  },
  {
    path: "/promotions/:id(\\d+)",
    name: "promotion",
    component: () => import("./Detail.vue"),
    props: true,
    meta: { title: "活动详情", roles: BRAND },
  },
  {
    path: "/promotions/:id(\\d+)/edit",
    name: "promotion-edit",
    component: () => import("./Editor.vue"),
    props: true,
    meta: { title: "编辑活动", roles: BRAND },
  },
];
