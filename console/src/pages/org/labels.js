// Words and rules of the organisation pages (the same rules as the API's). A store's tier
// and status are the stores area's words, shared from there.
export { STORE_STATUS, STORE_STATUS_TAG, STORE_TIER } from "../stores/labels.js";

export const ACTIVE = { true: "在用", false: "已停用" };
export const SALESPERSON_ACTIVE = { true: "在职", false: "已停用" };

// Bulk actions take at most this many stores at once (the API's limit).
export const MAX_BULK = 500;

export const nameRules = (what, max) => [
  { required: true, message: `请输入${what}`, trigger: ["blur", "change"] },
  { max, message: `${what}最多 ${max} 个字符`, trigger: ["blur", "change"] },
  { pattern: /\S/, message: `${what}不能只有空格`, trigger: ["blur", "change"] },
];

// A salesperson's mobile: they sign in to the mini-program with it.
export const mobileRules = [
  { required: true, message: "请输入手机号", trigger: ["blur", "change"] },
  { pattern: /^1\d{10}$/, message: "请输入 11 位手机号", trigger: ["blur", "change"] },
];

// A distributor's contact number may be a landline ("0571-88001234").
export const contactPhoneRules = [
  { max: 20, message: "联系电话最多 20 个字符", trigger: ["blur", "change"] },
  { pattern: /^[0-9+\- ]*$/, message: "联系电话只能包含数字、+、- 和空格", trigger: ["blur", "change"] },
];

// WeChat Pay service-provider mode: the distributor's sub-merchant number (子商户号), digits only.
export const subMchidRules = [
  { pattern: /^\d{8,12}$/, message: "子商户号为 8–12 位数字", trigger: ["blur", "change"] },
];
