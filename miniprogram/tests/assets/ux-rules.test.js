/**
 * What a store owner needs on a phone (issue 23), checked over every WXSS and WXML file of
 * the app — app.wxss, pages/, components/ and every subpackage root in app.json:
 *
 * - text: no px font sizes (they do not scale with the screen like the rest of the layout)
 *   and nothing below 28rpx, except 24rpx for the short list of CAPTIONS below;
 * - tap targets: every element with bindtap/catchtap and every <button> is at least 88rpx
 *   high (min-height, height, or line-height + vertical padding; for an inline <text> only
 *   the last), and at least 88rpx wide when it has a fixed width;
 * - safe areas: every rule fixed to the bottom (`position: fixed; bottom: 0`, not a
 *   full-screen backdrop) pads with env(safe-area-inset-bottom), and a page with a .bottom-bar reserves the bar's space
 *   (.bar-space, which includes the inset too); a page with its own navigation bar
 *   (navigationStyle custom) keeps clear of the notch (safe-area-inset-top).
 *
 * The WXSS is read with a small parser (rules, declarations, the app's --variables, the
 * cascade by class count then source order); that is faithful for this app's flat,
 * class-only stylesheets and refuses what it cannot read (a `font:` shorthand).
 */
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');
const MIN_TEXT = 28;
const MIN_CAPTION = 24;
const MIN_TAP = 88;

// The only text allowed below 28rpx (at 24rpx): secondary captions whose words are repeated
// or not needed to act. Keep it short.
const CAPTIONS = new Set([
  '.caption', // app.wxss's explicit caption utility (footnotes)
  '.tag', // status/label chips next to a title
  '.badge', // counts on icons
  '.price-original', // a struck-through former price next to the real one
  '.pc-strike', // the same, in components/price
  '.tl-time', // time stamps in timelines
  '.history-time', // time stamps in coupon history
  '.sku-promo', // promotion chips (the promotion is spelled out on the product page)
  '.promo-tag', // promotion kind chip before the promotion's name
  '.gift-tag', // 赠品 chip
  '.pinned-tag', // 置顶 chip in the live room
  '.draw-tag', // 抽奖 chip in the live room
  '.like-count', // the count under the like heart
  '.draw-hash', // verification hash (for checking, not for reading)
  '.record-hash', // the same, in the draw record
  '.sector-text', // prize names inside a wheel sector; listed again at 28rpx under the wheel
  '.photo-mask', // 上传中/重试 over a 150rpx photo thumbnail
  '.session-status', // 直播中/预告 chip on a live cover
]);

// ---------- files ----------

function appJson() {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));
}

function walk(dir, ext) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : walk(full, ext);
    return d.name.endsWith(ext) ? [full] : [];
  });
}

function roots() {
  const subs = (appJson().subPackages || appJson().subpackages || []).map((s) => s.root);
  return ['pages', 'components', ...subs].map((r) => path.join(ROOT, r.replace(/\/$/, '')));
}

const rel = (file) => path.relative(ROOT, file);
const allWxss = () => [path.join(ROOT, 'app.wxss'), ...roots().flatMap((r) => walk(r, '.wxss'))];
const allWxml = () => roots().flatMap((r) => walk(r, '.wxml'));

// ---------- WXSS ----------

/** [{selectors: ['.a', '.b .c'], decls: {prop: value}, order}] — at-rule blocks are skipped. */
function parseWxss(text) {
  const src = text.replace(/\/\*[\s\S]*?\*\//g, '');
  const rules = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{', i);
    if (open < 0) break;
    const head = src.slice(i, open).trim();
    if (head.startsWith('@')) {
      // @keyframes / @media: skip the whole block, nested braces included.
      let depth = 1;
      let j = open + 1;
      while (j < src.length && depth) {
        if (src[j] === '{') depth += 1;
        else if (src[j] === '}') depth -= 1;
        j += 1;
      }
      i = j;
      continue;
    }
    const close = src.indexOf('}', open);
    const decls = {};
    for (const part of src.slice(open + 1, close).split(';')) {
      const colon = part.indexOf(':');
      if (colon < 0) continue;
      decls[part.slice(0, colon).trim()] = part.slice(colon + 1).trim();
    }
    rules.push({ selectors: head.split(',').map((s) => s.trim()), decls, order: rules.length });
    i = close + 1;
  }
  return rules;
}

const cache = new Map();
function rulesOf(file) {
  if (!cache.has(file)) {
    cache.set(file, fs.existsSync(file) ? parseWxss(fs.readFileSync(file, 'utf8')) : []);
  }
  return cache.get(file);
}

function variables() {
  const vars = {};
  for (const rule of rulesOf(path.join(ROOT, 'app.wxss'))) {
    if (!rule.selectors.includes('page')) continue;
    for (const [k, v] of Object.entries(rule.decls)) if (k.startsWith('--')) vars[k] = v;
  }
  return vars;
}
const VARS = variables();

function resolve(value) {
  let v = value;
  for (let n = 0; n < 5 && /var\(/.test(v); n += 1) {
    v = v.replace(/var\((--[\w-]+)\)/g, (_, name) => VARS[name] || '');
  }
  return v;
}

/** A length in rpx (px counted as 2rpx, as on a 375pt-wide phone); calc() sums its rpx/px terms. */
function rpx(value) {
  if (value === undefined) return null;
  const v = resolve(value);
  const terms = [...v.matchAll(/(-?\d+(?:\.\d+)?)(rpx|px)\b/g)];
  if (!terms.length) return /^0$/.test(v.trim()) ? 0 : null;
  if (!/calc\(/.test(v) && terms.length > 1) return null;
  return terms.reduce((sum, [, n, unit]) => sum + Number(n) * (unit === 'px' ? 2 : 1), 0);
}

function verticalPadding(decls) {
  let top = 0;
  let bottom = 0;
  if (decls.padding) {
    const parts = resolve(decls.padding).split(/\s+(?![^(]*\))/);
    top = rpx(parts[0]) || 0;
    bottom = rpx(parts[parts.length > 2 ? 2 : 0]) || 0;
  }
  if (decls['padding-top']) top = rpx(decls['padding-top']) || 0;
  if (decls['padding-bottom']) bottom = rpx(decls['padding-bottom']) || 0;
  return top + bottom;
}

// ---------- the cascade for one element ----------

/** The classes of a selector's last compound, or null if it needs more than classes. */
function lastCompound(selector) {
  const last = selector.split(/\s*[\s>+~]\s*/).pop();
  if (!/^(\.[\w-]+)+$/.test(last)) return null;
  return last.split('.').filter(Boolean);
}

function styleOf(classes, files) {
  const matches = [];
  files.forEach((file, fileIndex) => {
    for (const rule of rulesOf(file)) {
      for (const selector of rule.selectors) {
        const needed = lastCompound(selector);
        if (!needed || !needed.every((c) => classes.includes(c))) continue;
        const specificity = (selector.match(/\./g) || []).length;
        matches.push({ rule, key: [specificity, fileIndex, rule.order] });
      }
    }
  });
  matches.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2]);
  const style = {};
  for (const { rule } of matches) {
    // A padding shorthand after a padding-bottom resets it, as in CSS.
    if (rule.decls.padding) {
      delete style['padding-top'];
      delete style['padding-bottom'];
    }
    Object.assign(style, rule.decls);
  }
  return style;
}

function tapHeight(style) {
  const font = rpx(style['font-size']) || 30;
  const lh = style['line-height'];
  let lineHeight = rpx(lh);
  if (lineHeight === null) lineHeight = font * (lh && /^\d+(\.\d+)?$/.test(lh) ? Number(lh) : 1.5);
  return Math.max(
    rpx(style['min-height']) || 0,
    rpx(style.height) || 0,
    lineHeight + verticalPadding(style),
  );
}

// ---------- WXML ----------

/** Every start tag: {tag, attrs, line}. Quoted values may hold `>` (in {{a > b}}). */
function tags(text) {
  const found = [];
  const re = /<([a-zA-Z][\w-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
  let m;
  while ((m = re.exec(text))) {
    const attrs = {};
    for (const a of m[2].matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]] = a[2];
    found.push({ tag: m[1], attrs, line: text.slice(0, m.index).split('\n').length });
  }
  return found;
}

const staticClasses = (value) =>
  (value || '').replace(/\{\{[\s\S]*?\}\}/g, ' ').split(/\s+/).filter(Boolean);

function tapHandler(attrs) {
  return attrs.bindtap || attrs.catchtap || attrs['bind:tap'] || attrs['catch:tap'];
}

// ---------- tests ----------

describe('ux rules (issue 23)', () => {
  test('the scan covers the app, its components and every subpackage', () => {
    const files = allWxss().map(rel);
    expect(files).toContain('app.wxss');
    expect(files).toContain(path.join('components', 'state-view', 'index.wxss'));
    for (const root of roots()) expect(fs.existsSync(root)).toBe(true);
    expect(allWxml().length).toBeGreaterThan(20);
  });

  test('the type scale is in rpx and the body sizes are at least 28rpx', () => {
    for (const name of ['--font-title', '--font-body', '--font-small']) {
      expect(VARS[name]).toMatch(/rpx$/);
      expect(rpx(VARS[name])).toBeGreaterThanOrEqual(MIN_TEXT);
    }
  });

  test('no px font sizes and nothing below 28rpx outside the captions', () => {
    const problems = [];
    for (const file of allWxss()) {
      for (const rule of rulesOf(file)) {
        const where = `${rel(file)} ${rule.selectors.join(', ')}`;
        if (rule.decls.font !== undefined) problems.push(`${where}: font shorthand (use font-size)`);
        for (const [prop, raw] of Object.entries(rule.decls)) {
          const isSize = prop === 'font-size' || prop.startsWith('--font');
          if (!isSize) continue;
          if (/\dpx\b/.test(resolve(raw))) problems.push(`${where}: ${prop}: ${raw} is in px`);
          if (prop !== 'font-size') continue;
          const size = rpx(raw);
          if (size === null) {
            if (!/^(inherit|100%|1em)$/.test(raw)) problems.push(`${where}: unreadable font-size ${raw}`);
            continue;
          }
          const caption = rule.selectors.every((s) => CAPTIONS.has(s));
          const floor = caption ? MIN_CAPTION : MIN_TEXT;
          if (size < floor) problems.push(`${where}: font-size ${raw} (${size}rpx) < ${floor}rpx`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('every tap target is at least 88rpx high (and wide when its width is fixed)', () => {
    const problems = [];
    const appWxss = path.join(ROOT, 'app.wxss');
    for (const file of allWxml()) {
      const own = file.replace(/\.wxml$/, '.wxss');
      for (const { tag, attrs, line } of tags(fs.readFileSync(file, 'utf8'))) {
        const handler = tapHandler(attrs);
        if (!handler && tag !== 'button') continue;
        // catchtap="noop" only stops a tap from reaching the mask behind a dialog.
        if (handler === 'noop') continue;
        const where = `${rel(file)}:${line} <${tag} class="${attrs.class || ''}">`;
        const classes = staticClasses(attrs.class);
        if (!classes.length) {
          problems.push(`${where}: a tap target needs a class to size it`);
          continue;
        }
        const style = styleOf(classes, [appWxss, own]);
        // Full-screen masks (tap outside to close) are as big as the screen.
        const pos = style.position;
        if ((pos === 'fixed' || pos === 'absolute') && rpx(style.top) === 0 && rpx(style.bottom) === 0) continue;
        // A percentage height fills a parent that is sized (a photo in its 150rpx frame).
        if (/%$/.test(style.height || '') || /%$/.test(style['min-height'] || '')) continue;
        // An inline <text> ignores (min-)height: only its line and vertical padding count.
        const inline = tag === 'text' && !/block|flex/.test(style.display || '');
        const height = inline ? tapHeight({ ...style, 'min-height': undefined, height: undefined }) : tapHeight(style);
        if (height < MIN_TAP) problems.push(`${where}: ${height}rpx high < ${MIN_TAP}rpx`);
        const width = rpx(style.width);
        if (width !== null && /rpx|px/.test(resolve(style.width)) && Math.max(width, rpx(style['min-width']) || 0) < MIN_TAP) {
          problems.push(`${where}: ${width}rpx wide < ${MIN_TAP}rpx`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('the stepper buttons are 88rpx both ways', () => {
    const style = styleOf(['stepper-btn'], [path.join(ROOT, 'app.wxss'), path.join(ROOT, 'components/stepper/index.wxss')]);
    expect(tapHeight(style)).toBeGreaterThanOrEqual(MIN_TAP);
    expect(rpx(style.width)).toBeGreaterThanOrEqual(MIN_TAP);
  });

  test('whatever is fixed to the bottom clears the home indicator', () => {
    const problems = [];
    for (const file of allWxss()) {
      for (const rule of rulesOf(file)) {
        const d = rule.decls;
        if (d.position !== 'fixed' || rpx(d.bottom) !== 0) continue;
        // A full-screen backdrop is no bar: what sits at its bottom (a sheet) pads itself.
        if (rpx(d.top) === 0) continue;
        const padded = ['padding', 'padding-bottom'].some((p) => /safe-area-inset-bottom/.test(d[p] || ''));
        if (!padded) problems.push(`${rel(file)} ${rule.selectors.join(', ')}: no env(safe-area-inset-bottom)`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('a page that draws its own navigation bar keeps clear of the notch', () => {
    const problems = [];
    for (const file of allWxml()) {
      const json = file.replace(/\.wxml$/, '.json');
      const config = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, 'utf8')) : {};
      if (config.navigationStyle !== 'custom') continue;
      const wxss = fs.readFileSync(file.replace(/\.wxml$/, '.wxss'), 'utf8');
      if (!/safe-area-inset-top|statusBarHeight/.test(wxss + fs.readFileSync(file, 'utf8'))) {
        problems.push(`${rel(file)}: navigationStyle custom without env(safe-area-inset-top)`);
      }
    }
    expect(appJson().window.navigationStyle).not.toBe('custom');
    expect(problems).toEqual([]);
  });

  test('a page with a bottom bar reserves its space, safe area included', () => {
    const spacer = styleOf(['bar-space'], [path.join(ROOT, 'app.wxss')]);
    expect(spacer.height).toMatch(/safe-area-inset-bottom/);
    const problems = [];
    for (const file of allWxml()) {
      const found = tags(fs.readFileSync(file, 'utf8'));
      const has = (cls) => found.some((t) => staticClasses(t.attrs.class).includes(cls));
      if (!has('bottom-bar')) continue;
      if (!has('bar-space')) problems.push(`${rel(file)}: .bottom-bar without a .bar-space before it`);
      const own = rulesOf(file.replace(/\.wxml$/, '.wxss'));
      if (own.some((r) => r.selectors.includes('.bar-space'))) {
        problems.push(`${rel(file)}: overrides .bar-space (use app.wxss's, it includes the safe area)`);
      }
    }
    expect(problems).toEqual([]);
  });
});
