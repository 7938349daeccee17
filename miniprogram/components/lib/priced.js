/**
 * A priced cart or quote (GET /cart, POST /quote: ordering.service.priced_view) as the cart
 * and checkout pages show it: lines with the promotions that changed them and why a line
 * cannot be ordered, the totals step by step, the coupons the store could use, the rebate.
 * Every amount stays integer fen here; templates show them through <price>.
 */
const { formatDate } = require('./format');
const { appliedOf, lineAdjustments, giftsOf } = require('./promotions');

function presentLines(answer) {
  const adjustments = lineAdjustments(answer.promotions);
  const afterPromotions = {};
  ((answer.promotions && answer.promotions.lines) || []).forEach((l) => {
    if (!l.gift) afterPromotions[l.sku_id] = l.payable_fen;
  });
  return (answer.lines || []).map((line) => ({
    skuId: line.sku_id,
    productId: line.product_id || null,
    title: line.product_name,
    skuName: line.sku_name,
    unit: line.unit,
    // The stepper keeps to whole cases and the minimum order, as the quote checks them.
    caseSize: line.case_size || 1,
    minOrderQty: line.min_order_qty || 1,
    quantity: line.quantity,
    unitPriceFen: line.unit_price_fen,
    listUnitPriceFen: line.list_unit_price_fen,
    amountFen: line.payable_fen,
    payableFen: line.sku_id in afterPromotions ? afterPromotions[line.sku_id] : line.payable_fen,
    adjustments: adjustments[line.sku_id] || [],
    orderable: line.orderable,
    problems: (line.problems || []).map((p) => p.message),
  }));
}

function presentCoupons(answer) {
  return (answer.coupon_options || []).map((c) => ({
    id: c.coupon_id,
    name: c.name,
    description: c.description || '',
    usable: Boolean(c.usable),
    amountFen: c.usable ? c.amount_fen : null,
    reason: c.usable ? '' : (c.reason && c.reason.message) || '不满足使用条件',
    validUntil: c.valid_until ? `${formatDate(c.valid_until)} 到期` : '',
  }));
}

/**
 * `useRebate`: the owner chose to pay with the rebate balance; the server takes, at
 * placement, what `rebate.usable_fen` says it could (lines no promotion priced).
 */
function presentPriced(answer, options) {
  const useRebate = Boolean(options && options.useRebate);
  const lines = presentLines(answer);
  const names = {};
  lines.forEach((l) => {
    names[l.skuId] = `${l.title} ${l.skuName}`.trim();
  });
  const promotionFen = answer.promotion_discount_fen || 0;
  const couponFen = answer.coupon_discount_fen || 0;
  const rebate = answer.rebate || { balance_fen: 0, usable_fen: 0, rule: '' };
  const rebateFen = useRebate ? Math.min(rebate.usable_fen || 0, answer.payable_fen) : 0;
  const promotions = answer.promotions;
  const coupons = presentCoupons(answer);
  return {
    lines,
    hasLines: lines.length > 0,
    orderable: Boolean(answer.orderable) && lines.length > 0,
    blockedCount: lines.filter((l) => !l.orderable).length,
    problems: (answer.problems || []).map((p) => p.message),
    applied: appliedOf(promotions),
    gifts: giftsOf(promotions, names),
    points: promotions ? promotions.points_earned : 0,
    rebateEarnedFen: promotions ? promotions.rebate_fen : 0,
    totals: {
      listFen: answer.list_amount_fen,
      // What the store's own prices (tier and volume) save before any promotion.
      priceFen: answer.discount_fen - promotionFen - couponFen,
      promotionFen,
      couponFen,
      rebateFen,
      payableFen: answer.payable_fen - rebateFen,
    },
    coupon: answer.coupon ? { id: answer.coupon.coupon_id, name: answer.coupon.name, amountFen: answer.coupon.amount_fen } : null,
    couponProblem: answer.coupon_problem ? answer.coupon_problem.message : '',
    coupons,
    usableCouponCount: coupons.filter((c) => c.usable).length,
    rebate: {
      balanceFen: rebate.balance_fen || 0,
      usableFen: rebate.usable_fen || 0,
      rule: rebate.rule || '',
    },
  };
}

module.exports = { presentPriced, presentLines, presentCoupons };
