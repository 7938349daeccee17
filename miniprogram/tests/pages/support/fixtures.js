/** Answers shaped like the server's views (backend/<domain>/service.py), for page tests. */

function storeSession(overrides) {
  return Object.assign(
    {
      access_token: 'access-1',
      refresh_token: 'refresh-1',
      token_type: 'Bearer',
      expires_in: 900,
      identity: {
        user_id: 7,
        role: 'store_owner',
        membership_id: 11,
        brand_id: 1,
        distributor_id: 2,
        store_id: 3,
        salesperson_id: null,
      },
    },
    overrides || {},
  );
}

/** Save a signed-in store owner (the real utils/session over the harness's storage). */
function signInAsStore(overrides) {
  require('../../../utils/session').saveSession(storeSession(overrides));
}

function sku(overrides) {
  return Object.assign(
    {
      id: 1,
      product_id: 10,
      name: '标准款',
      spec: '5级过滤',
      unit: '台',
      barcode: '6901234567890',
      list_price_fen: 180000,
      case_size: 1,
      min_order_qty: 1,
      is_active: true,
      product_name: 'RO 净水器',
      category_id: 1,
      sold_here: true,
      stock: 50,
      unit_price_fen: 150000,
      price_tiers: [
        { min_qty: 1, unit_price_fen: 150000 },
        { min_qty: 10, unit_price_fen: 140000 },
      ],
    },
    overrides || {},
  );
}

function quoteLine(overrides) {
  return Object.assign(
    {
      sku_id: 1,
      product_name: 'RO 净水器',
      sku_name: '标准款',
      product_id: 10,
      unit: '台',
      case_size: 1,
      min_order_qty: 1,
      quantity: 2,
      list_unit_price_fen: 180000,
      unit_price_fen: 150000,
      price_source: 'tier',
      list_amount_fen: 360000,
      discount_fen: 60000,
      payable_fen: 300000,
      available_stock: 50,
      orderable: true,
      problems: [],
    },
    overrides || {},
  );
}

/** A priced cart or quote (ordering.service.priced_view). */
function priced(overrides) {
  return Object.assign(
    {
      lines: [quoteLine()],
      list_amount_fen: 360000,
      discount_fen: 90000,
      payable_fen: 270000,
      orderable: true,
      rounding: 'half-up',
      problems: [],
      promotion_discount_fen: 30000,
      promotions: {
        list_amount_fen: 360000,
        before_promotions_fen: 300000,
        promotion_discount_fen: 30000,
        payable_fen: 270000,
        points_earned: 2700,
        rebate_fen: 0,
        lines: [
          {
            sku_id: 1,
            quantity: 2,
            gift: false,
            gift_promotion_id: null,
            list_unit_price_fen: 180000,
            unit_price_fen: 150000,
            before_promotions_fen: 300000,
            payable_fen: 270000,
            adjustments: [{ promotion_id: 5, kind: 'reduction', amount_fen: 30000 }],
          },
        ],
        gifts: [],
        applied: [
          { promotion_id: 5, name: '年终满3000减300', kind: 'reduction', amount_fen: 30000, points: 0, budget_capped: false, note: '' },
          { promotion_id: 6, name: '订货积分', kind: 'points', amount_fen: 0, points: 2700, budget_capped: false, note: '' },
        ],
        skipped: [],
        rounding: 'half-up',
      },
      coupon_discount_fen: 0,
      coupon: null,
      coupon_problem: null,
      coupon_options: [],
      rebate: { balance_fen: 0, usable_fen: 0, rule: '返利余额可抵扣未参加活动的商品' },
    },
    overrides || {},
  );
}

function order(overrides) {
  return Object.assign(
    {
      id: 42,
      order_no: 'O20260105000042',
      store_id: 3,
      distributor_id: 2,
      salesperson_id: null,
      placed_by_user_id: 7,
      channel: 'self',
      status: 'pending_payment',
      status_name: '待付款',
      list_amount_fen: 360000,
      discount_fen: 90000,
      payable_fen: 270000,
      promotion_discount_fen: 30000,
      points_earned: 2700,
      rebate_fen: 0,
      promotions: [],
      coupon_id: null,
      coupon_discount_fen: 0,
      rebate_used_fen: 0,
      pay_deadline: '2026-01-05T07:00:00+00:00',
      logistics_note: null,
      sign_photo_url: null,
      cancel_reason: null,
      reordered_from_id: null,
      created_at: '2026-01-05T06:30:00+00:00',
      updated_at: '2026-01-05T06:30:00+00:00',
    },
    overrides || {},
  );
}

/** An order as GET /orders lists it: with what it bought in a line (ordering.service). */
function listedOrder(overrides) {
  return Object.assign(
    order(),
    {
      summary: {
        first_sku_id: 1,
        first_product_name: 'RO 净水器',
        first_sku_name: '标准款',
        first_unit: '台',
        line_count: 1,
        total_quantity: 2,
        gift_quantity: 0,
        text: 'RO 净水器 标准款 × 2台',
      },
    },
    overrides || {},
  );
}

/** A promotion running for the store (GET /promotions/current: promotions.service._store_view). */
function currentPromotion(overrides) {
  return Object.assign(
    {
      id: 5,
      name: '年终满3000减300',
      kind: 'reduction',
      kind_name: '满减',
      description: '满3000元减300元',
      starts_at: '2025-12-31T16:00:00+00:00',
      ends_at: '2026-01-31T16:00:00+00:00',
      exclusive: false,
      conditions: { min_quantity: 0, min_amount_fen: 0 },
      scope: { all_products: true, bundle: false, skus: [], categories: [] },
      gift: null,
      per_store_limit: null,
      uses_left: null,
    },
    overrides || {},
  );
}

function orderDetail(overrides) {
  return Object.assign(
    order(),
    {
      lines: [
        {
          sku_id: 1,
          product_name: 'RO 净水器',
          sku_name: '标准款',
          unit: '台',
          quantity: 2,
          list_unit_price_fen: 180000,
          unit_price_fen: 150000,
          list_amount_fen: 360000,
          discount_fen: 90000,
          payable_fen: 270000,
          adjustments: [],
          gift: false,
          gift_promotion_id: null,
        },
      ],
      timeline: [
        { from_status: null, to_status: 'pending_payment', actor_user_id: 7, actor_role: 'store_owner', note: '', at: '2026-01-05T06:30:00+00:00' },
      ],
      paid_fen: 0,
      refunded_fen: 0,
    },
    overrides || {},
  );
}

/** A complaint as GET /complaints/<id> shows it to its store. */
function complaint(overrides) {
  return Object.assign(
    {
      id: 12,
      store_id: 3,
      distributor_id: 2,
      order_id: 42,
      category: 'damaged',
      text: '收到的净水器外壳破损',
      content_check: { verdict: 'pass', review: null, needs_review: false },
      contact_preference: 'phone',
      status: 'assigned',
      status_name: '已转经销商处理',
      rating: null,
      rating_comment: '',
      reopen_count: 0,
      created_at: '2026-01-05T06:30:00+00:00',
      updated_at: '2026-01-05T06:30:00+00:00',
      resolved_at: null,
      closed_at: null,
      sla: {},
      store_name: '赵记水站',
      distributor_name: '东城经销',
    },
    overrides || {},
  );
}

/** The subscribe-message templates, none granted yet (GET /notifications/subscriptions). */
const SUBSCRIPTION_TEMPLATES = {
  items: [
    { kind: 'complaint.update', template_id: 'TPL-C', title: '投诉处理进度提醒', remaining: 0 },
    { kind: 'live.reminder', template_id: 'TPL-L', title: '直播开播提醒', remaining: 0 },
  ],
};

// ---- 陈列活动 (issue 19): the views of backend/display, as the spec (prompts/issue19.md) gives them

const DISPLAY_CHECK_REWARD = { kind: 'voucher', amount: 1, template_id: 7, value_fen: 3000, cost_fen: 3000, text: '兑换券 1 张（价值 ¥30.00）' };
const DISPLAY_COMPLETION_REWARD = { kind: 'points', amount: 500, template_id: null, value_fen: 0, cost_fen: 500, text: '积分 500' };
const DISPLAY_SAMPLES = [
  { url: 'https://img.example.com/display/sample-1.jpg', width: 800, height: 600 },
  { url: 'https://img.example.com/display/sample-2.jpg', width: 800, height: 600 },
];
const DISPLAY_SKUS = [{ id: 1, name: 'RO 净水器 标准款' }, { id: 4, name: 'PP 滤芯 10寸' }];
const DISPLAY_AGREEMENT = '一、乙方在活动期间按陈列标准在门店显眼位置陈列甲方商品。\n二、乙方按检查安排拍照上报，照片须为现场拍摄。\n三、检查通过后甲方按约定发放奖励。';

/** `n` checks a week apart from 2026-01-05, each open three days (terms.checks / StoreProgramView.checks). */
function displayChecks(n) {
  return Array.from({ length: n }, (_, i) => {
    const opens = new Date(Date.UTC(2026, 0, 5 + 7 * i, 0, 0));
    const closes = new Date(Date.UTC(2026, 0, 8 + 7 * i, 0, 0));
    return { seq: i + 1, opens_at: opens.toISOString().replace('.000Z', '+00:00'), closes_at: closes.toISOString().replace('.000Z', '+00:00') };
  });
}

/** GET /display/store/programs/<id> (and an item of GET /display/open). */
function storeProgram(overrides) {
  return Object.assign(
    {
      id: 5,
      name: '冬季净水器端架陈列',
      standard: '端架第一层整排陈列 RO 净水器，价签朝外，不少于 6 台',
      sample_photos: DISPLAY_SAMPLES,
      skus: DISPLAY_SKUS,
      signup_until: '2026-01-04T16:00:00+00:00',
      checks: displayChecks(8),
      photos_required: 2,
      check_reward: DISPLAY_CHECK_REWARD,
      completion_reward: DISPLAY_COMPLETION_REWARD,
      agreement_version: 1,
      agreement_text: DISPLAY_AGREEMENT,
      places_left: 12,
      state: 'open',
      signing_id: null,
    },
    overrides || {},
  );
}

function displayPhoto(overrides) {
  return Object.assign(
    { id: 101, url: 'https://img.example.com/display/3/101.jpg', width: 1280, height: 960, taken_at: '2026-01-05T02:00:00+00:00', latitude: 39.9042, longitude: 116.4074, distance_m: 120 },
    overrides || {},
  );
}

function displayReward(overrides) {
  return Object.assign(
    { id: 31, check_seq: 1, kind: 'voucher', amount: 1, cost_fen: 3000, text: '兑换券 1 张（价值 ¥30.00）', coupon_ids: [88], created_at: '2026-01-05T03:00:00+00:00' },
    overrides || {},
  );
}

/** SubmissionView (backend/display/views.submission_view). */
function displaySubmission(overrides) {
  return Object.assign(
    {
      id: 61,
      check_id: 201,
      check_seq: 1,
      attempt: 1,
      status: 'review',
      verdict: 'review',
      reasons: [{ code: 'needs_person', message: '需要人工审核照片内容', photo_id: null }],
      photos: [displayPhoto(), displayPhoto({ id: 102, url: 'https://img.example.com/display/3/102.jpg' })],
      submitted_at: '2026-01-05T02:01:00+00:00',
      first_review: '',
      review_reason: '',
      reviewed_at: null,
      reward: null,
    },
    overrides || {},
  );
}

/** StoreCheck: a check of a signing as the store sees it. */
function storeCheck(seq, overrides) {
  const window = displayChecks(seq)[seq - 1];
  return Object.assign(
    { id: 200 + seq, seq, opens_at: window.opens_at, closes_at: window.closes_at, state: 'upcoming', can_submit: false, attempts: 0, submission: null },
    overrides || {},
  );
}

/** SigningView: an item of GET /display/mine. */
function signingView(overrides) {
  return Object.assign(
    {
      id: 9,
      program: { id: 5, name: '冬季净水器端架陈列', status: 'published', phase: 'running' },
      status: 'active',
      signed_at: '2026-01-02T02:00:00+00:00',
      passed_checks: 2,
      check_count: 8,
      next_check: storeCheck(3, { state: 'open', can_submit: true }),
      reward_totals: { points: 0, cash_fen: 0, vouchers: 2 },
    },
    overrides || {},
  );
}

/** The terms a signing keeps (DisplaySigning.terms). */
function displayTerms(overrides) {
  return Object.assign(
    {
      name: '冬季净水器端架陈列',
      standard: '端架第一层整排陈列 RO 净水器，价签朝外，不少于 6 台',
      sample_photos: DISPLAY_SAMPLES,
      skus: DISPLAY_SKUS,
      photos_required: 2,
      distance_limit_m: 300,
      checks: displayChecks(8),
      check_reward: DISPLAY_CHECK_REWARD,
      completion_reward: DISPLAY_COMPLETION_REWARD,
      agreement_version: 1,
    },
    overrides || {},
  );
}

/** SigningDetail: GET /display/mine/<id>, a signing two checks in (passed, passed, open…). */
function signingDetail(overrides) {
  const checks = [
    storeCheck(1, { state: 'passed', attempts: 1, submission: displaySubmission({ status: 'passed', verdict: 'passed', reasons: [], reward: displayReward() }) }),
    storeCheck(2, { state: 'passed', attempts: 2, submission: displaySubmission({ id: 63, check_id: 202, check_seq: 2, attempt: 2, status: 'passed', verdict: 'review', first_review: 'approved', reviewed_at: '2026-01-13T02:00:00+00:00', reward: displayReward({ id: 32, check_seq: 2 }) }) }),
    storeCheck(3, { state: 'open', can_submit: true }),
  ].concat([4, 5, 6, 7, 8].map((seq) => storeCheck(seq)));
  return Object.assign(
    signingView(),
    {
      terms: displayTerms(),
      checks,
      rewards: [displayReward(), displayReward({ id: 32, check_seq: 2, created_at: '2026-01-13T02:00:00+00:00' })],
    },
    overrides || {},
  );
}

/** GET /display/signings/<id>/document. */
function signingDocument(overrides) {
  return Object.assign(
    {
      id: 9,
      program: { id: 5, name: '冬季净水器端架陈列' },
      brand: { id: 1, name: '澜泉净水' },
      store: { id: 3, name: '赵记水站', address: '东城区幸福路 8 号', contact_name: '赵老板' },
      signer_name: '赵大海',
      signer_phone: '13800000003',
      signed_by_user_id: 7,
      signed_at: '2026-01-02T02:00:00+00:00',
      agreement_version: 1,
      agreement_text: DISPLAY_AGREEMENT,
      terms: displayTerms(),
    },
    overrides || {},
  );
}

/** ReviewItem: SubmissionView with the store, distributor, program, check and earlier attempts. */
function reviewItem(overrides) {
  return Object.assign(
    displaySubmission(),
    {
      store: { id: 3, name: '赵记水站', address: '东城区幸福路 8 号', latitude: 39.9, longitude: 116.4 },
      distributor: { id: 2, name: '东城经销' },
      program: { id: 5, name: '冬季净水器端架陈列', standard: '端架第一层整排陈列 RO 净水器，价签朝外，不少于 6 台', sample_photos: DISPLAY_SAMPLES },
      check: { seq: 1, opens_at: '2026-01-05T00:00:00+00:00', closes_at: '2026-01-08T00:00:00+00:00' },
      previous: [],
    },
    overrides || {},
  );
}

// ---- 一物一码 (issue 20): GET /codes/lookup, POST /codes/scans, POST /codes/redemptions,
// GET /codes/stock, as the spec (prompts/issue20.md) shapes them.

const BOX_TOKEN = '7K3M9Q2R5T8V1W4X6Y0Z';
const ITEM_TOKEN = 'A1B2C3D4E5F6G7H8J9K0';
const COUPON_TOKEN = 'M1N2P3Q4R5S6T7V8W9X0';
const CODE_BASE = 'https://b2bc.example.com';

function codeLookup(overrides) {
  return Object.assign(
    {
      code: { token: BOX_TOKEN, kind: 'box', kind_label: '箱码', serial_text: '20261201-B000042', box_serial_text: '20261201-B000042' },
      product: { sku_id: 1, name: 'RO 净水器 标准款', spec: '5级过滤', image_url: 'https://img.example.com/ro.jpg' },
      batch: { batch_no: '20261201', produced_on: '2026-12-01' },
      box: { items_per_box: 12, received: false },
      next: 'store',
      actions: ['receive'],
    },
    overrides || {},
  );
}

function scanAnswer(overrides) {
  return Object.assign(
    {
      scan_id: 501,
      action: 'receive',
      code: { kind: 'box', serial_text: '20261201-B000042' },
      product: { sku_id: 1, name: 'RO 净水器 标准款' },
      items: 12,
      reward: { kind: 'points', amount: 200, text: '开箱奖励 200 积分' },
      signed_order_id: null,
      diverted: false,
      stock: { sku_id: 1, received: 24, sold: 5, on_hand: 19 },
    },
    overrides || {},
  );
}

function redemptionAnswer(overrides) {
  return Object.assign(
    {
      coupon_id: 77,
      value_fen: 1000,
      redeemed_at: '2026-12-05T06:30:00+00:00',
      product: { sku_id: 1, name: 'RO 净水器 标准款' },
      credited: { kind: 'cash', amount_fen: 1000 },
      sold_now: true,
    },
    overrides || {},
  );
}

function codeStockRow(overrides) {
  return Object.assign(
    { sku_id: 1, name: 'RO 净水器 标准款', spec: '5级过滤', image_url: 'https://img.example.com/ro.jpg', received: 24, sold: 5, on_hand: 19 },
    overrides || {},
  );
}

module.exports = {
  complaint,
  SUBSCRIPTION_TEMPLATES,
  storeSession,
  signInAsStore,
  sku,
  quoteLine,
  priced,
  order,
  listedOrder,
  orderDetail,
  currentPromotion,
  storeProgram,
  displayChecks,
  displayPhoto,
  displayReward,
  displaySubmission,
  storeCheck,
  signingView,
  displayTerms,
  signingDetail,
  signingDocument,
  reviewItem,
  BOX_TOKEN,
  ITEM_TOKEN,
  COUPON_TOKEN,
  CODE_BASE,
  codeLookup,
  scanAnswer,
  redemptionAnswer,
  codeStockRow,
};
