/**
 * The HTML of one screenshot: the page's DOM and styles inside a drawn WeChat frame (status
 * bar, navigation bar with the page's title in the app's colours and the capsule button, and
 * the tab bar on tab pages), 375 px wide like an iPhone X (812 px tall, 34 px home indicator).
 */
const fs = require('fs');
const path = require('path');

const STATUS_BAR = 44;
const NAV_BAR = 44;
const TAB_BAR = 50;
const SAFE_BOTTOM = 34;
const SCREEN = { width: 375, height: 812 };

/** WeChat's own look for its built-in components (weui, style v2), roughly. */
const BUILT_IN_CSS = `
wx-view,wx-scroll-view,wx-swiper,wx-swiper-item,wx-form,wx-picker,wx-navigator,wx-rich-text,wx-cover-view{display:block}
wx-text{display:inline;white-space:pre-wrap}
wx-block,main,parent-wrapper{display:contents}
[hidden]{display:none!important}
wx-scroll-view{overflow:hidden;position:relative}
wx-scroll-view[scroll-x]{overflow-x:hidden;white-space:nowrap}
wx-swiper{position:relative;height:150px;overflow:hidden}
wx-swiper-item{position:absolute;left:0;top:0;width:100%;height:100%;overflow:hidden}
wx-swiper-item~wx-swiper-item{display:none}
wx-image{display:inline-block;position:relative;width:320px;height:240px;overflow:hidden;vertical-align:top}
wx-image>img{display:block;width:100%;height:100%;object-fit:fill}
wx-image[mode=aspectFill]>img{object-fit:cover}
wx-image[mode=aspectFit]>img{object-fit:contain}
wx-image[mode=widthFix]{height:auto}
wx-image[mode=widthFix]>img{height:auto}
wx-button{position:relative;display:block;width:184px;margin:0 auto;padding:12px 24px;box-sizing:border-box;font-weight:700;font-size:17px;text-align:center;text-decoration:none;line-height:1.41176471;border-radius:8px;overflow:hidden;color:#06ae56;background-color:#f2f2f2;cursor:pointer}
wx-button[type=primary]{color:#fff;background-color:#07c160}
wx-button[type=warn]{color:#fa5151}
wx-button[size=mini]{display:inline-block;width:auto;padding:0 .75em;line-height:2;font-size:16px}
wx-button[plain]{background-color:transparent;border:1px solid currentColor}
wx-button[disabled]{color:rgba(0,0,0,.2)!important;background-color:#f2f2f2!important}
wx-button[loading]::before{content:'';display:inline-block;width:1em;height:1em;margin-right:.4em;vertical-align:-.15em;border:2px solid currentColor;border-right-color:transparent;border-radius:50%}
wx-input{display:block;height:1.4rem;min-height:1.4rem;line-height:1.4rem;overflow:hidden;white-space:nowrap;text-overflow:clip}
wx-textarea{display:block;width:300px;height:150px;overflow:hidden;white-space:pre-wrap;word-break:break-all}
.mp-placeholder{color:#808080}
wx-switch{display:inline-block;width:52px;height:32px;border-radius:16px;background:#e5e5e5;position:relative;vertical-align:middle}
wx-switch::after{content:'';position:absolute;top:2px;left:2px;width:28px;height:28px;border-radius:50%;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.4)}
wx-switch[checked]{background:#07c160}
wx-switch[checked]::after{left:22px}
wx-checkbox,wx-radio{display:inline-block;width:22px;height:22px;border:1px solid #d1d1d1;border-radius:3px;vertical-align:middle}
wx-radio{border-radius:50%}
wx-checkbox[checked],wx-radio[checked]{background:#07c160;border-color:#07c160}
wx-live-player{display:block;width:300px;height:225px;background:#000}
wx-progress{display:block;height:6px;background:#ebebeb}
`;

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
}

/** The drawn status bar's icons: signal, Wi-Fi and battery, in the bar's text colour. */
function statusIcons(color) {
  return `<span class="mp-sb-icons"><svg width="18" height="12" viewBox="0 0 18 12"><g fill="${color}"><rect x="0" y="8" width="3" height="4" rx="1"/><rect x="5" y="5.5" width="3" height="6.5" rx="1"/><rect x="10" y="3" width="3" height="9" rx="1"/><rect x="15" y="0" width="3" height="12" rx="1"/></g></svg>`
    + `<svg width="16" height="12" viewBox="0 0 16 12"><path fill="${color}" d="M8 2.5c2.3 0 4.4.9 6 2.4l1.2-1.3A10.3 10.3 0 0 0 8 .7 10.3 10.3 0 0 0 .8 3.6L2 4.9a8.6 8.6 0 0 1 6-2.4zm0 3.6c1.3 0 2.5.5 3.4 1.3l1.2-1.3A6.7 6.7 0 0 0 8 4.3a6.7 6.7 0 0 0-4.6 1.8l1.2 1.3c.9-.8 2.1-1.3 3.4-1.3zm0 3.6c.4 0 .8.1 1.1.4L8 11.3 6.9 10.1c.3-.3.7-.4 1.1-.4z"/></svg>`
    + `<svg width="26" height="12" viewBox="0 0 26 12"><rect x=".5" y=".5" width="22" height="11" rx="3" fill="none" stroke="${color}" opacity=".4"/><rect x="2" y="2" width="17" height="8" rx="1.5" fill="${color}"/><rect x="24" y="4" width="1.5" height="4" rx=".7" fill="${color}" opacity=".4"/></svg></span>`;
}

/** wx.showToast as WeChat draws it: a dark box mid-screen, with a tick unless icon is none. */
function toastHtml({ title, icon }) {
  const tick = icon === 'none' ? '' : '<svg width="40" height="40" viewBox="0 0 40 40"><path d="M9 21l7 7 15-16" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>';
  return `<div class="mp-toast${icon === 'none' ? '' : ' mp-toast--icon'}">${tick}<span>${escapeHtml(title)}</span></div>`;
}

/**
 * page: {html, css, title, tabIndex (or -1), canGoBack, navigationStyle, toast?}
 * app: the parsed app.json; root: the mini-program's folder (for tab icons).
 */
function buildDocument(page, app, root) {
  const win = app.window || {};
  const navBg = page.navigationBarBackgroundColor || win.navigationBarBackgroundColor || '#ffffff';
  const navText = (page.navigationBarTextStyle || win.navigationBarTextStyle) === 'white' ? '#ffffff' : '#000000';
  const custom = (page.navigationStyle || win.navigationStyle) === 'custom';
  const tab = app.tabBar && page.tabIndex >= 0 ? app.tabBar : null;
  const top = custom ? 0 : STATUS_BAR + NAV_BAR;
  const bottom = tab ? TAB_BAR + SAFE_BOTTOM : 0;
  const windowHeight = SCREEN.height - top - bottom;
  const capsuleDark = navText === '#000000';
  const back = page.canGoBack && !tab
    ? `<svg class="mp-back" width="12" height="20" viewBox="0 0 12 20"><path d="M10 2 2 10l8 8" fill="none" stroke="${navText}" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/></svg>`
    : '';
  const icon = (file) => `file://${path.join(root, file)}`;
  const tabBar = tab ? `<div class="mp-tabbar">${tab.list.map((item, i) => {
    const on = i === page.tabIndex;
    const file = on ? item.selectedIconPath : item.iconPath;
    const img = file && fs.existsSync(path.join(root, file)) ? `<img src="${icon(file)}">` : '';
    return `<div class="mp-tab" style="color:${on ? tab.selectedColor : tab.color}">${img}<span>${escapeHtml(item.text)}</span></div>`;
  }).join('')}</div><div class="mp-home-indicator"></div>` : '<div class="mp-home-indicator mp-floating"></div>';

  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=375,initial-scale=1"><title>${escapeHtml(page.title)}</title><style>
html,body{margin:0;padding:0}
body{width:${SCREEN.width}px;font-family:-apple-system,'PingFang SC','WenQuanYi Zen Hei',sans-serif;-webkit-font-smoothing:antialiased;background:${win.backgroundColor || '#fff'};overflow:hidden}
.mp-status{position:fixed;top:0;left:0;right:0;height:${STATUS_BAR}px;background:${navBg};color:${navText};z-index:10;display:flex;align-items:center;justify-content:space-between;padding:0 22px 0 32px;box-sizing:border-box;font:600 15px/1 -apple-system,'WenQuanYi Zen Hei',sans-serif}
.mp-sb-icons{display:flex;gap:5px;align-items:center}
.mp-status.mp-custom{background:transparent}
.mp-nav{position:fixed;top:${STATUS_BAR}px;left:0;right:0;height:${NAV_BAR}px;background:${navBg};color:${navText};z-index:10;display:flex;align-items:center;justify-content:center}
.mp-title{max-width:200px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;font:600 17px/1 -apple-system,'PingFang SC','WenQuanYi Zen Hei',sans-serif}
.mp-back{position:absolute;left:14px;top:12px}
.mp-capsule{position:absolute;right:7px;top:6px;width:87px;height:32px;border-radius:16px;box-sizing:border-box;border:.5px solid ${capsuleDark ? 'rgba(0,0,0,.12)' : 'rgba(255,255,255,.35)'};background:${capsuleDark ? 'rgba(255,255,255,.6)' : 'rgba(0,0,0,.15)'};display:flex;align-items:center}
.mp-capsule i{flex:1;display:flex;justify-content:center;align-items:center;gap:3px}
.mp-capsule i b{width:4px;height:4px;border-radius:50%;background:${navText}}
.mp-capsule i:first-child b:nth-child(2){width:6px;height:6px}
.mp-capsule .mp-sep{width:.5px;height:18px;background:${capsuleDark ? 'rgba(0,0,0,.2)' : 'rgba(255,255,255,.4)'}}
.mp-capsule .mp-ring{width:16px;height:16px;border-radius:50%;border:2px solid ${navText};box-sizing:border-box;position:relative}
.mp-capsule .mp-ring::after{content:'';position:absolute;left:3px;top:3px;width:6px;height:6px;border-radius:50%;background:${navText}}
.mp-viewport{position:absolute;top:${top}px;left:0;width:${SCREEN.width}px;height:${windowHeight}px;overflow:hidden;transform:translateZ(0);--mp-vh:${windowHeight / 100}px;--mp-safe-top:0px;--mp-safe-left:0px;--mp-safe-right:0px;--mp-safe-bottom:${tab ? 0 : SAFE_BOTTOM}px}
.mp-full .mp-viewport{height:auto;min-height:${windowHeight}px;overflow:visible}
.mp-full{overflow:visible}
.mp-page{min-height:100%}
.mp-tabbar{position:fixed;left:0;right:0;bottom:${SAFE_BOTTOM}px;height:${TAB_BAR}px;background:${tab ? tab.backgroundColor : '#fff'};border-top:.5px solid ${tab && tab.borderStyle === 'white' ? '#eeeeee' : 'rgba(0,0,0,.2)'};display:flex;z-index:10}
.mp-tab{flex:1;display:flex;flex-direction:column;align-items:center;justify-content:center;font:10px/1.2 -apple-system,'PingFang SC','WenQuanYi Zen Hei',sans-serif}
.mp-tab img{width:24px;height:24px;margin-bottom:2px}
.mp-home-indicator{position:fixed;left:0;right:0;bottom:0;height:${SAFE_BOTTOM}px;background:${tab ? tab.backgroundColor : 'transparent'};z-index:10}
.mp-home-indicator::after{content:'';position:absolute;left:121px;bottom:8px;width:134px;height:5px;border-radius:3px;background:#000}
.mp-full .mp-tabbar,.mp-full .mp-home-indicator,.mp-full .mp-status,.mp-full .mp-nav{position:absolute}
.mp-full .mp-tabbar{bottom:${SAFE_BOTTOM}px}
.mp-toast{position:fixed;left:50%;top:46%;transform:translate(-50%,-50%);z-index:20;max-width:70%;padding:12px 16px;border-radius:8px;background:rgba(17,17,17,.7);color:#fff;font:15px/1.4 -apple-system,'PingFang SC','WenQuanYi Zen Hei',sans-serif;text-align:center;box-sizing:border-box}
.mp-toast--icon{width:136px;min-height:136px;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:10px}
${BUILT_IN_CSS}
</style><style>${page.css}</style></head><body>
<div class="mp-status${custom ? ' mp-custom' : ''}"><span>9:41</span>${statusIcons(navText)}</div>
${custom ? '' : `<div class="mp-nav">${back}<span class="mp-title">${escapeHtml(page.title)}</span><div class="mp-capsule"><i><b></b><b></b><b></b></i><span class="mp-sep"></span><i><span class="mp-ring"></span></i></div></div>`}
<div class="mp-viewport"><div class="mp-page">${page.html}</div></div>
${page.toast ? toastHtml(page.toast) : ''}
${tabBar}
<script>
window.mpFullHeight = () => ${top} + document.querySelector('.mp-viewport').scrollHeight + ${bottom};
window.mpFull = () => document.body.classList.add('mp-full');
</script>
</body></html>`;
}

module.exports = { buildDocument, SCREEN, escapeHtml };
