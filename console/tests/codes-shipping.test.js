import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addScans, codesToSend, markScanProblems, problemsByField, rangeBoxes, tokenIn,
} from "../src/pages/codes/shipping.js";

const A = "0123456789ABCDEFGHJK";
const B = "MNPQRSTVWXYZ01234567";

test("a token is read from a URL, a bare token, any case, and nothing else", () => {
  assert.equal(tokenIn(`https://b2b.example/C/${A}`), A);
  assert.equal(tokenIn(`https://b2b.example/c/${A.toLowerCase()}?from=gun`), A);
  assert.equal(tokenIn(`  ${A}\n`), A);
  assert.equal(tokenIn(`https://b2b.example/V/${A}`), null); // a coupon, not a code
  assert.equal(tokenIn("0123456789ABCDEFGHJI"), null); // I is not Crockford
  assert.equal(tokenIn("short"), null);
  assert.equal(tokenIn(""), null);
  assert.equal(tokenIn("x".repeat(600)), null);
});

test("scans add each box once, newest first, and say what was refused", () => {
  let { list, added, messages } = addScans([], `https://b2b.example/C/${A}`);
  assert.equal(added, 1);
  assert.deepEqual(messages, []);
  ({ list, added, messages } = addScans(list, `${A.toLowerCase()}\n${B}\nrubbish`));
  assert.equal(added, 1);
  assert.deepEqual(list.map((r) => r.token), [B, A]);
  assert.equal(messages.length, 2);
  assert.match(messages[0], /已扫过/);
  assert.match(messages[1], /无法识别/);
  assert.deepEqual(codesToSend(list), [A, B]);
});

test("a refusal marks the rows it names", () => {
  const { list } = addScans([], `${A} ${B}`);
  const details = [{ field: "codes.0", message: "已出库到 经销商甲" }, { field: "ranges.1", message: "范围不对" }];
  assert.deepEqual(problemsByField(details), { "codes.0": "已出库到 经销商甲", "ranges.1": "范围不对" });
  const marked = markScanProblems(list, details);
  assert.equal(marked.find((r) => r.token === A).problem, "已出库到 经销商甲");
  assert.equal(marked.find((r) => r.token === B).problem, "");
  assert.deepEqual(problemsByField(null), {});
});

test("a range counts its boxes only when whole and forwards", () => {
  assert.equal(rangeBoxes({ from: 1, to: 100 }), 100);
  assert.equal(rangeBoxes({ from: 5, to: 4 }), 0);
  assert.equal(rangeBoxes({ from: null, to: 4 }), 0);
});
