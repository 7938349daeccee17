// Words of the product-code pages (一物一码) and the bounds the API checks, so a form says
// what is wrong before it is sent. Each part of 一物一码 adds its own below.

// ---- 赋码批次 ----
export const BATCH_STATUS = { generating: "生成中", ready: "已生成", failed: "生成失败" };
export const BATCH_STATUS_TAG = { generating: "warning", ready: "success", failed: "danger" };
export const CODE_KIND = { box: "箱码", item: "物码" };
export const OPEN_REWARD_KIND = { "": "无奖励", points: "积分", cash: "现金" };

export const BATCH_LIMITS = {
  boxes: 100000,
  itemsPerBox: 200,
  codes: 2000000, // boxes × (items per box + 1)
  reward: 1000000, // points, or fen
  sheetCodes: 2000, // a batch printed here instead of from the CSV
};
export const BATCH_NO = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;

/** Every code of a batch: its boxes and their items. */
export const codesTotal = (boxes, itemsPerBox) => (Number(boxes) || 0) * ((Number(itemsPerBox) || 0) + 1);

/** How far the job has written a batch's codes, 0–100. */
export function progress(batch) {
  if (!batch?.codes_total) return 0;
  if (batch.status === "ready") return 100;
  return Math.min(99, Math.floor((batch.written / batch.codes_total) * 100));
}

/** What is wrong with a new batch's form, field by field (empty: nothing). */
export function batchProblems(form) {
  const problems = {};
  if (!form.sku_id) problems.sku_id = "请选择商品规格";
  const batchNo = String(form.batch_no || "").trim();
  if (!batchNo) problems.batch_no = "请填写生产批号";
  else if (!BATCH_NO.test(batchNo)) problems.batch_no = "生产批号为 1–32 位字母、数字或“-”，以字母或数字开头";
  const boxes = Number(form.boxes);
  if (!Number.isInteger(boxes) || boxes < 1 || boxes > BATCH_LIMITS.boxes) {
    problems.boxes = `箱数须为 1–${BATCH_LIMITS.boxes} 的整数`;
  }
  const perBox = Number(form.items_per_box);
  if (!Number.isInteger(perBox) || perBox < 1 || perBox > BATCH_LIMITS.itemsPerBox) {
    problems.items_per_box = `每箱物码数须为 1–${BATCH_LIMITS.itemsPerBox} 的整数`;
  }
  if (!problems.boxes && !problems.items_per_box && codesTotal(boxes, perBox) > BATCH_LIMITS.codes) {
    problems.boxes = `一个批次最多 ${BATCH_LIMITS.codes.toLocaleString("zh-CN")} 个码，请减少箱数或分成多个批次`;
  }
  const reward = rewardProblem(form.reward_kind, form.reward_amount);
  if (reward) problems.reward_amount = reward;
  return problems;
}

/** What is wrong with an open-box reward as the form holds it: points, or yuan for cash. */
export function rewardProblem(kind, amount) {
  if (!kind) return "";
  const value = Number(amount);
  if (kind === "points") {
    if (!Number.isInteger(value) || value < 1 || value > BATCH_LIMITS.reward) return `积分须为 1–${BATCH_LIMITS.reward} 的整数`;
    return "";
  }
  const fen = Math.round(value * 100);
  if (!Number.isFinite(value) || value <= 0 || Math.abs(value * 100 - fen) > 1e-6 || fen > BATCH_LIMITS.reward) {
    return `现金须为 0.01–${BATCH_LIMITS.reward / 100} 元，最多两位小数`;
  }
  return "";
}

/** The API's open_reward from the form: points as they are, cash in fen. */
export function rewardBody(kind, amount) {
  if (!kind) return { kind: "", amount: 0 };
  return { kind, amount: kind === "cash" ? Math.round(Number(amount) * 100) : Number(amount) };
}
