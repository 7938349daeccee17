/**
 * What the promotions in a quote did, as lines a store owner reads: the quote's
 * `promotions` (promotions.service.result_view) turned into text, amounts via formatFen.
 */
const { formatFen } = require('../../utils/money');

const KIND_TAGS = {
  gift: '赠品',
  special_price: '特价',
  reduction: '满减',
  discount: '折扣',
  rebate: '返利',
  points: '积分',
};

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
    name: applied.name + (applied.budget_capped ? '（活动资金将尽，已按剩余资金计算）' : ''),
    value,
  };
}

function appliedOf(promotions) {
  return ((promotions && promotions.applied) || []).map(describeApplied);
}

/** {sku_id: [{key, name, amountText}]}: which promotion changed each bought line, by how much. */
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
        name: names[adj.promotion_id] || KIND_TAGS[adj.kind] || '活动优惠',
        amountText: `-${formatFen(adj.amount_fen)}`,
      }));
  });
  return bySku;
}

/** The free lines the promotions add: [{key, text}]. */
function giftsOf(promotions, namesBySku) {
  return ((promotions && promotions.gifts) || []).map((g, i) => {
    const name = (namesBySku && namesBySku[g.sku_id]) || '赠品';
    return {
      key: `g${g.promotion_id}-${g.sku_id}-${i}`,
      text: `${name} × ${g.quantity}（价值${formatFen(g.value_fen * g.quantity)}）`,
    };
  });
}

module.exports = { KIND_TAGS, describeApplied, appliedOf, lineAdjustments, giftsOf };
