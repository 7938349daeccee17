// Words of the order queue that only its pages use.
import { ORDER_STATUS } from "../../format.js";

/** The queue's tabs, in the order a distributor works them: each status, then 售后 (after-sale:
 * an order with a refund that did not fail, or an open complaint about it; GET /orders/counts
 * counts it in its status too). "" is every order. */
export const AFTER_SALE = "after_sale";
export const TABS = [
  { name: "", label: "全部" },
  ...Object.entries(ORDER_STATUS).map(([name, label]) => ({ name, label })),
  { name: AFTER_SALE, label: "售后" },
];

/** Whether and how an order was paid, from its status and what payments recorded. */
export function paidState(order) {
  const paid = order.paid_fen || 0;
  const refunded = order.refunded_fen || 0;
  if (refunded > 0 && refunded >= paid) return { text: "已全额退款", type: "info" };
  if (refunded > 0) return { text: "部分退款", type: "warning" };
  if (paid > 0) return { text: "已付款", type: "success" };
  if (order.status === "pending_payment") return { text: "待付款", type: "warning" };
  return { text: "未付款", type: "info" };
}

/** "3 箱 + 2 支", "2 台": units as the warehouse counts them (cases of the SKU's case size). */
export function byCase({ cases, loose, unit, case_size: caseSize }) {
  if (caseSize <= 1) return `${loose} ${unit}`;
  const parts = [];
  if (cases) parts.push(`${cases} 箱`);
  if (loose || !cases) parts.push(`${loose} ${unit}`);
  return parts.join(" + ");
}

/** Channels in a narrow column (CHANNEL in format.js has the full names, shown on hover). */
export const CHANNEL_SHORT = { self: "自主下单", proxy: "代下单", live: "直播" };
