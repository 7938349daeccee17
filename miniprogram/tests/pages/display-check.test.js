jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const fx = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  fx.signInAsStore();
});
afterEach(() => jest.restoreAllMocks());

let shots = 0;
/** The camera: each call hands back one new photo. */
function withCamera() {
  h.wx.chooseMedia = h.wxAsync(() => {
    shots += 1;
    return { tempFiles: [{ tempFilePath: `wxfile://shot-${shots}.jpg`, fileType: 'image', size: 200000 }] };
  });
}
function withLocation(answer) {
  h.wx.getLocation = h.wxAsync(() => (answer instanceof Error ? Promise.reject({ errMsg: 'getLocation:fail auth deny' }) : answer));
}
/** wx.uploadFile answered by `answer(options)`: {statusCode, data} or {fail: true}; reports progress. */
function withUploads(answer) {
  h.wx.uploadFile = jest.fn((o) => {
    const task = { onProgressUpdate: jest.fn((cb) => { task.progress = cb; }) };
    Promise.resolve().then(() => {
      if (task.progress) task.progress({ progress: 50, totalBytesSent: 100000, totalBytesExpectedToSend: 200000 });
      const res = answer(o);
      if (res.fail) o.fail({ errMsg: 'uploadFile:fail' });
      else o.success(Object.assign({}, res, { data: JSON.stringify(res.data) }));
    });
    return task;
  });
}
let photoIds = 100;
function uploaded(o) {
  photoIds += 1;
  return { statusCode: 201, data: { id: photoIds, url: `https://img.example.com/display/3/${photoIds}.jpg`, width: 1280, height: 960, taken_at: new Date(Number(o.formData.taken_at)).toISOString() } };
}

async function open(routes, detail) {
  route(api, Object.assign({ 'GET /display/mine/9': detail || fx.signingDetail() }, routes));
  const page = h.page('packageDisplay/pages/check');
  await page.instance.onLoad({ signing: '9', check: '203' });
  await flush();
  return page;
}

async function take(page, times) {
  for (let i = 0; i < times; i += 1) {
    // eslint-disable-next-line no-await-in-loop
    await tap(page, '.photo-add');
    // eslint-disable-next-line no-await-in-loop
    await flush(6);
  }
}

test('the check, its window and the standard with samples; the camera only, never the album', async () => {
  withCamera();
  withLocation({ latitude: 39.9042, longitude: 116.4074, accuracy: 20 });
  withUploads(uploaded);
  const page = await open();
  expect(api.get).toHaveBeenCalledWith('/display/mine/9');
  expect(texts(page, '.title')).toEqual(['冬季净水器端架陈列 · 第 3 次检查']);
  expect(texts(page, '.window')).toEqual(['拍照时间：01-19 08:00 至 01-22 08:00']);
  expect(texts(page, '.deadline')).toEqual(['请在 01-22 08:00 前提交']);
  expect(textOf(page)).toContain('端架第一层整排陈列 RO 净水器');
  expect(page.querySelectorAll('.sample')).toHaveLength(2);
  expect(textOf(page)).toContain('拍照（需 2 张，已拍 0 张）');
  expect(textOf(page)).toContain('不能从相册选择');

  jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-01-19T02:30:00Z'));
  await take(page, 1);
  const asked = h.wx.chooseMedia.mock.calls[0][0];
  expect(asked).toEqual(expect.objectContaining({ count: 1, mediaType: ['image'], sourceType: ['camera'], sizeType: ['compressed'] }));
  expect(asked.sourceType).not.toContain('album');
  expect(h.wx.getLocation.mock.calls[0][0].type).toBe('gcj02');

  const upload = h.wx.uploadFile.mock.calls[0][0];
  expect(upload.url).toBe('http://127.0.0.1:8000/api/v1/display/photos');
  expect(upload.name).toBe('file');
  expect(upload.filePath).toBe(`wxfile://shot-${shots}.jpg`);
  expect(upload.header.Authorization).toBe('Bearer access-1');
  expect(upload.formData).toEqual({ taken_at: String(Date.parse('2026-01-19T02:30:00Z')), latitude: '39.9042', longitude: '116.4074' });
  expect(texts(page, '.photo-time')).toEqual(['01-19 10:30 拍摄']);
  expect(page.instance.data.noLocation).toBe(false);
});

test('exactly the photos required, uploaded with progress, then one submission for a double tap: passed with its reward', async () => {
  withCamera();
  withLocation({ latitude: 39.9042, longitude: 116.4074 });
  const first = deferred();
  let calls = 0;
  withUploads((o) => {
    calls += 1;
    return uploaded(o);
  });
  const submitted = deferred();
  h.wx.requestSubscribeMessage = h.wxAsync(() => ({ errMsg: 'requestSubscribeMessage:ok', 'TPL-D': 'reject' }));
  const page = await open({
    'POST /display/checks/203/submissions': () => submitted.promise,
    'GET /notifications/subscriptions': { items: [{ kind: 'display_reminder', template_id: 'TPL-D', title: '陈列检查提醒', remaining: 0 }] },
    'POST /notifications/subscriptions': { items: [] },
  });

  // The first photo's upload is held: its progress shows.
  const realUpload = h.wx.uploadFile.getMockImplementation();
  h.wx.uploadFile.mockImplementationOnce((o) => {
    const task = { onProgressUpdate: jest.fn((cb) => { task.progress = cb; }) };
    Promise.resolve().then(() => task.progress({ progress: 40 }));
    first.promise.then(() => o.success({ statusCode: 201, data: JSON.stringify({ id: 150, url: 'u', width: 1, height: 1, taken_at: '' }) }));
    return task;
  });
  await take(page, 1);
  expect(texts(page, '.photo-mask')).toEqual(['上传中 40%']);
  await tap(page, '.submit-btn');
  expect(texts(page, '.submit-error')).toEqual(['照片还在上传，请稍候']);
  first.resolve();
  await flush(4);
  h.wx.uploadFile.mockImplementation(realUpload);

  await tap(page, '.submit-btn');
  expect(texts(page, '.submit-error')).toEqual(['还需拍 1 张照片']);
  await take(page, 1);
  expect(calls).toBe(1);
  // Two taken: no more room to add one.
  expect(page.querySelectorAll('.photo-add')).toHaveLength(0);
  expect(textOf(page)).toContain('已拍 2 张');

  await tap(page, '.submit-btn');
  await tap(page, '.submit-btn');
  submitted.resolve(fx.displaySubmission({ id: 70, check_id: 203, check_seq: 3, status: 'passed', verdict: 'passed', reasons: [], reward: fx.displayReward({ check_seq: 3 }) }));
  await flush(4);
  expect(h.wx.requestSubscribeMessage.mock.calls.map((c) => c[0].tmplIds)).toEqual([['TPL-D']]);
  expect(api.post.mock.calls).toEqual([
    ['/notifications/subscriptions', { accepted: [], rejected: ['TPL-D'] }],
    ['/display/checks/203/submissions', { photo_ids: [150, photoIds] }, { idempotencyKey: 'key-1' }],
  ]);
  expect(texts(page, '.result-title')).toEqual(['检查通过']);
  expect(texts(page, '.result-text')).toEqual(['获得奖励：兑换券 1 张（价值 ¥30.00）']);
  expect(page.querySelectorAll('.retake-btn')).toHaveLength(0);
  expect(page.querySelectorAll('.submit-btn')).toHaveLength(0);
  await tap(page, '.back-btn');
  expect(h.wx.navigateBack).toHaveBeenCalled();
});

test('location refused: the page says the check goes to a person, and the photo goes without it', async () => {
  withCamera();
  withLocation(new Error('denied'));
  withUploads(uploaded);
  const page = await open({
    'POST /display/checks/203/submissions': fx.displaySubmission({ reasons: [{ code: 'no_location', message: '照片没有位置信息，转人工审核', photo_id: 101 }, { code: 'needs_person', message: '需要人工审核照片内容', photo_id: null }] }),
  });
  await take(page, 2);
  expect(textOf(page)).toContain('未能获取位置：没有位置的照片会转人工审核，仍可继续拍照提交。');
  expect(h.wx.uploadFile.mock.calls[0][0].formData).toEqual({ taken_at: expect.stringMatching(/^\d+$/) });
  h.wx.openSetting = jest.fn();
  await tap(page, '.open-setting');
  expect(h.wx.openSetting).toHaveBeenCalled();

  await tap(page, '.submit-btn');
  expect(texts(page, '.result-title')).toEqual(['已提交，等待审核']);
  expect(texts(page, '.result-reason')).toEqual(['· 照片没有位置信息，转人工审核', '· 需要人工审核照片内容']);
});

test('the photo shows at once while the phone finds where it is; removed meanwhile, it is not uploaded', async () => {
  withCamera();
  withUploads(uploaded);
  const where = deferred();
  h.wx.getLocation = jest.fn((o) => {
    where.promise.then(() => o.success({ latitude: 39.9, longitude: 116.4 }));
  });
  const page = await open();
  await take(page, 1);
  expect(texts(page, '.photo-mask')).toEqual(['定位中…']);
  await tap(page, '.submit-btn');
  expect(texts(page, '.submit-error')).toEqual(['照片还在上传，请稍候']);
  await tap(page, '.photo-remove');
  where.resolve();
  await flush(4);
  expect(h.wx.uploadFile).not.toHaveBeenCalled();
  expect(page.instance.data.photos).toEqual([]);
});

test('a failed upload shows why and can be retried or removed', async () => {
  withCamera();
  withLocation({ latitude: 39.9, longitude: 116.4 });
  let refuse = true;
  withUploads((o) => {
    if (refuse) {
      return { statusCode: 400, data: { error: { code: 'display.not_an_image', message: '上传的文件不是图片' } } };
    }
    return uploaded(o);
  });
  const page = await open();
  await take(page, 1);
  expect(texts(page, '.photo-retry')).toEqual(['失败，点此重试']);
  expect(texts(page, '.photo-error')).toEqual(['第 1 张：上传的文件不是图片']);
  await tap(page, '.submit-btn');
  expect(texts(page, '.submit-error')).toEqual(['有照片上传失败，请重试或删除']);

  refuse = false;
  await tap(page, '.photo-retry');
  await flush(4);
  expect(page.instance.data.photos[0]).toEqual(expect.objectContaining({ status: 'done', progress: 100 }));
  expect(h.wx.uploadFile).toHaveBeenCalledTimes(2);
  // The same capture time and place go again with the retry.
  expect(h.wx.uploadFile.mock.calls[1][0].formData).toEqual(h.wx.uploadFile.mock.calls[0][0].formData);

  await tap(page, '.photo-remove');
  expect(page.querySelectorAll('.photo-image')).toHaveLength(0);
  expect(page.querySelectorAll('.photo-add')).toHaveLength(1);
});

test('failed: each reason in Chinese and 重新拍照 for new photos under a new key', async () => {
  withCamera();
  withLocation({ latitude: 39.9, longitude: 116.4 });
  withUploads(uploaded);
  const answers = [
    fx.displaySubmission({
      status: 'failed',
      verdict: 'failed',
      reasons: [
        { code: 'too_far', message: '拍摄地点距门店约 1.2 公里，超出 300 米', photo_id: 101 },
        { code: 'blurred', message: '照片模糊，请对焦后重拍', photo_id: 102 },
      ],
    }),
    fx.displaySubmission({ id: 71, attempt: 2 }),
  ];
  const page = await open({ 'POST /display/checks/203/submissions': () => answers.shift() });
  await take(page, 2);
  await tap(page, '.submit-btn');
  expect(texts(page, '.result-title')).toEqual(['未通过']);
  expect(texts(page, '.result-reason')).toEqual(['· 拍摄地点距门店约 1.2 公里，超出 300 米', '· 照片模糊，请对焦后重拍']);
  await tap(page, '.retake-btn');
  expect(page.querySelectorAll('.photo-image')).toHaveLength(0);
  await take(page, 2);
  await tap(page, '.submit-btn');
  expect(texts(page, '.result-title')).toEqual(['已提交，等待审核']);
  const posts = api.post.mock.calls;
  expect(posts.map((c) => c[2].idempotencyKey)).toEqual(['key-1', 'key-2']);
  expect(posts[0][1].photo_ids).not.toEqual(posts[1][1].photo_ids);
});

test.each([
  ['display.window_closed', '不在本次检查的拍照时间内'],
  ['display.already_submitted', '本次检查已提交，请勿重复提交'],
  ['display.photo_not_found', '有照片已失效，请删除后重新拍摄'],
])('%s is said in Chinese, nothing else changes', async (code, shown) => {
  withCamera();
  withLocation({ latitude: 39.9, longitude: 116.4 });
  withUploads(uploaded);
  const page = await open({ 'POST /display/checks/203/submissions': apiError(api.ApiError, code, 'x', 409) });
  await take(page, 2);
  await tap(page, '.submit-btn');
  expect(texts(page, '.submit-error')).toEqual([shown]);
  expect(page.instance.data.result).toBe(null);
  expect(page.querySelectorAll('.photo-image')).toHaveLength(2);
});

test('a check that cannot take photos now says why; a cancelled camera does nothing', async () => {
  const detail = fx.signingDetail();
  detail.checks[2] = fx.storeCheck(3, { state: 'review', attempts: 1, submission: fx.displaySubmission() });
  const page = await open({}, detail);
  expect(texts(page, '.closed-note')).toEqual(['本次检查已提交，正在审核']);
  expect(page.querySelectorAll('.photo-add')).toHaveLength(0);
  expect(page.querySelectorAll('.submit-btn')).toHaveLength(0);

  h = fresh();
  api = require('../../utils/api');
  fx.signInAsStore();
  h.wx.chooseMedia = h.wxAsync(() => Promise.reject({ errMsg: 'chooseMedia:fail cancel' }));
  h.wx.getLocation = jest.fn();
  h.wx.uploadFile = jest.fn();
  const again = await open();
  await tap(again, '.photo-add');
  await flush();
  expect(h.wx.getLocation).not.toHaveBeenCalled();
  expect(h.wx.uploadFile).not.toHaveBeenCalled();
  expect(h.wx.showToast).not.toHaveBeenCalled();
});

test('a check not of this signing, or a failed load, shows an error with 重试', async () => {
  let answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  route(api, { 'GET /display/mine/9': () => answer });
  const page = h.page('packageDisplay/pages/check');
  await page.instance.onLoad({ signing: '9', check: '999' });
  await flush();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  answer = fx.signingDetail();
  await tapRetry(page);
  expect(textOf(page)).toContain('没有找到这次检查');
});

test('trying again after a refusal: the reasons of the last attempt come first', async () => {
  const detail = fx.signingDetail();
  detail.checks[2] = fx.storeCheck(3, {
    state: 'open',
    can_submit: true,
    attempts: 1,
    submission: fx.displaySubmission({ status: 'rejected', verdict: 'review', reasons: [], review_reason: '价签没有朝外' }),
  });
  const page = await open({}, detail);
  expect(texts(page, '.last-reason')).toEqual(['· 审核意见：价签没有朝外']);
  expect(page.querySelectorAll('.photo-add')).toHaveLength(1);
});
