/**
 * What each page is shot with: who is signed in, the query it opens with (taken from the API,
 * never hard-coded ids), what to do before, and which states besides the live one:
 *   empty   — list answers come back with no items (the page's empty state);
 *   error   — the network fails (the page's 重试 state);
 *   loading — no answer ever comes.
 * Keyed by the page's short name (`pageName` in renderer.js: its folder, prefixed in a
 * subpackage: `sales-order`); a page
 * with no line is shot live as the store owner with no query.
 */

const personas = {
  owner: { persona: 'demo-owner' }, // the demo's store owner (鑫建材店01)
  salesperson: { persona: 'shots-salesperson', phone: '13900000001' }, // the demo's 王磊
  newcomer: { persona: 'shots-newcomer' }, // a WeChat user with no store yet
  consumer: { persona: 'shots-consumer' }, // a shopper who scans a product's code: WeChat only
  signedOut: { persona: 'shots-signed-out', signIn: false },
};

const first = async (r, p, what = 'items') => {
  const answer = await r.get(p);
  return ((answer && answer[what]) || [])[0] || null;
};

/** Two of the demo's purifier in the cart, so the cart and checkout have lines. */
async function fillCart(r) {
  const sku = await first(r, '/catalog/skus', 'items');
  const cart = await r.get('/cart');
  if (!(cart.lines || []).length) await r.api.put(`/cart/items/${sku.id}`, { quantity: 2 });
}

/** A call to the API as the demo brand's admin (set-up a shopper cannot do). */
async function asBrand(r, method, p, body) {
  if (!r.brandToken) {
    const res = await r.http(`${r.apiBase}/api/v1/auth/staff/login`, {
      method: 'POST',
      header: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'brand_admin', password: 'demo-pass-2026' }),
    });
    r.brandToken = res.data.access_token;
  }
  const header = { Authorization: `Bearer ${r.brandToken}`, 'Content-Type': 'application/json', 'Idempotency-Key': `shots-${Date.now()}-${Math.random()}` };
  const res = await r.http(`${r.apiBase}/api/v1${p}`, { method, header, body: body ? JSON.stringify(body) : null });
  return res.statusCode < 300 ? res.data : null;
}

/** An item code of the demo's first ready batch (when the demo has one) with a consumer
 * campaign running for its SKU (started here if none is), so that the check page shows a
 * genuine item and its coupon; none: the page's own scan prompt. */
async function itemCode(r) {
  const batch = ((await asBrand(r, 'GET', '/codes/batches?status=ready')) || { items: [] }).items[0];
  if (!batch) return {};
  const sheet = (await asBrand(r, 'GET', `/codes/batches/${batch.id}/sheet?kind=item&page=1`)) || {};
  const code = (sheet.items || sheet.codes || [])[0];
  const text = code && (code.url || code.link || code.token);
  if (!text) return {};
  const skuId = batch.sku.id;
  const running = ((await asBrand(r, 'GET', `/codes/campaigns?status=active&sku_id=${skuId}`)) || { items: [] }).items;
  if (!running.length) {
    const now = Date.now();
    const made = await asBrand(r, 'POST', '/codes/campaigns', {
      name: '扫码验真领券',
      sku_ids: [skuId],
      starts_at: new Date(now - 3600e3).toISOString(),
      ends_at: new Date(now + 30 * 86400e3).toISOString(),
      coupon_value_fen: 500,
      coupon_valid_days: 30,
      budget_fen: 100000,
    });
    if (made) await asBrand(r, 'POST', `/codes/campaigns/${made.id}/publish`);
  }
  return { code: encodeURIComponent(text) };
}

const pages = {
  // root: the first page of its stack (no back arrow): the sign-in and the salesperson's home
  login: { persona: 'signedOut', root: true },
  join: { persona: 'newcomer' },
  home: { states: ['error', 'loading'] },
  catalog: { states: ['empty', 'error', 'loading'] },
  product: {
    query: async (r) => ({ product_id: String((await first(r, '/catalog/skus')).product_id) }),
    states: ['error', 'loading'],
  },
  cart: { before: fillCart, states: ['empty', 'error', 'loading'] },
  checkout: { before: fillCart, states: ['error', 'loading'] },
  orders: { states: ['empty', 'error', 'loading'] },
  order: { query: async (r) => ({ id: String((await first(r, '/orders')).id) }), states: ['error', 'loading'] },
  coupons: { states: ['empty', 'error'] },
  ledger: { states: ['empty', 'error'] },
  mall: { states: ['empty', 'error'] },
  lottery: { states: ['error'] },
  complaints: { states: ['empty', 'error', 'loading'] },
  complaint: {
    query: async (r) => {
      const found = await first(r, '/complaints');
      return found ? { id: String(found.id) } : {};
    },
    states: ['error'],
  },
  'complaint-new': {},
  'live-list': { states: ['empty', 'error'] },
  'live-room': {
    query: async (r) => {
      const found = await first(r, '/live/sessions');
      return found ? { id: String(found.id) } : {};
    },
    states: ['error'],
  },
  invite: { states: ['error'] },
  mine: { states: ['error'] },
  'sales-home': { persona: 'salesperson', root: true, states: ['empty', 'error', 'loading'] },
  'sales-store': {
    persona: 'salesperson',
    query: async (r) => ({ id: String((await first(r, '/stores')).id) }),
    states: ['error'],
  },
  'sales-order': {
    persona: 'salesperson',
    query: async (r) => ({ store_id: String((await first(r, '/stores')).id) }),
    states: ['error'],
  },
  'sales-onboard': { persona: 'salesperson' },
  // 陈列活动 (issue 19). The demo has a program open for signing to the owner's store and one
  // it signed, with a check open now (passed and failed ones before it) and rewards paid.
  'display-programs': { states: ['empty', 'error', 'loading'] },
  'display-program': {
    query: async (r) => {
      const found = (await first(r, '/display/open')) || ((await first(r, '/display/mine')) || {}).program;
      return found ? { id: String(found.id) } : {};
    },
    states: ['error', 'loading'],
  },
  'display-signing': {
    query: async (r) => {
      const found = await first(r, '/display/mine');
      return found ? { id: String(found.id) } : {};
    },
    states: ['error', 'loading'],
  },
  'display-check': {
    query: async (r) => {
      const mine = (await r.get('/display/mine')).items || [];
      const due = mine.find((s) => s.next_check && s.next_check.can_submit) || mine[0];
      const check = due && (due.next_check || ((await r.get(`/display/mine/${due.id}`)).checks || [])[0]);
      return check ? { signing: String(due.id), check: String(check.id) } : {};
    },
    states: ['error'],
  },
  'display-agreement': {
    query: async (r) => {
      const found = await first(r, '/display/mine');
      return found ? { id: String(found.id) } : {};
    },
    states: ['error'],
  },
  'sales-display-review': { persona: 'salesperson', states: ['empty', 'error'] },
  // 补货任务 and 门店动态 (issue 21): the demo's 王磊 has stores due to reorder and active lately.
  'sales-tasks': { persona: 'salesperson', states: ['empty', 'error'] },
  'sales-feed': { persona: 'salesperson', states: ['empty', 'error'] },
  // 一物一码 (issue 20): the QR's page opened with a code from the store's own scans when the
  // demo has one (else the page asks for a scan), the scanner before its first scan, the stock.
  // The QR's page opened by the store owner with a box of the demo's first ready batch that
  // no store has received yet: the product card and the 入库 action.
  'codes-open': {
    query: async (r) => {
      const batch = ((await asBrand(r, 'GET', '/codes/batches?status=ready')) || { items: [] }).items[0];
      if (!batch) return {};
      const sheet = (await asBrand(r, 'GET', `/codes/batches/${batch.id}/sheet?kind=box&page=1`)) || {};
      const code = (sheet.items || sheet.codes || []).slice(-1)[0];
      const text = code && (code.url || code.link || code.token);
      return text ? { q: encodeURIComponent(text) } : {};
    },
    states: ['error', 'loading'],
  },
  'codes-scan': { query: async () => ({ mode: 'receive' }) },
  'codes-stock': { states: ['empty', 'error', 'loading'] },
  // 一物一码 consumers (issue 20): a shopper checks an item's code and keeps the coupon.
  'consumer-check': { persona: 'consumer', root: true, query: itemCode, states: ['error', 'loading'] },
  'consumer-coupons': { persona: 'consumer', states: ['empty', 'error'] },
};

function specFor(name) {
  const spec = { persona: 'owner', states: [], ...(pages[name] || {}) };
  return { ...spec, personaSpec: personas[spec.persona] };
}

module.exports = { personas, pages, specFor };
