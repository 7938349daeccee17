/**
 * 用户隐私保护指引: WeChat (since 2023-09-15, with `__usePrivacyCheck__` in app.json) stops a
 * privacy interface (phone number, album and camera, location, address, clipboard…) until the
 * user has agreed to the app's privacy guide, and asks the app through
 * wx.onNeedPrivacyAuthorization(resolve) to show it. This module holds the one listener and
 * the calls waiting on it; <privacy-popup> (components/privacy-popup) is the pop-up each such
 * page carries. Several calls may wait at once (two taps, two APIs): one answer resolves them
 * all, and every open pop-up closes.
 *
 * When the user refuses, the waiting call fails with errno 104 ("privacy permission is not
 * authorized"); pages pass such a failure to explainDenied(), which says so in Chinese and
 * leaves the page as it was, so the user can try again later.
 */

const DENIED_MESSAGE = '需要同意隐私保护指引后才能使用该功能';
const DEFAULT_CONTRACT = '《用户隐私保护指引》';
const AGREE_BUTTON_ID = 'privacy-agree-btn';

const popups = []; // attached pop-ups, the one on the page in front last
let waiting = []; // resolve functions WeChat handed over

function showPopup() {
  const top = popups[popups.length - 1];
  if (top) {
    top.open();
    return;
  }
  // A page without the pop-up (the test in tests/components/privacy-popup.test.js keeps this
  // from happening): refuse rather than leave the call hanging for ever.
  settle({ event: 'disagree' });
  explainDenied({ errno: 104 });
}

function onNeed(resolve) {
  waiting.push(resolve);
  if (waiting.length === 1 || !popups.some((p) => p.isOpen())) showPopup();
}

/** (Re)register the app's one listener; a later registration replaces an earlier one. */
function listen() {
  if (typeof wx === 'undefined' || typeof wx.onNeedPrivacyAuthorization !== 'function') return false;
  wx.onNeedPrivacyAuthorization(onNeed);
  return true;
}

function settle(answer) {
  const pending = waiting;
  waiting = [];
  pending.forEach((resolve) => {
    try {
      resolve(answer);
    } catch (e) {
      // a stale resolve from WeChat must not stop the others
    }
  });
  popups.forEach((p) => p.close());
  return pending.length;
}

function agree(buttonId) {
  return settle({ buttonId: buttonId || AGREE_BUTTON_ID, event: 'agree' });
}

function disagree() {
  return settle({ event: 'disagree' });
}

function register(popup) {
  unregister(popup);
  popups.push(popup);
  listen();
}
function unregister(popup) {
  const at = popups.indexOf(popup);
  if (at >= 0) popups.splice(at, 1);
}
/** The page came to the front: its pop-up is the one to show from now on. */
function bringToFront(popup) {
  if (popups.indexOf(popup) < 0) return;
  register(popup);
  if (waiting.length && !popups.some((p) => p.isOpen())) popup.open();
}

/** wx.getPrivacySetting as a promise: {needAuthorization, privacyContractName}. */
function getSetting() {
  return new Promise((resolve) => {
    if (typeof wx === 'undefined' || typeof wx.getPrivacySetting !== 'function') {
      resolve({ needAuthorization: false, privacyContractName: DEFAULT_CONTRACT });
      return;
    }
    wx.getPrivacySetting({
      success: (res) => resolve({
        needAuthorization: Boolean(res && res.needAuthorization),
        privacyContractName: (res && res.privacyContractName) || DEFAULT_CONTRACT,
      }),
      fail: () => resolve({ needAuthorization: false, privacyContractName: DEFAULT_CONTRACT }),
    });
  });
}

function openContract() {
  if (typeof wx === 'undefined' || typeof wx.openPrivacyContract !== 'function') return;
  wx.openPrivacyContract({
    fail: () => wx.showToast({ title: '隐私保护指引暂时打不开，请稍后重试', icon: 'none' }),
  });
}

/** A failure of a wx API (or a button's detail) because the user refused the guide. */
function isDenied(res) {
  if (!res) return false;
  return res.errno === 104 || /privacy/i.test(res.errMsg || '');
}

/** Tell the user why a refused call did nothing; true when it was such a call. */
function explainDenied(res) {
  if (!isDenied(res)) return false;
  wx.showToast({ title: DENIED_MESSAGE, icon: 'none', duration: 2500 });
  return true;
}

module.exports = {
  DENIED_MESSAGE,
  DEFAULT_CONTRACT,
  AGREE_BUTTON_ID,
  listen,
  agree,
  disagree,
  register,
  unregister,
  bringToFront,
  getSetting,
  openContract,
  isDenied,
  explainDenied,
  pendingCount: () => waiting.length,
};
