const { endPullDown } = require('../../components/lib/pull-down');

beforeEach(() => {
  global.wx = { stopPullDownRefresh: jest.fn() };
});
afterEach(() => {
  delete global.wx;
});

test('stops the pull-down spinner once the reload is done, passing its value on', async () => {
  let finish;
  const work = new Promise((resolve) => {
    finish = resolve;
  });
  const done = endPullDown(work);
  await Promise.resolve();
  expect(wx.stopPullDownRefresh).not.toHaveBeenCalled();
  finish('loaded');
  await expect(done).resolves.toBe('loaded');
  expect(wx.stopPullDownRefresh).toHaveBeenCalledTimes(1);
});

test('stops it when the reload fails too, and the failure is not swallowed', async () => {
  const failure = new Error('offline');
  await expect(endPullDown(Promise.reject(failure))).rejects.toBe(failure);
  expect(wx.stopPullDownRefresh).toHaveBeenCalledTimes(1);
});

test('every page that can be pulled down (subpackages too) stops the spinner in its handler', () => {
  const fs = require('fs');
  const path = require('path');
  const root = path.join(__dirname, '..', '..');
  const app = JSON.parse(fs.readFileSync(path.join(root, 'app.json'), 'utf8'));
  const subs = app.subPackages || app.subpackages || [];
  const pages = app.pages.concat(...subs.map((sub) => sub.pages.map((page) => `${sub.root.replace(/\/$/, '')}/${page}`)));
  const missing = [];
  for (const page of pages) {
    const json = JSON.parse(fs.readFileSync(path.join(root, `${page}.json`), 'utf8'));
    if (!json.enablePullDownRefresh) continue;
    const js = fs.readFileSync(path.join(root, `${page}.js`), 'utf8');
    const handler = /onPullDownRefresh\(\)\s*\{([\s\S]*?)\n {4}\}/.exec(js);
    if (!handler || !/endPullDown\(/.test(handler[1])) missing.push(page);
  }
  expect(pages.length).toBeGreaterThan(20);
  expect(missing).toEqual([]);
});
