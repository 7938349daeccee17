jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh } = require('./support/harness');
const { route } = require('./support/api-mock');
const { signInAsStore } = require('./support/fixtures');
const { installPrivacy, DENIED } = require('./support/privacy');

let h;
let api;
let gate;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  gate = installPrivacy(h);
});

describe('privacy refused on a page: said in Chinese, nothing else changes', () => {
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
