// The consumer campaign form's model, body and checks (pages/codes/campaign.js) under Node's
// runner: what the form sends is what the API takes, and it refuses what the API refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LIVE_FIELDS, bodyFromForm, changedFields, couponsFor, emptyForm, fieldErrors, formFromCampaign, plainYuan,
  problems, share,
} from "../src/pages/codes/campaign.js";

const NOW = Date.parse("2026-12-05T00:00:00Z");

function filled() {
  return Object.assign(emptyForm(), {
    name: " 扫码领红包 ",
    sku_ids: [3, 5, 3],
    times: ["2026-12-05 09:00", "2027-01-05 09:00"],
    coupon_value: "5",
    coupon_valid_days: 30,
    budget: "1000.5",
  });
}

test("the body is what the API takes: fen, China times as instants, SKUs once", () => {
  assert.deepEqual(bodyFromForm(filled()), {
    name: "扫码领红包",
    sku_ids: [3, 5],
    starts_at: "2026-12-05T09:00:00+08:00",
    ends_at: "2027-01-05T09:00:00+08:00",
    coupon_value_fen: 500,
    coupon_valid_days: 30,
    budget_fen: 100_050,
  });
});

test("a saved campaign fills the form back in China time and plain yuan", () => {
  const form = formFromCampaign({
    name: "扫码领红包",
    sku_ids: [3],
    starts_at: "2026-12-05T01:00:00+00:00",
    ends_at: "2027-01-05T01:00:00+00:00",
    coupon_value_fen: 550,
    coupon_valid_days: 15,
    budget_fen: 100_000,
  });
  assert.deepEqual(form.times, ["2026-12-05 09:00", "2027-01-05 09:00"]);
  assert.equal(form.coupon_value, "5.50");
  assert.equal(form.budget, "1000");
  assert.equal(plainYuan(7), "0.07");
});

test("a filled form has no problems; each bad field is named in Chinese", () => {
  assert.deepEqual(problems(filled(), { now: NOW }), {});
  const bad = Object.assign(filled(), {
    name: "  ",
    sku_ids: [],
    times: ["2026-12-05 09:00", "2026-12-05 08:00"],
    coupon_value: "0",
    coupon_valid_days: 366,
    budget: "abc",
  });
  const found = problems(bad, { now: NOW });
  assert.deepEqual(Object.keys(found).sort(), ["budget", "coupon_valid_days", "coupon_value", "name", "sku_ids", "times"]);
  assert.equal(found.times, "结束时间须晚于开始时间");
  assert.ok(Object.values(found).every((text) => /[\u4e00-\u9fff]/.test(text)));
  assert.equal(problems(Object.assign(filled(), { budget: "4" }), { now: NOW }).budget, "预算不能少于一张券的面值");
  assert.equal(
    problems(Object.assign(filled(), { budget: "999" }), { now: NOW, floorFen: 100_050 }).budget,
    "活动已发布，预算只能增加",
  );
  assert.equal(
    problems(Object.assign(filled(), { times: ["2026-11-01 09:00", "2026-12-01 09:00"] }), { now: NOW }).times,
    "结束时间已过，请重新选择",
  );
  assert.equal(
    problems(Object.assign(filled(), { times: ["2026-12-05 09:00", "2029-12-05 09:00"] }), { now: NOW }).times,
    "活动时长不能超过两年",
  );
});

test("a published campaign sends only budget and end; nothing when nothing changed", () => {
  const before = bodyFromForm(filled());
  const after = bodyFromForm(Object.assign(filled(), { name: "改名", budget: "2000", times: ["2026-12-05 09:00", "2027-02-05 09:00"] }));
  assert.deepEqual(changedFields(before, after, LIVE_FIELDS), {
    budget_fen: 200_000,
    ends_at: "2027-02-05T09:00:00+08:00",
  });
  assert.deepEqual(changedFields(before, before), {});
});

test("the API's field problems land at the form's items", () => {
  const error = {
    details: [
      { field: "ends_at", message: "结束时间须晚于现在" },
      { field: "budget_fen", message: "预算不能少于一张券的面值" },
      { field: "body", message: "请求体不能为空" },
    ],
  };
  assert.deepEqual(fieldErrors(error), {
    times: "结束时间须晚于现在",
    budget: "预算不能少于一张券的面值",
    "": "请求体不能为空",
  });
  assert.deepEqual(fieldErrors(null), {});
});

test("how many coupons a budget pays for, and the budget's share", () => {
  assert.equal(couponsFor(filled()), "预算可发 200 张券");
  assert.equal(couponsFor(emptyForm()), "");
  assert.equal(share(250, 1000), 25);
  assert.equal(share(5, 0), 0);
});
