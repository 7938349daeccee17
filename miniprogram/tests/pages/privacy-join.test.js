jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, tap } = require('./support/harness');
const { route } = require('./support/api-mock');
const { storeSession } = require('./support/fixtures');
const { installPrivacy, popupOf, agreeIn, DENIED } = require('./support/privacy');

let h;
let api;
let gate;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  gate = installPrivacy(h);
});

describe('privacy refused on a page: said in Chinese, nothing else changes', () => {
  test('门店入驻: the map location refused keeps the form; after 同意 it fills in', async () => {
    require('../../utils/session').saveSession(storeSession({ identity: { user_id: 7, role: null } }));
    const TOKEN = 'Xb3k9QmZ2p7LwA1c.s1gnatur3-AbC_dEf';
    route(api, {
      'GET /onboarding/applications/mine': { items: [] },
      [`GET /onboarding/codes/${TOKEN}`]: { kind: 'box', brand: { id: 1, name: '澜泉净水' }, distributor: null, inviter: null, usable: true },
    });
    h.wx.chooseLocation = gate.gated('chooseLocation', () => ({ latitude: 30.27, longitude: 120.15, address: '杭州市', name: '文三路' }));
    const page = h.page('join');
    await page.instance.onLoad({ token: TOKEN });
    await flush();
    page.instance.onField({ currentTarget: { dataset: { field: 'store_name' } }, detail: { value: '赵记水站' } });
    await flush();
    const before = JSON.parse(JSON.stringify(page.instance.data));

    await tap(page, '.location-link');
    await tap(popupOf(page), '.pp-disagree');
    await flush(4);
    expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: DENIED }));
    expect(page.instance.data).toEqual(before);
    expect(api.post).not.toHaveBeenCalled();

    await tap(page, '.location-link');
    await agreeIn(popupOf(page));
    await flush(4);
    expect(page.instance.data.form).toEqual(expect.objectContaining({ store_name: '赵记水站', latitude: 30.27, longitude: 120.15, address: '杭州市文三路' }));
  });

  test('门店入驻: scanning refused says why once, not 扫码失败, and the scan page stays', async () => {
    require('../../utils/session').saveSession(storeSession({ identity: { user_id: 7, role: null } }));
    route(api, { 'GET /onboarding/applications/mine': { items: [] } });
    h.wx.scanCode = gate.gated('scanCode', () => ({ result: 'x' }));
    const page = h.page('join');
    await page.instance.onLoad({});
    await flush();
    const before = JSON.parse(JSON.stringify(page.instance.data));
    expect(before.view).toBe('scan');

    await tap(page, '.scan-btn');
    await tap(popupOf(page), '.pp-disagree');
    await flush(4);
    expect(h.wx.showToast.mock.calls.map((c) => c[0].title)).toEqual([DENIED]);
    expect(page.instance.data).toEqual(before);
    expect(api.get).toHaveBeenCalledTimes(1); // only the applications at load
  });
});
