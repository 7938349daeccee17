// Onboarding (拓店), brand staff only: the review queue of stores' applications (the bell's
// application:N links open /applications/N), box-code print runs and salespeople's
// invitation codes, and their QR sheets printed on A4 without the sidebar.
export default [
  {
    path: "/applications",
    name: "applications",
    component: () => import("./Applications.vue"),
    meta: { title: "入驻审核", nav: "入驻审核", group: "拓店", order: 41, roles: ["brand"] },
  },
  {
    path: "/applications/:id(\\d+)",
    name: "application",
    component: () => import("./Application.vue"),
    meta: { title: "入驻申请", roles: ["brand"] },
  },
  {
    path: "/onboarding/box-codes",
    name: "box-codes",
    component: () => import("./BoxCodes.vue"),
    meta: { title: "开箱码", nav: "开箱码", group: "拓店", order: 42, roles: ["brand"] },
  },
  {
    path: "/onboarding/invitations",
    name: "invitations",
    component: () => import("./Invitations.vue"),
    meta: { title: "业务员邀请码", nav: "邀请码", group: "拓店", order: 43, roles: ["brand"] },
  },
  {
    path: "/onboarding/box-codes/:id(\\d+)/print",
    name: "box-codes-print",
    component: () => import("./PrintBatch.vue"),
    meta: { title: "开箱码打印", roles: ["brand"], bare: true },
  },
  {
    path: "/onboarding/invitations/print",
    name: "invitations-print",
    component: () => import("./PrintInvitations.vue"),
    meta: { title: "邀请码打印", roles: ["brand"], bare: true },
  },
];
