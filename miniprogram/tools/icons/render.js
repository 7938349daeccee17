#!/usr/bin/env node
/**
 * Renders the tab bar icons and the app icon from the SVGs in ./svg with headless Chromium
 * (`npm run icons` in miniprogram/, or `make icons`). Colours come from app.json's tabBar, so
 * the icons follow the tab bar's text. Writes images/tab/<name>.png and <name>-active.png
 * (81×81, transparent), tools/icons/app-icon.png (144×144, for the WeChat admin site, not
 * packaged) and tools/icons/preview.png (all of them on white at 2×, to look at).
 * Chromium: $CHROMIUM, else the first of chromium, chromium-browser, google-chrome on PATH.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { decodePng } = require('./png');
const { findChromium } = require('../screenshots/chromium');

const ROOT = path.resolve(__dirname, '../..');
const SVG_DIR = path.join(__dirname, 'svg');
const TAB_DIR = path.join(ROOT, 'images/tab');
const TAB_SIZE = 81;
const APP_SIZE = 144;
const MAX_BYTES = 40 * 1024;

/** Which drawing each tab page gets; a new tab needs a line here and an SVG. */
const TAB_ICONS = {
  'pages/home/index': 'home',
  'pages/catalog/index': 'catalog',
  'pages/cart/index': 'cart',
  'pages/orders/index': 'orders',
  'pages/mine/index': 'mine',
};

function screenshot(chromium, html, width, height, out, scale = 1) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-icons-'));
  const page = path.join(dir, 'page.html');
  fs.writeFileSync(page, html);
  try {
    execFileSync(chromium, [
      '--headless', '--disable-gpu', '--no-sandbox', '--hide-scrollbars', '--mute-audio',
      `--force-device-scale-factor=${scale}`, '--default-background-color=00000000',
      `--window-size=${width},${height}`, `--screenshot=${out}`, `file://${page}`,
    ], { stdio: 'ignore', timeout: 60000 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** One SVG drawn at size×size in `color`; `active` shows its `.fill` tint (the selected look). */
function iconPage(svg, size, color, active) {
  return `<!doctype html><meta charset="utf-8"><style>
html,body{margin:0;background:transparent}
svg{display:block;width:${size}px;height:${size}px;color:${color}}
.fill{${active ? 'fill:currentColor;fill-opacity:.16;stroke:none' : 'display:none'}}
</style>${svg}`;
}

function previewPage(tabs, color, selectedColor) {
  const src = (file) => `file://${file}`;
  const cells = tabs.map((t) => `<div class="cell"><img src="${src(t.normal)}"><img src="${src(t.active)}"><span>${t.text}</span></div>`).join('');
  const bar = (selected) => `<div class="bar">${tabs.map((t, i) => `<div class="tab${i === selected ? ' on' : ''}"><img src="${src(i === selected ? t.active : t.normal)}"><span>${t.text}</span></div>`).join('')}</div>`;
  return `<!doctype html><meta charset="utf-8"><style>
html,body{margin:0;background:#fff;font:14px/1.4 "Noto Sans CJK SC","PingFang SC",sans-serif;color:#1f2329}
.wrap{padding:16px;display:flex;gap:24px;align-items:flex-start}
.cell{display:flex;flex-direction:column;align-items:center;gap:6px}
.cell img{width:${TAB_SIZE}px;height:${TAB_SIZE}px;outline:1px dashed #e4e7ec}
.app{width:${APP_SIZE}px;height:${APP_SIZE}px;border-radius:50%}
.bars{padding:0 16px 16px}
.bar{display:flex;width:375px;border-top:1px solid #eee;background:#fff;margin-top:8px}
.tab{flex:1;display:flex;flex-direction:column;align-items:center;padding:6px 0 4px;font-size:10px;color:${color}}
.tab.on{color:${selectedColor}}
.tab img{width:27px;height:27px}
</style><div class="wrap">${cells}<div class="cell"><img class="app" src="${src(path.join(__dirname, 'app-icon.png'))}"><span>小程序头像（圆形裁切）</span></div></div>
<div class="bars">${tabs.map((_, i) => bar(i)).join('')}</div>`;
}

function check(file, size) {
  const bytes = fs.statSync(file).size;
  const { width, height } = decodePng(fs.readFileSync(file));
  if (width !== size || height !== size) throw new Error(`${file}: ${width}×${height}, want ${size}×${size}`);
  if (bytes > MAX_BYTES) throw new Error(`${file}: ${bytes} bytes, over WeChat's 40 KB`);
  return bytes;
}

function main() {
  const chromium = findChromium();
  const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));
  const { color, selectedColor, list } = app.tabBar;
  fs.mkdirSync(TAB_DIR, { recursive: true });
  const tabs = list.map((entry) => {
    const name = TAB_ICONS[entry.pagePath];
    if (!name) throw new Error(`no icon for tab ${entry.pagePath}: add it to TAB_ICONS`);
    const svg = fs.readFileSync(path.join(SVG_DIR, `${name}.svg`), 'utf8');
    const normal = path.join(TAB_DIR, `${name}.png`);
    const active = path.join(TAB_DIR, `${name}-active.png`);
    screenshot(chromium, iconPage(svg, TAB_SIZE, color, false), TAB_SIZE, TAB_SIZE, normal);
    screenshot(chromium, iconPage(svg, TAB_SIZE, selectedColor, true), TAB_SIZE, TAB_SIZE, active);
    for (const file of [normal, active]) console.log(`${path.relative(ROOT, file)}  ${check(file, TAB_SIZE)} B`);
    return { text: entry.text, normal, active };
  });
  const appIcon = path.join(__dirname, 'app-icon.png');
  const appSvg = fs.readFileSync(path.join(SVG_DIR, 'app-icon.svg'), 'utf8');
  screenshot(chromium, iconPage(appSvg, APP_SIZE, '#fff', false), APP_SIZE, APP_SIZE, appIcon);
  console.log(`${path.relative(ROOT, appIcon)}  ${check(appIcon, APP_SIZE)} B`);
  const preview = path.join(__dirname, 'preview.png');
  const width = 32 + tabs.length * (TAB_SIZE + 24) + APP_SIZE + 24;
  const height = 16 + APP_SIZE + 40 + tabs.length * 64 + 24;
  screenshot(chromium, previewPage(tabs, color, selectedColor), Math.max(width, 407), height, preview, 2);
  console.log(`${path.relative(ROOT, preview)}  (2×, to look at)`);
}

if (require.main === module) main();

module.exports = { TAB_ICONS, TAB_SIZE, APP_SIZE, MAX_BYTES };
