// Product codes (一物一码): the brand's code batches (生成, 进度, 下载, 打印) and a batch's QR
// sheet printed on A4 without the sidebar. The other code pages (出库, 库存, 窜货, 活动, 核销,
// 会员) add their entries to this list in the same group.
const BRAND = ["brand"];

export default [
  {
    path: "/codes/batches",
    name: "code-batches",
    component: () => import("./Batches.vue"),
    meta: { title: "赋码批次", nav: "赋码批次", group: "一物一码", order: 46, roles: BRAND },
  },
  {
    path: "/codes/batches/:id(\\d+)",
    name: "code-batch",
    component: () => import("./Batch.vue"),
    props: true,
    meta: { title: "赋码批次详情", roles: BRAND },
  },
  {
    path: "/codes/batches/:id(\\d+)/print",
    name: "code-batch-print",
    component: () => import("./BatchSheet.vue"),
    props: true,
    meta: { title: "打印二维码", roles: BRAND, bare: true },
  },
  {
    path: "/codes/diversion",
    name: "codes-diversion",
    component: () => import("./Diversion.vue"),
    meta: { title: "防窜货预警", nav: "防窜货预警", group: "一物一码", order: 46.3 },
  },
  {
    path: "/codes/store-stock",
    name: "codes-store-stock",
    component: () => import("./StoreStock.vue"),
    meta: { title: "门店库存与动销", nav: "门店库存与动销", group: "一物一码", order: 46.2 },
  },
  {
    path: "/codes/shipments",
    name: "codes-shipments",
    component: () => import("./Shipments.vue"),
    meta: { title: "箱码出库", nav: "箱码出库", group: "一物一码", order: 46.1 },
  },
  {
    path: "/codes/boxes",
    name: "codes-boxes",
    component: () => import("./Boxes.vue"),
    meta: { title: "箱码查询", nav: "箱码查询", group: "一物一码", order: 46.15 },
  },
  {
    path: "/codes/redemptions",
    name: "codes-redemptions",
    component: () => import("./Redemptions.vue"),
    meta: { title: "电子券核销", nav: "电子券核销", group: "一物一码", order: 46.6 },
  },
  {
    path: "/codes/members",
    name: "codes-members",
    component: () => import("./Members.vue"),
    meta: { title: "品牌会员", nav: "品牌会员", group: "一物一码", order: 46.7, roles: BRAND },
  },
  // Consumer campaigns (扫码领券): the list with its figures, and the form (new and edit).
  {
    path: "/codes/campaigns",
    name: "codes-campaigns",
    component: () => import("./Campaigns.vue"),
    meta: { title: "消费者活动", nav: "消费者活动", group: "一物一码", order: 46.4, roles: BRAND },
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
