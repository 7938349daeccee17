// Words of the import page (数据导入) that only it uses.
import { yuan } from "../../format.js";

const joined = (items) => (items && items.length ? items.join("、") : "—");

/** Each kind: its name, what a row becomes, what happens to a row already there, and the
 * columns of the table showing what an import wrote (`sample` rows of the API's answer). */
export const KINDS = {
  stores: {
    label: "门店",
    unit: "家门店",
    intro: "每行一家门店：名称、手机号、地址、经销商必填，可填区域、业务员、分层与标签。",
    again: "手机号已登记的门店会被指出，整个文件不会导入，所以同一文件不会重复创建门店。",
    created: (c) => `已创建 ${c.stores} 家门店`,
    columns: [
      { label: "门店名称", value: (r) => r.name, width: 200 },
      { label: "手机号", value: (r) => r.phone, width: 140 },
      { label: "经销商", value: (r) => r.distributor, width: 180 },
      { label: "分层", value: (r) => r.tier, width: 80 },
      { label: "标签", value: (r) => joined(r.tags) },
    ],
  },
  products: {
    label: "商品",
    unit: "个规格",
    intro: "每行一个规格：商品名称相同的行归入同一商品；标价填元，最多两位小数。",
    again: "条码已存在的规格会被指出，整个文件不会导入，所以同一文件不会重复创建商品。",
    created: (c) => `已创建 ${c.products} 个商品、${c.skus} 个规格`,
    columns: [
      { label: "商品", value: (r) => `${r.product}${r.new_product ? "（新）" : ""}`, width: 200 },
      { label: "规格", value: (r) => r.name, width: 160 },
      { label: "条码", value: (r) => r.barcode, width: 160 },
      { label: "标价", value: (r) => yuan(r.list_price_fen), money: true },
    ],
  },
  prices: {
    label: "价格表",
    unit: "条价格",
    intro: "每行一条价格：规格条码、单价必填；经销商、分层不填表示全部，起订数量用于阶梯价。",
    again: "条码、经销商、分层、起订数量都相同的价格会改为文件中的单价，不会重复添加。",
    created: (c) => `新增 ${c.price_entries} 条价格，更新 ${c.updated} 条价格`,
    columns: [
      { label: "条码", value: (r) => r.barcode, width: 160 },
      { label: "经销商", value: (r) => r.distributor || "全部", width: 180 },
      { label: "分层", value: (r) => r.store_tier || "全部", width: 80 },
      { label: "起订数量", value: (r) => r.min_qty, width: 100 },
      { label: "单价", value: (r) => `${yuan(r.unit_price_fen)}${r.updated ? "（更新）" : ""}`, money: true },
    ],
  },
};

/** What the upload takes: the same limit the API enforces on file routes. */
export const ACCEPT = ".xlsx,.xls,.csv";
export const MAX_FILE_MB = 12;
export const PAGE_SIZE = 50;
