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

test('every page that can be pulled down has a handler that goes through endPullDown', () => {
  const fs = require('fs');
  const path = require('path');
  const pages = path.join(__dirname, '..', '..', 'pages');
  const missing = [];
  for (const name of fs.readdirSync(pages)) {
    const json = path.join(pages, name, 'index.json');
    if (!fs.existsSync(json) || !JSON.parse(fs.readFileSync(json, 'utf8')).enablePullDownRefresh) continue;
    const js = fs.readFileSync(path.join(pages, name, 'index.js'), 'utf8');
    const handler = /onPullDownRefresh\(\)\s*\{([\s\S]*?)\n    \}/.exec(js);
    if (!handler || !/endPullDown\(|stopPullDownRefresh/.test(handler[1])) missing.push(name);
  }
  expect(missing).toEqual([]);
});
