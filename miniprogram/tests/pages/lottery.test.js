jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore } = require('./support/fixtures');

let h;
let api;
let wheelLib;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  wheelLib = require('../../components/lib/wheel');
  wheelLib.settings.spinMs = 0;
  signInAsStore();
});

const PRIZES = [
  { id: 1, name: '100积分', kind: 'points', points: 100, weight: 50, stock: null, chance_percent: '50.00' },
  { id: 2, name: '净水器', kind: 'goods', points: 0, weight: 10, stock: 3, chance_percent: '10.00' },
  { id: 3, name: '三亚游', kind: 'trip', points: 0, weight: 5, stock: 0, chance_percent: '0.00' },
  { id: 4, name: '谢谢参与', kind: 'nothing', points: 0, weight: 35, stock: null, chance_percent: '40.00' },
];

function wheel(overrides) {
  return Object.assign(
    { id: 8, name: '年终大抽奖', status: 'active', threshold_fen: 300000, starts_at: '2026-01-01T00:00:00+00:00', ends_at: '2026-01-31T00:00:00+00:00', prizes: PRIZES, chances: 2 },
    overrides || {},
  );
}

function spin(prizeId, overrides) {
  const prize = PRIZES.find((p) => p.id === prizeId);
  return Object.assign(
    {
      id: 50,
      wheel_id: 8,
      store_id: 3,
      order_id: 42,
      prize: { id: prize.id, name: prize.name, kind: prize.kind, points: prize.points },
      status: prize.kind === 'goods' ? 'to_deliver' : 'settled',
      status_name: prize.kind === 'goods' ? '待发放' : '已到账',
      audit: { roll: 0.4213, table: [] },
      created_at: '2026-01-05T06:30:00+00:00',
      delivered_at: null,
    },
    overrides || {},
  );
}

async function open() {
  const page = h.page('lottery');
  await page.instance.onLoad({});
  await flush();
  return page;
}

test('shows the wheel, its rule from fen, the chances and the odds', async () => {
  route(api, { 'GET /lottery/wheels': { items: [wheel()] }, 'GET /lottery/spins': { items: [], next_before: null } });
  const page = await open();
  expect(texts(page, '.sector-text')).toEqual(['100积分', '净水器', '三亚游', '谢谢参与']);
  const text = textOf(page);
  expect(text).toContain('单笔支付满¥3,000.00可抽奖一次');
  expect(text).toContain('剩余抽奖机会 2 次');
  expect(text).toContain('三亚游（已抽完）');
  expect(text).toContain('还没有抽奖记录');
});

test('a double tap spins once with one key; the wheel stops on the prize the server drew', async () => {
  const drawn = deferred();
  let wheels = { items: [wheel()] };
  route(api, {
    'GET /lottery/wheels': () => wheels,
    'GET /lottery/spins': { items: [], next_before: null },
    'POST /lottery/wheels/8/spin': () => drawn.promise,
  });
  const page = await open();
  await tap(page, '.spin-btn');
  await tap(page, '.spin-btn');
  wheels = { items: [wheel({ chances: 1 })] };
  drawn.resolve(spin(2));
  await flush(8);
  expect(api.post.mock.calls).toEqual([['/lottery/wheels/8/spin', {}, { idempotencyKey: 'key-1' }]]);
  const { rotation } = page.instance.data;
  expect(rotation).toBeGreaterThanOrEqual(360 * wheelLib.settings.turns);
  expect(wheelLib.prizeUnderPointer(rotation, 4)).toBe(1); // 净水器
  expect(texts(page, '.outcome-title')).toEqual(['恭喜抽中「净水器」']);
  expect(textOf(page)).toContain('剩余抽奖机会 1 次');

  await tap(page, '.outcome-btn');
  expect(page.querySelectorAll('.outcome')).toHaveLength(0);
});

test('every prize lands under the pointer, from any starting angle', () => {
  [0, 37, 725.5, 3600].forEach((start) => {
    for (let i = 0; i < 7; i += 1) {
      const r = wheelLib.landingRotation(start, i, 7);
      expect(r).toBeGreaterThan(start);
      expect(wheelLib.prizeUnderPointer(r, 7)).toBe(i);
    }
  });
});

test('points and 谢谢参与 say what they are; the record lists the roll', async () => {
  const answers = [spin(1), spin(4, { id: 51 })];
  route(api, {
    'GET /lottery/wheels': { items: [wheel()] },
    'GET /lottery/spins': () => ({ items: [spin(4, { id: 51 }), spin(1)], next_before: null }),
    'POST /lottery/wheels/8/spin': () => answers.shift(),
  });
  const page = await open();
  await page.instance.onSpin();
  await flush();
  expect(texts(page, '.outcome-title')).toEqual(['恭喜获得 100 积分']);
  expect(textOf(page)).toContain('积分已到账');
  await page.instance.onSpin();
  await flush();
  expect(texts(page, '.outcome-title')).toEqual(['谢谢参与']);
  expect(api.post.mock.calls.map((c) => c[2].idempotencyKey)).toEqual(['key-1', 'key-2']);
  expect(texts(page, '.spin-prize')).toEqual(['谢谢参与', '100积分']);
  expect(texts(page, '.spin-status')).toEqual(['已到账']);
  expect(textOf(page)).toContain('随机数 0.4213');
});

test('no chance left: the button is off; the server\'s refusal is shown in Chinese', async () => {
  route(api, {
    'GET /lottery/wheels': { items: [wheel()] },
    'GET /lottery/spins': { items: [], next_before: null },
    'POST /lottery/wheels/8/spin': apiError(api.ApiError, 'lottery.no_chance', '暂无抽奖机会：支付满额订单即可获得', 409),
  });
  const page = await open();
  await page.instance.onSpin();
  await flush();
  expect(texts(page, '.spin-error')).toEqual(['暂无抽奖机会：支付满额订单即可获得']);
  expect(page.querySelectorAll('.outcome')).toHaveLength(0);

  page.instance.setData({ 'wheels[0].chances': 0 });
  api.post.mockClear();
  await page.instance.onSpin();
  expect(api.post).not.toHaveBeenCalled();
});

test('empty and error states with 重试', async () => {
  let wheels = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  route(api, { 'GET /lottery/wheels': () => wheels, 'GET /lottery/spins': { items: [], next_before: null } });
  const page = await open();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  wheels = { items: [] };
  await tapRetry(page);
  expect(textOf(page)).toContain('暂时没有进行中的抽奖活动');
});

test('the prize is told only when the wheel has stopped', async () => {
  wheelLib.settings.spinMs = 80;
  route(api, {
    'GET /lottery/wheels': { items: [wheel()] },
    'GET /lottery/spins': { items: [], next_before: null },
    'POST /lottery/wheels/8/spin': spin(3),
  });
  const page = await open();
  const spinning = page.instance.onSpin();
  await flush();
  expect(page.instance.data.turning).toBe(true);
  expect(page.instance.data.spinMs).toBe(80);
  expect(wheelLib.prizeUnderPointer(page.instance.data.rotation, 4)).toBe(2); // 三亚游
  expect(page.querySelectorAll('.outcome')).toHaveLength(0);
  await spinning;
  await flush();
  expect(page.instance.data.turning).toBe(false);
  expect(texts(page, '.outcome-title')).toEqual(['恭喜抽中「三亚游」']);
});
