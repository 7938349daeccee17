// The catalog pages' words and small helpers: store tiers, where a price came from, the
// category tree as one select, and a SKU's fields as a form holds them (price in yuan text).
import { toFen, yuan } from "../../format.js";

export const TIER = { A: "A 类门店", B: "B 类门店", C: "C 类门店", D: "D 类门店" };

export const ACTIVE = { true: "上架", false: "下架" };

/** How the pricing code names the price a store pays ("distributor_tier:10") in words. */
export function priceSource(source) {
  const [scope, from] = String(source || "list").split(":");
  const name = {
    distributor_tier: "经销商等级价",
    distributor: "经销商价",
    tier: "等级价",
    brand: "统一价",
    list: "指导价",
  }[scope] || scope;
  return from ? `${name} · ${from}起` : name;
}

/** Whom a group of price entries is for: "经销商甲 · B 类门店", "全部经销商 · 全部门店". */
export function scopeText(entry, distributorName) {
  const distributor = entry.distributor_id ? distributorName(entry.distributor_id) : "全部经销商";
  const tier = entry.store_tier ? TIER[entry.store_tier] : "全部门店等级";
  return `${distributor} · ${tier}`;
}

/** The tree as select options, each parent followed by its children ("厨房 / 水槽"). */
export function categoryTree(categories) {
  const children = (id) => categories.filter((c) => c.parent_id === id);
  return children(null).flatMap((top) => [
    { value: top.id, label: top.name, top: true },
    ...children(top.id).map((child) => ({ value: child.id, label: `${top.name} / ${child.name}` })),
  ]);
}

/** "12 支/箱" or "按支". */
export function packing(sku) {
  return sku.case_size > 1 ? `${sku.case_size} ${sku.unit}/箱` : `按${sku.unit}`;
}

/** A SKU as the form edits it: numbers as text, the list price in yuan. */
export function skuForm(sku = {}) {
  return {
    name: sku.name || "",
    spec: sku.spec || "",
    unit: sku.unit || "件",
    barcode: sku.barcode || "",
    list_price: sku.list_price_fen != null ? yuan(sku.list_price_fen, { symbol: false }).replaceAll(",", "") : "",
    case_size: String(sku.case_size ?? 1),
    min_order_qty: String(sku.min_order_qty ?? 1),
  };
}

const WHOLE = /^\d+$/;

/** The form's problems by field (empty: fine), the same rules the API holds. */
export function skuProblems(form) {
  const problems = {};
  if (!form.name.trim()) problems.name = "请填写规格名称";
  if (!form.unit.trim()) problems.unit = "请填写单位";
  if (form.barcode && !/^[0-9A-Za-z-]{4,32}$/.test(form.barcode.trim())) {
    problems.barcode = "条码为 4–32 位数字、字母或 -";
  }
  if (toFen(form.list_price) === null) problems.list_price = "请填写指导价，如 199 或 199.50";
  const caseSize = Number(form.case_size);
  const minimum = Number(form.min_order_qty);
  if (!WHOLE.test(form.case_size) || caseSize < 1 || caseSize > 10000) {
    problems.case_size = "箱规为 1–10000 的整数";
  }
  if (!WHOLE.test(form.min_order_qty) || minimum < 1 || minimum > 99999) {
    problems.min_order_qty = "起订量为 1–99999 的整数";
  } else if (!problems.case_size && minimum % caseSize) {
    problems.min_order_qty = `起订量须是箱规（${caseSize}）的整数倍`;
  }
  return problems;
}

/** The form as the API takes it. */
export function skuBody(form) {
  return {
    name: form.name.trim(),
    spec: form.spec.trim(),
    unit: form.unit.trim(),
    barcode: form.barcode.trim() || null,
    list_price_fen: toFen(form.list_price),
    case_size: Number(form.case_size),
    min_order_qty: Number(form.min_order_qty),
  };
}

/** A product as the form edits it. */
export function productForm(product = {}) {
  return {
    name: product.name || "",
    category_id: product.category_id ?? null,
    description: product.description || "",
    images: [...(product.images || [])],
  };
}

export function productProblems(form) {
  const problems = {};
  if (!form.name.trim()) problems.name = "请填写商品名称";
  if (!form.category_id) problems.category_id = "请选择分类";
  return problems;
}

export function productBody(form) {
  return {
    name: form.name.trim(),
    category_id: form.category_id,
    description: form.description.trim(),
    images: form.images,
  };
}
