/**
 * Where a notification's `link` (e.g. "live:12", "complaint:3", "order:42", "display:9") opens
 * in the mini-program. Unknown kinds open nothing. A link that is already one of the app's
 * page paths (the display reminders send `/packageDisplay/pages/signing/index?id=9`) opens
 * as it is.
 */
const PAGES = {
  order: (id) => `/pages/order/index?id=${id}`,
  live: (id) => `/packageLive/pages/room/index?id=${id}`,
  complaint: (id) => `/pages/complaint/index?id=${id}`,
  display: (id) => `/packageDisplay/pages/signing/index?id=${id}`,
};
const PAGE_PATH = /^\/(pages|package[A-Z]\w*)\/(pages\/)?[\w-]+\/index(\?[\w=&-]*)?$/;

function pageFor(link) {
  if (PAGE_PATH.test(String(link || ''))) return String(link);
  const match = /^([a-z_]+):(\d+)$/.exec(String(link || ''));
  if (!match || !PAGES[match[1]]) return '';
  return PAGES[match[1]](match[2]);
}

// The next step an empty page offers: the 订货 tab, or 首页 (where coupons are claimed).
function goShopping() {
  wx.switchTab({ url: '/pages/catalog/index' });
}
function goHome() {
  wx.switchTab({ url: '/pages/home/index' });
}

module.exports = { pageFor, PAGES, goShopping, goHome };
