// Words of the voucher-claim pages (核销) that only they use.

export const CLAIM_STATUS = {
  submitted: "待审核",
  approved: "已确认，待结算",
  settled: "已结算",
  rejected: "已驳回",
};

export const CLAIM_TAG = { submitted: "warning", approved: "primary", settled: "success", rejected: "info" };

/** The API's limit on a claim's note. */
export const NOTE_MAX = 200;
