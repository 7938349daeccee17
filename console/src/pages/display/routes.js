// Display programs (陈列活动): the brand's programs (distributor staff read the ones open to
// their stores), the program form, one program with its figures and signings, the review
// queue of submitted display photos, and a signed agreement printed on A4 without the sidebar.
const BRAND = ["brand"];

export default [
  {
    path: "/display",
    name: "display-programs",
    component: () => import("./Programs.vue"),
    meta: { title: "陈列活动", nav: "陈列活动", group: "营销", order: 44.5 },
  },
  {
    path: "/display/new",
    name: "display-program-new",
    component: () => import("./ProgramForm.vue"),
    meta: { title: "新建陈列活动", roles: BRAND },
  },
  {
    path: "/display/:id(\\d+)",
    name: "display-program",
    component: () => import("./Program.vue"),
    props: true,
    meta: { title: "陈列活动详情" },
  },
  {
    path: "/display/:id(\\d+)/edit",
    name: "display-program-edit",
    component: () => import("./ProgramForm.vue"),
    props: true,
    meta: { title: "编辑陈列活动", roles: BRAND },
  },
  {
    path: "/display/reviews",
    name: "display-reviews",
    component: () => import("./Reviews.vue"),
    meta: { title: "陈列审核", nav: "陈列审核", group: "营销", order: 44.6, roles: BRAND },
  },
  {
    path: "/display/signings/:id(\\d+)/print",
    name: "display-signing-print",
    component: () => import("./PrintSigning.vue"),
    props: true,
    meta: { title: "陈列协议", bare: true },
  },
];
