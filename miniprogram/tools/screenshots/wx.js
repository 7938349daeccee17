/**
 * The `wx` the screenshot renderer gives the pages: wx.request and wx.uploadFile really call
 * the platform over node http, storage lives in memory (one store per persona, so switching
 * persona switches sign-in), wx.login answers a sandbox login code for the current persona,
 * wx.requestPayment completes the payment in the WeChat Pay sandbox, navigation is recorded,
 * and every other API a page calls answers harmlessly (success, nothing shown).
 *
 * `network.mode` decides how requests to /api/v1 are answered, for the page states:
 *   'live' (real answers), 'empty' (list answers with no items), 'error' (the network fails),
 *   'loading' (no answer ever comes).
 */
const fs = require('fs');
const http = require('http');
const https = require('https');
const { connectSocket } = require('../../tests/integration/wx-node');

const SANDBOX_APPID = 'wx_sandbox_appid';

/** One HTTP call; resolves to {statusCode, data, header}, rejects when nothing answered. */
function call(url, { method = 'GET', header = {}, body = null, timeout = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const payload = body == null ? null : Buffer.isBuffer(body) ? body : Buffer.from(String(body));
    const headers = { ...header };
    if (payload) headers['Content-Length'] = payload.length;
    const req = client.request(target, { method, headers, timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let data = text;
        try {
          data = JSON.parse(text);
        } catch (e) {
          // not JSON: WeChat hands the text over as it is
        }
        resolve({ statusCode: res.statusCode, data, header: res.headers });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** An answer with its lists emptied: `items` (every list endpoint's page) and cart lines. */
function emptied(data) {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return Array.isArray(data) ? [] : data;
  const out = { ...data };
  Object.keys(out).forEach((key) => {
    if (Array.isArray(out[key]) && ['items', 'lines', 'sessions', 'records'].includes(key)) out[key] = [];
  });
  if ('next' in out) out.next = null;
  if ('next_cursor' in out) out.next_cursor = null;
  return out;
}

function createWx({ apiBase, log = () => {} }) {
  const stores = new Map(); // persona → storage Map
  const state = {
    persona: 'demo-owner',
    navigations: [],
    toasts: [],
    modals: [],
    pending: 0,
    lastOutTradeNo: null,
  };
  const network = { mode: 'live', emptyPaths: null };
  const storage = () => {
    if (!stores.has(state.persona)) stores.set(state.persona, new Map([['b2bc.apiBase', apiBase]]));
    return stores.get(state.persona);
  };

  const done = (options, res, ok = true) => {
    // WeChat calls back asynchronously, after the caller's own code has run on
    setTimeout(() => {
      const cb = ok ? options.success : options.fail;
      if (cb) cb(res);
      if (options.complete) options.complete(res);
    }, 0);
  };
  const harmless = (name, extra = {}) => (options = {}) => done(options, { errMsg: `${name}:ok`, ...extra });
  const recordNav = (name) => (options = {}) => {
    state.navigations.push({ api: name, url: options.url || '', delta: options.delta });
    done(options, { errMsg: `${name}:ok` });
  };

  const isApi = (url) => url.indexOf('/api/v1/') >= 0;

  function request(options = {}) {
    const url = options.url;
    const method = (options.method || 'GET').toUpperCase();
    const header = { ...(options.header || {}) };
    let body = null;
    if (options.data != null && method !== 'GET') {
      body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
    }
    if (isApi(url) && network.mode === 'loading') return { abort() {} }; // no answer, ever
    if (isApi(url) && network.mode === 'error') {
      done(options, { errMsg: 'request:fail net::ERR_INTERNET_DISCONNECTED' }, false);
      return { abort() {} };
    }
    state.pending += 1;
    call(url, { method, header, body, timeout: options.timeout })
      .then((res) => {
        log(`${method} ${url} → ${res.statusCode}`);
        if (/\/orders\/\d+\/pay$/.test(url) && res.data && res.data.out_trade_no) {
          state.lastOutTradeNo = res.data.out_trade_no;
        }
        const wantEmpty = isApi(url) && network.mode === 'empty' && method === 'GET'
          && (!network.emptyPaths || network.emptyPaths.some((p) => url.indexOf(p) >= 0));
        done(options, { ...res, data: wantEmpty ? emptied(res.data) : res.data, errMsg: 'request:ok' });
      }, (err) => done(options, { errMsg: `request:fail ${err.message}` }, false))
      .finally(() => {
        state.pending -= 1;
      });
    return { abort() {} };
  }

  /** multipart/form-data with the one file WeChat sends, and formData fields. */
  function uploadFile(options = {}) {
    const boundary = `----b2bcshots${Date.now()}`;
    const parts = [];
    Object.entries(options.formData || {}).forEach(([k, v]) => {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
    });
    const file = fs.readFileSync(options.filePath);
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${options.name || 'file'}"; filename="photo.png"\r\nContent-Type: image/png\r\n\r\n`));
    parts.push(file, Buffer.from(`\r\n--${boundary}--\r\n`));
    const header = { ...(options.header || {}), 'Content-Type': `multipart/form-data; boundary=${boundary}` };
    state.pending += 1;
    call(options.url, { method: 'POST', header, body: Buffer.concat(parts) })
      .then((res) => done(options, { statusCode: res.statusCode, data: typeof res.data === 'string' ? res.data : JSON.stringify(res.data), errMsg: 'uploadFile:ok' }),
        (err) => done(options, { errMsg: `uploadFile:fail ${err.message}` }, false))
      .finally(() => {
        state.pending -= 1;
      });
    return { abort() {}, onProgressUpdate() {} };
  }

  async function sandbox(path, body) {
    const res = await call(`${apiBase}/wx-sandbox${path}`, {
      method: 'POST', header: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(res.data)}`);
    return res.data;
  }

  const wx = {
    getStorageSync: (key) => (storage().has(key) ? storage().get(key) : ''),
    setStorageSync: (key, value) => storage().set(key, value),
    removeStorageSync: (key) => storage().delete(key),
    getStorage: (o = {}) => done(o, { data: wx.getStorageSync(o.key) }, storage().has(o.key)),
    setStorage: (o = {}) => { wx.setStorageSync(o.key, o.data); done(o, { errMsg: 'setStorage:ok' }); },
    request,
    uploadFile,
    downloadFile: (o = {}) => done(o, { statusCode: 200, tempFilePath: '/tmp/shots-download' }),
    connectSocket,
    login: (o = {}) => {
      sandbox('/sandbox/login-code', { appid: SANDBOX_APPID, persona: state.persona })
        .then((a) => done(o, { code: a.code, errMsg: 'login:ok' }), (e) => done(o, { errMsg: `login:fail ${e.message}` }, false));
    },
    requestPayment: (o = {}) => {
      // The payer: the sandbox completes the payment WeChat Pay was asked for (/orders/<id>/pay)
      sandbox('/sandbox/pay/complete', { out_trade_no: state.lastOutTradeNo })
        .then(() => done(o, { errMsg: 'requestPayment:ok' }), (e) => done(o, { errMsg: `requestPayment:fail ${e.message}` }, false));
    },
    navigateTo: recordNav('navigateTo'),
    redirectTo: recordNav('redirectTo'),
    reLaunch: recordNav('reLaunch'),
    switchTab: recordNav('switchTab'),
    navigateBack: recordNav('navigateBack'),
    showToast: (o = {}) => { state.toasts.push({ title: o.title, icon: o.icon || 'success' }); done(o, { errMsg: 'showToast:ok' }); },
    showModal: (o = {}) => { state.modals.push(o.title || o.content); done(o, { errMsg: 'showModal:ok', confirm: true, cancel: false }); },
    showActionSheet: (o = {}) => done(o, { tapIndex: 0 }),
    getPrivacySetting: harmless('getPrivacySetting', { needAuthorization: false, privacyContractName: '《澜泉订货隐私保护指引》' }),
    onNeedPrivacyAuthorization: () => {},
    requestSubscribeMessage: (o = {}) => done(o, { errMsg: 'requestSubscribeMessage:ok' }),
    getRandomValues: (o = {}) => done(o, { randomValues: require('crypto').randomBytes(o.length || 16).buffer }),
    getSystemInfoSync: () => ({ windowWidth: 375, windowHeight: 812, screenWidth: 375, pixelRatio: 2, statusBarHeight: 44, platform: 'ios', SDKVersion: '3.6.0' }),
    getWindowInfo: () => ({ windowWidth: 375, windowHeight: 812, screenWidth: 375, pixelRatio: 2, statusBarHeight: 44 }),
    getMenuButtonBoundingClientRect: () => ({ width: 87, height: 32, top: 48, right: 368, bottom: 80, left: 281 }),
    getExtConfigSync: () => ({}),
    onNetworkStatusChange: () => {},
    offNetworkStatusChange: () => {},
    getNetworkType: (o = {}) => done(o, { networkType: 'wifi' }),
    getUpdateManager: () => ({ onUpdateReady() {}, onCheckForUpdate() {}, onUpdateFailed() {}, applyUpdate() {} }),
    createSelectorQuery: () => {
      const q = { select: () => q, selectAll: () => q, in: () => q, boundingClientRect: () => q, fields: () => q, scrollOffset: () => q, exec: (cb) => cb && cb([]) };
      return q;
    },
    createLivePlayerContext: () => ({ play() {}, stop() {}, pause() {}, resume() {}, mute() {} }),
    vibrateShort: harmless('vibrateShort'),
  };
  ['showLoading', 'hideLoading', 'stopPullDownRefresh', 'startPullDownRefresh', 'setNavigationBarTitle',
    'pageScrollTo', 'setClipboardData', 'previewImage', 'saveImageToPhotosAlbum', 'openSetting', 'openPrivacyContract',
    'openLocation', 'makePhoneCall', 'hideKeyboard', 'showShareMenu', 'hideShareMenu', 'setKeepScreenOn',
    'showNavigationBarLoading', 'hideNavigationBarLoading', 'requirePrivacyAuthorize'].forEach((name) => {
    wx[name] = harmless(name);
  });
  // Pickers and the camera: the user cancels (a screenshot has no one to choose)
  ['chooseMedia', 'chooseImage', 'chooseAddress', 'chooseLocation', 'scanCode'].forEach((name) => {
    wx[name] = (o = {}) => done(o, { errMsg: `${name}:fail cancel` }, false);
  });
  // navigation titles the page sets itself (e.g. the product's name)
  wx.setNavigationBarTitle = (o = {}) => { state.title = o.title; done(o, { errMsg: 'setNavigationBarTitle:ok' }); };

  return { wx, state, network, sandbox, call };
}

module.exports = { createWx, call, emptied, SANDBOX_APPID };
