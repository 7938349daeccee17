jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const fx = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  fx.signInAsStore();
});

async function open(routes) {
  route(api, routes);
  const page = h.page('packageDisplay/pages/program');
  await page.instance.onLoad({ id: '5' });
  await flush();
  return page;
}

/** Scroll the agreement to its end (WeChat fires scrolltolower on the scroll-view). */
async function readToEnd(page) {
  page.querySelector('.agreement-box').dispatchEvent('scrolltolower', { detail: { direction: 'bottom' } });
  await flush();
}

test('the program as the store sees it: standard, samples, products, schedule, rewards, places', async () => {
  const page = await open({ 'GET /display/store/programs/5': fx.storeProgram() });
  expect(api.get).toHaveBeenCalledWith('/display/store/programs/5');
  const text = textOf(page);
  expect(texts(page, '.name')).toEqual(['冬季净水器端架陈列']);
  expect(text).toContain('剩余 12 个名额');
  expect(text).toContain('端架第一层整排陈列 RO 净水器，价签朝外，不少于 6 台');
  expect(texts(page, '.sku')).toEqual(['RO 净水器 标准款', 'PP 滤芯 10寸']);
  expect(texts(page, '.schedule')).toEqual(['共 8 次检查，每次拍 2 张照片']);
  expect(texts(page, '.check-title')[0]).toBe('第 1 次');
  expect(texts(page, '.check-window')[0]).toBe('01-05 08:00 至 01-08 08:00');
  expect(page.querySelectorAll('.check-row')).toHaveLength(8);
  expect(texts(page, '.reward-label')).toEqual(['每次检查通过', '全部检查通过']);
  expect(texts(page, '.reward-text')).toEqual(['兑换券 1 张（价值 ¥30.00）', '积分 500']);
  expect(texts(page, '.agreement-text')[0]).toContain('一、乙方在活动期间按陈列标准');

  h.wx.previewImage = jest.fn();
  await tap(page, '.sample', 1);
  expect(h.wx.previewImage).toHaveBeenCalledWith({
    urls: ['https://img.example.com/display/sample-1.jpg', 'https://img.example.com/display/sample-2.jpg'],
    current: 'https://img.example.com/display/sample-2.jpg',
  });
});

test('signing: read to the end, the name, 我已阅读并同意, then one signing for a double tap', async () => {
  const signed = deferred();
  h.wx.requestSubscribeMessage = h.wxAsync(() => ({ errMsg: 'requestSubscribeMessage:ok', 'TPL-D': 'accept' }));
  const page = await open({
    'GET /display/store/programs/5': fx.storeProgram(),
    'GET /notifications/subscriptions': { items: fx.SUBSCRIPTION_TEMPLATES.items.concat([{ kind: 'display_reminder', template_id: 'TPL-D', title: '陈列检查提醒', remaining: 0 }]) },
    'POST /notifications/subscriptions': { items: [] },
    'POST /display/programs/5/sign': () => signed.promise,
  });
  // Nothing read, nothing typed: each missing step is named, nothing sent.
  await tap(page, '.sign-btn');
  expect(texts(page, '.field-error')).toEqual(['请先阅读完协议（滑动到末尾）', '请填写签署人姓名（2–32 个字）']);
  await tap(page, '.agree');
  expect(page.instance.data.agreed).toBe(false);
  expect(texts(page, '.read-state')).toEqual(['请滑动阅读至协议末尾']);

  await readToEnd(page);
  expect(texts(page, '.read-state')).toEqual(['已阅读至协议末尾']);
  page.instance.onName({ detail: { value: ' 赵大海 ' } });
  await tap(page, '.sign-btn');
  expect(texts(page, '.field-error')).toEqual(['请勾选“我已阅读并同意”']);
  await tap(page, '.agree');
  expect(texts(page, '.agree-box')).toEqual(['✓']);
  expect(api.post).not.toHaveBeenCalled();

  await tap(page, '.sign-btn');
  await tap(page, '.sign-btn');
  signed.resolve(Object.assign(fx.signingView({ id: 12 }), { program: { id: 5, name: '冬季净水器端架陈列', status: 'published', phase: 'signing' } }));
  await flush(4);
  // The reminder before each check closes is asked for in the tap, once.
  expect(h.wx.requestSubscribeMessage).toHaveBeenCalledTimes(1);
  expect(h.wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['TPL-D']);
  expect(api.post).toHaveBeenCalledWith('/notifications/subscriptions', { accepted: ['TPL-D'], rejected: [] });
  expect(api.post.mock.calls.filter((c) => c[0] !== '/notifications/subscriptions')).toEqual([[
    '/display/programs/5/sign',
    { signer_name: '赵大海', agreement_version: 1, agreed: true },
    { idempotencyKey: 'key-1' },
  ]]);
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '签约成功' }));
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageDisplay/pages/signing/index?id=12' }));
});

async function readyToSign(page) {
  await readToEnd(page);
  page.instance.onName({ detail: { value: '赵大海' } });
  await tap(page, '.agree');
}

test.each([
  ['display.full', 'Program is full', '名额已满，本活动已停止报名', { state: 'full', places_left: 0 }, '名额已满'],
  ['display.already_signed', '已签约', '本店已签署过该活动，无需重复签署', { state: 'signed', signing_id: 9 }, '本店已签约该活动'],
])('%s is said in Chinese and the program shown as it is now', async (code, serverMessage, shown, now, note) => {
  let program = fx.storeProgram();
  const page = await open({
    'GET /display/store/programs/5': () => program,
    'POST /display/programs/5/sign': () => {
      program = fx.storeProgram(now);
      return apiError(api.ApiError, code, serverMessage, 409);
    },
  });
  await readyToSign(page);
  await tap(page, '.sign-btn');
  await flush();
  expect(texts(page, '.sign-error')).toEqual([shown]);
  expect(api.get.mock.calls.filter((c) => c[0] === '/display/store/programs/5')).toHaveLength(2);
  expect(texts(page, '.state-note')[0]).toContain(note);
  expect(page.querySelectorAll('.sign-btn')).toHaveLength(0);
  if (now.signing_id) {
    await tap(page, '.open-signing');
    expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageDisplay/pages/signing/index?id=9' }));
  }
});

test('display.agreement_changed: the new text must be read and agreed to again, then signs with its version', async () => {
  let program = fx.storeProgram();
  const answers = [
    () => {
      program = fx.storeProgram({ agreement_version: 2, agreement_text: '第二版协议：陈列期间不得撤下甲方商品。' });
      return apiError(api.ApiError, 'display.agreement_changed', '协议已更新', 409);
    },
    () => fx.signingView({ id: 13 }),
  ];
  const page = await open({
    'GET /display/store/programs/5': () => program,
    'POST /display/programs/5/sign': () => answers.shift()(),
  });
  await readyToSign(page);
  await tap(page, '.sign-btn');
  await flush();
  expect(texts(page, '.sign-error')).toEqual(['协议内容已更新，请重新阅读后再签署']);
  expect(texts(page, '.agreement-text')).toEqual(['第二版协议：陈列期间不得撤下甲方商品。']);
  expect(page.instance.data.read).toBe(false);
  expect(page.instance.data.agreed).toBe(false);
  expect(page.instance.data.signerName).toBe('赵大海');

  await readToEnd(page);
  await tap(page, '.agree');
  await tap(page, '.sign-btn');
  await flush();
  expect(api.post.mock.calls.map((c) => [c[1].agreement_version, c[2].idempotencyKey])).toEqual([[1, 'key-1'], [2, 'key-2']]);
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageDisplay/pages/signing/index?id=13' }));
});

test('a lost answer keeps the key for the retry', async () => {
  const answers = [apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0), fx.signingView({ id: 14 })];
  const page = await open({ 'GET /display/store/programs/5': fx.storeProgram(), 'POST /display/programs/5/sign': () => answers.shift() });
  await readyToSign(page);
  await tap(page, '.sign-btn');
  expect(texts(page, '.sign-error')).toEqual(['网络不给力，请稍后重试']);
  await tap(page, '.sign-btn');
  expect(api.post.mock.calls.map((c) => c[2].idempotencyKey)).toEqual(['key-1', 'key-1']);
});

test('a clerk reads the program and the agreement but only the owner may sign', async () => {
  fx.signInAsStore({ identity: { user_id: 8, role: 'store_clerk', membership_id: 12, brand_id: 1, distributor_id: 2, store_id: 3, salesperson_id: null } });
  const page = await open({ 'GET /display/store/programs/5': fx.storeProgram() });
  expect(textOf(page)).toContain('只有门店老板可以签署协议');
  expect(page.querySelectorAll('.sign-btn')).toHaveLength(0);
  expect(page.querySelectorAll('.signer-input')).toHaveLength(0);
  await page.instance.onSign();
  expect(api.post).not.toHaveBeenCalled();
});

test.each([
  ['closed', '报名已结束'],
  ['not_eligible', '本店不在该活动的参与范围内'],
])('a program in state %s says so and offers no signing', async (state, note) => {
  const page = await open({ 'GET /display/store/programs/5': fx.storeProgram({ state }) });
  expect(texts(page, '.state-note')).toEqual([note]);
  expect(page.querySelectorAll('.agreement-box')).toHaveLength(0);
});

test('not found: the server\'s words and 重试', async () => {
  let answer = apiError(api.ApiError, 'display.program_not_found', '活动不存在', 404);
  const page = await open({ 'GET /display/store/programs/5': () => answer });
  expect(textOf(page)).toContain('活动不存在');
  expect(textOf(page)).not.toContain('display.');
  answer = fx.storeProgram();
  await tapRetry(page);
  expect(texts(page, '.name')).toEqual(['冬季净水器端架陈列']);
});

test('an agreement short enough to fit its box counts as read once shown', async () => {
  const page = await open({ 'GET /display/store/programs/5': fx.storeProgram() });
  expect(page.instance.data.read).toBe(false);
  const rects = (box, text) => () => {
    const query = { select: () => ({ boundingClientRect: () => query }), exec: (cb) => cb([{ height: box }, { height: text }]) };
    return query;
  };
  page.instance.createSelectorQuery = rects(240, 600); // longer than its box: must be scrolled
  page.instance.measureAgreement();
  expect(page.instance.data.read).toBe(false);
  page.instance.createSelectorQuery = rects(240, 120);
  page.instance.measureAgreement();
  expect(page.instance.data.read).toBe(true);
});
