// The QR drawing of the printed sheets, under Node's own test runner (no browser).
import { test } from "node:test";
import assert from "node:assert/strict";
import { encode } from "uqr";
import { qrDrawing } from "../src/pages/onboarding/qr.js";

test("a QR code is drawn as one path covering exactly its dark modules", () => {
  const url = "https://b2bc.example.com/join/abcdefghijklmnop.ABCDEFGHIJKLMNOPQRSTUVWXYZ0";
  const { size, path } = qrDrawing(url);
  const { data } = encode(url, { ecc: "M", border: 0 });
  assert.equal(size, data.length);
  // The finder pattern's top edge: seven dark modules from the corner.
  assert.ok(path.startsWith("M0 0.5h7"));
  const drawn = [...path.matchAll(/M(\d+) (\d+)\.5h(\d+)/g)];
  const dark = data.flat().filter(Boolean).length;
  assert.equal(drawn.reduce((sum, [, , , length]) => sum + Number(length), 0), dark);
  for (const [, x, y, length] of drawn) {
    for (let i = 0; i < Number(length); i += 1) assert.equal(data[Number(y)][Number(x) + i], true);
  }
});
