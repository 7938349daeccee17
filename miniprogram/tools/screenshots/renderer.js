/**
 * Renders the mini-program's pages under node the way the jest suite does (miniprogram-simulate
 * with WeChat's official template compiler, in jsdom), against a real platform, and turns each
 * rendered page into a self-contained HTML document (see document.js) for Chromium to shoot.
 */
const fs = require('fs');
const path = require('path');
const { JSDOM } = require('jsdom');
const { createWx } = require('./wx');
const { translate } = require('./wxss');
const { buildDocument } = require('./document');

const ROOT = path.resolve(__dirname, '../..');

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Every page route in app.json: `pages` and each subpackage's `root + pages`. */
function pageRoutes(app) {
  const routes = (app.pages || []).slice();
  (app.subPackages || app.subpackages || []).forEach((sub) => {
    (sub.pages || []).forEach((p) => routes.push(`${sub.root.replace(/\/+$/, '')}/${p}`));
  });
  return routes;
}

/**
 * A page's short name, unique across packages: a main-package page is its folder
 * (`pages/order/index` → `order`), a subpackage's is prefixed with its package, `package`
 * dropped (`packageSales/pages/order/index` → `sales-order`), since folders repeat.
 */
function pageName(route) {
  const parts = route.split('/');
  const folder = parts[parts.length - 1] === 'index' ? parts[parts.length - 2] : parts[parts.length - 1];
  if (parts[0] === 'pages') return folder;
  const pkg = parts[0].replace(/^package/, '');
  return `${pkg.charAt(0).toLowerCase()}${pkg.slice(1)}-${folder}`;
}

function listWxml() {
  const found = [];
  const walk = (abs) => {
    fs.readdirSync(abs, { withFileTypes: true }).forEach((entry) => {
      if (['node_modules', 'tests', 'tools'].includes(entry.name) || entry.name.startsWith('.')) return;
      const full = path.join(abs, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.wxml')) found.push(path.relative(ROOT, full).split(path.sep).join('/'));
    });
  };
  walk(ROOT);
  return found;
}

function readWxss(file) {
  if (!fs.existsSync(file)) return '';
  // @import inlined, as WeChat's compiler does
  return fs.readFileSync(file, 'utf8').replace(/@import\s+["']([^"']+)["'];?/g, (_, rel) => readWxss(path.resolve(path.dirname(file), rel)));
}

/** The custom components a page uses, by tag: {tag: absolute path without extension}. */
function componentsOf(fileNoExt, found = {}) {
  const json = fs.existsSync(`${fileNoExt}.json`) ? readJson(`${fileNoExt}.json`) : {};
  Object.entries(json.usingComponents || {}).forEach(([tag, ref]) => {
    const abs = ref.startsWith('/') ? path.join(ROOT, ref) : path.resolve(path.dirname(fileNoExt), ref);
    if (found[tag] === abs) return;
    found[tag] = abs;
    componentsOf(abs, found);
  });
  return found;
}

/** Built-in tags with the properties a screenshot must show reflected as DOM attributes
 * (miniprogram-simulate registers them bare, so an image would lose its src). */
const REFLECTED = {
  image: { src: String, mode: String },
  input: { value: null, placeholder: String, type: String, password: Boolean, disabled: Boolean },
  textarea: { value: null, placeholder: String, disabled: Boolean },
  button: { type: String, size: String, disabled: Boolean, loading: Boolean, plain: Boolean },
  switch: { checked: Boolean },
  checkbox: { checked: Boolean },
  radio: { checked: Boolean },
  'scroll-view': { scrollX: Boolean, scrollY: Boolean },
  'live-player': { src: String },
  progress: { percent: Number },
};

function dash(name) {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function reflectBuiltIns(jComponent) {
  Object.entries(REFLECTED).forEach(([tag, props]) => {
    const properties = {};
    Object.entries(props).forEach(([name, type]) => {
      properties[name] = {
        type,
        observer(value) {
          const dom = this.$$;
          if (!dom) return;
          if (value === false || value === null || value === undefined || value === '') dom.removeAttribute(dash(name));
          else dom.setAttribute(dash(name), value === true ? '' : String(value));
        },
      };
    });
    jComponent.register({ id: tag, tagName: `wx-${tag}`, template: '<slot/>', properties });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class Renderer {
  constructor({ apiBase, log = () => {} }) {
    this.apiBase = apiBase.replace(/\/+$/, '');
    this.log = log;
    this.app = readJson(path.join(ROOT, 'app.json'));
    this.routes = pageRoutes(this.app);
    const jsdom = new JSDOM('<!doctype html><html><head></head><body></body></html>', { pretendToBeVisual: true, url: 'http://localhost/' });
    global.window = jsdom.window;
    global.document = jsdom.window.document;
    // j-component dispatches DOM events with the globals a jest jsdom environment has
    ['Event', 'CustomEvent', 'Node', 'Element', 'HTMLElement', 'MouseEvent', 'TouchEvent', 'navigator'].forEach((name) => {
      if (jsdom.window[name]) global[name] = jsdom.window[name];
    });
    const { wx, state, network, sandbox, call } = createWx({ apiBase: this.apiBase, log });
    delete global.wx;
    global.wx = wx;
    this.simulate = require('miniprogram-simulate');
    global.wx = Object.assign(global.wx, wx); // simulate merged its own API in: ours wins
    this.wx = global.wx;
    this.state = state;
    this.network = network;
    this.sandbox = sandbox;
    this.http = call;
    const jComponent = require('j-component');
    reflectBuiltIns(jComponent);
    // j-component turns rpx in inline styles into px one to one: a 375 px screen halves them
    const jUtils = require('j-component/src/tool/utils');
    const { rpx } = require('./wxss');
    jUtils.transformRpx = (style) => rpx(style);
    global.getApp = () => ({ globalData: {} });
    this.stack = [];
    global.getCurrentPages = () => this.stack;
    this.wxmlList = listWxml();
    this.api = require(path.join(ROOT, 'utils/api'));
    this.defaultRetryDelays = this.api.settings.retryDelaysMs;
  }

  /** Become `spec.persona` (its own storage) and sign it in as the login page would:
   * wx.login → /auth/wechat/login; a salesperson then binds the phone the brand registered
   * (or, already bound, switches to that identity). `signIn: false` stays signed out. */
  async signIn(spec) {
    this.state.persona = spec.persona;
    this.network.mode = 'live';
    this.api.settings.retryDelaysMs = this.defaultRetryDelays;
    const session = require(path.join(ROOT, 'utils/session'));
    if (spec.signIn === false || session.getSession()) return;
    await this.api.login();
    if (!spec.phone) return;
    const me = await this.api.get('/me');
    const mine = (me.memberships || []).find((m) => m.role === 'salesperson');
    if (mine) {
      if (!(me.current && me.current.membership_id === mine.id)) {
        await require(path.join(ROOT, 'components/lib/identity')).switchTo(mine.id);
      }
      return;
    }
    const { code } = await this.sandbox('/sandbox/phone-code', { appid: 'wx_sandbox_appid', phone: spec.phone });
    const answer = await this.api.bindPhone(code);
    if (!(answer && answer.access_token)) {
      const again = await this.api.get('/me');
      const linked = (again.memberships || []).find((m) => m.role === 'salesperson');
      if (linked) await require(path.join(ROOT, 'components/lib/identity')).switchTo(linked.id);
    }
  }

  usePersona(persona) {
    this.state.persona = persona;
  }

  /** Wait until no request is in flight for a little while (or `maxMs` passed). */
  async settle(maxMs = 6000) {
    const until = Date.now() + maxMs;
    let quiet = 0;
    while (Date.now() < until && quiet < 3) {
      // eslint-disable-next-line no-await-in-loop
      await sleep(30);
      quiet = this.state.pending === 0 ? quiet + 1 : 0;
    }
  }

  /** Load, attach and run a page's lifecycles with `query`; `mode` is the network's answer. */
  async open(route, { query = {}, mode = 'live', emptyPaths = null } = {}) {
    this.network.mode = mode;
    this.network.emptyPaths = emptyPaths;
    this.api.settings.retryDelaysMs = mode === 'error' ? [] : this.defaultRetryDelays;
    this.state.title = null;
    document.head.innerHTML = '';
    document.body.innerHTML = '';
    const id = this.simulate.load(path.join(ROOT, route), {
      rootPath: ROOT, compiler: 'official', compilerOptions: { wxmlList: this.wxmlList },
    });
    const comp = this.simulate.render(id);
    const parent = document.createElement('parent-wrapper');
    document.body.appendChild(parent);
    comp.attach(parent);
    const page = comp.instance;
    this.stack = [page];
    const call = async (name, arg) => {
      if (typeof page[name] !== 'function') return;
      try {
        const result = page[name](arg);
        if (mode !== 'loading') await Promise.race([result, sleep(8000)]);
      } catch (err) {
        this.log(`${route} ${name}: ${err.stack || err}`);
      }
    };
    await call('onLoad', query);
    await call('onShow');
    await call('onReady');
    await this.settle(mode === 'loading' ? 300 : 6000);
    return { comp, page, route };
  }

  /** Leave the page (its sockets and timers stop, as on a real navigation away). */
  async close(opened) {
    ['onHide', 'onUnload'].forEach((name) => {
      try {
        if (typeof opened.page[name] === 'function') opened.page[name]();
      } catch (err) {
        this.log(`${opened.route} ${name}: ${err}`);
      }
    });
    opened.comp.detach();
    this.network.mode = 'live';
    await sleep(10);
  }

  /** Tap the `index`-th element matching `selector` in the page, as a finger would. */
  async tap(opened, selector, index = 0) {
    const all = opened.comp.querySelectorAll(selector);
    if (!all[index]) throw new Error(`${opened.route}: nothing matches ${selector}[${index}]`);
    all[index].dispatchEvent('tap');
    await sleep(10);
    await this.settle();
  }

  /** The HTML document of the page as rendered now. */
  document(opened, { canGoBack = true, toast = null } = {}) {
    const { route } = opened;
    const file = path.join(ROOT, route);
    const pageJson = fs.existsSync(`${file}.json`) ? readJson(`${file}.json`) : {};
    const tabIndex = this.app.tabBar ? this.app.tabBar.list.findIndex((t) => t.pagePath === route) : -1;
    const appWxss = readWxss(path.join(ROOT, 'app.wxss'));
    const pageWxss = readWxss(`${file}.wxss`);
    const components = Object.entries(componentsOf(file));
    // addGlobalClass: the app's and the page's classes style the component too
    const global = ['main'].concat(components
      .filter(([, abs]) => /addGlobalClass\s*:\s*true/.test(fs.existsSync(`${abs}.js`) ? fs.readFileSync(`${abs}.js`, 'utf8') : ''))
      .map(([tag]) => tag));
    const css = [translate(appWxss, global, 'main'), translate(pageWxss, global, 'main')];
    components.forEach(([tag, abs]) => css.push(translate(readWxss(`${abs}.wxss`), tag)));
    return buildDocument({
      html: this.serialise(opened.comp.dom),
      css: css.join('\n'),
      title: this.state.title || pageJson.navigationBarTitleText || (this.app.window || {}).navigationBarTitleText || '',
      navigationStyle: pageJson.navigationStyle,
      navigationBarBackgroundColor: pageJson.navigationBarBackgroundColor,
      navigationBarTextStyle: pageJson.navigationBarTextStyle,
      tabIndex,
      canGoBack,
      toast,
    }, this.app, ROOT);
  }

  /** The page's DOM as HTML, with what WeChat draws for images and inputs made visible. */
  serialise(dom) {
    const copy = dom.cloneNode(true);
    copy.querySelectorAll('wx-image[src]').forEach((node) => {
      const img = document.createElement('img');
      img.setAttribute('src', this.resolveSrc(node.getAttribute('src')));
      node.appendChild(img);
    });
    copy.querySelectorAll('wx-input, wx-textarea').forEach((node) => {
      const value = node.getAttribute('value');
      const span = document.createElement('span');
      if (value) {
        span.textContent = node.getAttribute('password') != null ? '•'.repeat(value.length) : value;
      } else {
        span.textContent = node.getAttribute('placeholder') || '';
        span.className = 'mp-placeholder';
      }
      node.insertBefore(span, node.firstChild);
    });
    return copy.outerHTML;
  }

  resolveSrc(src) {
    if (/^(https?:|data:|file:)/.test(src)) return src;
    if (src.startsWith('//')) return `http:${src}`;
    if (src.startsWith('/')) return `file://${path.join(ROOT, src)}`;
    return src;
  }

  /** GET /api/v1<p> as the current persona (for the spec table's queries). */
  async get(p) {
    this.network.mode = 'live';
    return this.api.get(p);
  }
}

module.exports = { Renderer, pageRoutes, pageName, ROOT };
