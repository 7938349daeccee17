// Words of the promotion pages that only they use, and a promotion's reward in one line.
import { yuan } from "../../format.js";

export const PROMOTION_STATUS = { draft: "草稿", active: "进行中", paused: "已暂停", ended: "已结束" };
export const PROMOTION_TAG = { draft: "info", active: "success", paused: "warning", ended: "info" };

export const REWARD_KIND = {
  gift: "赠品",
  special_price: "特价",
  reduction: "满减",
  discount: "折扣",
  rebate: "返利",
  points: "积分",
};
export const REWARD_HINT = {
  gift: "买赠、搭赠：满足条件后赠送商品",
  special_price: "活动商品按固定单价或原价的比例出售",
  reduction: "满一定金额减免，可一次或每满一次",
  discount: "按活动范围当前金额打折，可叠加在满减之后",
  rebate: "付款后按比例返到门店返利账户",
  points: "付款后按实付金额送积分，可设超额加倍",
};

export const STACKING = { shared: "共享（可与其他共享活动叠加）", exclusive: "互斥（不与任何活动同时使用）" };
export const STACKING_SHORT = { shared: "共享", exclusive: "互斥" };
export const STEP = {
  1: "第 1 步：改商品单价（特价）",
  2: "第 2 步：整单优惠（满减、赠品等）",
  3: "第 3 步：在前两步之后（如叠加折扣）",
};
export const CHANNELS = { self: "小程序自主下单", proxy: "业务员代下单", live: "直播订货会" };
export const TIERS = ["A", "B", "C", "D"];
export const SCOPE_MODE = { all: "全部商品", skus: "指定商品", categories: "指定分类", bundle: "组合套装" };
export const BUNDLE_MODE = {
  sets: "按凑齐的整套计算，多出的件数按原价",
  all_present: "各商品都够一套后，组合内商品全部参与",
};
export const ADJUSTMENT_KIND = { ...REWARD_KIND };
export const ACTIONS = {
  activate: { label: "启用", from: ["draft", "paused"], type: "success" },
  pause: { label: "暂停", from: ["active"], type: "warning" },
  end: { label: "结束", from: ["draft", "active", "paused"], type: "danger" },
};
export const ACTION_WARNING = {
  activate: "启用后，活动时间内符合条件的门店下单将立即享受此活动，活动进行中不能修改。",
  pause: "暂停后门店下单不再享受此活动，已下的订单不受影响；暂停后可修改并再次启用。",
  end: "结束后活动不能再启用或修改，已下的订单不受影响。",
};

/** "90" → "9折", "85" → "8.5折" (a percentage paid as 折). */
export function fold(percent) {
  const value = Number(percent);
  return Number.isFinite(value) ? `${Number((value / 10).toFixed(2))}折` : "";
}

const plain = (fen) => yuan(fen).replace(/\.00$/, "");

/** A reward in one short line: "满3,000减300", "原价9折", "每满10件送…". */
export function rewardText(reward, skuName = (id) => `商品 #${id}`) {
  switch (reward?.kind) {
    case "gift":
      return `${reward.per_multiple ? "每满条件" : ""}送${skuName(reward.sku_id)} × ${reward.quantity}`;
    case "special_price":
      return reward.unit_price_fen !== null && reward.unit_price_fen !== undefined
        ? `特价 ${plain(reward.unit_price_fen)}`
        : `原价${fold(reward.percent_of_list)}`;
    case "reduction":
      return `${reward.every ? "每" : ""}满${plain(reward.threshold_fen)}减${plain(reward.amount_off_fen)}`;
    case "discount":
      return `打${fold(reward.percent)}`;
    case "rebate":
      return `按${reward.base === "list" ? "原价" : "实付"}返利 ${Number(reward.percent)}%`;
    case "points": {
      const more = reward.threshold_fen !== null && reward.threshold_fen !== undefined
        ? `，超过${plain(reward.threshold_fen)}的部分 ${Number(reward.multiplier)} 倍` : "";
      return `每元 ${Number(reward.per_yuan)} 积分${more}`;
    }
    default:
      return "—";
  }
}
