jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, tap } = require('./support/harness');
const { route } = require('./support/api-mock');
const { signInAsStore } = require('./support/fixtures');
const { installPrivacy, popupOf, shown, agreeIn, DENIED } = require('./support/privacy');

let h;
let api;
let gate;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  gate = installPrivacy(h);
  signInAsStore();
});

const GIFT = { id: 5, name: '净水杯', description: '便携', image_url: '', points_price: 800, stock: 10, status: 'on_sale', physical: true, created_at: '2026-01-01T00:00:00+00:00' };
const POINTS = { items: [{ id: 1, store_id: 3, kind: 'points', kind_name: '积分', balance: 1000 }] };

describe('privacy refused on a page: said in Chinese, nothing else changes', () => {
  test('积分商城: the WeChat address refused keeps the delivery sheet as typed; after 同意 it fills in', async () => {
    h.wx.chooseAddress = gate.gated('chooseAddress', () => ({ userName: '李四', telNumber: '13900002222', provinceName: '浙江省', cityName: '杭州市', countyName: '西湖区', detailInfo: '文二路2号' }));
    route(api, { 'GET /mall/items': { items: [GIFT] }, 'GET /ledger/accounts': POINTS });
    const page = h.page('mall');
    await page.instance.onLoad({});
    await flush();
    await tap(page, '.redeem-btn');
    page.instance.onSheetInput({ currentTarget: { dataset: { field: 'name' } }, detail: { value: '王五' } });
    await flush();
    const before = JSON.parse(JSON.stringify(page.instance.data));
    expect(before.sheet.form.name).toBe('王五');

    const choosing = page.instance.onChooseAddress();
    await flush();
    expect(shown(popupOf(page))).toBe(true);
    await tap(popupOf(page), '.pp-disagree');
    await choosing;
    await flush();
    expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: DENIED }));
    expect(page.instance.data).toEqual(before);
    expect(api.post).not.toHaveBeenCalled();

    const again = page.instance.onChooseAddress();
    await flush();
    await agreeIn(popupOf(page));
    await again;
    await flush();
    expect(page.instance.data.sheet.form).toEqual({ name: '李四', phone: '13900002222', address: '浙江省杭州市西湖区文二路2号' });
    expect(api.post).not.toHaveBeenCalled();
  });
});
