jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const fx = require('./support/fixtures');

const PAGE = 'packageCodes/pages/open';
const BOX_URL = `${fx.CODE_BASE}/C/${fx.BOX_TOKEN}`;
const ITEM_URL = `${fx.CODE_BASE}/C/${fx.ITEM_TOKEN}`;

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  h.wx.getLocation = h.wxAsync(() => ({ latitude: 31.2304, longitude: 121.4737 }));
});
afterEach(() => jest.restoreAllMocks());

/** The action sheet: answers with the item at `tapIndex`, or closed (null). */
function withSheet(tapIndex) {
  h.wx.showActionSheet = h.wxAsync(() => (tapIndex === null ? Promise.reject({ errMsg: 'showActionSheet:fail cancel' }) : { tapIndex }));
}

async function open(options, routes) {
  route(api, routes);
  const page = h.page(PAGE);
  await page.instance.onLoad(options);
  await flush(8);
  return page;
}

test('a store opening a box\'s QR: the product, the action sheet offers 入库, and the result with the reward', async () => {
  fx.signInAsStore();
  withSheet(0);
  const page = await open({ q: encodeURIComponent(BOX_URL) }, {
    'GET /codes/lookup': fx.codeLookup(),
    'POST /codes/scans': fx.scanAnswer({ signed_order_id: 42 }),
  });
  expect(api.get).toHaveBeenCalledWith('/codes/lookup', { code: BOX_URL });
  expect(api.login).not.toHaveBeenCalled();
  expect(h.wx.showActionSheet.mock.calls[0][0].itemList).toEqual(['扫码入库']);
  expect(texts(page, '.code-kind')).toEqual(['箱码']);
  expect(texts(page, '.product-name')).toEqual(['RO 净水器 标准款']);
  expect(texts(page, '.fact-serial')).toEqual(['箱号20261201-B000042']);
  expect(texts(page, '.fact-batch')).toEqual(['生产批次20261201']);
  expect(texts(page, '.fact-produced')).toEqual(['生产日期2026-12-01']);
  expect(texts(page, '.fact-per-box')).toEqual(['每箱12 件']);
  expect(texts(page, '.fact-received')).toEqual(['状态已入库']); // received now: the card says so

  const [path, body, options] = api.post.mock.calls[0];
  expect(path).toBe('/codes/scans');
  expect(body).toEqual({ code: fx.BOX_TOKEN, action: 'receive', latitude: 31.2304, longitude: 121.4737 });
  expect(options.idempotencyKey).toBeTruthy();
  expect(texts(page, '.result-title')).toEqual(['入库成功 · 12 件']);
  expect(textOf(page)).toContain('开箱奖励 200 积分 已到账');
  expect(textOf(page)).toContain('该箱所属订单已自动签收');
  await tap(page, '.result-link');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/order/index?id=42' }));
  await tap(page, '.keep-scanning');
  expect(h.wx.redirectTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageCodes/pages/scan/index?mode=receive' }));
  await tap(page, '.stock-btn');
  expect(h.wx.redirectTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageCodes/pages/stock/index' }));
});

test('an item: 动销 from the page\'s own button after the sheet was closed; a double tap sells once', async () => {
  fx.signInAsStore();
  withSheet(null);
  const page = await open({ q: encodeURIComponent(ITEM_URL) }, {
    'GET /codes/lookup': fx.codeLookup({ code: { token: fx.ITEM_TOKEN, kind: 'item', kind_label: '物码', serial_text: '20261201-I000101', box_serial_text: '20261201-B000042' }, actions: ['sell'] }),
    'POST /codes/scans': fx.scanAnswer({ action: 'sell', code: { kind: 'item', serial_text: '20261201-I000101' }, items: 1, reward: null }),
  });
  expect(texts(page, '.fact-serial')).toEqual(['序号20261201-I000101']);
  expect(texts(page, '.fact-box')).toEqual(['所在箱20261201-B000042']);
  expect(page.querySelectorAll('.fact-received')).toHaveLength(0);
  expect(texts(page, '.action')).toEqual(['动销（已卖出）']);
  expect(api.post).not.toHaveBeenCalled();
  const button = page.querySelector('.action-sell');
  button.dispatchEvent('tap');
  button.dispatchEvent('tap');
  await flush(8);
  expect(api.post).toHaveBeenCalledTimes(1);
  expect(api.post.mock.calls[0][1]).toEqual(expect.objectContaining({ code: fx.ITEM_TOKEN, action: 'sell' }));
  expect(texts(page, '.result-title')).toEqual(['动销成功 · 1 件']);
});

test('a refusal shows the server\'s message; a lost answer is sent again with the same key', async () => {
  fx.signInAsStore();
  withSheet(0);
  let answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  const page = await open({ q: encodeURIComponent(BOX_URL) }, {
    'GET /codes/lookup': fx.codeLookup(),
    'POST /codes/scans': () => answer,
  });
  expect(texts(page, '.result-title')).toEqual(['入库失败']);
  expect(texts(page, '.result-message')).toEqual(['网络不给力，请稍后重试']);
  const key = api.post.mock.calls[0][2].idempotencyKey;
  answer = apiError(api.ApiError, 'codes.already_received', '该箱已于 12-05 14:30 入库，不能重复入库', 409);
  await tap(page, '.retry-action');
  await flush(4);
  expect(api.post.mock.calls[1][2].idempotencyKey).toBe(key);
  expect(texts(page, '.result-message')).toEqual(['该箱已于 12-05 14:30 入库，不能重复入库']);
  expect(page.querySelectorAll('.retry-action')).toHaveLength(0);
});

test('a received box with nothing to do says so, and offers the next scan', async () => {
  fx.signInAsStore();
  withSheet(0);
  h.wx.scanCode = h.wxAsync(() => ({ result: ITEM_URL }));
  let n = 0;
  const page = await open({ q: encodeURIComponent(BOX_URL) }, {
    'GET /codes/lookup': () => {
      n += 1;
      return n === 1 ? fx.codeLookup({ box: { items_per_box: 12, received: true }, actions: [] })
        : fx.codeLookup({ code: { token: fx.ITEM_TOKEN, kind: 'item', kind_label: '物码', serial_text: '20261201-I000101', box_serial_text: '20261201-B000042' }, actions: ['sell'] });
    },
  });
  expect(h.wx.showActionSheet).not.toHaveBeenCalled();
  expect(texts(page, '.idle-text')).toEqual(['该箱已入库，不需要再扫']);
  expect(texts(page, '.fact-received')).toEqual(['状态已入库']);
  await tap(page, '.scan-another');
  await flush(6);
  expect(api.get).toHaveBeenLastCalledWith('/codes/lookup', { code: ITEM_URL });
  expect(texts(page, '.code-kind')).toEqual(['物码']);
  expect(h.wx.showActionSheet.mock.calls[0][0].itemList).toEqual(['动销（已卖出）']);
});

test('someone new scanning a box is signed in with WeChat and sent to 门店入驻 with the join token', async () => {
  api.login.mockImplementation(async () => fx.signInAsStore({ identity: { user_id: 30, role: null, membership_id: null, brand_id: null, distributor_id: null, store_id: null, salesperson_id: null } }));
  const page = await open({ q: encodeURIComponent(BOX_URL) }, {
    'GET /codes/lookup': fx.codeLookup({ next: 'join', join_token: 'JOIN-tok_1', actions: [] }),
  });
  expect(api.login).toHaveBeenCalledTimes(1);
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/join/index?token=JOIN-tok_1' }));
  expect(api.post).not.toHaveBeenCalled();
  expect(page.instance.data.view).toBe('leaving');
});

test('a box with no join token: says why, and 申请门店入驻 still opens the join page', async () => {
  fx.signInAsStore({ identity: { user_id: 30, role: null, membership_id: null, brand_id: null, distributor_id: null, store_id: null, salesperson_id: null } });
  const page = await open({ q: encodeURIComponent(BOX_URL) }, {
    'GET /codes/lookup': fx.codeLookup({ next: 'join', actions: [] }),
  });
  expect(textOf(page)).toContain('这个箱码还不能用来入驻');
  await tap(page, '.join-btn');
  expect(h.wx.redirectTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/join/index' }));
});

test('a consumer scanning an item goes to the genuine check with the code', async () => {
  fx.signInAsStore({ identity: { user_id: 31, role: null, membership_id: null, brand_id: null, distributor_id: null, store_id: null, salesperson_id: null } });
  await open({ scene: fx.ITEM_TOKEN }, {
    'GET /codes/lookup': fx.codeLookup({ code: { token: fx.ITEM_TOKEN, kind: 'item', kind_label: '物码', serial_text: '20261201-I000101' }, next: 'consumer', actions: [] }),
  });
  expect(api.get).toHaveBeenCalledWith('/codes/lookup', { code: fx.ITEM_TOKEN });
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: `/packageConsumer/pages/check/index?code=${fx.ITEM_TOKEN}` }));
});

test('an unknown or forged code: the server\'s message and 重新扫码, not 重试', async () => {
  fx.signInAsStore();
  const page = await open({ q: encodeURIComponent(`${fx.CODE_BASE}/C/NOTAREALCODE00000000`) }, {
    'GET /codes/lookup': apiError(api.ApiError, 'codes.not_found', '未找到该码，请确认是本品牌商品上的二维码', 404),
  });
  expect(texts(page, '.invalid-message')).toEqual(['未找到该码，请确认是本品牌商品上的二维码']);
  expect(page.instance.data.view).toBe('invalid'); // no 重试: the code itself was refused
  expect(page.querySelectorAll('.scan-another')).toHaveLength(1);
  await tap(page, '.home-btn');
  expect(h.wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/home/index' }));
});

test('opened without a code: asks for a scan', async () => {
  fx.signInAsStore();
  const page = await open({}, {});
  expect(api.get).not.toHaveBeenCalled();
  expect(texts(page, '.invalid-message')).toEqual(['没有读到二维码的内容，请重新扫码']);
});

test('busy or a lost network: 重试 looks the code up again', async () => {
  fx.signInAsStore();
  withSheet(null);
  let answer = apiError(api.ApiError, 'rate_limited', '操作太频繁，请稍后再试', 429);
  const page = await open({ q: encodeURIComponent(BOX_URL) }, { 'GET /codes/lookup': () => answer });
  expect(textOf(page)).toContain('操作太频繁，请稍后再试');
  expect(page.instance.data.view).toBe('error');
  answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  await tapRetry(page);
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  answer = fx.codeLookup();
  await tapRetry(page);
  await flush(4);
  expect(texts(page, '.product-name')).toEqual(['RO 净水器 标准款']);
});
