/**
 * A consumer's coupon QR, drawn on the phone: the text (what the store's scanner reads) is
 * encoded by uqr and written as a small black-and-white PNG in a data: URL that an <image>
 * shows as it is. Nothing goes to a server to draw it, and it works offline once the coupon
 * is known.
 *
 * The PNG is 1 bit per pixel, `scale` pixels per module (sharp at the size it is shown), with
 * a 4-module quiet zone, compressed by the small deflate below: a data: URL of about 1.6 KB
 * for a coupon's URL, light enough for setData.
 */
const { encode } = require('./uqr');

// QR's alphanumeric mode: upper-case letters, digits and these. A URL made of them only once
// upper-cased (our coupon URLs: the host is case-blind, the path and the token upper case)
// needs a smaller, easier to scan code.
const ALPHANUMERIC = /^[0-9A-Z $%*+\-./:]*$/;
const QUIET_ZONE = 4;

/** The text as it is best encoded: upper-cased when that makes it alphanumeric. */
function qrText(text) {
  const upper = String(text).toUpperCase();
  return ALPHANUMERIC.test(upper) ? upper : String(text);
}

/** The modules of `text`'s QR (error correction M), quiet zone included: {size, data} with
 * data[y][x] true for a dark module. */
function qrMatrix(text) {
  const { size, data } = encode(qrText(text), { ecc: 'M', border: QUIET_ZONE });
  return { size, data };
}

// ---- PNG ---------------------------------------------------------------------------------------

let crcTable = null;
function crc32(bytes) {
  if (!crcTable) {
    crcTable = [];
    for (let n = 0; n < 256; n += 1) {
      let c = n;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable.push(c >>> 0);
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i += 1) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function adler32(bytes) {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i += 1) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

const u32 = (n) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

function chunk(type, body) {
  const typed = [].concat(Array.from(type, (c) => c.charCodeAt(0)), body);
  return [].concat(u32(body.length), typed, u32(crc32(typed)));
}

// Deflate with the fixed Huffman codes (RFC 1951 3.2.6), matching only at two distances: 1
// (a run of the byte just before) and `rowDistance` (the PNG row above). A QR's picture is
// long runs of white and black, and the rows repeating a module's row are filtered to zeros
// (PNG's Up filter), so that is all the compression it needs. Lengths 3..258 and distances
// 1..32768 by code: the base value and its extra bits.
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DISTANCE_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DISTANCE_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/** The index of the largest base not above `value`. */
function slot(bases, value) {
  let k = bases.length - 1;
  while (bases[k] > value) k -= 1;
  return k;
}

function deflateRuns(bytes, rowDistance) {
  const out = [];
  let buffer = 0;
  let count = 0;
  const bits = (value, n) => { // deflate packs bits from the least significant end
    buffer |= value << count;
    count += n;
    while (count >= 8) {
      out.push(buffer & 0xff);
      buffer >>>= 8;
      count -= 8;
    }
  };
  const code = (value, n) => { // Huffman codes go most significant bit first
    let reversed = 0;
    for (let i = 0; i < n; i += 1) reversed = (reversed << 1) | ((value >> i) & 1);
    bits(reversed, n);
  };
  const literal = (byte) => (byte < 144 ? code(0x30 + byte, 8) : code(0x190 + byte - 144, 9));
  const symbol = (s) => (s < 280 ? code(s - 256, 7) : code(0xc0 + s - 280, 8));
  const matchAt = (i, distance) => {
    if (!distance || distance > i || distance > 32768) return 0;
    let n = 0;
    while (n < 258 && i + n < bytes.length && bytes[i + n] === bytes[i + n - distance]) n += 1;
    return n;
  };
  bits(1, 1); // the final block
  bits(1, 2); // fixed Huffman codes
  let i = 0;
  while (i < bytes.length) {
    const near = matchAt(i, 1);
    const above = matchAt(i, rowDistance);
    const length = Math.max(near, above);
    if (length >= 3) {
      const distance = above > near ? rowDistance : 1;
      const k = slot(LENGTH_BASE, length);
      symbol(257 + k);
      bits(length - LENGTH_BASE[k], LENGTH_EXTRA[k]);
      const d = slot(DISTANCE_BASE, distance);
      code(d, 5);
      bits(distance - DISTANCE_BASE[d], DISTANCE_EXTRA[d]);
      i += length;
    } else {
      literal(bytes[i]);
      i += 1;
    }
  }
  symbol(256); // end of block
  if (count > 0) out.push(buffer & 0xff);
  return out;
}

function zlib(bytes, rowDistance) {
  return [0x78, 0x01].concat(deflateRuns(bytes, rowDistance), u32(adler32(bytes)));
}

/** The PNG file (bytes) of a module matrix, `scale` pixels a module, dark on white. */
function pngOf(matrix, scale) {
  const width = matrix.size * scale;
  const rowBytes = Math.ceil(width / 8);
  const raw = [];
  matrix.data.forEach((modules) => {
    const row = new Array(rowBytes).fill(0);
    for (let x = 0; x < width; x += 1) {
      // Grey level 1 is white: a light module sets its pixels' bits.
      if (!modules[Math.floor(x / scale)]) row[x >> 3] |= 0x80 >> (x & 7);
    }
    raw.push(0, ...row); // filter None
    const same = new Array(rowBytes).fill(0);
    for (let repeat = 1; repeat < scale; repeat += 1) raw.push(2, ...same); // Up: as above
  });
  const header = [].concat(u32(width), u32(width), [1, 0, 0, 0, 0]); // 1-bit grey
  return [].concat(
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    chunk('IHDR', header),
    chunk('IDAT', zlib(raw, rowBytes + 1)),
    chunk('IEND', []),
  );
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b, c] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += BASE64[(n >> 18) & 63] + BASE64[(n >> 12) & 63];
    out += b === undefined ? '=' : BASE64[(n >> 6) & 63];
    out += c === undefined ? '=' : BASE64[n & 63];
  }
  return out;
}

/** `<image src="{{qrDataUrl(text)}}" />`: the QR of `text` as a PNG data: URL. */
function qrDataUrl(text, scale) {
  return `data:image/png;base64,${base64(pngOf(qrMatrix(text), scale || 8))}`;
}

module.exports = { qrText, qrMatrix, pngOf, qrDataUrl, crc32, adler32, base64, deflateRuns };
