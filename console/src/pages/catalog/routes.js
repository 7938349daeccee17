// The brand's catalog: products and their SKUs, the category tree, and per SKU its prices
// (阶梯价 per distributor and store tier, shown as a store sees them) and each distributor's
// availability and stock. Brand staff only.
const brand = ["brand"];

export default [
  {
    path: "/catalog/products",
    name: "catalog-products",
    component: () => import("./ProductList.vue"),
    meta: { title: "商品", nav: "商品", group: "商品", order: 21, roles: brand },
  },
  {
    path: "/catalog/products/new",
    name: "catalog-product-new",
    component: () => import("./ProductNew.vue"),
    meta: { title: "新建商品", roles: brand },
  },
  {
    path: "/catalog/products/:id(\\d+)",
    name: "catalog-product",
    component: () => import("./Product.vue"),
    meta: { title: "商品详情", roles: brand },
  },
  {
    path: "/catalog/skus/:id(\\d+)",
    name: "catalog-sku",
    component: () => import("./Sku.vue"),
    meta: { title: "价格与供货", roles: brand },
  },
  {
    path: "/catalog/categories",
    name: "catalog-categories",
    component: () => import("./Categories.vue"),
    meta: { title: "商品分类", nav: "商品分类", group: "商品", order: 22, roles: brand },
  },
];
