/**
 * What a tab page should do when it is next shown. wx.switchTab cannot carry a query, so
 * "待付款" on the home page leaves the wanted tab here and the orders page takes it when
 * shown (once).
 */
const KEY = 'b2bc.tabIntent';

function setIntent(page, value) {
  try {
    wx.setStorageSync(KEY, { page, value });
  } catch (e) {
    // the page opens in its default state
  }
}

/** The value left for `page`, removed as it is read; null when there is none. */
function takeIntent(page) {
  let saved;
  try {
    saved = wx.getStorageSync(KEY);
  } catch (e) {
    return null;
  }
  if (!saved || saved.page !== page) return null;
  try {
    wx.removeStorageSync(KEY);
  } catch (e) {
    // read once anyway: the page applies it now
  }
  return saved.value;
}

module.exports = { setIntent, takeIntent };
