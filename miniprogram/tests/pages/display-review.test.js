jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const fx = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  fx.signInAsStore({ identity: { user_id: 9, role: 'salesperson', membership_id: 21, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 4 } });
});

async function open(routes) {
  route(api, routes);
  const page = h.page('packageSales/pages/display-review');
  await page.instance.onLoad({});
  await flush();
  return page;
}

const QUEUE = {
  items: [
    fx.reviewItem(),
    fx.reviewItem({
      id: 62,
      attempt: 2,
      store: { id: 4, name: '钱记超市', address: '', latitude: null, longitude: null },
      photos: [fx.displayPhoto({ id: 110, latitude: null, longitude: null, distance_m: null }), fx.displayPhoto({ id: 111, distance_m: 1240 })],
      reasons: [{ code: 'too_far', message: '拍摄地点距门店约 1.2 公里，超出 300 米', photo_id: 111 }],
    }),
  ],
  next_before: null,
};

test('the queue: store, program, check, the samples beside the photos, distances and reasons', async () => {
  const page = await open({ 'GET /display/sales/reviews': QUEUE });
  expect(api.get).toHaveBeenCalledWith('/display/sales/reviews', { limit: 20 });
  expect(texts(page, '.item-store')).toEqual(['赵记水站', '钱记超市']);
  expect(texts(page, '.item-program')).toEqual(['冬季净水器端架陈列', '冬季净水器端架陈列']);
  expect(textOf(page)).toContain('第 1 次检查 · 01-05 08:00 至 01-08 08:00');
  expect(textOf(page)).toContain('01-05 10:01 提交（第 2 次提交）');
  expect(texts(page, '.photo-note')).toEqual([
    '01-05 10:00 拍摄 · 距门店约 120 米',
    '01-05 10:00 拍摄 · 距门店约 120 米',
    '01-05 10:00 拍摄 · 无位置',
    '01-05 10:00 拍摄 · 距门店约 1.2 公里',
  ]);
  expect(texts(page, '.reason')).toEqual(['· 需要人工审核照片内容', '· 拍摄地点距门店约 1.2 公里，超出 300 米']);
  h.wx.previewImage = jest.fn();
  await tap(page, '.photo .thumb', 3);
  expect(h.wx.previewImage).toHaveBeenCalledWith({
    urls: ['https://img.example.com/display/3/101.jpg', 'https://img.example.com/display/3/101.jpg'],
    current: 'https://img.example.com/display/3/101.jpg',
  });
});

test('通过 passes it on to the brand once, even tapped twice; the row is marked, not removed', async () => {
  const approved = deferred();
  const page = await open({ 'GET /display/sales/reviews': QUEUE, 'POST /display/submissions/61/approve': () => approved.promise });
  await tap(page, '.approve-btn', 0);
  await tap(page, '.approve-btn', 0);
  approved.resolve(fx.displaySubmission({ first_review: 'approved' }));
  await flush(4);
  expect(api.post.mock.calls).toEqual([['/display/submissions/61/approve', { note: '' }]]);
  expect(texts(page, '.decided')).toEqual(['已初审通过，等待品牌审核']);
  expect(page.querySelectorAll('.item')).toHaveLength(2);
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已通过' }));
});

test('驳回 needs a reason of 2 to 200 characters, then sends it', async () => {
  const page = await open({ 'GET /display/sales/reviews': QUEUE, 'POST /display/submissions/62/reject': fx.displaySubmission({ id: 62, status: 'rejected' }) });
  await tap(page, '.reject-btn', 1);
  expect(page.querySelectorAll('.reason-input')).toHaveLength(1);
  await tap(page, '.confirm-reject-btn');
  expect(texts(page, '.reason-error')).toEqual(['请填写驳回原因（2–200 个字）']);
  page.instance.onReason({ currentTarget: { dataset: { id: 62 } }, detail: { value: '  照片不是在本店拍的 ' } });
  await tap(page, '.confirm-reject-btn');
  expect(api.post).toHaveBeenCalledWith('/display/submissions/62/reject', { reason: '照片不是在本店拍的' });
  expect(texts(page, '.decided')).toEqual(['已驳回，门店可在拍照时间内重新拍照']);
  // 取消 folds the form back without sending anything.
  await tap(page, '.reject-btn', 0);
  await tap(page, '.cancel-btn');
  expect(page.querySelectorAll('.reason-input')).toHaveLength(0);
  expect(api.post).toHaveBeenCalledTimes(1);
});

test('decided by someone else meanwhile: said in Chinese and the row marked', async () => {
  const page = await open({
    'GET /display/sales/reviews': QUEUE,
    'POST /display/submissions/61/approve': apiError(api.ApiError, 'display.already_reviewed', '该照片已被审核', 409),
  });
  await tap(page, '.approve-btn', 0);
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该照片已被审核' }));
  expect(texts(page, '.decided')).toEqual(['已被他人审核']);
});

test('nothing to review says so; a failure has 重试; only a salesperson gets here', async () => {
  let answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  const page = await open({ 'GET /display/sales/reviews': () => answer });
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  answer = { items: [], next_before: null };
  await tapRetry(page);
  expect(textOf(page)).toContain('暂时没有待初审的陈列照片');

  h = fresh();
  api = require('../../utils/api');
  fx.signInAsStore();
  const other = h.page('packageSales/pages/display-review');
  await other.instance.onLoad({});
  expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login/index' }));
  expect(api.get).not.toHaveBeenCalled();
});

