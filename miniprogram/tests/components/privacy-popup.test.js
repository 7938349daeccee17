const fs = require('fs');
const path = require('path');
const { fresh, flush, textOf, texts, tap, ROOT, appPages } = require('../pages/support/harness');
const { installPrivacy, CONTRACT } = require('../pages/support/privacy');

const DENIED = '需要同意隐私保护指引后才能使用该功能';

// The interfaces WeChat puts behind the privacy guide that this app may reach (camera and
// album, location and address, clipboard, files, phone number…). wx.scanCode opens the
// camera: listed so that a scanning page carries the pop-up too.
const PRIVACY_API = /\bwx\.(chooseMedia|chooseImage|chooseVideo|chooseMessageFile|saveImageToPhotosAlbum|saveVideoToPhotosAlbum|getLocation|chooseLocation|chooseAddress|choosePoi|startLocationUpdate|startLocationUpdateBackground|onLocationChange|getFuzzyLocation|setClipboardData|getClipboardData|scanCode|chooseInvoice|chooseInvoiceTitle|getWeRunData|addPhoneContact|startRecord|getRecorderManager|createCameraContext|chooseContact|getUserProfile)\b/;
const PRIVACY_OPEN_TYPE = /open-type="[^"]*(getPhoneNumber|getRealtimePhoneNumber|chooseAvatar)[^"]*"|<(camera|voip-room)\b|type="nickname"/;
// Location APIs that must also be declared in app.json's requiredPrivateInfos.
const REQUIRED_PRIVATE = ['getLocation', 'getFuzzyLocation', 'onLocationChange', 'startLocationUpdate', 'startLocationUpdateBackground', 'chooseLocation', 'choosePoi', 'chooseAddress'];

const read = (rel) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const exists = (rel) => fs.existsSync(path.join(ROOT, rel));
const app = JSON.parse(read('app.json'));
// Subpackage pages too: the live room and the salesperson's onboarding reach privacy APIs.
const pages = appPages();

/** Every source a page reaches: its own files, the modules they require, the components it
 * uses (and theirs). Paths relative to miniprogram/, without extension for components. */
function reachable(pageBase) {
  const files = new Set();
  const seenComponents = new Set();
  const addJs = (rel) => {
    if (files.has(rel) || !exists(rel)) return;
    files.add(rel);
    const re = /require\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;
    let m;
    const src = read(rel);
    while ((m = re.exec(src))) {
      let target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1]));
      if (!target.endsWith('.js')) target += '.js';
      addJs(target);
    }
  };
  const addComponent = (base) => {
    if (seenComponents.has(base)) return;
    seenComponents.add(base);
    addJs(`${base}.js`);
    if (exists(`${base}.wxml`)) files.add(`${base}.wxml`);
    const json = exists(`${base}.json`) ? JSON.parse(read(`${base}.json`)) : {};
    Object.values(json.usingComponents || {}).forEach((p) => {
      const abs = p.startsWith('/') ? p.slice(1) : path.posix.normalize(path.posix.join(path.posix.dirname(base), p));
      addComponent(abs);
    });
  };
  addComponent(pageBase);
  return Array.from(files);
}

function pagesReachingPrivacy() {
  return pages.filter((page) => reachable(page).some((f) => (f.endsWith('.js') ? PRIVACY_API : PRIVACY_OPEN_TYPE).test(read(f))));
}

describe('every page that reaches a privacy interface carries the pop-up', () => {
  test('the scan finds the pages known today (so it is not looking at nothing)', () => {
    expect(pagesReachingPrivacy().sort()).toEqual(expect.arrayContaining([
      'pages/catalog/index', // scanCode
      'pages/complaint-new/index', // chooseMedia
      'pages/invite/index', // saveImageToPhotosAlbum, setClipboardData
      'pages/join/index', // scanCode, chooseLocation
      'packageLive/pages/room/index', // setClipboardData
      'pages/login/index', // getPhoneNumber
      'pages/mall/index', // chooseAddress
      'packageSales/pages/onboard/index', // invite-card: saveImageToPhotosAlbum
      'packageDisplay/pages/check/index', // chooseMedia (camera only), getLocation
    ]));
  });

  test.each(pagesReachingPrivacy())('%s registers and renders <privacy-popup>', (page) => {
    const json = JSON.parse(read(`${page}.json`));
    expect(json.usingComponents['privacy-popup']).toBe('/components/privacy-popup/index');
    expect(read(`${page}.wxml`)).toMatch(/<privacy-popup\b[^>]*class="privacy-popup"/);
  });

  test('app.json turns the privacy check on and declares the location APIs it uses', () => {
    expect(app.__usePrivacyCheck__).toBe(true);
    const used = new Set();
    pages.forEach((page) => reachable(page).filter((f) => f.endsWith('.js')).forEach((f) => {
      const src = read(f);
      REQUIRED_PRIVATE.forEach((name) => {
        if (new RegExp(`\\bwx\\.${name}\\b`).test(src)) used.add(name);
      });
    }));
    expect(Array.from(used).sort()).toEqual(['chooseAddress', 'chooseLocation', 'getLocation']);
    used.forEach((name) => expect(app.requiredPrivateInfos).toContain(name));
    // wx.getLocation also asks for scope.userLocation: WeChat shows this reason in its dialog.
    expect(app.permission['scope.userLocation'].desc).toMatch(/陈列/);
  });

  test('a phone button also agrees to the guide, in one tap', () => {
    const buttons = [];
    pages.forEach((page) => {
      const wxml = read(`${page}.wxml`);
      (wxml.match(/<button\b[^>]*getPhoneNumber[^>]*>/g) || []).forEach((b) => buttons.push(b));
    });
    expect(buttons.length).toBeGreaterThan(0);
    buttons.forEach((b) => {
      expect(b).toMatch(/open-type="getPhoneNumber\|agreePrivacyAuthorization"/);
      expect(b).toMatch(/bindagreeprivacyauthorization="\w+"/);
      expect(b).toMatch(/\bid="[\w-]+"/);
    });
  });

  test('the pop-up\'s 同意 is WeChat\'s agreePrivacyAuthorization button; text ≥ 28rpx, buttons ≥ 88rpx', () => {
    const wxml = read('components/privacy-popup/index.wxml');
    expect(wxml).toMatch(/<button[^>]*open-type="agreePrivacyAuthorization"[^>]*bindagreeprivacyauthorization="onAgree"[^>]*>同意<\/button>/);
    const wxss = read('components/privacy-popup/index.wxss');
    const sizes = (wxss.match(/font-size:\s*[^;]+/g) || []).map((d) => d.replace(/font-size:\s*/, ''));
    expect(sizes.length).toBeGreaterThan(0);
    sizes.forEach((s) => {
      expect(s).toMatch(/^\d+rpx$/);
      expect(parseInt(s, 10)).toBeGreaterThanOrEqual(28);
    });
    const btn = /\.pp-btn\s*\{([^}]*)\}/.exec(wxss)[1];
    expect(parseInt(/min-height:\s*(\d+)rpx/.exec(btn)[1], 10)).toBeGreaterThanOrEqual(88);
  });
});

describe('the pop-up on its own', () => {
  let h;
  let gate;
  beforeEach(() => {
    h = fresh();
    gate = installPrivacy(h);
  });

  test('hidden until WeChat asks; shows the guide\'s name; 拒绝 answers disagree and hides', async () => {
    const popup = h.component('privacy-popup');
    await flush();
    expect(textOf(popup)).toBe('');
    expect(h.wx.onNeedPrivacyAuthorization).toHaveBeenCalledTimes(1);

    const answer = gate.ask('chooseMedia');
    await flush();
    expect(textOf(popup)).toContain(CONTRACT);
    expect(texts(popup, '.pp-btn')).toEqual(['拒绝', '同意']);
    await tap(popup, '.pp-disagree');
    await expect(answer).resolves.toEqual({ event: 'disagree' });
    expect(textOf(popup)).toBe('');
    expect(h.wx.openPrivacyContract).not.toHaveBeenCalled();
  });

  test('同意 answers agree with the button\'s id; the link opens the contract', async () => {
    const popup = h.component('privacy-popup');
    const answer = gate.ask('getLocation');
    await flush();
    await tap(popup, '.pp-link');
    expect(h.wx.openPrivacyContract).toHaveBeenCalledTimes(1);
    popup.querySelector('.pp-agree').dispatchEvent('agreeprivacyauthorization', { detail: {} });
    await expect(answer).resolves.toEqual({ buttonId: 'privacy-agree-btn', event: 'agree' });
    await flush();
    expect(textOf(popup)).toBe('');
  });

  test('the contract that does not open says so', async () => {
    h.wx.openPrivacyContract = h.wxAsync(() => Promise.reject({ errMsg: 'openPrivacyContract:fail' }));
    const popup = h.component('privacy-popup');
    gate.ask('chooseMedia');
    await flush();
    await tap(popup, '.pp-link');
    expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '隐私保护指引暂时打不开，请稍后重试' }));
  });
});

describe('components/lib/privacy', () => {
  let h;
  let privacy;
  let gate;
  beforeEach(() => {
    h = fresh();
    gate = installPrivacy(h);
    privacy = require('../../components/lib/privacy');
  });
  function handle() {
    const p = { shown: false, open: jest.fn(() => { p.shown = true; }), close: jest.fn(() => { p.shown = false; }), isOpen: () => p.shown };
    return p;
  }

  test('the pop-up of the page in front is the one shown; one answer closes them all', async () => {
    const behind = handle();
    const front = handle();
    privacy.register(behind);
    privacy.register(front);
    const first = gate.ask('chooseMedia');
    const second = gate.ask('chooseMedia');
    expect(front.open).toHaveBeenCalledTimes(1);
    expect(behind.open).not.toHaveBeenCalled();
    expect(privacy.pendingCount()).toBe(2);

    privacy.bringToFront(behind); // navigated back: the earlier page is in front again
    privacy.disagree();
    await expect(first).resolves.toEqual({ event: 'disagree' });
    await expect(second).resolves.toEqual({ event: 'disagree' });
    expect(front.shown || behind.shown).toBe(false);

    privacy.unregister(behind);
    gate.ask('chooseMedia');
    expect(front.open).toHaveBeenCalledTimes(2);
  });

  test('with no pop-up at all the call is refused, not left waiting, and the user told why', async () => {
    privacy.listen();
    await expect(gate.ask('chooseMedia')).resolves.toEqual({ event: 'disagree' });
    expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: DENIED }));
    expect(privacy.pendingCount()).toBe(0);
  });

  test('isDenied knows the refusal and nothing else', () => {
    expect(privacy.isDenied({ errMsg: 'chooseMedia:fail privacy permission is not authorized', errno: 104 })).toBe(true);
    expect(privacy.isDenied({ errno: 104 })).toBe(true);
    expect(privacy.isDenied({ errMsg: 'chooseMedia:fail cancel' })).toBe(false);
    expect(privacy.isDenied({ errMsg: 'saveImageToPhotosAlbum:fail auth deny' })).toBe(false);
    expect(privacy.isDenied(null)).toBe(false);
    expect(privacy.explainDenied({ errMsg: 'scanCode:fail cancel' })).toBe(false);
    expect(h.wx.showToast).not.toHaveBeenCalled();
  });

  test('without the privacy APIs (an old WeChat) nothing is registered and nothing breaks', () => {
    delete h.wx.onNeedPrivacyAuthorization;
    expect(privacy.listen()).toBe(false);
    privacy.register(handle());
  });
});
