// Every notification of the signed-in person, with paging and a read/unread filter (the bell
// in the header shows the latest few).
export default [
  {
    path: "/notifications",
    name: "notifications",
    component: () => import("./List.vue"),
    meta: { title: "消息通知", nav: "消息通知", group: "账号与通知", order: 71 },
  },
];
