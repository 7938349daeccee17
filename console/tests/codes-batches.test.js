// The code batch pages' checks and wording (pages/codes/labels.js), under Node's runner: the
// form refuses what the API would, with the same bounds, and cash is sent in fen.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BATCH_LIMITS, batchProblems, codesTotal, progress, rewardBody, rewardProblem,
} from "../src/pages/codes/labels.js";

const form = (overrides = {}) => ({
  sku_id: 3, batch_no: "20261201-A", boxes: 100, items_per_box: 12, reward_kind: "", reward_amount: null, ...overrides,
});

test("a filled form has no problems", () => {
  assert.deepEqual(batchProblems(form()), {});
  assert.deepEqual(batchProblems(form({ reward_kind: "cash", reward_amount: 5.5 })), {});
});

test("each field's problem is named in Chinese", () => {
  const problems = batchProblems(form({ sku_id: null, batch_no: "-A", boxes: 0, items_per_box: 201 }));
  assert.deepEqual(Object.keys(problems).sort(), ["batch_no", "boxes", "items_per_box", "sku_id"]);
  assert.match(problems.batch_no, /字母、数字/);
  assert.match(batchProblems(form({ batch_no: " " })).batch_no, /请填写/);
  assert.match(batchProblems(form({ batch_no: "批号" })).batch_no, /字母/);
  assert.ok(batchProblems(form({ batch_no: "A".repeat(33) })).batch_no);
  assert.ok(batchProblems(form({ boxes: 1.5 })).boxes);
});

test("a batch of more than two million codes is refused", () => {
  assert.equal(codesTotal(100000, 19), 2000000);
  assert.deepEqual(batchProblems(form({ boxes: 100000, items_per_box: 19 })), {});
  assert.match(batchProblems(form({ boxes: 100000, items_per_box: 20 })).boxes, /最多 2,000,000 个码/);
});

test("rewards: whole points, cash in yuan with two places, sent as fen", () => {
  assert.equal(rewardProblem("", null), "");
  assert.equal(rewardProblem("points", 50), "");
  assert.ok(rewardProblem("points", 0));
  assert.ok(rewardProblem("points", 2.5));
  assert.ok(rewardProblem("points", BATCH_LIMITS.reward + 1));
  assert.equal(rewardProblem("cash", 0.01), "");
  assert.ok(rewardProblem("cash", 0.001));
  assert.ok(rewardProblem("cash", 10000.01));
  assert.deepEqual(rewardBody("cash", 5.1), { kind: "cash", amount: 510 });
  assert.deepEqual(rewardBody("points", 50), { kind: "points", amount: 50 });
  assert.deepEqual(rewardBody("", 50), { kind: "", amount: 0 });
});

test("progress stays below 100 until the batch is ready", () => {
  assert.equal(progress({ status: "generating", written: 0, codes_total: 10 }), 0);
  assert.equal(progress({ status: "generating", written: 10, codes_total: 10 }), 99);
  assert.equal(progress({ status: "generating", written: 5, codes_total: 10 }), 50);
  assert.equal(progress({ status: "ready", written: 10, codes_total: 10 }), 100);
});
