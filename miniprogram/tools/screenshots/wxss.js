/**
 * WXSS → CSS for a page rendered by miniprogram-simulate (j-component):
 *   - classes are scoped per template: j-component names a class `c` written in the
 *     template of tag `t` as `t--c` (pages are `main`), so `.c` becomes `.t--c`;
 *   - built-in tags are custom elements named `wx-<tag>`: `view` → `wx-view`, …;
 *   - `page` is the page's root box (`.mp-page`), `:host` the component's own tag;
 *   - rpx → px at a 375 px wide screen (750 rpx = 375 px); vh → the page window's height.
 */
const postcss = require('postcss');

const BUILT_IN = ['view', 'text', 'button', 'image', 'scroll-view', 'swiper', 'swiper-item', 'input', 'textarea',
  'navigator', 'picker', 'switch', 'checkbox', 'radio', 'label', 'icon', 'rich-text', 'form', 'progress',
  'slider', 'live-player', 'video', 'cover-view', 'cover-image', 'block'];
const SCREEN_WIDTH = 375;

function rpx(value) {
  return value
    .replace(/(-?\d*\.?\d+)rpx/gi, (_, n) => `${+(Number(n) * (SCREEN_WIDTH / 750)).toFixed(3)}px`)
    // vh is the page's window in WeChat (below the navigation bar, above the tab bar), not the screen
    .replace(/(-?\d*\.?\d+)vh\b/gi, (_, n) => `calc(${n} * var(--mp-vh))`)
    // the iPhone's home indicator: the frame says how much (none above a tab bar)
    .replace(/(?:env|constant)\(safe-area-inset-(top|bottom|left|right)\)/gi, (_, side) => `var(--mp-safe-${side})`);
}

/**
 * One selector for the templates `prefixes` (`main` for the page, a component's tag
 * otherwise). The app's and the page's styles are global in WeChat: with addGlobalClass a
 * component's nodes match them too, across the component's edge (`.card .state-block`), so
 * their classes match in the page and in every such component: `:is(.main--c, .price--c)`.
 */
function selector(sel, prefixes, host) {
  const list = [].concat(prefixes);
  let out = sel.replace(/\.(-?[_a-zA-Z][-_a-zA-Z0-9]*)/g, (_, name) => (list.length === 1
    ? `.${list[0]}--${name}` : `:is(${list.map((p) => `.${p}--${name}`).join(',')})`));
  out = out.replace(/:host/g, host);
  // element names: at the start or after a combinator, not part of a class/id/attribute
  out = out.replace(/(^|[\s>+~(,])([a-z][a-z-]*)(?=$|[\s.:#[>+~,)])/g, (all, before, tag) => {
    if (tag === 'page') return `${before}.mp-page`;
    if (BUILT_IN.includes(tag)) return `${before}wx-${tag}`;
    return all;
  });
  return out;
}

/** CSS from a WXSS text for template(s) `prefix`; `host` is what `:host` means there. */
function translate(wxss, prefix, host = [].concat(prefix)[0]) {
  const root = postcss.parse(wxss || '');
  root.walkRules((rule) => {
    if (rule.parent && rule.parent.type === 'atrule' && /keyframes/i.test(rule.parent.name)) return;
    rule.selectors = rule.selectors.map((s) => selector(s, prefix, host));
  });
  root.walkDecls((decl) => {
    decl.value = rpx(decl.value);
  });
  root.walkAtRules((at) => {
    if (at.params) at.params = rpx(at.params);
  });
  return root.toString();
}

module.exports = { translate, rpx, selector, BUILT_IN };
