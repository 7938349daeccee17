// Imports (数据导入): brand staff bring stores, products and price lists in from a spreadsheet,
// checked row by row first and written all or nothing.
export default [
  {
    path: "/imports",
    name: "imports",
    component: () => import("./Imports.vue"),
    meta: { title: "数据导入", nav: "数据导入", group: "数据", order: 65, roles: ["brand"] },
  },
];
