jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, texts } = require('./support/harness');
const { route } = require('./support/api-mock');
const { storeSession } = require('./support/fixtures');
const { installPrivacy, DENIED } = require('./support/privacy');

let h;
let api;
let gate;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  gate = installPrivacy(h);
});

// ---- 登录: one tap agrees and asks for the phone ---------------------------------------------------

describe('the phone button agrees and binds in one tap', () => {
  async function openPhoneStep() {
    require('../../utils/session').saveSession(storeSession({ identity: { user_id: 7, role: null, membership_id: null } }));
    route(api, { 'GET /me': { id: 7, phone: null, current: { membership_id: null, role: null }, memberships: [] } });
    const page = h.page('login');
    await page.instance.onLoad({});
    await flush();
    return page;
  }

  test('getPhoneNumber|agreePrivacyAuthorization: agreeing releases waiting calls and the phone is bound', async () => {
    const page = await openPhoneStep();
    const button = page.querySelector('.phone-btn'); // its open-type is checked in tests/components/privacy-popup.test.js
    api.bindPhone.mockResolvedValue({ phone: '13800000000', memberships: [], switched: false, needs_switch: false });

    const waiting = gate.ask('getPhoneNumber');
    await flush();
    button.dispatchEvent('agreeprivacyauthorization', { detail: {} });
    await flush();
    await expect(waiting).resolves.toEqual({ buttonId: 'phone-agree-btn', event: 'agree' });
    button.dispatchEvent('getphonenumber', { detail: { code: 'phone-code-1', errMsg: 'getPhoneNumber:ok' } });
    await flush(6);
    expect(api.bindPhone).toHaveBeenCalledWith('phone-code-1');
  });

  test('a phone refused for want of consent says why and binds nothing', async () => {
    const page = await openPhoneStep();
    const before = JSON.parse(JSON.stringify(page.instance.data));
    await page.instance.onGetPhone({ detail: { errMsg: 'getPhoneNumber:fail privacy permission is not authorized', errno: 104 } });
    await flush();
    expect(api.bindPhone).not.toHaveBeenCalled();
    expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: DENIED }));
    expect(texts(page, '.phone-error')).toEqual([DENIED]);
    expect(Object.assign({}, page.instance.data, { phoneError: '' })).toEqual(before);
    expect(texts(page, '.phone-btn')).toEqual(['微信手机号快捷绑定']);
  });
});
