/**
 * The tab bar icons and the app icon as WeChat takes them: every tab has a normal and a
 * selected PNG of 81×81 (≤ 40 KB), transparent around a drawing in the tab bar's own colour,
 * and the app icon is an opaque 144×144 square in the brand colour with a white mark.
 */
const fs = require('fs');
const path = require('path');
const { decodePng, isPng } = require('../../tools/icons/png');
const { TAB_ICONS, TAB_SIZE, APP_SIZE, MAX_BYTES } = require('../../tools/icons/render');

const ROOT = path.resolve(__dirname, '../..');
const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));
const { tabBar } = app;
const BRAND = '#0b6bcb';

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [n >> 16, (n >> 8) & 0xff, n & 0xff];
}

function far(pixel, colour, tolerance) {
  return colour.some((c, i) => Math.abs(pixel[i] - c) > tolerance);
}

/** Everything WeChat and our look ask of one tab icon; returns the problems, [] when fine. */
function tabIconProblems(relPath, hex) {
  const file = path.join(ROOT, relPath);
  if (!fs.existsSync(file)) return [`${relPath}: missing`];
  const buf = fs.readFileSync(file);
  if (!isPng(buf)) return [`${relPath}: not a PNG`];
  const problems = [];
  if (buf.length > MAX_BYTES) problems.push(`${relPath}: ${buf.length} bytes > 40 KB`);
  const { width, height, pixels } = decodePng(buf);
  if (width !== TAB_SIZE || height !== TAB_SIZE) problems.push(`${relPath}: ${width}×${height}`);
  const colour = rgb(hex);
  let clear = 0;
  let faint = 0;
  let ink = 0;
  let offColour = 0;
  let edge = 0;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const p = pixels.subarray((y * width + x) * 4, (y * width + x) * 4 + 4);
      if (p[3] === 0) clear += 1;
      if (p[3] < 128) faint += 1;
      if (p[3] >= 128) {
        ink += 1;
        if (far(p, colour, 16)) offColour += 1;
        if (x < 2 || y < 2 || x >= width - 2 || y >= height - 2) edge += 1;
      }
    }
  }
  const total = width * height;
  // The selected icons carry a faint tint inside: count it as see-through, not as drawing.
  if (clear < total * 0.4 || faint < total * 0.6) problems.push(`${relPath}: only ${clear} of ${total} pixels transparent`);
  if (ink < total * 0.08) problems.push(`${relPath}: only ${ink} drawn pixels`);
  if (offColour > 0) problems.push(`${relPath}: ${offColour} drawn pixels not in ${hex}`);
  if (edge > 0) problems.push(`${relPath}: drawing touches the edge (${edge} pixels)`);
  return problems;
}

/** Pixels inside an even faint tint (the selected look), not the soft edges of a line. */
function tinted(relPath) {
  const { width, height, pixels } = decodePng(fs.readFileSync(path.join(ROOT, relPath)));
  const faint = (x, y) => {
    const a = pixels[(y * width + x) * 4 + 3];
    return a > 25 && a < 60;
  };
  let n = 0;
  for (let y = 1; y < height - 1; y += 1) {
    for (let x = 1; x < width - 1; x += 1) {
      if (faint(x, y) && faint(x - 1, y) && faint(x + 1, y) && faint(x, y - 1) && faint(x, y + 1)) n += 1;
    }
  }
  return n;
}

describe('tab bar icons', () => {
  test('the tab bar lists the five tabs with their Chinese names', () => {
    expect(tabBar.list.map((t) => t.text)).toEqual(['首页', '订货', '购物车', '订单', '我的']);
    expect(tabBar.color).toBe('#646a73');
    expect(tabBar.selectedColor).toBe(BRAND);
  });

  test('every tab has its own normal and selected icon under images/tab, and a drawing to render it from', () => {
    const paths = [];
    for (const tab of tabBar.list) {
      expect(tab.iconPath).toMatch(/^images\/tab\/[a-z-]+\.png$/);
      expect(tab.selectedIconPath).toMatch(/^images\/tab\/[a-z-]+-active\.png$/);
      expect(TAB_ICONS[tab.pagePath]).toBeTruthy();
      expect(fs.existsSync(path.join(ROOT, 'tools/icons/svg', `${TAB_ICONS[tab.pagePath]}.svg`))).toBe(true);
      paths.push(tab.iconPath, tab.selectedIconPath);
    }
    expect(new Set(paths).size).toBe(tabBar.list.length * 2);
  });

  test.each(tabBar.list.map((t) => [t.text, t]))('%s: 81×81 PNG ≤ 40 KB, transparent, in the tab bar colours', (_, tab) => {
    expect(tabIconProblems(tab.iconPath, tabBar.color)).toEqual([]);
    expect(tabIconProblems(tab.selectedIconPath, tabBar.selectedColor)).toEqual([]);
  });

  test.each(tabBar.list.map((t) => [t.text, t]))('%s: the selected icon is tinted inside, the normal one is not', (_, tab) => {
    expect(tinted(tab.selectedIconPath)).toBeGreaterThan(100);
    expect(tinted(tab.iconPath)).toBeLessThan(10);
  });

  test('the check catches an icon in the wrong colour, of the wrong size, or missing', () => {
    const home = tabBar.list[0];
    const before = fs.readFileSync(path.join(ROOT, home.iconPath));
    expect(tabIconProblems(home.iconPath, tabBar.selectedColor)).toEqual([
      expect.stringMatching(/drawn pixels not in #0b6bcb$/),
    ]);
    const appIconProblems = tabIconProblems('tools/icons/app-icon.png', tabBar.color);
    expect(appIconProblems).toEqual(expect.arrayContaining([
      'tools/icons/app-icon.png: 144×144',
      expect.stringMatching(/pixels transparent$/),
    ]));
    expect(tabIconProblems('images/tab/nothing.png', tabBar.color)).toEqual(['images/tab/nothing.png: missing']);
    expect(tabIconProblems('app.json', tabBar.color)).toEqual(['app.json: not a PNG']);
    // Checking changed nothing: the icon is byte for byte the same and still passes.
    expect(fs.readFileSync(path.join(ROOT, home.iconPath)).equals(before)).toBe(true);
    expect(tabIconProblems(home.iconPath, tabBar.color)).toEqual([]);
    expect(fs.existsSync(path.join(ROOT, 'images/tab/nothing.png'))).toBe(false);
  });

  test('the PNG reader refuses what is not a PNG', () => {
    expect(() => decodePng(Buffer.from('<svg/>'))).toThrow('not a PNG');
  });
});

describe('app icon', () => {
  test('an opaque 144×144 PNG in the brand colour with a white mark in the middle', () => {
    const buf = fs.readFileSync(path.join(ROOT, 'tools/icons/app-icon.png'));
    expect(buf.length).toBeLessThanOrEqual(MAX_BYTES);
    const { width, height, pixels } = decodePng(buf);
    expect([width, height]).toEqual([APP_SIZE, APP_SIZE]);
    const at = (x, y) => Array.from(pixels.subarray((y * width + x) * 4, (y * width + x) * 4 + 4));
    let seeThrough = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 255) seeThrough += 1;
    expect(seeThrough).toBe(0);
    // Corners and the bottom edge are the brand blue (the top is a touch lighter).
    expect(far(at(2, height - 3), rgb(BRAND), 6)).toBe(false);
    expect(far(at(width - 3, height - 3), rgb(BRAND), 6)).toBe(false);
    expect(far(at(2, 2), rgb(BRAND), 40)).toBe(false);
    // The drop is white where WeChat's round crop keeps it.
    expect(at(width / 2, Math.round(height * 0.45))).toEqual([255, 255, 255, 255]);
    let white = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i] > 245 && pixels[i + 1] > 245 && pixels[i + 2] > 245) white += 1;
    expect(white / (width * height)).toBeGreaterThan(0.15);
    expect(white / (width * height)).toBeLessThan(0.5);
  });

  test('is kept out of the uploaded package, with the drawings and their script', () => {
    const project = JSON.parse(fs.readFileSync(path.join(ROOT, 'project.config.json'), 'utf8'));
    expect(project.packOptions.ignore).toContainEqual({ type: 'folder', value: 'tools' });
  });
});
