jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, order, complaint, SUBSCRIPTION_TEMPLATES } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
});

// ---- filing -------------------------------------------------------------------------------

describe('我要投诉', () => {
  function withMedia(paths) {
    h.wx.chooseMedia = h.wxAsync((o) => ({ tempFiles: paths.slice(0, o.count).map((p) => ({ tempFilePath: p, fileType: 'image' })) }));
  }
  function withUploads(answer) {
    h.wx.uploadFile = jest.fn((o) => Promise.resolve().then(() => {
      const res = answer(o);
      if (res.fail) o.fail({ errMsg: 'uploadFile:fail' });
      else o.success(res);
    }));
  }
  async function openNew(options) {
    const page = h.page('complaint-new');
    await page.instance.onLoad(options || {});
    await flush();
    return page;
  }

  test('uploads the chosen photos to /complaints/photos and files with their ids, one key for a double tap', async () => {
    let photoId = 100;
    withMedia(['wxfile://a.jpg', 'wxfile://b.jpg']);
    withUploads(() => {
      photoId += 1;
      return { statusCode: 201, data: JSON.stringify({ id: photoId, url: `http://x/${photoId}.jpg`, width: 10, height: 10 }) };
    });
    h.wx.requestSubscribeMessage = h.wxAsync(() => ({ errMsg: 'requestSubscribeMessage:ok', 'TPL-C': 'accept' }));
    const filed = deferred();
    route(api, {
      'GET /orders': { items: [order(), order({ id: 41, order_no: 'O41' })], next_before: null },
      'GET /notifications/subscriptions': SUBSCRIPTION_TEMPLATES,
      'POST /notifications/subscriptions': { items: [] },
      'POST /complaints': () => filed.promise,
    });
    const page = await openNew({ order_id: '41' });
    expect(textOf(page)).toContain('O41');

    await tap(page, '.category', 1); // 货损
    page.instance.onText({ detail: { value: '  外壳破损，漏水  ' } });
    await tap(page, '.photo-add');
    await flush(6);
    const upload = h.wx.uploadFile.mock.calls[0][0];
    expect(upload.url).toBe('http://127.0.0.1:8000/api/v1/complaints/photos');
    expect(upload.name).toBe('file');
    expect(upload.filePath).toBe('wxfile://a.jpg');
    expect(upload.header.Authorization).toBe('Bearer access-1');
    expect(h.wx.uploadFile).toHaveBeenCalledTimes(2);
    expect(page.querySelectorAll('.photo-image')).toHaveLength(2);

    await tap(page, '.submit-btn');
    await tap(page, '.submit-btn');
    filed.resolve(complaint({ id: 77 }));
    await flush(6);

    expect(h.wx.requestSubscribeMessage).toHaveBeenCalledTimes(1);
    expect(h.wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['TPL-C']);
    expect(api.post).toHaveBeenCalledWith('/notifications/subscriptions', { accepted: ['TPL-C'], rejected: [] });
    const filings = api.post.mock.calls.filter((c) => c[0] === '/complaints');
    expect(filings).toEqual([[
      '/complaints',
      { category: 'damaged', text: '外壳破损，漏水', contact_preference: 'phone', photo_ids: [101, 102], order_id: 41 },
      { idempotencyKey: 'key-1' },
    ]]);
    expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/complaint/index?id=77' }));
  });

  test('asks for a category and a text before sending anything', async () => {
    route(api, { 'GET /orders': { items: [], next_before: null }, 'GET /notifications/subscriptions': SUBSCRIPTION_TEMPLATES });
    const page = await openNew();
    await tap(page, '.submit-btn');
    expect(texts(page, '.field-error')).toEqual(['请选择投诉类型', '请描述遇到的问题']);
    expect(api.post).not.toHaveBeenCalled();
  });

  test('a photo the server refuses shows its message, can be removed, and at most 9 are taken', async () => {
    withMedia(Array.from({ length: 12 }, (_, i) => `wxfile://${i}.jpg`));
    withUploads((o) =>
      o.filePath === 'wxfile://0.jpg'
        ? { statusCode: 422, data: JSON.stringify({ error: { code: 'complaint.not_a_photo', message: '只支持 JPEG、PNG、WebP 图片' } }) }
        : { statusCode: 201, data: JSON.stringify({ id: Number(o.filePath.replace(/\D/g, '')) + 200, url: 'u' }) },
    );
    route(api, { 'GET /orders': { items: [], next_before: null }, 'GET /notifications/subscriptions': SUBSCRIPTION_TEMPLATES });
    const page = await openNew();
    await tap(page, '.photo-add');
    await flush(20);
    expect(h.wx.chooseMedia.mock.calls[0][0].count).toBe(9);
    expect(page.querySelectorAll('.photo-image')).toHaveLength(9);
    expect(page.querySelectorAll('.photo-add')).toHaveLength(0);
    expect(texts(page, '.photo-retry')).toEqual(['失败，点此重试']);
    expect(page.instance.data.photos[0].message).toBe('只支持 JPEG、PNG、WebP 图片');

    await tap(page, '.category', 0);
    page.instance.onText({ detail: { value: '漏水' } });
    await tap(page, '.submit-btn');
    expect(texts(page, '.error-photos')).toEqual(['有图片上传失败，请重试或删除']);
    await tap(page, '.photo-remove', 0);
    expect(page.querySelectorAll('.photo-image')).toHaveLength(8);
    expect(page.querySelectorAll('.photo-add')).toHaveLength(1);
  });

  test('a refusal from the server is shown in Chinese; a lost answer keeps the key', async () => {
    const answers = [
      apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0),
      apiError(api.ApiError, 'complaint.order_not_yours', '所选订单不是本店的订单', 422),
      complaint({ id: 78 }),
    ];
    route(api, {
      'GET /orders': { items: [], next_before: null },
      'GET /notifications/subscriptions': { items: [] },
      'POST /complaints': () => answers.shift(),
    });
    const page = await openNew();
    await tap(page, '.category', 2);
    page.instance.onText({ detail: { value: '三天还没送到' } });
    await page.instance.onSubmit();
    expect(textOf(page)).toContain('网络不给力，请稍后重试');
    await page.instance.onSubmit();
    expect(texts(page, '.submit-error')).toEqual(['所选订单不是本店的订单']);
    await page.instance.onSubmit();
    expect(api.post.mock.calls.map((c) => c[2].idempotencyKey)).toEqual(['key-1', 'key-1', 'key-2']);
    expect(api.post.mock.calls[0][1]).toEqual({ category: 'delivery', text: '三天还没送到', contact_preference: 'phone', photo_ids: [] });
  });
});

// ---- issue 23: the 相关订单 card's own states ------------------------------------------------

const ux = require('./support/harness');

test('我要投诉: the orders card shows a skeleton, then an error with 重试 that loads them again', async () => {
  const first = deferred();
  let orders = () => first.promise;
  route(api, {
    'GET /orders': () => orders(),
    'GET /notifications/subscriptions': SUBSCRIPTION_TEMPLATES,
  });
  const page = h.page('complaint-new');
  const loading = page.instance.onLoad({ order_id: '42' });
  await flush();
  expect(page.data.ordersStatus).toBe('loading');
  expect(page.querySelector('.orders-state').querySelectorAll('.sk-row')).toHaveLength(2);
  expect(page.querySelectorAll('.order-picker')).toHaveLength(0);
  first.reject(apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0));
  await loading;
  await flush();
  expect(textOf(page)).toContain('网络不给力，请稍后重试；也可以不关联订单直接提交');
  expect(page.querySelectorAll('.order-picker')).toHaveLength(0);

  orders = () => ({ items: [order()], next_before: null });
  await ux.tapRetry(page, '.orders-state');
  expect(page.data.ordersStatus).toBe('ready');
  expect(page.querySelectorAll('.order-picker')).toHaveLength(1);
  expect(page.data.orderIndex).toBe(1); // the order the page was opened for
});
