jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { installPrivacy, popupOf, shown, DENIED } = require('./support/privacy');
const fx = require('./support/fixtures');

const PAGE = 'packageCodes/pages/scan';
const boxUrl = (n) => `${fx.CODE_BASE}/C/BOX${String(n).padStart(17, '0')}`;
const itemUrl = (n) => `${fx.CODE_BASE}/C/ITM${String(n).padStart(17, '0')}`;
const couponUrl = (n) => `${fx.CODE_BASE}/V/CPN${String(n).padStart(17, '0')}`;

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  fx.signInAsStore();
  h.wx.vibrateShort = jest.fn();
  h.wx.vibrateLong = jest.fn();
});
afterEach(() => jest.restoreAllMocks());

/** The camera reads `texts` one after the other, then the person closes it. */
function withCamera(...reads) {
  const queue = reads.slice();
  h.wx.scanCode = h.wxAsync(() => {
    if (!queue.length) return Promise.reject({ errMsg: 'scanCode:fail cancel' });
    return { result: queue.shift(), scanType: 'QR_CODE', errMsg: 'scanCode:ok' };
  });
}
function withLocation(answer) {
  h.wx.getLocation = h.wxAsync(() => (answer ? answer : Promise.reject({ errMsg: 'getLocation:fail auth deny' })));
}

async function open(options, routes) {
  route(api, routes || {});
  const page = h.page(PAGE);
  page.instance.onLoad(options || {});
  await flush();
  return page;
}

async function scan(page) {
  await tap(page, '.scan-btn');
  await flush(12);
}

const HERE = { latitude: 39.9042, longitude: 116.4074, accuracy: 20 };

test('入库: scan after scan until the camera is closed, each box a row with its reward; location asked once', async () => {
  withCamera(boxUrl(1), boxUrl(2));
  withLocation(HERE);
  let n = 0;
  const page = await open({ mode: 'receive' }, {
    'POST /codes/scans': () => {
      n += 1;
      return fx.scanAnswer({ scan_id: 500 + n, code: { kind: 'box', serial_text: `20261201-B00004${n}` }, reward: n === 1 ? { kind: 'points', amount: 200, text: '开箱奖励 200 积分' } : null, signed_order_id: n === 2 ? 42 : null });
    },
  });
  expect(h.wx.setNavigationBarTitle).toHaveBeenCalledWith(expect.objectContaining({ title: '扫码入库' }));
  expect(texts(page, '.mode--on')).toEqual(['入库']);
  expect(textOf(page)).toContain('扫描箱子上的箱码');
  expect(texts(page, '.scan-btn')).toEqual(['开始扫码入库']);

  await scan(page);
  // Twice read, the third time closed: the loop ended by itself.
  expect(h.wx.scanCode).toHaveBeenCalledTimes(3);
  expect(h.wx.scanCode.mock.calls[0][0]).toEqual(expect.objectContaining({ onlyFromCamera: true, scanType: ['qrCode'] }));
  expect(api.post).toHaveBeenCalledTimes(2);
  const [path, body, options] = api.post.mock.calls[0];
  expect(path).toBe('/codes/scans');
  expect(body).toEqual({ code: boxUrl(1), action: 'receive', latitude: 39.9042, longitude: 116.4074 });
  expect(options.idempotencyKey).toBeTruthy();
  expect(api.post.mock.calls[1][2].idempotencyKey).not.toBe(options.idempotencyKey);
  expect(h.wx.getLocation).toHaveBeenCalledTimes(1);
  expect(h.wx.getLocation.mock.calls[0][0].type).toBe('gcj02');

  // Rows in the order scanned (shown newest first by CSS).
  expect(texts(page, '.result-title')).toEqual(['入库成功 · 12 件', '入库成功 · 12 件']);
  expect(texts(page, '.result-serial')).toEqual(['箱号 20261201-B000041', '箱号 20261201-B000042']);
  expect(texts(page, '.result-line--reward')).toEqual(['开箱奖励 200 积分 已到账']);
  expect(h.setDataLog(page).length).toBeGreaterThan(0);
  expect(texts(page, '.result-link')).toEqual(['该箱所属订单已自动签收，点此查看']);
  await tap(page, '.result-link');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/order/index?id=42' }));
  expect(textOf(page)).toContain('本店该商品在库 19 件（入库 24，售出 5）');
  expect(texts(page, '.totals')).toEqual(['本次：入库 2 箱 24 件']);
  expect(page.instance.data.scanning).toBe(false);
  expect(h.wx.vibrateShort).toHaveBeenCalledTimes(2);
  // Each scan sent its own row, by path: never the list.
  const keys = [].concat(...h.setDataLog(page).map((s) => s.keys));
  expect(keys).not.toContain('results');
  expect(h.maxSetData(page).bytes).toBeLessThan(2048);
});

test('a cash reward the server sends without words is still said whole', async () => {
  withCamera(boxUrl(1));
  withLocation(HERE);
  const page = await open({ mode: 'receive' }, { 'POST /codes/scans': fx.scanAnswer({ reward: { kind: 'cash', amount: 500 } }) });
  await scan(page);
  expect(texts(page, '.result-line--reward')).toEqual(['开箱奖励 ¥5.00 已到账']);
});

test('a refused scan stops the loop and shows the server\'s reason; nothing is counted for it', async () => {
  withCamera(boxUrl(1), boxUrl(2), boxUrl(3));
  withLocation(HERE);
  const page = await open({ mode: 'receive' }, {
    'POST /codes/scans': (p, body) => (body.code === boxUrl(2)
      ? apiError(api.ApiError, 'codes.received_elsewhere', '该箱已被其他门店入库', 409)
      : fx.scanAnswer({ reward: null })),
  });
  await scan(page);
  expect(h.wx.scanCode).toHaveBeenCalledTimes(2); // not the third
  expect(texts(page, '.result-title')).toEqual(['入库成功 · 12 件', '入库失败']);
  expect(texts(page, '.result-message')).toEqual(['该箱已被其他门店入库']);
  expect(page.querySelectorAll('.result-retry')).toHaveLength(0); // a refusal is final
  expect(texts(page, '.totals')).toEqual(['本次：入库 1 箱 12 件，失败 1 次']);
  expect(h.wx.vibrateLong).toHaveBeenCalledTimes(1);
});

test('动销: an item sells one, a box sells every unsold item of it', async () => {
  withCamera(itemUrl(1), boxUrl(9));
  withLocation(HERE);
  const page = await open({ mode: 'sell' }, {
    'POST /codes/scans': (p, body) => (body.code === itemUrl(1)
      ? fx.scanAnswer({ action: 'sell', code: { kind: 'item', serial_text: '20261201-I000101' }, items: 1, reward: null, stock: { sku_id: 1, received: 24, sold: 6, on_hand: 18 } })
      : fx.scanAnswer({ action: 'sell', code: { kind: 'box', serial_text: '20261201-B000009' }, items: 7, reward: null, stock: { sku_id: 1, received: 24, sold: 13, on_hand: 11 } })),
  });
  expect(h.wx.setNavigationBarTitle).toHaveBeenCalledWith(expect.objectContaining({ title: '扫码动销' }));
  await scan(page);
  expect(api.post.mock.calls.map((c) => c[1].action)).toEqual(['sell', 'sell']);
  expect(texts(page, '.result-title')).toEqual(['动销成功 · 1 件', '整箱动销 · 7 件']);
  expect(texts(page, '.result-serial')).toEqual(['序号 20261201-I000101', '箱号 20261201-B000009']);
  expect(texts(page, '.totals')).toEqual(['本次：动销 8 件']);
});

test('核销: a consumer\'s coupon is redeemed and its value credited; codes of the wrong kind are refused here, unsent', async () => {
  withCamera(couponUrl(1), boxUrl(1));
  withLocation(HERE);
  const page = await open({ mode: 'redeem' }, { 'POST /codes/redemptions': fx.redemptionAnswer() });
  expect(h.wx.setNavigationBarTitle).toHaveBeenCalledWith(expect.objectContaining({ title: '核销消费者券' }));
  await scan(page);
  expect(api.post).toHaveBeenCalledTimes(1);
  expect(api.post.mock.calls[0][0]).toBe('/codes/redemptions');
  expect(api.post.mock.calls[0][1]).toEqual({ coupon: couponUrl(1), latitude: 39.9042, longitude: 116.4074 });
  expect(texts(page, '.result-title')).toEqual(['核销成功 · ¥10.00', '核销失败']);
  expect(textOf(page)).toContain('¥10.00 已计入本店现金账户');
  expect(textOf(page)).toContain('该商品同时记为本店售出');
  expect(textOf(page)).toContain('核销时间 2026-12-05 14:30');
  expect(texts(page, '.result-message')).toEqual(['这是商品或箱子上的码，请切换到“入库”或“动销”']);
  expect(texts(page, '.totals')).toEqual(['本次：核销 1 张 ¥10.00，失败 1 次']);

  // A coupon in 入库 is refused the same way.
  await tap(page, '.mode-receive');
  expect(texts(page, '.mode--on')).toEqual(['入库']);
  withCamera(couponUrl(2));
  await scan(page);
  expect(api.post).toHaveBeenCalledTimes(1);
  expect(texts(page, '.result-message').slice(-1)).toEqual(['这是消费者的电子券，请切换到“核销”']);
});

test('a redemption the server refuses shows its message (another store, redeemed twice)', async () => {
  withCamera(couponUrl(1));
  withLocation(null);
  const page = await open({ mode: 'redeem' }, {
    'POST /codes/redemptions': apiError(api.ApiError, 'codes.coupon_other_store', '该券只能在售出该商品的门店核销', 409),
  });
  await scan(page);
  expect(api.post.mock.calls[0][1]).toEqual({ coupon: couponUrl(1) }); // no location: sent without
  expect(texts(page, '.result-message')).toEqual(['该券只能在售出该商品的门店核销']);
  expect(textOf(page)).not.toContain('核销成功');
});

test('a lost answer keeps its key: 重新提交 sends the same scan again, once', async () => {
  withCamera(boxUrl(1));
  withLocation(HERE);
  let fail = true;
  const page = await open({ mode: 'receive' }, {
    'POST /codes/scans': () => (fail ? apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0) : fx.scanAnswer({ reward: null })),
  });
  await scan(page);
  expect(texts(page, '.result-message')).toEqual(['网络不给力，请稍后重试']);
  expect(texts(page, '.result-retry')).toEqual(['重新提交']);
  const firstKey = api.post.mock.calls[0][2].idempotencyKey;

  fail = false;
  const row = page.querySelector('.result-retry');
  row.dispatchEvent('tap');
  row.dispatchEvent('tap'); // a double tap
  await flush(8);
  expect(api.post).toHaveBeenCalledTimes(2);
  expect(api.post.mock.calls[1][2].idempotencyKey).toBe(firstKey);
  expect(api.post.mock.calls[1][1]).toEqual(api.post.mock.calls[0][1]);
  expect(texts(page, '.result-title')).toEqual(['入库成功 · 12 件']);
  expect(page.querySelectorAll('.result-retry')).toHaveLength(0);
  expect(texts(page, '.totals')).toEqual(['本次：入库 1 箱 12 件，失败 1 次']);
});

test('the same label read twice in a row is not sent again, and the loop goes on', async () => {
  withCamera(boxUrl(1), boxUrl(1), boxUrl(2));
  withLocation(HERE);
  const page = await open({ mode: 'receive' }, { 'POST /codes/scans': fx.scanAnswer({ reward: null }) });
  await scan(page);
  expect(api.post).toHaveBeenCalledTimes(2);
  expect(texts(page, '.result-title')).toEqual(['入库成功 · 12 件', '刚刚已扫过这个码', '入库成功 · 12 件']);
  expect(texts(page, '.totals')).toEqual(['本次：入库 2 箱 24 件']);
});

test('a double tap opens one scanner; the modes cannot change while it is open', async () => {
  const held = deferred();
  h.wx.scanCode = jest.fn((o) => held.promise.then(() => o.fail({ errMsg: 'scanCode:fail cancel' })));
  const page = await open({ mode: 'sell' });
  const button = page.querySelector('.scan-btn');
  button.dispatchEvent('tap');
  button.dispatchEvent('tap');
  await flush();
  expect(h.wx.scanCode).toHaveBeenCalledTimes(1);
  await tap(page, '.mode-receive');
  expect(page.instance.data.mode).toBe('sell');
  held.resolve();
  await flush(6);
  expect(page.instance.data.scanning).toBe(false);
  expect(api.post).not.toHaveBeenCalled();
  await tap(page, '.mode-redeem');
  expect(page.instance.data.mode).toBe('redeem');
  expect(texts(page, '.scan-btn')).toEqual(['开始扫码核销']);
});

test('refusing the privacy guide explains why and sends nothing', async () => {
  const gate = installPrivacy(h);
  h.wx.scanCode = gate.gated('scanCode', () => ({ result: boxUrl(1) }));
  const page = await open({ mode: 'receive' });
  page.querySelector('.scan-btn').dispatchEvent('tap');
  await flush(4);
  const popup = popupOf(page);
  expect(shown(popup)).toBe(true);
  await tap(popup, '.pp-disagree');
  await flush(6);
  expect(gate.state.answers).toEqual([{ event: 'disagree' }]);
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: DENIED }));
  expect(api.post).not.toHaveBeenCalled();
  expect(page.instance.data.scanning).toBe(false);
});

test('a code typed in: checked here first, then sent like a scan', async () => {
  withLocation(HERE);
  const page = await open({}, { 'POST /codes/scans': fx.scanAnswer({ reward: null }) });
  await tap(page, '.manual-btn');
  expect(texts(page, '.manual-error')).toEqual(['请输入码值或链接']);
  page.instance.onManualInput({ detail: { value: '12345' } });
  await tap(page, '.manual-btn');
  expect(texts(page, '.manual-error')).toEqual(['码值是 20 位字母和数字，或以 /C/、/V/ 开头的链接']);
  expect(api.post).not.toHaveBeenCalled();
  page.instance.onManualInput({ detail: { value: ` ${fx.BOX_TOKEN} ` } });
  await tap(page, '.manual-btn');
  await flush(4);
  expect(api.post.mock.calls[0][1]).toEqual(expect.objectContaining({ code: fx.BOX_TOKEN, action: 'receive' }));
  expect(page.instance.data.manual).toBe('');
  expect(texts(page, '.result-title')).toEqual(['入库成功 · 12 件']);
});

test('no scans yet: what to do, and the way to the stock', async () => {
  const page = await open({ mode: 'bogus' });
  expect(page.instance.data.mode).toBe('receive');
  expect(textOf(page)).toContain('可以一个接一个连续扫');
  await tap(page, '.stock-link');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageCodes/pages/stock/index' }));
});

test('not a store: sent to sign in', async () => {
  fx.signInAsStore({ identity: { user_id: 9, role: 'salesperson', membership_id: 21, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 4 } });
  await open({ mode: 'receive' });
  expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login/index' }));
});
