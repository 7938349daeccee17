// The display program form's model, body, schedule, costs and checks (pages/display/program.js),
// and the words of its labels, under Node's runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LIMITED_FIELDS, bodyFromForm, changedFields, costPerStore, emptyForm, fieldErrors, formFromProgram, problems,
  rewardCost, rewardText, schedule,
} from "../src/pages/display/program.js";
import { distanceText, reasonLines, share } from "../src/pages/display/labels.js";

function filledForm() {
  const form = emptyForm();
  Object.assign(form, {
    name: " 冰柜门陈列 ",
    standard: "冰柜门正面贴海报，第一层整层陈列本品",
    sample_photos: [{ url: "/media/a.jpg", width: 800, height: 600, extra: "dropped" }],
    sku_ids: [3, 5],
    signup_from: "2026-12-01 00:00",
    signup_until: "2026-12-10 00:00",
    first_check_at: "2026-12-07 09:00",
    check_count: 4,
    check_interval_days: 7,
    check_window_days: 3,
    budget: "12000.5",
    max_stores: 50,
    agreement_text: "门店同意按照陈列标准陈列本品，并按时拍照上报检查。",
  });
  form.check_reward = { ...form.check_reward, kind: "voucher", count: 2, template_id: 9, value: "30" };
  form.completion_reward = { ...form.completion_reward, enabled: true, kind: "cash", cash: "50" };
  return form;
}

test("the body is what the API takes: fen, China times as instants, reward specs", () => {
  const body = bodyFromForm(filledForm());
  assert.equal(body.name, "冰柜门陈列");
  assert.deepEqual(body.sample_photos, [{ url: "/media/a.jpg", width: 800, height: 600 }]);
  assert.equal(body.signup_from, "2026-12-01T00:00:00+08:00");
  assert.equal(body.first_check_at, "2026-12-07T09:00:00+08:00");
  assert.equal(body.budget_fen, 1_200_050);
  assert.deepEqual(body.check_reward, { kind: "voucher", amount: 2, template_id: 9, value_fen: 3000 });
  assert.deepEqual(body.completion_reward, { kind: "cash", amount: 5000, template_id: null, value_fen: 0 });
});

test("a reward not given is null, points are whole points", () => {
  const form = filledForm();
  form.check_reward = { ...form.check_reward, kind: "points", points: "200" };
  form.completion_reward.enabled = false;
  const body = bodyFromForm(form);
  assert.deepEqual(body.check_reward, { kind: "points", amount: 200, template_id: null, value_fen: 0 });
  assert.equal(body.completion_reward, null);
});

test("a saved program reads back into the same form and body", () => {
  const body = bodyFromForm(filledForm());
  const saved = {
    ...body,
    id: 1,
    signup_from: "2026-11-30T16:00:00+00:00",
    signup_until: "2026-12-09T16:00:00+00:00",
    first_check_at: "2026-12-07T01:00:00+00:00",
    check_reward: { ...body.check_reward, cost_fen: 6000, text: "兑换券 2 张（价值 ¥60.00）" },
  };
  assert.deepEqual(bodyFromForm(formFromProgram(saved)), body);
});

test("only changed fields are patched, and once signed only the allowed ones", () => {
  const before = bodyFromForm(filledForm());
  const form = filledForm();
  form.budget = "20000";
  form.name = "改名";
  const after = bodyFromForm(form);
  assert.deepEqual(changedFields(before, after), { name: "改名", budget_fen: 2_000_000 });
  assert.deepEqual(changedFields(before, after, LIMITED_FIELDS), { budget_fen: 2_000_000 });
  assert.deepEqual(changedFields(before, before), {});
});

test("the schedule lays the checks out as publishing will, in instants", () => {
  const checks = schedule("2026-12-07 09:00", 3, 7, 3);
  assert.deepEqual(checks, [
    { seq: 1, opens_at: "2026-12-07T01:00:00.000Z", closes_at: "2026-12-10T01:00:00.000Z" },
    { seq: 2, opens_at: "2026-12-14T01:00:00.000Z", closes_at: "2026-12-17T01:00:00.000Z" },
    { seq: 3, opens_at: "2026-12-21T01:00:00.000Z", closes_at: "2026-12-24T01:00:00.000Z" },
  ]);
  assert.deepEqual(schedule("", 3, 7, 3), []);
  assert.deepEqual(schedule("2026-12-07 09:00", 0, 7, 3), []);
  assert.deepEqual(schedule("2026-12-07 09:00", 53, 7, 3), []);
});

test("rewards cost and read as the API words them", () => {
  assert.equal(rewardCost({ kind: "points", amount: 200 }), 200);
  assert.equal(rewardCost({ kind: "voucher", amount: 2, value_fen: 3000 }), 6000);
  assert.equal(rewardCost(null), 0);
  assert.equal(rewardText({ kind: "points", amount: 200 }), "积分 200");
  assert.equal(rewardText({ kind: "cash", amount: 500 }), "现金 ¥5.00");
  assert.equal(rewardText({ kind: "voucher", amount: 2, value_fen: 3000 }), "兑换券 2 张（价值 ¥60.00）");
  // 4 checks of two ¥30 vouchers, then ¥50 cash on completion.
  assert.equal(costPerStore(filledForm()), 4 * 6000 + 5000);
});

test("the checks say in Chinese what the API would refuse", () => {
  assert.deepEqual(problems(filledForm()), {});
  const form = emptyForm();
  const found = problems(form);
  assert.equal(found.name, "请填写活动名称");
  assert.equal(found.sku_ids, "请至少选择一个陈列商品");
  assert.equal(found.signup, "请选择报名开始和截止时间");
  assert.equal(found.check_reward, "积分须为 1 至 10,000,000 的整数");
  assert.equal(found.budget, "请填写活动预算");
  assert.equal(found.agreement_text, "请填写协议内容");

  const late = filledForm();
  late.signup_until = "2026-11-30 00:00";
  late.first_check_at = "2026-11-01 00:00";
  late.check_window_days = 8;
  assert.equal(problems(late).signup, "报名截止时间须晚于开始时间");
  assert.equal(problems(late).schedule, "第一次检查不能早于报名开始时间");
  late.first_check_at = "2026-12-07 09:00";
  assert.equal(problems(late).schedule, "每次拍照时长须为 1 天至检查间隔的天数");

  const tooLate = filledForm();
  tooLate.signup_until = "2026-12-10 09:01"; // the first check closes 12-10 09:00
  assert.equal(problems(tooLate).signup, "报名截止时间不能晚于第一次检查的拍照截止时间");
  tooLate.signup_until = "2026-12-10 09:00";
  assert.equal(problems(tooLate).signup, undefined);

  const noReward = filledForm();
  noReward.check_reward.enabled = false;
  noReward.completion_reward.enabled = false;
  assert.match(problems(noReward).check_reward, /至少设置一种奖励/);
  const voucher = filledForm();
  voucher.check_reward.template_id = null;
  assert.equal(problems(voucher).check_reward, "请选择兑换券");
  const short = filledForm();
  short.agreement_text = "太短了";
  assert.equal(problems(short).agreement_text, "协议内容至少 20 个字");
  assert.deepEqual(Object.keys(problems(emptyForm(), ["budget", "max_stores"])), ["budget"]);
});

test("the API's refusals land on the form items they name", () => {
  const error = {
    details: [
      { field: "budget_fen", message: "预算不能低于已花费" },
      { field: "check_reward.value_fen", message: "兑换券价值超出范围" },
      { field: "signup_until", message: "报名截止时间已过" },
      { field: "sku_ids[1]", message: "商品不存在" },
      { field: "mystery", message: "别的问题" },
    ],
  };
  assert.deepEqual(fieldErrors(error), {
    budget: "预算不能低于已花费",
    check_reward: "兑换券价值超出范围",
    signup: "报名截止时间已过",
    sku_ids: "商品不存在",
    "": "别的问题",
  });
  assert.deepEqual(fieldErrors(new Error("x")), {});
});

test("distances and shares read as people say them", () => {
  assert.equal(distanceText(null), "无定位");
  assert.equal(distanceText(120.4), "约 120 米");
  assert.equal(distanceText(0), "10 米以内");
  assert.equal(distanceText(1234), "约 1.2 公里");
  assert.equal(share(1, 3), 33.3);
  assert.equal(share(5, 0), null);
  assert.equal(share(9, 4), 100);
});

test("the automatic reasons read once per kind, naming the photos", () => {
  const photos = [{ id: 7 }, { id: 8 }];
  const lines = reasonLines(
    [
      { code: "too_far", message: "拍摄地点距门店约 600 米，超出 300 米", photo_id: 7 },
      { code: "too_far", message: "拍摄地点距门店约 600 米，超出 300 米", photo_id: 8 },
      { code: "duplicate", message: "与本店之前提交的照片重复", photo_id: 8 },
      { code: "blurred", message: "照片模糊", photo_id: 7 },
      { code: "blurred", message: "照片很模糊", photo_id: 8 },
      { code: "needs_person", message: "需人工审核陈列效果", photo_id: null },
    ],
    photos,
  );
  assert.deepEqual(lines, [
    { code: "too_far", failing: false, text: "拍摄地点偏远：拍摄地点距门店约 600 米，超出 300 米（照片 1、2）" },
    { code: "duplicate", failing: true, text: "疑似重复照片：与本店之前提交的照片重复（照片 2）" },
    { code: "blurred", failing: true, text: "照片模糊：照片 1：照片模糊；照片 2：照片很模糊" },
    { code: "needs_person", failing: false, text: "需人工确认：需人工审核陈列效果" },
  ]);
});
