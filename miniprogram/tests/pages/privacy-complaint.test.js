jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap } = require('./support/harness');
const { route } = require('./support/api-mock');
const { signInAsStore, SUBSCRIPTION_TEMPLATES } = require('./support/fixtures');
const { installPrivacy, popupOf, shown, agreeIn, CONTRACT, DENIED } = require('./support/privacy');

let h;
let api;
let gate;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  gate = installPrivacy(h);
});

// ---- 我要投诉: photos through wx.chooseMedia ------------------------------------------------------

describe('complaint photos behind the privacy guide', () => {
  async function openComplaint() {
    signInAsStore();
    route(api, { 'GET /orders': { items: [], next_before: null }, 'GET /notifications/subscriptions': SUBSCRIPTION_TEMPLATES });
    h.wx.chooseMedia = gate.gated('chooseMedia', () => ({ tempFiles: [{ tempFilePath: 'wxfile://a.jpg', fileType: 'image' }] }));
    h.wx.uploadFile = jest.fn((o) => Promise.resolve().then(() => o.success({ statusCode: 201, data: JSON.stringify({ id: 101, url: 'http://x/101.jpg' }) })));
    const page = h.page('complaint-new');
    await page.instance.onLoad({});
    await flush();
    return page;
  }

  test('the pop-up shows when WeChat asks; 同意 lets the photo be chosen and uploaded', async () => {
    const page = await openComplaint();
    const popup = popupOf(page);
    expect(h.wx.onNeedPrivacyAuthorization).toHaveBeenCalled();
    expect(shown(popup)).toBe(false);

    await tap(page, '.photo-add');
    await flush();
    expect(shown(popup)).toBe(true);
    expect(textOf(popup)).toContain('用户隐私保护提示');
    expect(textOf(popup)).toContain(CONTRACT); // the name wx.getPrivacySetting gives
    expect(texts(popup, '.pp-btn')).toEqual(['拒绝', '同意']);
    expect(h.wx.uploadFile).not.toHaveBeenCalled();

    await agreeIn(popup);
    await flush(6);
    expect(gate.state.answers).toEqual([{ buttonId: 'privacy-agree-btn', event: 'agree' }]);
    expect(shown(popup)).toBe(false);
    expect(h.wx.uploadFile).toHaveBeenCalledTimes(1);
    expect(page.querySelectorAll('.photo-image')).toHaveLength(1);
    expect(page.instance.data.photos[0]).toEqual(expect.objectContaining({ path: 'wxfile://a.jpg', status: 'done', id: 101 }));

    // Agreed once: the next photo goes straight through, no pop-up.
    await tap(page, '.photo-add');
    await flush(6);
    expect(shown(popup)).toBe(false);
    expect(gate.state.answers).toHaveLength(1);
    expect(page.querySelectorAll('.photo-image')).toHaveLength(2);
  });

  test('拒绝 fails the call with a Chinese message and leaves the form as it was; it can be tried again', async () => {
    const page = await openComplaint();
    const popup = popupOf(page);
    await tap(page, '.category', 1);
    page.instance.onText({ detail: { value: '外壳破损' } });
    await flush();
    const before = JSON.parse(JSON.stringify(page.instance.data));

    await tap(page, '.photo-add');
    await flush();
    expect(shown(popup)).toBe(true);
    await tap(popup, '.pp-disagree');
    await flush(4);

    expect(gate.state.answers).toEqual([{ event: 'disagree' }]);
    expect(shown(popup)).toBe(false);
    expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: DENIED, icon: 'none' }));
    expect(h.wx.uploadFile).not.toHaveBeenCalled();
    expect(api.post).not.toHaveBeenCalled();
    expect(page.instance.data).toEqual(before);
    expect(page.querySelectorAll('.photo-image')).toHaveLength(0);

    // Later the owner changes their mind.
    await tap(page, '.photo-add');
    await flush();
    expect(shown(popup)).toBe(true);
    await agreeIn(popup);
    await flush(6);
    expect(page.querySelectorAll('.photo-image')).toHaveLength(1);
    expect(page.instance.data.text).toBe('外壳破损');
  });

  test('several calls waiting on one pop-up are all answered by one tap', async () => {
    const page = await openComplaint();
    const popup = popupOf(page);
    const privacy = require('../../components/lib/privacy');
    const first = gate.ask('chooseMedia');
    const second = gate.ask('setClipboardData');
    await flush();
    expect(privacy.pendingCount()).toBe(2);
    expect(shown(popup)).toBe(true);
    await agreeIn(popup);
    await expect(first).resolves.toEqual({ buttonId: 'privacy-agree-btn', event: 'agree' });
    await expect(second).resolves.toEqual({ buttonId: 'privacy-agree-btn', event: 'agree' });
    expect(privacy.pendingCount()).toBe(0);
    expect(shown(popup)).toBe(false);
  });

  test('the guide\'s name opens the contract with wx.openPrivacyContract', async () => {
    const page = await openComplaint();
    const popup = popupOf(page);
    await tap(page, '.photo-add');
    await flush();
    await tap(popup, '.pp-link');
    expect(h.wx.openPrivacyContract).toHaveBeenCalledTimes(1);
    // Reading the guide answers nothing: the pop-up waits for 同意 or 拒绝.
    expect(shown(popup)).toBe(true);
    expect(gate.state.answers).toEqual([]);
  });
});
