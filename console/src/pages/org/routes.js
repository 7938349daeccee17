// The brand's organisation: regions, distributors (each with its page), salespeople and the
// brand's view of every store (distributors keep their own /stores). Brand staff only; what
// brand ops may not change (regions, distributors, salespeople) they see without the buttons.
const brand = (title, extra = {}) => ({ title, roles: ["brand"], ...extra });

export default [
  {
    path: "/org/regions",
    name: "org-regions",
    component: () => import("./Regions.vue"),
    meta: brand("区域", { nav: "区域", group: "组织", order: 31 }),
  },
  {
    path: "/org/distributors",
    name: "org-distributors",
    component: () => import("./Distributors.vue"),
    meta: brand("经销商", { nav: "经销商", group: "组织", order: 32 }),
  },
  {
    path: "/org/distributors/:id(\\d+)",
    name: "org-distributor",
    component: () => import("./Distributor.vue"),
    meta: brand("经销商详情"),
  },
  {
    path: "/org/salespeople",
    name: "org-salespeople",
    component: () => import("./Salespeople.vue"),
    meta: brand("业务员", { nav: "业务员", group: "组织", order: 33 }),
  },
  {
    path: "/org/stores",
    name: "org-stores",
    component: () => import("./Stores.vue"),
    meta: brand("门店管理", { nav: "门店管理", group: "组织", order: 34 }),
  },
  {
    path: "/org/stores/:id(\\d+)",
    name: "org-store",
    component: () => import("./Store.vue"),
    meta: brand("门店详情"),
  },
];
