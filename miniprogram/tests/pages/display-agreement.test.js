jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const fx = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  fx.signInAsStore();
});

async function open(routes) {
  route(api, routes);
  const page = h.page('packageDisplay/pages/agreement');
  await page.instance.onLoad({ id: '9' });
  await flush();
  return page;
}

test('the signed agreement as a document: parties, signer, time, version, text and the terms signed', async () => {
  const page = await open({ 'GET /display/signings/9/document': fx.signingDocument() });
  expect(api.get).toHaveBeenCalledWith('/display/signings/9/document');
  expect(texts(page, '.doc-title')).toEqual(['陈列协议']);
  expect(texts(page, '.doc-program')).toEqual(['冬季净水器端架陈列']);
  expect(texts(page, '.party-brand')).toEqual(['澜泉净水']);
  expect(texts(page, '.party-store')).toEqual(['赵记水站']);
  expect(texts(page, '.signer')).toEqual(['赵大海 138****0003']);
  expect(texts(page, '.signed-at')).toEqual(['2026-01-02 10:00']);
  expect(texts(page, '.version')).toEqual(['第 1 版']);
  expect(texts(page, '.text')[0]).toContain('三、检查通过后甲方按约定发放奖励。');
  expect(texts(page, '.term-label')).toEqual(['陈列标准', '陈列商品', '检查安排', '拍摄地点', '每次检查通过', '全部检查通过']);
  const terms = texts(page, '.term-text');
  expect(terms[1]).toBe('RO 净水器 标准款、PP 滤芯 10寸');
  expect(terms[2]).toBe('共 8 次检查，每次拍 2 张照片；第 1 次 01-05 08:00 至 01-08 08:00，最后一次 02-23 08:00 至 02-26 08:00');
  expect(terms[3]).toBe('门店周边 300 米以内');
  expect(terms[4]).toBe('兑换券 1 张（价值 ¥30.00）');
  expect(textOf(page)).not.toMatch(/undefined|null/);
});

test('a document that is not this store\'s: the server\'s words with 重试', async () => {
  let answer = apiError(api.ApiError, 'display.signing_not_found', '没有找到该签约', 404);
  const page = await open({ 'GET /display/signings/9/document': () => answer });
  expect(textOf(page)).toContain('没有找到该签约');
  answer = fx.signingDocument({ terms: fx.displayTerms({ completion_reward: null }) });
  await tapRetry(page);
  expect(texts(page, '.term-label')).not.toContain('全部检查通过');
});
