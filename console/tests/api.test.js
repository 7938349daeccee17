// keyAfter: which failures free an action's Idempotency-Key for the corrected retry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, keyAfter } from "../src/api.js";

test("a refusal gets a new key, so the corrected form is not refused as a reused key", () => {
  for (const [status, code] of [[422, "request.invalid"], [409, "staff.username_taken"], [404, "not_found"]]) {
    const key = keyAfter(new ApiError(status, code, "不行"), "k1");
    assert.notEqual(key, "k1");
    assert.ok(key.length > 8);
  }
});

test("a failure the first attempt may have survived keeps the key, so a retry creates once", () => {
  const kept = [
    new ApiError(409, "idempotency.in_progress", "处理中"),
    new ApiError(429, "rate_limited", "太快"),
    new ApiError(503, "internal.error", "稍后再试"),
    new ApiError(0, "network", "网络不通"),
    new TypeError("Failed to fetch"),
  ];
  kept.forEach((error) => assert.equal(keyAfter(error, "k1"), "k1"));
});
