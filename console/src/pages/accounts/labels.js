// Words of the brand's account pages (账户与对账单, 常设奖励) that only they use.

export const PARTY = { store: "门店", salesperson: "业务员", distributor: "经销商" };

/** What each kind of account is called, seen by the brand. */
export const ACCOUNT_NAME = {
  points: "积分",
  rebate: "返利余额",
  cash: "红包现金",
  vouchers: "兑换券核销款",
};

/** What a balance means, seen by the brand, by the party's kind and the account's. */
export const BALANCE_MEANING = {
  store: {
    points: "门店可在积分商城兑换",
    rebate: "门店下单时可抵扣非活动商品",
    cash: "首单返现、邀请有礼与直播红包",
  },
  salesperson: { points: "拓店门店首单奖励的积分" },
  distributor: {
    vouchers: "品牌已确认、尚未结算给经销商的核销款",
    cash: "直播红包雨出资与未领退回的累计",
  },
};

/** The entries and CSV of an account, by whose it is (stores' and parties' books differ). */
export function statementPaths(party, accountId) {
  const base = party === "store" ? "/ledger/accounts" : "/ledger/party-accounts";
  return { entries: `${base}/${accountId}/entries`, csv: `${base}/${accountId}/entries.csv` };
}

/** The standing rewards' fields: label, unit, hint; amounts in fen unless `points`. */
export const INCENTIVES = [
  {
    key: "first_order_cashback_fen",
    label: "首单返现",
    hint: "门店首笔订单支付后，返到门店的红包现金账户",
  },
  {
    key: "first_order_min_fen",
    label: "首单最低实付",
    hint: "首单实付达到此金额才返现；0 为不限",
  },
  {
    key: "invitation_reward_fen",
    label: "邀请有礼",
    hint: "被邀请的门店首单支付后，奖励给邀请它的门店（红包现金）",
  },
  {
    key: "salesperson_first_order_points",
    label: "业务员拓店积分",
    hint: "业务员拓展的门店自己下的首单支付后，奖励给该业务员的积分",
    points: true,
  },
];
