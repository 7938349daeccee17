/**
 * The store owner's journey, driven through the pages' own handlers (taps on the elements the
 * WXML binds) and shot at each step as journey-NN-<step>.png: sign in → order with a coupon
 * → pay (the WeChat Pay sandbox plays the payer) → track the order → file a complaint → join
 * the live session → grab a red packet (the distributor starts the rain as the host, over the
 * realtime server) → redeem points in the mall. Where a page leads on (wx.navigateTo and the
 * like), the next page is opened with the URL it asked for.
 */
const path = require('path');
const { ROOT, pageRoutes, pageName } = require('./renderer');

const HOST = { username: 'dist1_admin', password: 'demo-pass-2026' };

/** {route, query} of a navigation URL such as `/pages/order/index?id=3`. */
function parseUrl(url) {
  const [p, q = ''] = url.replace(/^\//, '').split('?');
  const query = {};
  q.split('&').filter(Boolean).forEach((kv) => {
    const [k, v = ''] = kv.split('=');
    query[decodeURIComponent(k)] = decodeURIComponent(v);
  });
  return { route: p, query };
}

async function runJourney(renderer, shoot, owner, log) {
  const steps = [];
  let n = 0;
  let current = null;
  let toastsSeen = renderer.state.toasts.length;
  const snap = async (step, note) => {
    n += 1;
    // a toast shown since the last step is still on screen (WeChat keeps one for 1.5 s)
    const toast = renderer.state.toasts.length > toastsSeen ? renderer.state.toasts[renderer.state.toasts.length - 1] : null;
    toastsSeen = renderer.state.toasts.length;
    const name = `journey-${String(n).padStart(2, '0')}-${step}`;
    shoot(current, name, `旅程 ${n} · ${note}`, { toast }); // the document is taken now, the PNG later
    steps.push({ name, step, note, route: current.route });
  };
  // pages by short name (`pageName`), wherever app.json puts them
  const routes = {};
  pageRoutes(renderer.app).forEach((route) => {
    routes[pageName(route)] = route;
  });
  const open = async (name, query = {}) => {
    const route = routes[name] || name;
    if (!routes[name] && !/\//.test(name)) throw new Error(`app.json has no page ${name}`);
    if (current) await renderer.close(current);
    current = await renderer.open(route, { query });
    return current;
  };
  /** Open where the page last asked to go (its recorded navigation). */
  const follow = async (expected) => {
    const nav = renderer.state.navigations[renderer.state.navigations.length - 1];
    const target = nav && parseUrl(nav.url);
    if (!target || pageName(target.route) !== expected) {
      throw new Error(`expected to go to ${expected}, the page went to ${JSON.stringify(nav)}`);
    }
    return open(target.route, target.query);
  };
  const tap = (selector, index) => renderer.tap(current, selector, index);
  /** Wait (up to `ms`) for what arrives over the realtime socket, not a fixed while. */
  const waitFor = async (ready, ms = 10000) => {
    const until = Date.now() + ms;
    while (!ready() && Date.now() < until) {
      // eslint-disable-next-line no-await-in-loop
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const data = () => current.page.data;

  // 1. Sign in from the login page, as a phone with nothing saved
  renderer.usePersona(owner.persona);
  renderer.wx.removeStorageSync('b2bc.session');
  await open('login');
  current.root = true;
  await snap('login', '登录');
  await tap('.login-btn');
  await renderer.api.del('/cart'); // start from an empty cart
  await follow('home');
  await snap('home', '登录后进入首页');
  if (current.comp.querySelectorAll('.claim-btn').length) {
    await tap('.claim-btn'); // 领券中心: claim the coupon on offer
    await snap('home-claimed', '领取优惠券');
  }

  // 2. Order: catalog → product → add to cart
  await open('catalog');
  await snap('catalog', '订货');
  const product = (data().items || data().list || [])[0];
  const productId = product && (product.productId || product.product_id || product.id);
  await open('product', { product_id: String(productId) });
  current.page.onQuantity({ detail: { value: 2 } }); // the stepper's change: two purifiers
  await renderer.settle();
  await tap('.bar-add');
  await snap('product', '商品详情，加入购物车');

  // 3. Cart: choose the coupon, then check out with it
  await open('cart');
  await tap('.coupon-row');
  const usable = ((data().cart || {}).coupons || []).findIndex((c) => c.usable);
  if (usable < 0) throw new Error('the cart offers no usable coupon');
  await tap('.coupon', usable + 1); // the first is 不使用优惠券
  await snap('cart-coupon', '购物车选用优惠券');
  await tap('.bar-btn');
  await follow('checkout');
  await snap('checkout', '确认订单（含优惠券）');

  // 4. Pay: WeChat Pay's sheet is the sandbox, which completes the payment
  await tap('.submit-btn');
  await renderer.settle(8000);
  await snap('paid', '支付完成');
  const orderId = data().order && data().order.id;

  // 5. Track the order
  await current.page.onViewOrder(); // 查看订单 (the paid view's first button)
  await follow('order');
  await snap('order', '订单详情与物流进度');

  // 6. File a complaint about it
  await open('complaint-new', { order_id: String(orderId) });
  current.page.onCategory({ currentTarget: { dataset: { value: 'delivery' } }, detail: { value: 'delivery' } });
  current.page.onText({ detail: { value: '订单已付款两天还没有发货，请尽快安排配送。' } });
  await renderer.settle();
  await snap('complaint-new', '填写投诉');
  await tap('.submit-btn');
  await follow('complaint');
  await snap('complaint', '投诉详情');

  // 7. Join the live session; the distributor goes live and starts a red packet rain
  await open('live-list');
  await snap('live-list', '直播列表');
  const session = (await renderer.get('/live/sessions')).items[0];
  const host = await startRain(renderer, session.id, log);
  await open('live-room', { id: String(session.id) });
  // the room's state and the rain come over the socket
  await waitFor(() => data().status === 'ready' && (!host || !host.rain || data().rainView === 'falling'));
  await snap('live', '进入直播间');
  if (host && host.rain && data().rainView === 'falling') {
    await tap('.rain-grab');
    await waitFor(() => data().rainView !== 'falling');
    await snap('red-packet', '抢红包');
  } else {
    log(`no rain to grab (host: ${host ? JSON.stringify(host.error || 'no rain') : 'none'})`);
  }
  if (host) host.client.close();

  // 8. Redeem points in the mall
  await open('mall');
  const items = data().items || [];
  const affordable = items.findIndex((i) => !i.blocked);
  if (affordable >= 0) {
    await tap('.redeem-btn', affordable);
    if (data().sheet && data().sheet.open) {
      // a physical gift asks where to send it (WeChat's address picker is not here: typed in)
      current.page.setData({ 'sheet.form': { name: '王老板', phone: '13800000000', address: '浙江省杭州市西湖区文三路 1 号' } });
      await tap('.sheet-confirm');
    }
    await tap('.tab', 1); // 兑换记录: the redemption just made
  }
  await snap('mall', '积分兑换');
  await renderer.close(current);
  return { steps, orderId };
}

/** As the distributor (the host): sign in, join the session, go live and start its first
 * rain, over the realtime server with the mini-program's own realtime client. */
async function startRain(renderer, sessionId, log) {
  const { RealtimeClient } = require(path.join(ROOT, 'packageLive/utils/realtime'));
  const config = require(path.join(ROOT, 'config'));
  try {
    const res = await renderer.http(`${renderer.apiBase}/api/v1/auth/staff/login`, {
      method: 'POST', header: { 'Content-Type': 'application/json' }, body: JSON.stringify(HOST),
    });
    const token = res.data.access_token;
    const auth = { Authorization: `Bearer ${token}` };
    const detail = (await renderer.http(`${renderer.apiBase}/api/v1/live/sessions/${sessionId}`, { header: auth })).data;
    const rain = (detail.rains || [])[0];
    const client = new RealtimeClient({ url: config.realtimeBase(), getToken: () => token, connectSocket: (o) => renderer.wx.connectSocket(o) });
    await client.connect();
    const joined = await client.emit('join', { session_id: sessionId });
    if (detail.status !== 'live') await client.emit('host:start');
    if (!rain) return { client, rain: null, error: 'the session has no rain' };
    const started = await client.emit('host:rain', { rain_id: rain.id });
    if (!started.ok) return { client, rain: null, error: started.error || joined.error };
    return { client, rain };
  } catch (err) {
    log(`host: ${err.stack || err}`);
    return null;
  }
}

module.exports = { runJourney, parseUrl };
