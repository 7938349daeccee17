// The host's control panel of one live session (直播控制台): no sidebar entry of its own, the
// sessions list (/live, pages/live/) links to it.
export default [
  {
    path: "/live/:id(\\d+)",
    name: "live-panel",
    component: () => import("./Panel.vue"),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { title: "直播控制台", roles: ["brand", "distributor"] },
  },
];
