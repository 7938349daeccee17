/**
 * Rendering the mini-program's pages and components in jest with miniprogram-simulate, the
 * WeChat compiler (wcc) and a fresh `wx` for every test.
 *
 *   jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());
 *   let h, api;
 *   beforeEach(() => { h = harness.fresh(); api = require('../../utils/api'); });
 *   const page = h.page('cart');            // pages/cart/index, attached
 *   await page.instance.onLoad({});         // pages are Component({...}); call lifecycles
 *
 * Modules are reset before each test so that a page's Component() runs again and sees the
 * same (mocked) utils/api the test holds.
 */
const path = require('path');
const fs = require('fs');

const ROOT = path.resolve(__dirname, '../../..');

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

function fresh() {
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
    const wxmlList = listWxml(path.dirname(relative)).concat(listWxml('components'));
    return { rootPath: ROOT, compiler: 'official', compilerOptions: { wxmlList: Array.from(new Set(wxmlList)) } };
  };

  const loaded = new Set();
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
    comp.attach(document.createElement('parent-wrapper'));
    return comp;
  }

  return {
    simulate,
    wx,
    storage,
    wxAsync,
    page: (name, props) => mount(path.join('pages', name, 'index'), props),
    component: (name, props) => mount(path.join('components', name, 'index'), props),
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

module.exports = { ROOT, fresh, flush, textOf, texts, tap, tapRetry, deferred, wxAsync, switchedTo };
