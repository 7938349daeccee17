// Words of the onboarding pages (拓店) that only they use.

export const APPLICATION_STATUS = { pending: "待审核", approved: "已通过", rejected: "已驳回" };
export const APPLICATION_TAG = { pending: "warning", approved: "success", rejected: "info" };

export const CODE_KIND = { box: "开箱码", salesperson_invite: "业务员邀请", store_invite: "门店邀请" };

/** Why a store or another application looks like the same shop (the API's reasons). */
export const DUPLICATE_REASON = {
  phone: "手机号相同",
  business_licence_no: "营业执照号相同",
  name_address: "店名与地址相同",
};

export const STORE_STATUS = { active: "营业中", suspended: "已暂停", closed: "已关闭" };
export const TIERS = ["A", "B", "C", "D"];

/** Most applications in one box-code print run (the API's cap). */
export const MAX_BATCH_CODES = 1000;
/** The reason a rejection must give, as the API bounds it. */
export const REASON_MAX = 200;

/** "136****2222": a list shows whose application it is without spelling out the number. */
export function maskPhone(phone) {
  const text = String(phone || "");
  return /^\d{11}$/.test(text) ? `${text.slice(0, 3)}****${text.slice(7)}` : text || "—";
}

/** How an application came: "开箱码 K-0001A" or "业务员邀请 · 王磊". */
export function sourceText(source) {
  if (!source) return "—";
  const kind = CODE_KIND[source.kind] || "入驻码";
  return source.inviter ? `${kind} · ${source.inviter.name}` : `${kind} ${source.short_code}`;
}
