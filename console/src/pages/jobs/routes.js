// Background jobs that failed or are being retried (a WeChat message that could not go, say):
// the brand's admins see why and may run a failed one again.
export default [
  {
    path: "/jobs",
    name: "jobs",
    component: () => import("./List.vue"),
    meta: {
      title: "后台任务",
      nav: "后台任务",
      group: "账号与通知",
      order: 72,
      // The API lets brand admins alone read jobs (their text may be any store's message).
      roles: ["brand_admin"],
    },
  },
];
