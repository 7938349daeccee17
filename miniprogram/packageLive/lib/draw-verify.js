/**
 * Checking a live lottery draw's published record on the phone
 * (GET /live/sessions/<id>/draws/<draw_id>), by the procedure `sha256-mod-v1` that
 * backend/livestream/lottery_draw.py documents:
 *   - the revealed seed must hash (SHA-256 of its UTF-8 text, hex) to the hash published
 *     before the draw;
 *   - the winners must be what the seed gives: pool = the eligible store ids, unique and
 *     sorted; for rank r = 1..n, i = SHA-256("<seed>:<r>") as a big-endian integer mod the
 *     pool's size, and pool[i] wins (and leaves the pool); prizes go out in rank order.
 * Pure JavaScript (no BigInt, which old base libraries lack): the 256-bit hash is reduced
 * modulo the pool size one hex digit at a time.
 */

const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

function utf8Bytes(text) {
  const bytes = [];
  const s = String(text);
  for (let i = 0; i < s.length; i += 1) {
    let code = s.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < s.length) {
      const low = s.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i += 1;
      }
    }
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
  }
  return bytes;
}

function rotr(x, n) {
  return (x >>> n) | (x << (32 - n));
}

/** SHA-256 of a text's UTF-8 bytes, as 64 lowercase hex characters. */
function sha256Hex(text) {
  const bytes = utf8Bytes(text);
  const bitLength = bytes.length * 8;
  bytes.push(0x80);
  while (bytes.length % 64 !== 56) bytes.push(0);
  const high = Math.floor(bitLength / 0x100000000);
  [high >>> 24, high >>> 16, high >>> 8, high, bitLength >>> 24, bitLength >>> 16, bitLength >>> 8, bitLength].forEach((b) => bytes.push(b & 255));
  const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const w = new Array(64);
  for (let offset = 0; offset < bytes.length; offset += 64) {
    for (let i = 0; i < 16; i += 1) {
      const j = offset + i * 4;
      w[i] = ((bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3]) >>> 0;
    }
    for (let i = 16; i < 64; i += 1) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i += 1) {
      const t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0] + a) >>> 0;
    h[1] = (h[1] + b) >>> 0;
    h[2] = (h[2] + c) >>> 0;
    h[3] = (h[3] + d) >>> 0;
    h[4] = (h[4] + e) >>> 0;
    h[5] = (h[5] + f) >>> 0;
    h[6] = (h[6] + g) >>> 0;
    h[7] = (h[7] + k) >>> 0;
  }
  return h.map((x) => x.toString(16).padStart(8, '0')).join('');
}

/** A hex number modulo a small positive integer, exactly. */
function hexMod(hex, n) {
  let r = 0;
  for (let i = 0; i < hex.length; i += 1) r = (r * 16 + parseInt(hex.charAt(i), 16)) % n;
  return r;
}

/** The winners the procedure gives: [{store_id, prize, rank}], rank 1 first. */
function drawWinners(seed, eligible, prizes) {
  const pool = Array.from(new Set((eligible || []).map(Number))).sort((a, b) => a - b);
  const ladder = [];
  (prizes || []).forEach((p) => {
    for (let i = 0; i < p.count; i += 1) ladder.push(p.name);
  });
  const winners = [];
  const n = Math.min(ladder.length, pool.length);
  for (let rank = 1; rank <= n; rank += 1) {
    const i = hexMod(sha256Hex(`${seed}:${rank}`), pool.length);
    winners.push({ store_id: pool.splice(i, 1)[0], prize: ladder[rank - 1], rank });
  }
  return winners;
}

/** {hashOk, winnersOk} for a drawn record; both false when it has no seed yet. */
function verifyRecord(record) {
  const seed = record && record.seed;
  if (!seed || typeof seed !== 'string') return { hashOk: false, winnersOk: false };
  const hashOk = sha256Hex(seed) === record.seed_hash;
  const expected = drawWinners(seed, record.eligible || [], record.prizes || []);
  const published = (record.winners || [])
    .map((w) => ({ store_id: Number(w.store_id), prize: String(w.prize), rank: Number(w.rank) }))
    .sort((a, b) => a.rank - b.rank);
  const winnersOk = JSON.stringify(expected) === JSON.stringify(published);
  return { hashOk, winnersOk };
}

module.exports = { sha256Hex, hexMod, drawWinners, verifyRecord };
