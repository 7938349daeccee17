// Words and rules of the staff accounts area (the same rules as the API's).

export const BRAND_STAFF_ROLES = ["brand_admin", "brand_ops"];
export const DISTRIBUTOR_STAFF_ROLES = ["distributor_admin", "distributor_staff"];
export const ADMIN_ROLES = ["brand_admin", "distributor_admin"];

export const ACTIVE_FILTER = { "": "全部", true: "在用", false: "已停用" };

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

export const passwordRules = [
  { required: true, message: "请输入密码", trigger: ["blur", "change"] },
  { min: PASSWORD_MIN, max: PASSWORD_MAX, message: `密码为 ${PASSWORD_MIN}–${PASSWORD_MAX} 个字符`, trigger: ["blur", "change"] },
];

export const usernameRules = [
  { required: true, message: "请输入登录账号", trigger: ["blur", "change"] },
  {
    pattern: /^[a-zA-Z0-9_.-]{3,64}$/,
    message: "账号为 3–64 位字母、数字或 _ . -",
    trigger: ["blur", "change"],
  },
];

export const displayNameRules = [
  { required: true, message: "请输入姓名", trigger: ["blur", "change"] },
  { max: 64, message: "姓名最多 64 个字符", trigger: ["blur", "change"] },
];
