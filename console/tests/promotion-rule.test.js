// The promotion editor's model, body and checks (pages/promotions/rule.js), under Node's runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bodyFromForm, emptyForm, fieldErrors, formFromPromotion, rewardProblem, scopeProblem, stepProblem, timesProblem,
} from "../src/pages/promotions/rule.js";
import { rewardText } from "../src/pages/promotions/labels.js";

function bundleForm() {
  const form = emptyForm();
  Object.assign(form, { name: " 净水套装 ", times: ["2026-12-01 00:00", "2026-12-31 23:59"], kind: "discount", budget: "1000" });
  form.discount.percent = "90";
  form.scope = { mode: "bundle", sku_ids: [7], category_ids: [], bundle: [{ sku_id: 1, set_quantity: 1 }, { sku_id: 2, set_quantity: 10 }], bundle_mode: "sets" };
  return form;
}

test("the body is what the API takes: fen, China times as instants, only the chosen scope", () => {
  const body = bodyFromForm(bundleForm());
  assert.equal(body.name, "净水套装");
  assert.equal(body.starts_at, "2026-12-01T00:00:00+08:00");
  assert.equal(body.budget_fen, 100_000);
  assert.deepEqual(body.reward, { kind: "discount", percent: "90" });
  assert.deepEqual(body.scope.sku_ids, []); // left over from another mode, not sent
  assert.deepEqual(body.scope.bundle, [{ sku_id: 1, set_quantity: 1 }, { sku_id: 2, set_quantity: 10 }]);
  assert.equal(body.per_store_limit, null);
  assert.equal(body.step, null); // the API picks the reward's own step
});

test("a saved promotion reads back into the same form", () => {
  const body = bodyFromForm(bundleForm());
  const saved = {
    ...body, starts_at: "2026-11-30T16:00:00+00:00", ends_at: "2026-12-31T15:59:00+00:00", step: 3,
    budget_fen: 100_000, conditions: { min_quantity: 0, min_amount_fen: 0 },
  };
  const again = bodyFromForm(formFromPromotion(saved));
  assert.deepEqual({ ...again, step: null }, { ...body, step: null });
  assert.equal(again.step, 3);
});

test("the checks say in Chinese what the API would refuse", () => {
  const form = bundleForm();
  assert.equal(rewardProblem(form), "");
  form.kind = "reduction";
  Object.assign(form.reduction, { threshold: "200", amount: "200" });
  assert.equal(rewardProblem(form), "减免金额必须小于满减门槛");
  form.reduction.amount = "1.234";
  assert.match(rewardProblem(form), /最多两位小数/);
  form.kind = "gift";
  form.gift = { sku_id: 3, quantity: 1, per_multiple: true };
  assert.match(rewardProblem(form), /成套组合的赠品/);
  assert.equal(scopeProblem({ ...form.scope, bundle: [{ sku_id: 1, set_quantity: 1 }] }), "组合活动至少需要两种商品");
  assert.equal(stepProblem("special_price", 2), "特价改变商品单价，只能在第 1 步执行");
  assert.equal(timesProblem(["2026-12-02 00:00", "2026-12-01 00:00"]), "结束时间必须晚于开始时间");
});

test("the API's refusals land on the fields they name", () => {
  const form = bundleForm();
  form.kind = "gift";
  form.gift.sku_id = 99;
  const error = {
    details: [
      { field: "reward.amount_off_fen", message: "减免金额必须小于满减门槛" },
      { field: "ends_at", message: "结束时间必须晚于开始时间" },
      { kind: "sku", ids: [99], message: "商品不存在: [99]" },
      { kind: "region", ids: [5], message: "区域不存在: [5]" },
    ],
  };
  assert.deepEqual(fieldErrors(error, form), {
    reward: "减免金额必须小于满减门槛",
    times: "结束时间必须晚于开始时间",
    audience: "区域不存在: [5]",
  });
  assert.deepEqual(fieldErrors({ details: { status: "active" } }, form), {});
});

test("a reward reads in one line", () => {
  assert.equal(rewardText({ kind: "reduction", threshold_fen: 300_000, amount_off_fen: 30_000, every: true }), "每满¥3,000减¥300");
  assert.equal(rewardText({ kind: "discount", percent: "85" }), "打8.5折");
  assert.equal(rewardText({ kind: "special_price", percent_of_list: "90", unit_price_fen: null }), "原价9折");
});
