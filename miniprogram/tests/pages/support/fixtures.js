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
};
