/**
 * Rendering the mini-program's pages and components in jest with miniprogram-simulate, the
 * WeChat compiler (wcc) and a fresh `wx` for every test.
 *
 *   jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());
 *   let h, api;
 *   beforeEach(() => { h = harness.fresh(); api = require('../../utils/api'); });
 *   const page = h.page('cart');            // pages/cart/index, attached
 *   h.page('packageSales/pages/home');      // a subpackage's page: its directory, from the root
 *   await page.instance.onLoad({});         // pages are Component({...}); call lifecycles
 *   h.maxSetData(page)                      // the largest setData payload it sent: {bytes, keys}
 *
 * Modules are reset before each test so that a page's Component() runs again and sees the
 * same (mocked) utils/api the test holds.
 */
const path = require('path');
const fs = require('fs');

const ROOT = path.resolve(__dirname, '../../..');
// Every page app.json declares, subpackages included ('packageLive/pages/room/index').
const { appPages } = require('../../../tools/package-size');

function listWxml(dir) {
  const found = [];
  const walk = (abs) => {
    if (!fs.existsSync(abs)) return;
    fs.readdirSync(abs, { withFileTypes: true }).forEach((entry) => {
      const full = path.join(abs, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.wxml')) found.push(path.relative(ROOT, full).split(path.sep).join('/'));
    });
  };
  walk(path.join(ROOT, dir));
  return found;
}

// Where the pages are: the main package and any subpackage roots (everything but these).
const NOT_APP = new Set(['node_modules', 'tests', 'tools', 'components', 'images', 'utils']);
const APP_DIRS = fs.readdirSync(ROOT, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !NOT_APP.has(entry.name) && !entry.name.startsWith('.'))
  .map((entry) => entry.name);

/** An in-memory wx storage, so utils/session keeps what a test saves. */
function installStorage(wx) {
  const store = new Map();
  wx.setStorageSync = jest.fn((key, value) => store.set(key, value));
  wx.getStorageSync = jest.fn((key) => (store.has(key) ? store.get(key) : ''));
  wx.removeStorageSync = jest.fn((key) => store.delete(key));
  return store;
}

/** A wx API mock in the style of wx: options with success/fail/complete. */
function wxAsync(impl) {
  return jest.fn((options = {}) => {
    Promise.resolve()
      .then(() => impl(options))
      .then(
        (res) => {
          if (options.success) options.success(res);
          if (options.complete) options.complete(res);
        },
        (res) => {
          if (options.fail) options.fail(res);
          if (options.complete) options.complete(res);
        },
      );
  });
}

/** A main-package page by its directory name ('cart'), a subpackage's by its directory
 * from the root ('packageLive/pages/room'): the same module paths app.json lists. */
function pagePath(name) {
  return name.includes('/') ? path.join(name, 'index') : path.join('pages', name, 'index');
}

/** The size WeChat sends a setData payload at: its JSON, in UTF-8 bytes. */
function payloadBytes(data) {
  return Buffer.byteLength(JSON.stringify(data) || '', 'utf8');
}

/**
 * Record every setData of a mounted page or component in `log` ({bytes, keys, data} each):
 * the instance's own setData is wrapped, so calls from its methods and behaviors count.
 */
function recordSetData(comp, log) {
  const { instance } = comp;
  const original = instance.setData;
  instance.setData = function recorded(data, callback) {
    log.push({ bytes: payloadBytes(data), keys: Object.keys(data || {}), data });
    return original.call(this, data, callback);
  };
}

/**
 * `wholeApp`: compile every template of the mini-program at once, for a test that mounts
 * pages of several folders. wcc's output keeps its compiled templates in globals that
 * outlive jest.resetModules, indexed by compile: every compile in one test file must then
 * be of the same list of files.
 */
function fresh({ wholeApp = false } = {}) {
  // The last test's tracker may have a send timer pending: it would write its queue into
  // this test's storage.
  require('../../../utils/track').reset();
  delete global.wx; // miniprogram-simulate merges into an existing wx; start clean
  jest.resetModules();
  const simulate = require('miniprogram-simulate');
  const wx = global.wx;
  const storage = installStorage(wx);
  ['navigateTo', 'redirectTo', 'reLaunch', 'switchTab', 'navigateBack', 'showToast',
    'showLoading', 'hideLoading', 'stopPullDownRefresh', 'setNavigationBarTitle', 'pageScrollTo']
    .forEach((name) => {
      wx[name] = wxAsync(() => ({ errMsg: `${name}:ok` }));
    });
  wx.showModal = wxAsync(() => ({ errMsg: 'showModal:ok', confirm: true, cancel: false }));

  // wcc compiles a list of files at once: this page's and the shared components'.
  const optionsFor = (relative) => {
    const dirs = wholeApp ? APP_DIRS : [path.dirname(relative)];
    const wxmlList = [].concat(...dirs.map(listWxml)).concat(listWxml('components'));
    return { rootPath: ROOT, compiler: 'official', compilerOptions: { wxmlList: Array.from(new Set(wxmlList)) } };
  };

  const loaded = new Set();
  const setDataLogs = new WeakMap();
  function mount(relative, props) {
    // jest keeps a required file's module, so a second load of the same page or component in
    // one test would not run its Component() again: load it in an isolated registry then
    // (its own copies of the modules it requires, so do this only for components).
    let id;
    if (loaded.has(relative)) {
      jest.isolateModules(() => {
        id = simulate.load(path.join(ROOT, relative), optionsFor(relative));
      });
    } else {
      id = simulate.load(path.join(ROOT, relative), optionsFor(relative));
      loaded.add(relative);
    }
    const comp = simulate.render(id, props);
    const log = [];
    setDataLogs.set(comp, log);
    recordSetData(comp, log);
    comp.attach(document.createElement('parent-wrapper'));
    return comp;
  }

  return {
    simulate,
    wx,
    storage,
    wxAsync,
    page: (name, props) => mount(pagePath(name), props),
    /** A page by its route in app.json (`pages/cart/index`, or one in a subpackage). */
    pageAt: (route, props) => mount(route, props),
    component: (name, props) => mount(path.join('components', name, 'index'), props),
    /** Every setData the page or component has sent since it was mounted, in order. */
    setDataLog: (comp) => setDataLogs.get(comp),
    /** The largest of them ({bytes, keys, data}), or {bytes: 0, keys: []} if none. */
    maxSetData: (comp) => setDataLogs.get(comp).reduce((max, entry) => (entry.bytes > max.bytes ? entry : max), { bytes: 0, keys: [] }),
  };
}

/** Let promises and the simulator's asynchronous events settle. */
async function flush(times = 3) {
  for (let i = 0; i < times; i += 1) {
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** All text inside a rendered component, whitespace collapsed. */
function textOf(comp) {
  return comp.dom.textContent.replace(/\s+/g, ' ').trim();
}

/** The text of each element matching `selector` (in the component's own template). */
function texts(comp, selector) {
  return comp.querySelectorAll(selector).map((node) => node.dom.textContent.replace(/\s+/g, ' ').trim());
}

/** Tap 重试 in the page's state-view (`class="page-state"`, or another selector). */
async function tapRetry(page, selector = '.page-state') {
  const view = page.querySelector(selector);
  if (!view) throw new Error(`nothing matches ${selector}`);
  const button = view.querySelector('.sv-retry');
  if (!button) throw new Error('the state view shows no 重试');
  button.dispatchEvent('tap');
  await flush();
}

/** Tap the first element matching `selector` (the simulator dispatches asynchronously). */
async function tap(comp, selector, index = 0) {
  const all = comp.querySelectorAll(selector);
  if (!all[index]) throw new Error(`nothing matches ${selector}[${index}]`);
  all[index].dispatchEvent('tap');
  await flush();
}

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The tab pages wx.switchTab was asked for, in order. */
function switchedTo(wx) {
  return wx.switchTab.mock.calls.map((call) => call[0].url);
}

module.exports = { ROOT, appPages, fresh, payloadBytes, flush, textOf, texts, tap, tapRetry, deferred, wxAsync, switchedTo };
