/**
 * The code packages stay within what WeChat accepts and what we leave room for (issue 23):
 * main package < 1.5 MB, each subpackage < 2 MB, all < 20 MB; no file loads what its package
 * may not; every page of app.json is there. Sizes are counted by tools/package-size.js, the
 * same code `npm run size` prints.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const {
  ROOT, LIMITS, appPages, packageSizes, referenceProblems, sizeTable, uploadedFiles,
} = require('../../tools/package-size');

const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));

describe('the packages as uploaded', () => {
  const sizes = packageSizes();

  test('fit their limits (sizes printed for the notes)', () => {
    // eslint-disable-next-line no-console
    console.log(`mini-program packages (before the tools minify):\n${sizeTable()}`);
    expect(sizes.main.bytes).toBeLessThan(LIMITS.main);
    sizes.subpackages.forEach((s) => expect([s.root, s.bytes < LIMITS.subpackage]).toEqual([s.root, true]));
    expect(sizes.total).toBeLessThan(LIMITS.total);
  });

  test('split as app.json says: salesperson pages, the live room, the display, the code and the consumer pages outside the main package', () => {
    expect(sizes.subpackages.map((s) => s.root)).toEqual(['packageSales', 'packageLive', 'packageDisplay', 'packageCodes', 'packageConsumer']);
    const sales = sizes.subpackages[0].files;
    const live = sizes.subpackages[1].files;
    const display = sizes.subpackages[2].files;
    expect(sales).toEqual(expect.arrayContaining(['packageSales/pages/home/index.js', 'packageSales/lib/sales.js', 'packageSales/pages/display-review/index.js']));
    expect(live).toEqual(expect.arrayContaining(['packageLive/pages/room/index.wxml', 'packageLive/utils/realtime.js']));
    expect(display).toEqual(expect.arrayContaining(['packageDisplay/pages/programs/index.js', 'packageDisplay/pages/check/index.js']));
    const codes = sizes.subpackages[3].files;
    expect(codes).toEqual(expect.arrayContaining(['packageCodes/pages/open/index.js', 'packageCodes/pages/scan/index.js', 'packageCodes/pages/stock/index.js']));
    const consumer = sizes.subpackages[4].files;
    expect(consumer).toEqual(expect.arrayContaining(['packageConsumer/pages/check/index.js', 'packageConsumer/pages/coupons/index.js', 'packageConsumer/lib/uqr.js']));
    expect(sizes.main.files).toEqual(expect.arrayContaining(['app.js', 'app.json', 'pages/home/index.js', 'images/tab/home.png']));
    expect(sizes.main.files.filter((f) => /^package/.test(f))).toEqual([]);
  });

  test('leave out what is not shipped: tests, tools, npm files, notes, project settings', () => {
    const files = uploadedFiles().map((f) => f.path);
    expect(files.filter((f) => /^(tests|tools|node_modules)\//.test(f))).toEqual([]);
    ['package.json', 'package-lock.json', 'project.config.json', 'README.md'].forEach((f) => expect(files).not.toContain(f));
    expect(files).toContain('sitemap.json');
  });

  test('no file loads a missing file or one in a package it may not load', () => {
    expect(referenceProblems()).toEqual([]);
  });

  test('every page of app.json, subpackages included, has its four files', () => {
    expect(appPages()).toHaveLength(app.pages.length + app.subPackages.reduce((n, s) => n + s.pages.length, 0));
    const missing = appPages().flatMap((page) => ['js', 'json', 'wxml', 'wxss']
      .map((ext) => `${page}.${ext}`)
      .filter((file) => !fs.existsSync(path.join(ROOT, file))));
    expect(missing).toEqual([]);
  });

  test('preloads each subpackage from the pages that lead to it, on any network', () => {
    const roots = app.subPackages.map((s) => s.root);
    Object.entries(app.preloadRule).forEach(([page, rule]) => {
      expect(app.pages).toContain(page);
      expect(rule.network).toBe('all');
      rule.packages.forEach((p) => expect(roots).toContain(p));
    });
    expect(app.preloadRule['pages/login/index'].packages).toContain('packageSales');
    expect(app.preloadRule['pages/home/index'].packages).toContain('packageLive');
    expect(app.preloadRule['pages/live-list/index'].packages).toContain('packageLive');
    expect(app.preloadRule['pages/mine/index'].packages).toContain('packageDisplay');
    expect(app.preloadRule['pages/mine/index'].packages).toContain('packageCodes');
    expect(app.lazyCodeLoading).toBe('requiredComponents');
  });
});

describe('the counting itself, on a made-up project', () => {
  let dir;
  const write = (rel, text) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-size-'));
    write('project.config.json', JSON.stringify({
      packOptions: { ignore: [{ type: 'folder', value: 'tests' }, { type: 'file', value: 'package.json' }, { type: 'suffix', value: '.map' }] },
    }));
    write('app.json', JSON.stringify({ pages: ['pages/a/index'], subPackages: [{ root: 'pkgA', pages: ['pages/x/index'] }, { root: 'pkgB', pages: ['p/index'] }] }));
    write('pages/a/index.js', "require('../../util');\n");
    write('util.js', 'x'.repeat(100));
    write('pkgA/pages/x/index.js', "require('../../../util');\n");
    write('pkgA/pages/x/index.json', JSON.stringify({ usingComponents: { c: '/comp/index' } }));
    write('comp/index.js', '');
    write('pkgB/p/index.js', '');
    write('tests/a.test.js', 'x'.repeat(1000));
    write('package.json', '{}');
    write('util.js.map', 'x'.repeat(1000));
    write('notes.md', 'x'.repeat(1000));
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('counts each file once, in its own package, and nothing ignored', () => {
    const { main, subpackages, total } = packageSizes(dir);
    expect(main.files).toEqual(['app.json', 'comp/index.js', 'pages/a/index.js', 'util.js']);
    expect(subpackages.map((s) => s.files)).toEqual([['pkgA/pages/x/index.js', 'pkgA/pages/x/index.json'], ['pkgB/p/index.js']]);
    expect(total).toBe(main.bytes + subpackages[0].bytes + subpackages[1].bytes);
    const bytes = (files) => files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    expect(main.bytes).toBe(bytes(main.files));
    expect(subpackages[0].bytes).toBe(bytes(subpackages[0].files));
    expect(referenceProblems(dir)).toEqual([]);
  });

  test('finds the main package or another subpackage reaching in, and missing files', () => {
    write('pages/a/index.js', "require('../../pkgA/pages/x/index');\nrequire('./gone');\n");
    write('pages/a/index.json', JSON.stringify({ usingComponents: { y: '../../pkgB/p/index' } }));
    write('pkgB/p/index.js', "require('../../pkgA/pages/x/index.js');\n");
    expect(referenceProblems(dir)).toEqual([
      'pages/a/index.js: ../../pkgA/pages/x/index is in pkgA, which the main package may not load',
      'pages/a/index.js: ./gone does not exist',
      'pages/a/index.json: ../../pkgB/p/index is in pkgB, which the main package may not load',
      'pkgB/p/index.js: ../../pkgA/pages/x/index.js is in pkgA, which pkgB may not load',
    ]);
  });
});
