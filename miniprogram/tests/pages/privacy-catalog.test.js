jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap } = require('./support/harness');
const { route } = require('./support/api-mock');
const { signInAsStore, storeSession, SUBSCRIPTION_TEMPLATES } = require('./support/fixtures');
const { installPrivacy, CONTRACT } = require('./support/privacy');

const DENIED = '需要同意隐私保护指引后才能使用该功能';

let h;
let api;
let gate;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  gate = installPrivacy(h);
});

function popupOf(page) {
  const popup = page.querySelector('.privacy-popup');
  if (!popup) throw new Error('the page has no <privacy-popup>');
  return popup;
}
function shown(popup) {
  return popup.querySelectorAll('.pp-sheet').length === 1;
}
async function agreeIn(popup) {
  const button = popup.querySelector('.pp-agree');
  button.dispatchEvent('agreeprivacyauthorization', { detail: {} });
  await flush(4);
}

// ---- other pages' privacy calls: refused, nothing else changes ------------------------------------

describe('refusing on other pages', () => {
  test('订货: a barcode scan refused changes no filter', async () => {
    signInAsStore();
    h.wx.scanCode = jest.fn((o) => o.fail({ errMsg: 'scanCode:fail privacy permission is not authorized', errno: 104 }));
    route(api, {});
    const page = h.page('catalog');
    const before = JSON.parse(JSON.stringify(page.instance.data));
    await page.instance.onScan();
    expect(h.wx.showToast).toHaveBeenCalledTimes(1);
    expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: DENIED }));
    expect(page.instance.data).toEqual(before);
    expect(api.get).not.toHaveBeenCalled();
  });
});
