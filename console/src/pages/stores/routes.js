// The distributor's stores: the list with each store's tier, tags, salesperson and last
// order, and a store's page with its orders and complaints.
export default [
  {
    path: "/stores",
    name: "stores",
    component: () => import("./StoreList.vue"),
    meta: { title: "门店", nav: "我的门店", group: "门店", order: 30, roles: ["distributor"] },
  },
  {
    path: "/stores/:id(\\d+)",
    name: "store",
    component: () => import("./StoreDetail.vue"),
    meta: { title: "门店", roles: ["distributor"] },
  },
];
