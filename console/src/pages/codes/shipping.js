// Shipping box codes (出库), pure: reading a token out of what a scanner gun typed (the same
// rule as backend/codes/tokens.py token_in), the scan list the ship dialog keeps (each box
// once, newest first), the API's refusal spread over the rows it names, and the words.

// Crockford base 32, upper case: 20 characters, no I, L, O, U.
const TOKEN = /^[0-9A-HJKMNP-TV-Z]{20}$/;
const IN_URL = /\/c\/([0-9a-z]{20})(?:[/?#]|$)/i;

export const MAX_CODES = 2000;
export const MAX_RANGES = 100;
export const MAX_RANGE_BOXES = 100000;

export const SHIPMENT_KIND = { to_distributor: "出库到经销商", delivery: "订单发货" };
export const BOX_STATE = { unshipped: "未出库", shipped: "已出库", received: "已入库" };
export const BOX_STATE_TAG = { unshipped: "info", shipped: "primary", received: "success" };

/** The token in a code's URL or a bare token (any case), upper-cased; null when none. */
export function tokenIn(text) {
  const trimmed = String(text ?? "").trim();
  if (!trimmed || trimmed.length > 512) return null;
  const found = IN_URL.exec(trimmed);
  const candidate = (found ? found[1] : trimmed).toUpperCase();
  return TOKEN.test(candidate) ? candidate : null;
}

/** What one scan (or a pasted block: one code per line or space) adds to `list` (rows
 * {token, text, problem}, newest first). Answers {list, added, messages}: what was refused
 * and why, in Chinese, for the person at the scanner. */
export function addScans(list, input) {
  const pieces = String(input ?? "").split(/[\s,，;；]+/).filter(Boolean);
  const rows = [...list];
  const seen = new Set(rows.map((row) => row.token));
  const messages = [];
  let added = 0;
  for (const text of pieces) {
    const token = tokenIn(text);
    if (!token) {
      messages.push(`无法识别：${text.length > 40 ? `${text.slice(0, 40)}…` : text}`);
    } else if (seen.has(token)) {
      messages.push(`已扫过：…${token.slice(-6)}`);
    } else if (rows.length >= MAX_CODES) {
      messages.push(`一次最多 ${MAX_CODES} 箱，请先出库这一批`);
      break;
    } else {
      seen.add(token);
      rows.unshift({ token, text, problem: "" });
      added += 1;
    }
  }
  return { list: rows, added, messages };
}

/** The codes to send, oldest scan first (the order `codes.N` in a refusal refers to). */
export function codesToSend(list) {
  return [...list].reverse().map((row) => row.token);
}

/** The refusal's details by the field they name: {"codes.3": "…", "ranges.0": "…"}. */
export function problemsByField(details) {
  const byField = {};
  for (const detail of Array.isArray(details) ? details : []) {
    if (!detail?.field) continue;
    byField[detail.field] = byField[detail.field]
      ? `${byField[detail.field]}；${detail.message}`
      : detail.message;
  }
  return byField;
}

/** The scan rows with the refusal's problems marked (codes.N is the Nth code sent). */
export function markScanProblems(list, details) {
  const byField = problemsByField(details);
  const count = list.length;
  return list.map((row, index) => ({ ...row, problem: byField[`codes.${count - 1 - index}`] || "" }));
}

/** Boxes in a range row, or 0 while it is incomplete or backwards. */
export function rangeBoxes(row) {
  const from = Number(row?.from);
  const to = Number(row?.to);
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from) return 0;
  return to - from + 1;
}

/** A template people fill in for the range upload: UTF-8 with a BOM (Excel opens it right). */
export function rangeTemplate() {
  return "\ufeff批次号,起始箱号,结束箱号\n20261201,1,100\n20261201,B000101,B000200\n";
}
