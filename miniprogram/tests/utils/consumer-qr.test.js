/**
 * The coupon QR the consumer's phone draws (packageConsumer/lib/qr.js): the vendored encoder
 * is uqr's own file, the modules are a valid QR (the same as segno's for the same text and
 * mask), and the PNG holds exactly those modules.
 */
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { qrText, qrMatrix, pngOf, qrDataUrl, crc32, adler32, base64, deflateRuns } = require('../../packageConsumer/lib/qr');

const ROOT = path.join(__dirname, '..', '..');
const TEXT = 'https://b2b.example.com/V/0123456789ABCDEFGHJK';
// segno 1.6 (the server's QR library): segno.make(qrText(TEXT), error='m', boost_error=False,
// mask=4).matrix gives these rows: version 3, alphanumeric mode.
const REFERENCE = [
  '11111110101100000001101111111',
  '10000010000010001010101000001',
  '10111010001001011110101011101',
  '10111010101110111111101011101',
  '10111010110101101001001011101',
  '10000010101111110111101000001',
  '11111110101010101010101111111',
  '00000000110000100000100000000',
  '10001011110111111101011111001',
  '10011000101010000010001000100',
  '00000110101111110000101010101',
  '00101100101001011100001000001',
  '11010110010101000101110010010',
  '11110101101011101000100110001',
  '10011010010000001000011101001',
  '11000100100110100110011011110',
  '10010011011111110001101000101',
  '10111000010010000001100101101',
  '00101011110001111100000101010',
  '00001100000101010111101011101',
  '11011011100001010000111110000',
  '00000000100101110110100011111',
  '11111110101000000000101011011',
  '10000010000000110000100011000',
  '10111010111111110010111111110',
  '10111010010001010010100111110',
  '10111010001011111111110001111',
  '10000010000101010110011110010',
  '11111110100100011000100001000',
];

test('the vendored uqr is byte for byte the npm package the console draws its QRs with', () => {
  const vendored = fs.readFileSync(path.join(ROOT, 'packageConsumer/lib/uqr.js'), 'utf8');
  const npm = fs.readFileSync(path.join(ROOT, '..', 'console', 'node_modules', 'uqr', 'dist', 'index.cjs'), 'utf8');
  const body = vendored.slice(vendored.indexOf('*/\n') + 3);
  expect(body).toBe(npm);
  expect(vendored).toContain('Permission is hereby granted, free of charge');
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, '..', 'console', 'node_modules', 'uqr', 'package.json'), 'utf8')).version;
  expect(vendored).toContain(`uqr ${version}`);
});

test('a coupon URL is upper-cased into QR alphanumeric mode; other text is kept as it is', () => {
  expect(qrText(TEXT)).toBe('HTTPS://B2B.EXAMPLE.COM/V/0123456789ABCDEFGHJK');
  expect(qrText('https://b2b.example.com/V/X?utm=1')).toBe('https://b2b.example.com/V/X?utm=1');
  expect(qrText('扫码')).toBe('扫码');
});

test('the modules are the reference QR, inside a 4-module quiet zone', () => {
  const { size, data } = qrMatrix(TEXT);
  expect(size).toBe(29 + 8);
  const rows = data.map((row) => row.map((dark) => (dark ? '1' : '0')).join(''));
  expect(rows.slice(4, -4).map((row) => row.slice(4, -4))).toEqual(REFERENCE);
  [0, 1, 2, 3, size - 4, size - 3, size - 2, size - 1].forEach((y) => expect(rows[y]).toBe('0'.repeat(size)));
  rows.forEach((row) => expect(row.slice(0, 4) + row.slice(-4)).toBe('00000000'));
});

function chunks(png) {
  const found = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('ascii', at + 4, at + 8);
    const body = png.subarray(at + 8, at + 8 + length);
    const crc = png.readUInt32BE(at + 8 + length);
    found.push({ type, body, crcOk: crc === zlib.crc32(png.subarray(at + 4, at + 8 + length)) });
    at += 12 + length;
  }
  return found;
}

test('the PNG is a 1-bit grey image of exactly those modules, scale pixels each, with sound checksums', () => {
  const scale = 8; // what qrDataUrl draws with
  const matrix = qrMatrix(TEXT);
  const png = Buffer.from(pngOf(matrix, scale));
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const found = chunks(png);
  expect(found.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
  expect(found.every((c) => c.crcOk)).toBe(true);
  const width = matrix.size * scale;
  expect(found[0].body.readUInt32BE(0)).toBe(width);
  expect(found[0].body.readUInt32BE(4)).toBe(width);
  expect([...found[0].body.subarray(8)]).toEqual([1, 0, 0, 0, 0]);
  const raw = zlib.inflateSync(found[1].body); // checks the zlib stream and its Adler-32
  const rowBytes = Math.ceil(width / 8);
  expect(raw.length).toBe(width * (rowBytes + 1));
  let above = Buffer.alloc(rowBytes + 1);
  for (let y = 0; y < width; y += 1) {
    let row = raw.subarray(y * (rowBytes + 1), (y + 1) * (rowBytes + 1));
    if (row[0] === 2) row = Buffer.from([2, ...row.subarray(1).map((b, i) => (b + above[1 + i]) & 0xff)]);
    above = row;
    expect(row[0]).toBe(y % scale === 0 ? 0 : 2); // None, then Up for the module's other rows
    for (let x = 0; x < width; x += 1) {
      const white = (row[1 + (x >> 3)] >> (7 - (x & 7))) & 1;
      const dark = matrix.data[Math.floor(y / scale)][Math.floor(x / scale)];
      if (white === (dark ? 1 : 0)) throw new Error(`pixel ${x},${y} is wrong`);
    }
  }
  const url = qrDataUrl(TEXT);
  expect(url.startsWith('data:image/png;base64,')).toBe(true);
  expect(Buffer.from(url.slice(22), 'base64')).toEqual(png);
  expect(url.length).toBeLessThan(2 * 1024);
});

test('its checksums and base64 agree with node', () => {
  const bytes = [...Buffer.from('一物一码 coupon 123', 'utf8')];
  expect(crc32(bytes)).toBe(zlib.crc32(Buffer.from(bytes)));
  const big = Array.from({ length: 4464 }, (_, i) => (i * 7) % 256);
  // Adler-32 as zlib computes it: the sums of a stream inflateSync accepts.
  const stream = Buffer.concat([Buffer.from([0x78, 0x01, 0x01, 0x70, 0x11, 0x8f, 0xee]), Buffer.from(big), Buffer.from([(adler32(big) >>> 24) & 255, (adler32(big) >>> 16) & 255, (adler32(big) >>> 8) & 255, adler32(big) & 255])]);
  expect(zlib.inflateSync(stream).equals(Buffer.from(big))).toBe(true);
  [[], [1], [1, 2], [1, 2, 3], big].forEach((b) => expect(base64(b)).toBe(Buffer.from(b).toString('base64')));
  // The run-length deflate gives back what it was given: runs longer than one match (258),
  // short runs, no runs, nothing.
  const inputs = [[], [7], [0, 0], [0, 0, 0, 0], Array(1000).fill(255), big, Array.from({ length: 5000 }, (_, i) => (i % 700 < 500 ? 0 : (i * 31) % 256))];
  inputs.forEach((input) => [undefined, 1, 38, 700].forEach((row) => {
    expect([...zlib.inflateRawSync(Buffer.from(deflateRuns(input, row)))]).toEqual(input);
  }));
  // A large QR (version 40) still inflates.
  const wide = { size: 177, data: Array.from({ length: 177 }, (_, y) => Array.from({ length: 177 }, (_, x) => (x + y) % 3 === 0)) };
  const png = Buffer.from(pngOf(wide, 8));
  const idat = chunks(png).find((c) => c.type === 'IDAT');
  expect(zlib.inflateSync(idat.body).length).toBe(177 * 8 * (177 + 1));
});
