/**
 * setData budgets (issue 23): every page of app.json (its main package and subpackages, read
 * at run time) is loaded with realistic data — lists of 20 rows a page and then the next
 * page, details with many lines — and the largest single setData payload it sends (JSON,
 * UTF-8 bytes, as WeChat copies it to the view) must stay under the page's budget. The next
 * page of a list must send only its new rows (`items[20]`…), and one row's change (a cart
 * quantity, a coupon claimed, an order paid, a chat message) must go by path, not the list.
 *
 * The measured maxima are printed as a table at the end (`npx jest tests/pages/setdata`).
 */
jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());
jest.mock('../../packageLive/utils/live-room', () => {
  const rooms = [];
  class MockRoom {
    constructor() {
      this.handlers = {};
      this.client = { reconnectNow: jest.fn() };
      this.chat = jest.fn(() => Promise.resolve({ ok: true, data: {} }));
      this.like = jest.fn(() => Promise.resolve({ ok: true, data: { total: 1 } }));
      this.leave = jest.fn();
    }

    on(event, handler) {
      (this.handlers[event] = this.handlers[event] || []).push(handler);
      return () => {};
    }

    push(event, data) {
      (this.handlers[event] || []).forEach((handler) => handler(data));
    }
  }
  return {
    rooms,
    joinRoom: jest.fn(() => {
      const room = new MockRoom();
      rooms.push(room);
      return room;
    }),
  };
});

const fs = require('fs');
const path = require('path');
const { ROOT, fresh, flush } = require('./support/harness');
const { route } = require('./support/api-mock');
const fx = require('./support/fixtures');

const KB = 1024;
const PAGE = 20; // rows a list page asks for

/** Every page route of app.json: `pages`, then each subpackage's `root/page`. */
function appRoutes() {
  const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));
  const subPackages = app.subPackages || app.subpackages || [];
  return app.pages.concat(...subPackages.map((sub) => sub.pages.map((page) => `${sub.root.replace(/\/$/, '')}/${page}`)));
}

/** `pages/cart/index` → `cart`; a subpackage's `packageLive/pages/room/index` keeps its
 * package (`packageLive/pages/room`), since folder names repeat across packages. */
function pageName(routePath) {
  const dir = routePath.replace(/\/index$/, '');
  return dir.startsWith('pages/') ? dir.slice('pages/'.length) : dir;
}

/** `n` rows made by `make(i)`, ids counting down from `from` (lists are newest first). */
function rows(n, from, make) {
  return Array.from({ length: n }, (_, i) => make(from - i, i));
}

// Realistic text: Chinese names and notes of the lengths the console lets staff type.
const LONG_NAME = '澜泉 RO 反渗透净水器 家用厨下式 5级过滤';
const NOTE = '年终订货会专享价，整箱起订，满10台另送PP滤芯一支，西城区次日达';

const SALES_IDENTITY = { user_id: 9, role: 'salesperson', membership_id: 21, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 4 };
const ME = {
  id: 7,
  display_name: '',
  phone: '13800000000',
  current: { membership_id: 11, role: 'store_owner' },
  memberships: [
    { id: 11, role: 'store_owner', brand: { id: 1, name: '澜泉净水' }, distributor: { id: 2, name: '一号经销商' }, store: { id: 3, name: '赵记水站' }, salesperson: null },
    { id: 21, role: 'salesperson', brand: { id: 1, name: '澜泉净水' }, distributor: { id: 2, name: '一号经销商' }, store: null, salesperson: { id: 4, name: '李业代' } },
  ],
};
const CODE = { id: 5, kind: 'store_invite', token: 'tok-1', url: 'https://b2bc.example.com/join/tok-1', qr_png_url: 'https://b2bc.example.com/qr.png', batch: null, max_uses: null, uses: 2 };
const TEMPLATES = fx.SUBSCRIPTION_TEMPLATES;

function catalogSku(id) {
  return fx.sku({
    id,
    product_id: 100 + id,
    name: `${id}号 标准款`,
    product_name: `${LONG_NAME} ${id}`,
    case_size: 6,
    min_order_qty: 6,
    price_tiers: [
      { min_qty: 1, unit_price_fen: 150000 },
      { min_qty: 12, unit_price_fen: 145000 },
      { min_qty: 60, unit_price_fen: 140000 },
    ],
  });
}

function skuPage(p, q) {
  const from = q.after ? q.after - 1 : 1000;
  return { items: rows(PAGE, from, catalogSku), next_after: from - PAGE + 1 };
}

/** A cart of `count` lines, priced with a promotion on each (ordering.service.priced_view). */
function bigCart(count, quantityOf) {
  const lines = rows(count, count, (id) => fx.quoteLine({ sku_id: id, product_id: 100 + id, product_name: `${LONG_NAME} ${id}`, sku_name: `${id}号 标准款`, quantity: quantityOf(id), case_size: 6, min_order_qty: 6 }));
  const base = fx.priced();
  return fx.priced({
    lines,
    promotions: Object.assign({}, base.promotions, {
      lines: lines.map((l) => Object.assign({}, base.promotions.lines[0], { sku_id: l.sku_id, quantity: l.quantity })),
    }),
    coupon_options: rows(5, 40, (id) => ({ coupon_id: id, name: `满${id}00减${id}`, description: NOTE, usable: id % 2 === 0, amount_fen: 5000, reason: { message: '未达到使用门槛' }, valid_until: '2026-01-31T15:59:00+00:00' })),
  });
}

function listedOrder(id) {
  return fx.listedOrder({ id, order_no: `O2026010500${id}`, summary: { first_product_name: LONG_NAME, line_count: 8, total_quantity: 48, gift_quantity: 1, text: `${LONG_NAME} 等8种 × 48台` } });
}

function orderPage(p, q) {
  const from = q.before ? q.before - 1 : 500;
  return { items: rows(PAGE, from, listedOrder), next_before: from - PAGE + 1 };
}

function detailLine(id) {
  return {
    sku_id: id,
    product_name: `${LONG_NAME} ${id}`,
    sku_name: `${id}号 标准款`,
    unit: '台',
    quantity: 6,
    list_unit_price_fen: 180000,
    unit_price_fen: 150000,
    list_amount_fen: 1080000,
    discount_fen: 180000,
    payable_fen: 900000,
    adjustments: [{ promotion_id: 5, kind: 'reduction', amount_fen: 30000 }],
    gift: false,
    gift_promotion_id: null,
  };
}

const TIMELINE = [
  ['pending_payment', null],
  ['paid', 'pending_payment'],
  ['accepted', 'paid'],
  ['shipped', 'accepted'],
].map(([to, from], i) => ({ from_status: from, to_status: to, actor_user_id: 7, actor_role: 'store_owner', note: NOTE, at: `2026-01-0${5 + i}T06:30:00+00:00` }));

function coupon(id) {
  return { id, template_id: 4, name: `新客满2000减100 第${id}张`, kind: id % 3 ? 'reduction' : 'exchange', description: NOTE, state: 'available', state_label: '可使用', valid_from: '2026-01-01T00:00:00+00:00', valid_until: '2026-01-31T15:59:00+00:00', order_id: null, source: 'issuance', issued_at: '2026-01-01T00:00:00+00:00', exchange: id % 3 ? [] : [{ sku_id: 4, quantity: 2, product_id: 12, product_name: 'PP 滤芯', sku_name: '10寸', unit: '支' }] };
}

function storeRow(id) {
  return { id, name: `赵记水站 ${id} 号店`, contact_name: '赵老板', phone: '13800000003', address: '北京市东城区幸福路 8 号院 3 号楼底商', tier: 'B', status: id % 5 ? 'active' : 'suspended', tags: ['社区店', '重点'] };
}

function salesTask(id) {
  return { id, kind: 'reorder', store: { id: 3, name: '张记店' }, sku: { id: 8, name: '澜泉 RO 净水器 滤芯' }, text: '张记店 通常每 30 天订一次 澜泉 RO 净水器 滤芯，上次下单已 34 天', due_day: '2026-12-01', status: 'open', created_at: '2026-12-05T00:00:00+00:00', closed_at: null };
}

function feedItem(id) {
  return { kind: id % 3 ? 'view' : 'cart', at: '2026-12-05T02:00:00+00:00', store: { id, name: `张记店 ${id}` }, text: '购物车有 1 种商品未下单：澜泉 RO 净水器 滤芯 ×20', order_id: null, amount_fen: null };
}

function liveSession(id, status) {
  return { id, distributor_id: 2, title: `年终直播订货会 第${id}场`, cover_url: 'https://img.example.com/cover.jpg', starts_at: `2026-01-${10 + (id % 18)}T06:00:00+00:00`, ends_at: `2026-01-${10 + (id % 18)}T08:00:00+00:00`, status: status || 'scheduled' };
}

function ledgerEntry(id) {
  return { id, amount: id % 2 ? 2700 : -500, balance_after: 10000 + id, cause: 'order_paid', cause_name: '订单支付获得', cause_id: 42, order_id: 42, at: '2026-01-05T06:30:00+00:00' };
}

function redemption(id) {
  return { id, item_name: `净水杯 ${id}`, quantity: 1, points: 800, status: 'pending', status_name: '待发货', delivery: { name: '赵老板', phone: '13800000003', address: '北京市东城区幸福路 8 号' }, created_at: '2026-01-02T00:00:00+00:00' };
}

function spinRow(id) {
  return { id, wheel_id: 8, store_id: 3, order_id: 42, prize: { id: 1, name: '100积分', kind: 'points', points: 100 }, status: 'settled', status_name: '已到账', audit: { roll: 0.4213, table: [] }, created_at: '2026-01-05T06:30:00+00:00', delivered_at: null };
}

function application(id) {
  return { id, status: 'pending', status_name: '待审核', store_name: `孙家小店 ${id}`, contact_name: '孙先生', phone: '13700000001', address: '西城区阜成门外大街 2 号', reject_reason: null, store_id: null, created_at: '2026-01-05T06:30:00+00:00', reviewed_at: null };
}

/** Keyset pages of `make` rows below `from`: `cursor` is the query key of the next page. */
function keyset(make, from, cursor, nextKey) {
  return (p, q) => {
    const top = q && q[cursor] ? q[cursor] - 1 : from;
    return { items: rows(PAGE, top, make), [nextKey || `next_${cursor}`]: top - PAGE + 1 };
  };
}

/**
 * Each page: `budget` (bytes) for its largest payload; `open(ctx)` loads it as a user would
 * find it; `more(ctx)` (lists) loads the next page, `list` names the list data it appends to;
 * `row(ctx)` (optional) changes one row, `rowKeys` the data paths that must not be re-sent
 * whole then.
 */
const SCENARIOS = {
  login: {
    budget: 2 * KB,
    async open({ api, load }) {
      route(api, { 'GET /me': ME });
      return load({});
    },
  },
  join: {
    budget: 2 * KB,
    async open({ api, load }) {
      route(api, {
        'GET /onboarding/applications/mine': { items: [] },
        'GET /onboarding/codes/tok-1': { kind: 'box', brand: { id: 1, name: '澜泉净水' }, distributor: { id: 2, name: '一号经销商' }, inviter: null, usable: true },
      });
      return load({ token: 'tok-1' });
    },
  },
  home: {
    budget: 4 * KB,
    async open({ api, load }) {
      route(api, {
        'GET /me': ME,
        'GET /promotions/current': { items: rows(5, 10, (id) => fx.currentPromotion({ id, description: NOTE })) },
        'GET /coupons/claimable': { items: rows(10, 30, (id) => ({ id, name: `满5000减${id}0`, description: NOTE, valid_until: '2026-02-28T16:00:00+00:00', valid_days: null, left: 10, claimed: 0, can_claim: true })) },
        'GET /live/sessions': { items: rows(5, 9, liveSession), next_before: null },
        'GET /notifications': { items: rows(5, 30, (id) => ({ id, kind: 'live.reminder', title: '直播即将开始', body: NOTE, link: 'live:3', created_at: '2026-01-10T11:45:00+00:00', read: false })), next_before: null },
        'POST /coupons/templates/25/claim': { id: 99 },
      });
      return load({});
    },
    async row({ api, page }) {
      const answer = (await api.get('/coupons/claimable')).items.map((c) => (c.id === 25 ? Object.assign({}, c, { can_claim: false, claimed: 1 }) : c));
      route(api, { 'GET /coupons/claimable': { items: answer }, 'POST /coupons/templates/25/claim': { id: 99 } });
      await page.instance.onClaim({ currentTarget: { dataset: { id: 25 } } });
    },
    rowKeys: ['coupons', 'coupons.items'],
  },
  catalog: {
    budget: 16 * KB,
    list: 'items',
    async open({ api, load }) {
      route(api, {
        'GET /catalog/categories': { items: rows(8, 8, (id) => ({ id, name: `分类${id}`, parent_id: null, sort: id })) },
        'GET /catalog/skus': skuPage,
        'GET /cart': fx.priced({ lines: rows(10, 1000, (id) => fx.quoteLine({ sku_id: id })) }),
        'GET /promotions/current': { items: [fx.currentPromotion(), fx.currentPromotion({ id: 6, kind: 'gift', kind_name: '赠品' })] },
        'PUT /cart/items/985': fx.priced({ lines: rows(10, 1000, (id) => fx.quoteLine({ sku_id: id })).concat([fx.quoteLine({ sku_id: 985, quantity: 6 })]) }),
      });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
    async row({ page }) {
      await page.instance.onAdd({ currentTarget: { dataset: { id: 985 } } });
    },
    rowKeys: ['items', 'inCart'],
  },
  product: {
    budget: 12 * KB,
    async open({ api, load }) {
      const skus = rows(8, 8, (id) => Object.assign(catalogSku(id), { product_id: 10 }));
      route(api, {
        'GET /catalog/products/10': { id: 10, name: LONG_NAME, description: NOTE.repeat(10), images: rows(6, 6, (id) => `https://img.example.com/products/10/${id}.jpg`), skus },
        'GET /catalog/skus': { items: skus, next_after: null },
        'GET /promotions/current': { items: rows(3, 7, (id) => fx.currentPromotion({ id, description: NOTE })) },
        'GET /cart': fx.priced({ lines: [] }),
        'POST /quote': (p, body) => fx.priced({ lines: [fx.quoteLine({ sku_id: body.lines[0].sku_id, quantity: body.lines[0].quantity })] }),
      });
      return load({ product_id: '10', sku_id: '8' });
    },
    async row({ page }) {
      await page.instance.onQuantity({ detail: { value: 12 } });
    },
    rowKeys: ['product', 'skus', 'quote'],
  },
  cart: {
    budget: 20 * KB,
    async open({ api, load }) {
      route(api, { 'GET /cart': bigCart(20, () => 6), 'PUT /cart/items/7': bigCart(20, (id) => (id === 7 ? 12 : 6)) });
      return load({});
    },
    async row({ page }) {
      await page.instance.setQuantity(7, 12);
    },
    rowKeys: ['cart', 'cart.lines'],
  },
  checkout: {
    budget: 20 * KB,
    async open({ api, load }) {
      route(api, { 'GET /cart': bigCart(20, () => 6) });
      return load({});
    },
  },
  orders: {
    budget: 12 * KB,
    list: 'items',
    async open({ api, load }) {
      route(api, { 'GET /orders': orderPage });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
  order: {
    budget: 16 * KB,
    async open({ api, load, h }) {
      let current = fx.orderDetail({ lines: rows(30, 30, detailLine), timeline: TIMELINE });
      route(api, {
        'GET /orders/42': () => current,
        'POST /orders/42/pay': { payment_id: 1, out_trade_no: 'P1', request_payment: {} },
      });
      h.wx.requestPayment = jest.fn((o) => {
        current = Object.assign({}, current, { status: 'paid', status_name: '待接单', paid_fen: 270000 });
        o.success({ errMsg: 'requestPayment:ok' });
      });
      return load({ id: '42' });
    },
    async row({ page }) {
      await page.instance.onPay();
    },
    rowKeys: ['order', 'order.lines'],
  },
  coupons: {
    budget: 16 * KB,
    list: 'items',
    async open({ api, load }) {
      route(api, { 'GET /coupons/wallet': keyset(coupon, 300, 'before') });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
  ledger: {
    budget: 8 * KB,
    list: 'entries.items',
    async open({ api, load }) {
      const accounts = { items: [{ id: 1, store_id: 3, kind: 'points', kind_name: '积分', balance: 2700 }, { id: 2, store_id: 3, kind: 'rebate', kind_name: '返利余额', balance: 123456 }] };
      route(api, { 'GET /ledger/accounts': accounts, 'GET /ledger/accounts/1/entries': keyset(ledgerEntry, 900, 'before') });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
  mall: {
    budget: 8 * KB,
    list: 'records.items',
    async open({ api, load }) {
      route(api, {
        'GET /mall/items': { items: rows(PAGE, 60, (id) => ({ id, name: `净水杯 ${id}`, description: NOTE, image_url: 'https://img.example.com/mall/cup.jpg', points_price: 800, stock: 10, status: 'on_sale', physical: true, created_at: '2026-01-01T00:00:00+00:00' })) },
        'GET /ledger/accounts': { items: [{ id: 1, store_id: 3, kind: 'points', kind_name: '积分', balance: 1000 }] },
        'GET /mall/redemptions': keyset(redemption, 400, 'before'),
      });
      return load({ tab: 'redemptions' });
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
  lottery: {
    budget: 6 * KB,
    list: 'spins.items',
    async open({ api, load }) {
      const prizes = rows(8, 8, (id) => ({ id, name: `${id}等奖 净水器`, kind: 'goods', points: 0, weight: 10, stock: 3, chance_percent: '12.50' }));
      route(api, {
        'GET /lottery/wheels': { items: [{ id: 8, name: '年终大抽奖', status: 'active', threshold_fen: 300000, starts_at: '2026-01-01T00:00:00+00:00', ends_at: '2026-01-31T00:00:00+00:00', prizes, chances: 2 }] },
        'GET /lottery/spins': keyset(spinRow, 200, 'before'),
      });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
  complaints: {
    budget: 16 * KB,
    list: 'items',
    async open({ api, load }) {
      route(api, { 'GET /complaints': keyset((id) => fx.complaint({ id, text: NOTE.repeat(3) }), 300, 'before') });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
  complaint: {
    budget: 6 * KB,
    async open({ api, load }) {
      route(api, {
        'GET /complaints/12': fx.complaint({
          text: NOTE.repeat(6),
          photos: rows(6, 106, (id) => ({ id, url: `https://img.example.com/complaints/${id}.jpg`, width: 10, height: 10 })),
          timeline: rows(8, 8, (id) => ({ id, actor_role: 'brand_ops', from_status: 'new', to_status: 'acknowledged', message: NOTE, internal: false, at: '2026-01-05T07:00:00+00:00' })),
          actions: ['confirm', 'reopen'],
        }),
        'GET /notifications/subscriptions': TEMPLATES,
      });
      return load({ id: '12' });
    },
  },
  'complaint-new': {
    budget: 6 * KB,
    async open({ api, load }) {
      route(api, { 'GET /orders': orderPage, 'GET /notifications/subscriptions': TEMPLATES });
      return load({});
    },
  },
  'live-list': {
    budget: 8 * KB,
    list: 'items',
    async open({ api, load }) {
      // 已结束 is the tab that grows long (the others are sorted by start, not appended to).
      route(api, { 'GET /notifications/subscriptions': TEMPLATES, 'GET /live/sessions': keyset((id) => liveSession(id, 'ended'), 100, 'before') });
      return load({ tab: 'ended' });
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
  'packageLive/pages/room': {
    // The largest is cutting the chat back to its last 50 messages, once every 25.
    budget: 12 * KB,
    async open({ api, load }) {
      route(api, {
        'GET /live/sessions/7': { id: 7, distributor_id: 2, title: '年终直播订货会', cover_url: '', stream_url: 'https://pull.example.com/live/7.flv', starts_at: '2026-01-05T06:00:00+00:00', ends_at: '2026-01-05T08:00:00+00:00', status: 'live', products: [], rains: [], coupon_drops: [], draws: [] },
      });
      const page = await load({ id: '7' });
      const liveRoom = require('../../packageLive/utils/live-room');
      const room = liveRoom.rooms[liveRoom.rooms.length - 1];
      room.push('connection', 'live');
      room.push('joined', { session_id: 7, title: '年终直播订货会', status: 'live', stream_url: null, card: null, pinned: { text: NOTE }, viewers: 12, likes: 40, orders: 3, gmv_fen: 479700, rain: null, drops: [], draws: [] });
      // A busy room: more messages than it keeps, so the list is also cut back once.
      for (let i = 0; i < 90; i += 1) room.push('chat', { user_id: 100 + i, name: `门店${i}`, text: `${NOTE}（${i}）`, at: `2026-01-05T06:${10 + (i % 50)}:00+00:00` });
      this.room = room;
      return page;
    },
    async row() {
      this.room.push('chat', { user_id: 1, name: '主播', text: '有的，今晚直发', at: '2026-01-05T07:00:00+00:00' });
    },
    rowKeys: ['chats'],
  },
  invite: {
    budget: 2 * KB,
    async open({ api, load }) {
      route(api, { 'POST /onboarding/invitation': CODE });
      return load({});
    },
  },
  mine: {
    budget: 2 * KB,
    async open({ api, load }) {
      route(api, { 'GET /ledger/accounts': { items: [{ id: 1, kind: 'points', kind_name: '积分', balance: 2700 }, { id: 2, kind: 'rebate', kind_name: '返利余额', balance: 123456 }, { id: 3, kind: 'cash', kind_name: '红包现金', balance: 188 }] } });
      return load({});
    },
  },
  'packageSales/pages/home': {
    budget: 8 * KB,
    list: 'items',
    salesperson: true,
    async open({ api, load }) {
      route(api, {
        'GET /me': Object.assign({}, ME, { current: { membership_id: 21, role: 'salesperson' } }),
        'GET /ledger/party-accounts': { items: [{ id: 1, party: 'salesperson', party_id: 4, kind: 'points', kind_name: '积分', balance: 1500, entries: [] }] },
        'GET /stores': keyset(storeRow, 300, 'after'),
      });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
  'packageSales/pages/store': {
    budget: 8 * KB,
    salesperson: true,
    async open({ api, load }) {
      route(api, { 'GET /stores/3': Object.assign(storeRow(3), { location: { latitude: 39.9, longitude: 116.4 } }), 'GET /orders': orderPage });
      return load({ id: '3' });
    },
  },
  'packageSales/pages/order': {
    budget: 12 * KB,
    list: 'items',
    salesperson: true,
    async open({ api, load }) {
      route(api, {
        'GET /stores/3': { id: 3, name: '赵记水站', status: 'active' },
        'GET /catalog/skus': skuPage,
        'POST /quote': (p, body) => bigCart(body.lines.length, () => 6),
      });
      return load({ store_id: '3' });
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
  'packageSales/pages/tasks': {
    budget: 12 * KB,
    list: 'items',
    salesperson: true,
    async open({ api, load }) {
      route(api, { 'GET /sales-tasks': keyset(salesTask, 300, 'after') });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
  'packageSales/pages/feed': {
    budget: 24 * KB,
    salesperson: true,
    async open({ api, load }) {
      route(api, { 'GET /sales-feed': { days: 7, items: rows(100, 100, feedItem) } });
      return load({});
    },
  },
  'packageSales/pages/display-review': {
    // Each row carries what is compared side by side (three photos, the samples, the
    // standard), about 1 KB: a page of 20 measured about 19 KB.
    budget: 24 * KB,
    list: 'items',
    salesperson: true,
    async open({ api, load }) {
      const item = (id) => fx.reviewItem({ id, store: { id: 3, name: `赵记水站 ${id} 号店`, address: '北京市东城区幸福路 8 号院 3 号楼底商', latitude: 39.9, longitude: 116.4 }, photos: rows(3, 3, (p) => fx.displayPhoto({ id: id * 10 + p })) });
      route(api, { 'GET /display/sales/reviews': keyset(item, 300, 'before'), 'POST /display/submissions/290/approve': fx.displaySubmission({ id: 290, first_review: 'approved' }) });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
    async row({ page }) {
      await page.instance.onApprove({ currentTarget: { dataset: { id: 290 } } });
    },
    rowKeys: ['items'],
  },
  'packageDisplay/pages/programs': {
    budget: 6 * KB,
    async open({ api, load }) {
      route(api, { 'GET /display/mine': { items: rows(10, 30, (id) => fx.signingView({ id, program: { id, name: `${LONG_NAME} 端架陈列 ${id}`, status: 'published', phase: 'running' } })) } });
      return load({ tab: 'mine' });
    },
  },
  'packageDisplay/pages/program': {
    // The agreement goes in its own setData: a long one (here 2,000 characters) is the largest.
    budget: 12 * KB,
    async open({ api, load }) {
      route(api, { 'GET /display/store/programs/5': fx.storeProgram({ name: LONG_NAME, standard: NOTE.repeat(8), checks: fx.displayChecks(12), agreement_text: NOTE.repeat(60).slice(0, 2000) }) });
      return load({ id: '5' });
    },
  },
  'packageDisplay/pages/signing': {
    budget: 8 * KB,
    async open({ api, load }) {
      const checks = rows(12, 12, (seq) => fx.storeCheck(seq, seq < 6 ? { state: 'passed', attempts: 1, submission: fx.displaySubmission({ status: 'passed', reward: fx.displayReward() }) } : {}));
      route(api, { 'GET /display/mine/9': fx.signingDetail({ checks, rewards: rows(5, 5, (id) => fx.displayReward({ id, check_seq: id })) }) });
      return load({ id: '9' });
    },
  },
  'packageDisplay/pages/check': {
    budget: 2 * KB,
    async open({ api, load }) {
      route(api, { 'GET /display/mine/9': fx.signingDetail() });
      return load({ signing: '9', check: '203' });
    },
  },
  'packageDisplay/pages/agreement': {
    budget: 12 * KB,
    async open({ api, load }) {
      route(api, { 'GET /display/signings/9/document': fx.signingDocument({ agreement_text: NOTE.repeat(60).slice(0, 2000) }) });
      return load({ id: '9' });
    },
  },
  // 一物一码 (issue 20): the QR's page (one code), the scanner (a row per scan, by path) and
  // the store's stock (one row per SKU it scanned in, whole: a store stocks a few dozen).
  'packageCodes/pages/open': {
    budget: 4 * KB,
    async open({ api, load }) {
      route(api, { 'GET /codes/lookup': fx.codeLookup({ product: { sku_id: 1, name: LONG_NAME, spec: NOTE, image_url: 'https://img.example.com/ro.jpg' }, actions: [] }) });
      return load({ q: encodeURIComponent(`${fx.CODE_BASE}/C/${fx.BOX_TOKEN}`) });
    },
  },
  'packageCodes/pages/scan': {
    budget: 2 * KB,
    async open({ api, h, load }) {
      h.wx.getLocation = h.wxAsync(() => ({ latitude: 39.9, longitude: 116.4 }));
      route(api, { 'POST /codes/scans': fx.scanAnswer({ product: { sku_id: 1, name: LONG_NAME } }) });
      const page = await load({ mode: 'receive' });
      for (let i = 0; i < 20; i += 1) {
        // eslint-disable-next-line no-await-in-loop
        await page.instance.submit('receive', `${fx.CODE_BASE}/C/BOX${String(i).padStart(17, '0')}`);
      }
      return page;
    },
    async row({ page }) {
      await page.instance.submit('receive', `${fx.CODE_BASE}/C/${fx.BOX_TOKEN}`);
    },
    rowKeys: ['results'],
  },
  'packageCodes/pages/stock': {
    budget: 8 * KB,
    async open({ api, load }) {
      route(api, { 'GET /codes/stock': { items: rows(PAGE, PAGE, (id) => fx.codeStockRow({ sku_id: id, name: `${LONG_NAME} ${id}`, spec: '5级过滤 家用厨下式' })) } });
      return load({});
    },
  },
  'packageConsumer/pages/check': {
    // The coupon's QR is a PNG data: URL (about 1.6 KB) sent with the result, once.
    budget: 6 * KB,
    async open({ api, load }) {
      const coupon = { id: 31, token: 'VVVVVVVVVVVVVVVVVVVV', qr_text: 'https://b2bc.example.com/V/VVVVVVVVVVVVVVVVVVVV', value_fen: 500, value_text: '¥5.00', expires_at: '2027-01-04T06:30:00+00:00', status: 'issued', status_label: '可使用', redeemed_at: null, campaign: { id: 4, name: LONG_NAME } };
      route(api, {
        'POST /codes/checks': {
          genuine: true,
          brand: { id: 1, name: '澜泉净水' },
          product: { sku_id: 5, name: LONG_NAME, spec: NOTE, image_url: 'https://img.example/ro.jpg' },
          batch: { batch_no: '20261201-A', produced_on: '2026-12-01' },
          code: { serial_text: '20261201-A-0000042' },
          first_checked_at: '2026-12-05T06:30:00+00:00',
          checks: 12,
          first_check: false,
          coupon,
          coupon_note: '',
        },
      });
      return load({ code: 'https://b2bc.example.com/C/0123456789ABCDEFGHJK' });
    },
  },
  'packageConsumer/pages/coupons': {
    budget: 12 * KB,
    list: 'items',
    async open({ api, load }) {
      const coupon = (id) => ({ id, token: `T${String(id).padStart(19, '0')}`, qr_text: `https://b2bc.example.com/V/T${String(id).padStart(19, '0')}`, value_fen: 1250, value_text: '¥12.50', expires_at: '2027-01-04T06:30:00+00:00', status: 'issued', status_label: '可使用', redeemed_at: null, brand: { id: 1, name: '澜泉净水' }, product: { sku_id: 5, name: LONG_NAME, spec: '', image_url: '' }, campaign: { id: 4, name: LONG_NAME }, store: null, created_at: '2026-12-05T06:30:00+00:00' });
      route(api, { 'GET /codes/consumer-coupons': keyset(coupon, 300, 'before') });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
    // Showing one coupon's QR sends that coupon's picture alone, by path.
    async row({ page }) {
      page.instance.onToggle({ currentTarget: { dataset: { id: 290 } } });
    },
    rowKeys: ['items'],
  },
  'packageSales/pages/onboard': {
    budget: 12 * KB,
    list: 'applications.items',
    salesperson: true,
    async open({ api, load }) {
      route(api, {
        'POST /onboarding/invitation': Object.assign({}, CODE, { kind: 'salesperson_invite' }),
        'GET /onboarding/applications/invited': keyset(application, 300, 'before'),
      });
      return load({});
    },
    async more({ page }) {
      await page.instance.onReachBottom();
    },
  },
};

const ROUTES = appRoutes();
const measured = [];

/** A fresh page of `routePath`, signed in as its user, opened by its scenario. */
async function openPage(routePath) {
  const scenario = SCENARIOS[pageName(routePath)];
  const h = fresh({ wholeApp: true });
  const api = require('../../utils/api');
  fx.signInAsStore(scenario.salesperson ? { identity: SALES_IDENTITY } : undefined);
  let page = null;
  const ctx = {
    h,
    api,
    async load(options) {
      page = h.pageAt(routePath);
      await page.instance.onLoad(options);
      await flush(6);
      return page;
    },
  };
  await scenario.open.call(scenario, ctx);
  ctx.page = page;
  return { scenario, ctx, h, page };
}

/** The setData calls `run` makes (the log from before it to after it). */
async function sentDuring(h, page, run) {
  const before = h.setDataLog(page).length;
  await run();
  await flush(6);
  return h.setDataLog(page).slice(before);
}

afterAll(() => {
  if (!measured.length) return;
  const lines = measured.map((m) => `${m.route.padEnd(34)} ${String(m.max).padStart(7)} ${String(m.budget).padStart(7)} ${String(m.calls).padStart(6)}  ${m.keys}`);
  // eslint-disable-next-line no-console
  console.log(['largest setData per page (bytes of JSON, UTF-8)', `${'page'.padEnd(34)} ${'max'.padStart(7)} ${'budget'.padStart(7)} ${'calls'.padStart(6)}  keys of the largest`].concat(lines).join('\n'));
});

test('every page of app.json (and its subpackages) has a scenario here', () => {
  expect(ROUTES.length).toBeGreaterThan(20);
  expect(ROUTES.filter((r) => !SCENARIOS[pageName(r)])).toEqual([]);
});

describe.each(ROUTES.map((r) => [r]))('%s', (routePath) => {
  test('its largest setData, loaded and paged on, stays under its budget', async () => {
    const { scenario, ctx, h, page } = await openPage(routePath);
    if (scenario.more) await sentDuring(h, page, () => scenario.more.call(scenario, ctx));
    if (scenario.row) await sentDuring(h, page, () => scenario.row.call(scenario, ctx));
    const log = h.setDataLog(page);
    const max = h.maxSetData(page);
    measured.push({ route: routePath, max: max.bytes, budget: scenario.budget, calls: log.length, keys: max.keys.slice(0, 4).join(',') + (max.keys.length > 4 ? ',…' : '') });
    expect(log.length).toBeGreaterThan(0);
    expect(page.instance.data.status).not.toBe('error');
    expect(max.bytes).toBeLessThanOrEqual(scenario.budget);
  });

  const scenario = SCENARIOS[pageName(routePath)] || {};
  if (scenario.more) {
    test(`the next page sends only its new rows of ${scenario.list}, by path`, async () => {
      const { ctx, h, page } = await openPage(routePath);
      const listOf = () => scenario.list.split('.').reduce((data, key) => data[key], page.instance.data);
      expect(listOf()).toHaveLength(PAGE);
      const sent = await sentDuring(h, page, () => scenario.more.call(scenario, ctx));
      expect(listOf()).toHaveLength(2 * PAGE);
      const keys = [].concat(...sent.map((s) => s.keys));
      // Not the list again (nor the object holding it)...
      const whole = scenario.list.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'));
      expect(keys.filter((k) => whole.includes(k))).toEqual([]);
      // ...but each new row at its own index, and none of the rows already shown.
      const rowKeys = keys.filter((k) => k.startsWith(`${scenario.list}[`));
      expect(rowKeys).toEqual(Array.from({ length: PAGE }, (_, i) => `${scenario.list}[${PAGE + i}]`));
    });
  }
  if (scenario.row) {
    test('one row changing is sent by path, not the whole list', async () => {
      const { ctx, h, page } = await openPage(routePath);
      const sent = await sentDuring(h, page, () => scenario.row.call(scenario, ctx));
      const keys = [].concat(...sent.map((s) => s.keys));
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.filter((k) => scenario.rowKeys.includes(k))).toEqual([]);
      const bytes = sent.reduce((sum, s) => sum + s.bytes, 0);
      expect(bytes).toBeLessThan(2 * KB);
    });
  }
});
