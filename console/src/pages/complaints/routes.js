// The complaint queue, a complaint, and the handling metrics (brand staff see all of their
// brand's; a distributor sees the complaints handed to it).
export default [
  {
    path: "/complaints",
    name: "complaints",
    component: () => import("./Queue.vue"),
    meta: { title: "投诉队列", nav: "投诉队列", group: "售后与投诉", order: 60 },
  },
  {
    path: "/complaints/:id(\\d+)",
    name: "complaint",
    component: () => import("./Complaint.vue"),
    meta: { title: "投诉详情" },
  },
  {
    path: "/metrics",
    name: "metrics",
    component: () => import("./Metrics.vue"),
    meta: { title: "投诉处理指标", nav: "处理指标", group: "售后与投诉", order: 61 },
  },
  {
    path: "/complaints/sla",
    name: "complaint-sla",
    component: () => import("./Sla.vue"),
    meta: { title: "投诉服务时限", nav: "服务时限", group: "售后与投诉", order: 62, roles: ["brand"] },
  },
  {
    // Both may look: the API shows a distributor only the complaints handed to it.
    path: "/complaints/archive",
    name: "complaint-archive",
    component: () => import("./Archive.vue"),
    meta: { title: "投诉档案", nav: "投诉档案", group: "售后与投诉", order: 63 },
  },
];
