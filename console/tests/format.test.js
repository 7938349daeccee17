// The console's one money and one date formatter, under Node's own test runner (no browser).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chinaDay, date, dateTime, dueIn, toFen, yuan } from "../src/format.js";

test("yuan prints integer fen with the sign first and thousands separated", () => {
  assert.equal(yuan(0), "¥0.00");
  assert.equal(yuan(5), "¥0.05");
  assert.equal(yuan(123456), "¥1,234.56");
  assert.equal(yuan(-5), "-¥0.05");
  assert.equal(yuan(-1230), "-¥12.30");
  assert.equal(yuan(-123456789), "-¥1,234,567.89");
  assert.equal(yuan(99, { symbol: false }), "0.99");
  assert.equal(yuan(null), "—");
  assert.equal(yuan(undefined), "—");
  assert.equal(yuan("abc"), "—");
});

test("toFen reads yuan typed in a form, and nothing else", () => {
  assert.equal(toFen("12"), 1200);
  assert.equal(toFen("12.5"), 1250);
  assert.equal(toFen(" 0.07 "), 7);
  assert.equal(toFen("19.99"), 1999); // no float error: 19.99 * 100 is 1998.9999…
  for (const bad of ["", "-1", "1.234", "1e3", "abc", "1,000", null, undefined]) {
    assert.equal(toFen(bad), null, String(bad));
  }
});

test("dates are China time whatever the browser's zone", () => {
  // 2026-12-04 16:30 UTC is 2026-12-05 00:30 in China.
  assert.equal(dateTime("2026-12-04T16:30:00Z"), "2026-12-05 00:30");
  assert.equal(date("2026-12-04T16:30:00Z"), "2026-12-05");
  assert.equal(dateTime(null), "—");
  assert.equal(dateTime("not a date"), "—");
  assert.match(chinaDay(), /^\d{4}-\d{2}-\d{2}$/);
});

test("dueIn says how long is left or how late it is", () => {
  const now = Date.parse("2026-12-04T10:00:00Z");
  assert.deepEqual(dueIn("2026-12-04T11:20:00Z", now), { text: "还剩 1 小时 20 分", late: false });
  assert.deepEqual(dueIn("2026-12-04T09:45:00Z", now), { text: "已超时 15 分钟", late: true });
  assert.deepEqual(dueIn(null, now), { text: "计时暂停", late: false });
});
