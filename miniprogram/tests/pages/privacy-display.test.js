jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap } = require('./support/harness');
const { route } = require('./support/api-mock');
const fx = require('./support/fixtures');
const { installPrivacy, popupOf, shown, agreeIn, CONTRACT, DENIED } = require('./support/privacy');

let h;
let api;
let gate;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  gate = installPrivacy(h);
});

// ---- 拍照上报: the camera (wx.chooseMedia) and the location (wx.getLocation) ------------------

describe('display photos behind the privacy guide', () => {
  async function openCheck() {
    fx.signInAsStore();
    route(api, { 'GET /display/mine/9': fx.signingDetail() });
    h.wx.chooseMedia = gate.gated('chooseMedia', () => ({ tempFiles: [{ tempFilePath: 'wxfile://shelf.jpg', fileType: 'image' }] }));
    h.wx.getLocation = gate.gated('getLocation', () => ({ latitude: 39.9042, longitude: 116.4074 }));
    h.wx.uploadFile = jest.fn((o) => Promise.resolve().then(() => o.success({ statusCode: 201, data: JSON.stringify({ id: 101, url: 'http://x/101.jpg', width: 1, height: 1, taken_at: '' }) })));
    const page = h.page('packageDisplay/pages/check');
    await page.instance.onLoad({ signing: '9', check: '203' });
    await flush();
    return page;
  }

  test('the pop-up shows when WeChat asks; 同意 lets the camera and the location go on, and the photo upload', async () => {
    const page = await openCheck();
    const popup = popupOf(page);
    expect(h.wx.onNeedPrivacyAuthorization).toHaveBeenCalled();
    expect(shown(popup)).toBe(false);

    await tap(page, '.photo-add');
    await flush();
    expect(shown(popup)).toBe(true);
    expect(textOf(popup)).toContain(CONTRACT);
    expect(texts(popup, '.pp-btn')).toEqual(['拒绝', '同意']);
    expect(h.wx.getLocation).not.toHaveBeenCalled();

    await agreeIn(popup);
    await flush(6);
    expect(gate.state.answers).toEqual([{ buttonId: 'privacy-agree-btn', event: 'agree' }]);
    expect(h.wx.getLocation).toHaveBeenCalledTimes(1);
    expect(h.wx.uploadFile.mock.calls[0][0].formData).toEqual(expect.objectContaining({ latitude: '39.9042', longitude: '116.4074' }));
    expect(page.instance.data.photos[0]).toEqual(expect.objectContaining({ path: 'wxfile://shelf.jpg', status: 'done', id: 101 }));
    expect(page.instance.data.noLocation).toBe(false);

    // Agreed once: the second photo goes straight through.
    await tap(page, '.photo-add');
    await flush(6);
    expect(shown(popup)).toBe(false);
    expect(gate.state.answers).toHaveLength(1);
    expect(page.querySelectorAll('.photo-image')).toHaveLength(2);
  });

  test('拒绝 explains in Chinese, takes no photo and leaves the page as it was; it can be tried again', async () => {
    const page = await openCheck();
    const popup = popupOf(page);
    const before = JSON.parse(JSON.stringify(page.instance.data));
    await tap(page, '.photo-add');
    await flush();
    await tap(popup, '.pp-disagree');
    await flush(4);
    expect(gate.state.answers).toEqual([{ event: 'disagree' }]);
    expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: DENIED, icon: 'none' }));
    expect(h.wx.getLocation).not.toHaveBeenCalled();
    expect(h.wx.uploadFile).not.toHaveBeenCalled();
    expect(page.instance.data).toEqual(before);

    await tap(page, '.photo-add');
    await flush();
    expect(shown(popup)).toBe(true);
    await agreeIn(popup);
    await flush(6);
    expect(page.querySelectorAll('.photo-image')).toHaveLength(1);
  });
});
