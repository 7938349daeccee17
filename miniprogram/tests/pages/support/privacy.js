/**
 * WeChat's privacy check, faked the way the released app behaves with `__usePrivacyCheck__`:
 * until the user agrees, a privacy API (`gated(...)`) calls the app's
 * wx.onNeedPrivacyAuthorization listener and waits; {event: 'agree'} lets it go on,
 * {event: 'disagree'} fails it with errno 104. Install before mounting the page (the pop-up
 * registers the listener when it attaches).
 *
 *   const gate = installPrivacy(h);
 *   h.wx.chooseMedia = gate.gated('chooseMedia', () => ({ tempFiles: [...] }));
 */
const { flush } = require('./harness');

const CONTRACT = '《澜泉订货小程序隐私保护指引》';
const DENIED = '需要同意隐私保护指引后才能使用该功能';

/** The page's <privacy-popup class="privacy-popup">. */
function popupOf(page) {
  const popup = page.querySelector('.privacy-popup');
  if (!popup) throw new Error('the page has no <privacy-popup>');
  return popup;
}
function shown(popup) {
  return popup.querySelectorAll('.pp-sheet').length === 1;
}
/** Tap 同意 (WeChat fires agreeprivacyauthorization on the agreePrivacyAuthorization button). */
async function agreeIn(popup) {
  popup.querySelector('.pp-agree').dispatchEvent('agreeprivacyauthorization', { detail: {} });
  await flush(4);
}

function installPrivacy(h) {
  const state = { agreed: false, listener: null, answers: [] };
  h.wx.onNeedPrivacyAuthorization = jest.fn((listener) => {
    state.listener = listener;
  });
  h.wx.getPrivacySetting = h.wxAsync(() => ({ errMsg: 'getPrivacySetting:ok', needAuthorization: !state.agreed, privacyContractName: CONTRACT }));
  h.wx.openPrivacyContract = h.wxAsync(() => ({ errMsg: 'openPrivacyContract:ok' }));

  /** Ask the app for consent as WeChat does; resolves to the app's answer. */
  function ask(apiName) {
    if (state.agreed) return Promise.resolve({ event: 'agree' });
    if (!state.listener) return Promise.resolve({ event: 'disagree', unasked: true });
    return new Promise((resolve) => {
      state.listener((answer) => {
        state.answers.push(answer);
        if (answer && answer.event === 'agree') state.agreed = true;
        resolve(answer);
      }, { referrer: apiName });
    });
  }

  /** A wx API behind the privacy check; `impl(options)` gives its success result. */
  function gated(apiName, impl) {
    return jest.fn((options = {}) => {
      ask(apiName).then((answer) => {
        if (answer.event === 'agree') {
          const res = Object.assign({ errMsg: `${apiName}:ok` }, impl ? impl(options) : {});
          if (options.success) options.success(res);
          if (options.complete) options.complete(res);
        } else {
          const res = { errMsg: `${apiName}:fail privacy permission is not authorized`, errno: 104 };
          if (options.fail) options.fail(res);
          if (options.complete) options.complete(res);
        }
      });
    });
  }

  return { state, ask, gated, CONTRACT };
}

module.exports = { installPrivacy, popupOf, shown, agreeIn, CONTRACT, DENIED };
