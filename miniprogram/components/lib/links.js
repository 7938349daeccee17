/**
 * Where a notification's `link` (e.g. "live:12", "complaint:3", "order:42") opens in the
 * mini-program. Unknown kinds open nothing.
 */
const PAGES = {
  order: (id) => `/pages/order/index?id=${id}`,
  live: (id) => `/packageLive/pages/room/index?id=${id}`,
  complaint: (id) => `/pages/complaint/index?id=${id}`,
};

function pageFor(link) {
  const match = /^([a-z_]+):(\d+)$/.exec(String(link || ''));
  if (!match || !PAGES[match[1]]) return '';
  return PAGES[match[1]](match[2]);
}

module.exports = { pageFor, PAGES };
