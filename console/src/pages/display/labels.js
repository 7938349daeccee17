// Words of the display pages (陈列活动) that only they use: a program's phase, a signing's and
// a submission's state, the automatic checks' reasons, and distances as people say them.
export const PHASE = {
  draft: "草稿",
  upcoming: "即将开始",
  signing: "报名中",
  running: "执行中",
  finished: "已完成",
  ended: "已结束",
};
export const PHASE_TAG = {
  draft: "info",
  upcoming: "warning",
  signing: "success",
  running: "primary",
  finished: "info",
  ended: "info",
};

export const PROGRAM_STATUS = { draft: "草稿", published: "已发布", ended: "已结束" };

export const SIGNING_STATUS = { active: "执行中", completed: "已完成", ended: "已结束" };
export const SIGNING_TAG = { active: "primary", completed: "success", ended: "info" };

export const SUBMISSION_STATUS = { passed: "已通过", review: "待审核", failed: "未通过", rejected: "已驳回" };
export const SUBMISSION_TAG = { passed: "success", review: "warning", failed: "danger", rejected: "danger" };

export const REWARD_KIND = { points: "积分", cash: "现金", voucher: "兑换券" };

export const FIRST_REVIEW = { approved: "业务员已初审", none: "业务员未初审" };

/** The automatic checks' reasons, named short for a tag (the message says the rest). */
export const REASON = {
  outside_window: "不在拍照时间内",
  duplicate: "疑似重复照片",
  too_dark: "照片过暗",
  blurred: "照片模糊",
  too_far: "拍摄地点偏远",
  no_location: "照片无定位",
  store_no_location: "门店无定位",
  needs_person: "需人工确认",
  recogniser: "图像识别",
  budget_exhausted: "预算已用完",
  voucher_unavailable: "兑换券无法发放",
};
/** Reasons that failed a submission outright (red); the others only ask a person (amber). */
export const FAILING = new Set(["outside_window", "duplicate", "too_dark", "blurred"]);

export const ACTION = {
  publish: {
    label: "发布",
    type: "primary",
    title: "发布陈列活动",
    text: "发布后，符合条件的门店可在小程序报名签约；有门店签约后，活动条款不能再修改。",
    done: "活动已发布",
  },
  end: {
    label: "结束",
    type: "danger",
    title: "结束陈列活动",
    text: "结束后门店不能再报名，已签约门店不再需要拍照检查；已提交待审核的照片仍可审核。结束后不能恢复。",
    done: "活动已结束",
  },
};

export const EXPORTS = [
  { what: "signings", label: "签约门店" },
  { what: "submissions", label: "拍照提交记录" },
  { what: "rewards", label: "奖励发放记录" },
];

/** "约 120 米", "约 1.2 公里", "10 米以内" (closer than a phone can tell), or "无定位" when the
 * photo or the store had none. */
export function distanceText(metres) {
  if (metres === null || metres === undefined) return "无定位";
  if (metres < 10) return "10 米以内";
  if (metres < 1000) return `约 ${Math.round(metres)} 米`;
  return `约 ${(metres / 1000).toFixed(1)} 公里`;
}

/** "12 / 100" with the share, for a progress bar: null when there is no total. */
export function share(part, total) {
  if (!total) return null;
  return Math.min(100, Math.round((part / total) * 1000) / 10);
}

/** The automatic checks' reasons, one line per kind: the same reason on several photos reads
 * once ("拍摄地点偏远：距门店约 600 米（照片 1、2）"), different words each with its photo. */
export function reasonLines(reasons, photos) {
  const number = (photoId) => photos.findIndex((p) => p.id === photoId) + 1;
  const kinds = new Map();
  reasons.forEach((reason) => {
    if (!kinds.has(reason.code)) kinds.set(reason.code, []);
    kinds.get(reason.code).push(reason);
  });
  return [...kinds].map(([code, found]) => {
    const named = found.filter((r) => number(r.photo_id) > 0);
    const messages = [...new Set(found.map((r) => r.message))];
    let text;
    if (messages.length === 1) {
      const which = named.map((r) => number(r.photo_id)).join("、");
      text = which ? `${messages[0]}（照片 ${which}）` : messages[0];
    } else {
      text = found.map((r) => (number(r.photo_id) > 0 ? `照片 ${number(r.photo_id)}：${r.message}` : r.message)).join("；");
    }
    return { code, failing: FAILING.has(code), text: `${REASON[code] || "自动检查"}：${text}` };
  });
}
