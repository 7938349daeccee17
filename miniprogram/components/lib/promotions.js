/**
 * What the promotions in a quote did, as lines a store owner reads: the quote's
 * `promotions` (promotions.service.result_view) turned into text, amounts via formatFen;
 * and the promotions running for the store (GET /promotions/current) as the home, product
 * and catalog pages show them.
 */
const { formatFen } = require('../../utils/money');
const { formatShortTime } = require('./format');

const KIND_TAGS = {
  gift: '赠品',
  special_price: '特价',
  reduction: '满减',
  discount: '折扣',
  rebate: '返利',
  points: '积分',
};

/** "（凑齐2套）" for a bundle counted in complete sets (the quote's `sets`), else "". */
function setsText(applied) {
  return applied.sets === null || applied.sets === undefined ? '' : `（凑齐${applied.sets}套）`;
}

/** One applied promotion: {key, tag, name, value}. */
function describeApplied(applied) {
  let value = '';
  if (applied.kind === 'points') value = `+${applied.points}积分`;
  else if (applied.kind === 'rebate') value = `返${formatFen(applied.amount_fen)}（付款后到账）`;
  else if (applied.kind === 'gift') value = applied.note || '送赠品';
  else if (applied.amount_fen) value = `-${formatFen(applied.amount_fen)}`;
  return {
    key: `p${applied.promotion_id}`,
    tag: KIND_TAGS[applied.kind] || '活动',
    name: applied.name + setsText(applied) + (applied.budget_capped ? '（活动资金将尽，已按剩余资金计算）' : ''),
    value,
  };
}

function appliedOf(promotions) {
  return ((promotions && promotions.applied) || []).map(describeApplied);
}

/**
 * {sku_id: [{key, name, amountText}]}: which promotion changed each bought line, by how much;
 * a bundle counted in sets says on how many of the line's units ("（8件成套）").
 */
function lineAdjustments(promotions) {
  const names = {};
  ((promotions && promotions.applied) || []).forEach((a) => {
    names[a.promotion_id] = a.name;
  });
  const bySku = {};
  ((promotions && promotions.lines) || []).forEach((line) => {
    if (line.gift) return;
    bySku[line.sku_id] = (line.adjustments || [])
      .filter((adj) => adj.amount_fen)
      .map((adj, i) => ({
        key: `${adj.promotion_id}-${i}`,
        name: (names[adj.promotion_id] || KIND_TAGS[adj.kind] || '活动优惠')
          + (adj.units ? `（${adj.units}件成套）` : ''),
        amountText: `-${formatFen(adj.amount_fen)}`,
      }));
  });
  return bySku;
}

/** A gift's name as the quote gives it (its product and SKU), else from `namesBySku`. */
function giftName(gift, namesBySku) {
  const own = `${gift.product_name || ''} ${gift.sku_name || ''}`.trim();
  return own || (namesBySku && namesBySku[gift.sku_id]) || '赠品';
}

/** The free lines the promotions add: [{key, text, productId, skuId}]. */
function giftsOf(promotions, namesBySku) {
  return ((promotions && promotions.gifts) || []).map((g, i) => ({
    key: `g${g.promotion_id}-${g.sku_id}-${i}`,
    text: `${giftName(g, namesBySku)} × ${g.quantity}${g.unit || ''}（价值${formatFen(g.value_fen * g.quantity)}）`,
    productId: g.product_id || null,
    skuId: g.sku_id,
  }));
}

/** What a running promotion covers, in a few words. */
function scopeText(scope) {
  if (!scope || scope.all_products) return '全部商品';
  const skus = (scope.skus || []).map((s) => `${s.product_name} ${s.sku_name}`.trim());
  const categories = (scope.categories || []).map((c) => c.name);
  if (scope.bundle && scope.bundle_mode === 'sets') {
    const parts = (scope.skus || []).map((s) => `${s.product_name} ${s.sku_name}`.trim() + `×${s.set_quantity || 1}`);
    return `成套购买：${parts.join(' + ')}（按凑齐的套数优惠）`;
  }
  if (scope.bundle) return `组合购买：${skus.join(' + ')}`;
  const parts = [];
  if (categories.length) parts.push(`${categories.join('、')}类商品`);
  if (skus.length) parts.push(skus.length > 3 ? `${skus.slice(0, 3).join('、')} 等 ${skus.length} 种` : skus.join('、'));
  return `适用：${parts.join('；')}`;
}

/** The one product a promotion names, if it names SKUs of a single product (to link to). */
function onlyProduct(scope) {
  const ids = Array.from(new Set(((scope && scope.skus) || []).map((s) => s.product_id)));
  return ids.length === 1 && !((scope.categories || []).length) ? ids[0] : null;
}

/** A running promotion (promotions.service._store_view) as a card row. */
function presentCurrent(p) {
  const notes = [];
  if (p.exclusive) notes.push('不与其他活动同享');
  if (p.per_store_limit !== null && p.per_store_limit !== undefined) {
    notes.push(p.uses_left ? `每店限 ${p.per_store_limit} 次，还可参加 ${p.uses_left} 次` : '您已参加过本活动');
  }
  return {
    id: p.id,
    tag: p.kind_name || KIND_TAGS[p.kind] || '活动',
    name: p.name,
    description: p.description,
    period: `${formatShortTime(p.starts_at)} 至 ${formatShortTime(p.ends_at)}`,
    scope: scopeText(p.scope),
    note: notes.join('；'),
    productId: onlyProduct(p.scope),
    usable: p.uses_left !== 0,
  };
}

/** Whether a running promotion's scope takes this SKU ({id, category_id}), as the server decides. */
function covers(p, sku) {
  const scope = p.scope || {};
  if (scope.all_products) return true;
  const inSkus = (scope.skus || []).some((s) => s.sku_id === sku.id);
  if (scope.bundle) return inSkus;
  return inSkus || (scope.categories || []).some((c) => c.id === sku.category_id);
}

module.exports = {
  KIND_TAGS,
  describeApplied,
  appliedOf,
  lineAdjustments,
  giftsOf,
  giftName,
  scopeText,
  presentCurrent,
  covers,
};
