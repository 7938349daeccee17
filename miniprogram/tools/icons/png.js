/**
 * Reads a PNG into RGBA pixels with node's zlib alone, so the icon renderer and the icon
 * tests need no image package. Handles what Chromium and image editors write for icons:
 * 8-bit, non-interlaced, greyscale/RGB/palette with or without alpha.
 */
const zlib = require('zlib');

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function isPng(buf) {
  return buf.length > 8 && buf.subarray(0, 8).equals(SIGNATURE);
}

function paeth(a, b, c) {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** @returns {{width, height, pixels: Uint8Array}} pixels as RGBA, row by row. */
function decodePng(buf) {
  if (!isPng(buf)) throw new Error('not a PNG');
  let pos = 8;
  let header = null;
  let palette = null;
  let paletteAlpha = null;
  const data = [];
  while (pos < buf.length) {
    const length = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const body = buf.subarray(pos + 8, pos + 8 + length);
    pos += 12 + length;
    if (type === 'IHDR') {
      header = {
        width: body.readUInt32BE(0),
        height: body.readUInt32BE(4),
        depth: body[8],
        colorType: body[9],
        interlace: body[12],
      };
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') paletteAlpha = body;
    else if (type === 'IDAT') data.push(body);
    else if (type === 'IEND') break;
  }
  const { width, height, depth, colorType, interlace } = header;
  if (depth !== 8 || interlace !== 0 || !(colorType in CHANNELS)) {
    throw new Error(`unsupported PNG: depth ${depth}, colour type ${colorType}, interlace ${interlace}`);
  }
  const bpp = CHANNELS[colorType];
  const stride = width * bpp;
  const raw = zlib.inflateSync(Buffer.concat(data));
  const rows = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = rows.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? rows.subarray((y - 1) * stride, y * stride) : null;
    for (let i = 0; i < stride; i += 1) {
      const a = i >= bpp ? out[i - bpp] : 0;
      const b = prev ? prev[i] : 0;
      const c = prev && i >= bpp ? prev[i - bpp] : 0;
      const add = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      if (add === undefined) throw new Error(`bad PNG filter ${filter}`);
      out[i] = (src[i] + add) & 0xff;
    }
  }
  const pixels = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i += 1) {
    const s = rows.subarray(i * bpp, (i + 1) * bpp);
    let rgba;
    if (colorType === 6) rgba = [s[0], s[1], s[2], s[3]];
    else if (colorType === 2) rgba = [s[0], s[1], s[2], 255];
    else if (colorType === 0) rgba = [s[0], s[0], s[0], 255];
    else if (colorType === 4) rgba = [s[0], s[0], s[0], s[1]];
    else {
      const k = s[0];
      rgba = [palette[k * 3], palette[k * 3 + 1], palette[k * 3 + 2], paletteAlpha && k < paletteAlpha.length ? paletteAlpha[k] : 255];
    }
    pixels.set(rgba, i * 4);
  }
  return { width, height, pixels };
}

module.exports = { decodePng, isPng };
