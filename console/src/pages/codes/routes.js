// Codes on every box and item (一物一码). Each part of the area adds its own entries here.
const BRAND = ["brand"];

export default [
  // Consumer campaigns (扫码领券): the list with its figures, and the form (new and edit).
  {
    path: "/codes/campaigns",
    name: "codes-campaigns",
    component: () => import("./Campaigns.vue"),
    meta: { title: "消费者活动", nav: "消费者活动", group: "一物一码", order: 58, roles: BRAND },
  },
  {
    path: "/codes/campaigns/new",
    name: "codes-campaign-new",
    component: () => import("./CampaignForm.vue"),
    meta: { title: "新建消费者活动", roles: BRAND },
  },
  {
    path: "/codes/campaigns/:id(\\d+)/edit",
    name: "codes-campaign-edit",
    component: () => import("./CampaignForm.vue"),
    props: true,
    meta: { title: "编辑消费者活动", roles: BRAND },
  },
];
