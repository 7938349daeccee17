jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, tap, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
  h.wx.setClipboardData = h.wxAsync(() => ({}));
});

const CODE = {
  id: 3,
  kind: 'store_invite',
  token: 'tok.en-1',
  url: 'https://b2bc.example.com/join/tok.en-1',
  qr_png_url: 'https://b2bc.example.com/api/v1/onboarding/codes/tok.en-1/qr.png',
  batch: null,
  max_uses: null,
  uses: 2,
};

async function open() {
  const page = h.page('invite');
  await page.instance.onLoad({});
  await flush();
  return page;
}

test('shows the store\'s invitation QR and shares the join page with its token', async () => {
  route(api, { 'POST /onboarding/invitation': CODE });
  const page = await open();
  expect(api.post).toHaveBeenCalledWith('/onboarding/invitation');
  const card = page.querySelector('.invite-card');
  expect(card.instance.data.qrUrl).toBe(CODE.qr_png_url);
  expect(page.instance.onShareAppMessage()).toEqual({
    title: '邀请您入驻品牌订货平台：品牌直供，在线订货',
    path: '/pages/join/index?token=tok.en-1',
  });
  await tap(page, '.copy-link');
  expect(h.wx.setClipboardData).toHaveBeenCalledWith(expect.objectContaining({ data: CODE.url }));
});

test('保存到相册 downloads the QR and saves it; a refused album permission offers the settings', async () => {
  route(api, { 'POST /onboarding/invitation': CODE });
  h.wx.downloadFile = h.wxAsync((o) => ({ statusCode: 200, tempFilePath: `tmp://${o.url.split('/').pop()}` }));
  h.wx.saveImageToPhotosAlbum = h.wxAsync(() => ({ errMsg: 'saveImageToPhotosAlbum:ok' }));
  h.wx.openSetting = jest.fn();
  const page = await open();
  const card = page.querySelector('.invite-card');
  await tap(card, '.ic-save');
  await flush();
  expect(h.wx.downloadFile.mock.calls[0][0].url).toBe(CODE.qr_png_url);
  expect(h.wx.saveImageToPhotosAlbum.mock.calls[0][0].filePath).toBe('tmp://qr.png');
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已保存到相册' }));

  h.wx.saveImageToPhotosAlbum = h.wxAsync(() => Promise.reject({ errMsg: 'saveImageToPhotosAlbum:fail auth deny' }));
  await tap(card, '.ic-save');
  await flush();
  expect(h.wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '需要相册权限' }));
  expect(h.wx.openSetting).toHaveBeenCalled();

  h.wx.downloadFile = h.wxAsync(() => Promise.reject({ errMsg: 'downloadFile:fail' }));
  await tap(card, '.ic-save');
  await flush();
  expect(h.wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '图片下载失败，请检查网络后重试' }));
});

test('an error shows the server message and 重试 asks again', async () => {
  let answer = apiError(api.ApiError, 'onboarding.inviter_required', '只有业务员或门店可以生成邀请码', 403);
  route(api, { 'POST /onboarding/invitation': () => answer });
  const page = await open();
  expect(textOf(page)).toContain('只有业务员或门店可以生成邀请码');
  answer = CODE;
  await tapRetry(page);
  expect(textOf(page)).toContain('邀请同行门店入驻');
});
