// Words of the coupon pages (优惠券) that only they use, and how a template's terms and
// validity read in Chinese.
import { dateTime } from "../../format.js";

export const COUPON_KIND = { reduction: "满减券", discount: "折扣券", exchange: "兑换券" };

export const KIND_TAG = { reduction: "danger", discount: "warning", exchange: "success" };

export const TEMPLATE_STATUS = { active: "发放中", ended: "已停止" };

export const TEMPLATE_STATUS_TAG = { active: "success", ended: "info" };

export const TIERS = { A: "A 类", B: "B 类", C: "C 类", D: "D 类" };

export const SCHEDULE = { once: "一次性发放", monthly: "每月发放" };

/** The use figures of a template, in the order the list and the detail show them. */
export const FIGURES = [
  { key: "issued", label: "发放", hint: "品牌批量发放与直播发券" },
  { key: "claimed", label: "领取", hint: "门店在领券中心领取" },
  { key: "used", label: "使用", hint: "已用于订单（订单取消后退回的不计）" },
  { key: "expired", label: "过期", hint: "过期未使用" },
];

/** "领取后 30 天内有效" or "2026-12-01 00:00 至 2026-12-31 23:59". */
export function validity(template) {
  if (template.valid_days) return `发放/领取后 ${template.valid_days} 天内有效`;
  return `${dateTime(template.valid_from)} 至 ${dateTime(template.valid_until)}`;
}

/** "剩 120 / 500 张" or "不限量". */
export function stock(template) {
  if (template.total_quantity === null || template.total_quantity === undefined) return "不限量";
  return `剩 ${template.left} / ${template.total_quantity} 张`;
}

/** Who a batch or template goes to, in words: "经销商：华东经销商；标签：新店" or "全部门店". */
export function audienceText(audience, names = {}) {
  const named = (ids, kind) => ids.map((id) => names[kind]?.[id] || `#${id}`).join("、");
  const parts = [];
  if (audience?.distributor_ids?.length) parts.push(`经销商：${named(audience.distributor_ids, "distributor")}`);
  if (audience?.region_ids?.length) parts.push(`区域：${named(audience.region_ids, "region")}`);
  if (audience?.tiers?.length) parts.push(`等级：${audience.tiers.map((t) => TIERS[t] || t).join("、")}`);
  if (audience?.tags?.length) parts.push(`标签：${audience.tags.join("、")}`);
  if (audience?.store_ids?.length) parts.push(`指定门店 ${audience.store_ids.length} 家`);
  return parts.length ? parts.join("；") : "全部门店";
}

export const NAME_MAX = 40;
