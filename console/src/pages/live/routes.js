// Live sessions (直播订货会): the list, and the form that plans one (create, and edit until it
// starts). The control panel of a session is at /live/<id> (pages/live-panel/).
const DISTRIBUTOR = ["distributor"];

export default [
  {
    path: "/live",
    name: "live",
    component: () => import("./Sessions.vue"),
    meta: {
      title: "直播订货会",
      nav: "直播订货会",
      group: "直播",
      order: 40,
      roles: ["distributor", "brand"], // brand staff may look at their distributors' sessions
    },
  },
  {
    path: "/live/new",
    name: "live-new",
    component: () => import("./SessionForm.vue"),
    meta: { title: "新建直播", roles: DISTRIBUTOR },
  },
  {
    path: "/live/:id(\\d+)/edit",
    name: "live-edit",
    component: () => import("./SessionForm.vue"),
    props: true,
    meta: { title: "编辑直播", roles: DISTRIBUTOR },
  },
];
