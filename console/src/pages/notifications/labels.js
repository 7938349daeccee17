// Words of the notifications area, and where each notification's link opens in the console.
import { dateTime } from "../../format.js";

export const NOTIFICATION_KIND = {
  "complaint.breached": "投诉超时",
  "complaint.review": "投诉待审核",
  "application.submitted": "入驻申请",
  "claim.submitted": "核销待审核",
  "claim.approved": "核销已确认",
  "claim.settled": "核销已结算",
  "claim.rejected": "核销已驳回",
  "live.reminder": "直播提醒",
  "diversion.raised": "窜货预警",
};

export const KIND_TAG = {
  "complaint.breached": "danger",
  "claim.rejected": "danger",
  "diversion.raised": "danger",
  "complaint.review": "warning",
  "application.submitted": "primary",
  "claim.submitted": "warning",
  "claim.approved": "success",
  "claim.settled": "success",
};

export const READ_FILTER = { "": "全部", false: "未读", true: "已读" };

/** The console page a notification's link ("complaint:42") opens, or "" when none fits.
 * An application is reviewed by the brand (its review page); a distributor it names will
 * find the store among its own once approved. A diversion alert opens the alerts of the
 * store where the boxes surfaced (one notification stands for that store's day). */
export function linkTarget(link, session) {
  const [kind, id] = String(link || "").split(":");
  if (!/^\d+$/.test(id || "")) return "";
  switch (kind) {
    case "complaint":
      return `/complaints/${id}`;
    case "claim":
      return `/claims/${id}`;
    case "order":
      return `/orders/${id}`;
    case "live":
      return `/live/${id}`;
    case "application":
      return session.isBrand ? `/applications/${id}` : "/stores";
    case "diversion-store":
      return `/codes/diversion?store_id=${id}`;
    default:
      return "";
  }
}

/** "刚刚", "5 分钟前", "3 小时前", else the China-time date and time. */
export function ago(iso, now = Date.now()) {
  const minutes = Math.floor((now - new Date(iso).getTime()) / 60000);
  if (minutes < 1) return "刚刚";
  if (minutes < 60) return `${minutes} 分钟前`;
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} 小时前`;
  return dateTime(iso);
}
