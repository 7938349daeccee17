jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, tap } = require('./support/harness');
const { route } = require('./support/api-mock');
const { signInAsStore } = require('./support/fixtures');
const { installPrivacy, popupOf, DENIED } = require('./support/privacy');

let h;
let api;
let gate;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  gate = installPrivacy(h);
});

describe('privacy refused on a page: said in Chinese, nothing else changes', () => {
  test('邀请: saving the QR refused says why and does not send the owner to the settings', async () => {
    signInAsStore();
    route(api, { 'POST /onboarding/invitation': { id: 3, kind: 'store_invite', token: 'tok.en-1', url: 'https://b2bc.example.com/join/tok.en-1', qr_png_url: 'https://b2bc.example.com/qr.png', uses: 0 } });
    h.wx.downloadFile = h.wxAsync(() => ({ statusCode: 200, tempFilePath: 'tmp://qr.png' }));
    h.wx.saveImageToPhotosAlbum = gate.gated('saveImageToPhotosAlbum');
    h.wx.setClipboardData = gate.gated('setClipboardData');
    h.wx.openSetting = jest.fn();
    const page = h.page('invite');
    await page.instance.onLoad({});
    await flush();
    const card = page.querySelector('.invite-card');
    await tap(card, '.ic-save');
    await flush();
    await tap(popupOf(page), '.pp-disagree');
    await flush(4);
    expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: DENIED }));
    expect(h.wx.showModal).not.toHaveBeenCalled();
    expect(h.wx.openSetting).not.toHaveBeenCalled();

    h.wx.showToast.mockClear();
    await tap(page, '.copy-link');
    await tap(popupOf(page), '.pp-disagree');
    await flush(4);
    expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: DENIED }));
  });
});
