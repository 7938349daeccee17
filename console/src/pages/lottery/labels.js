// Words and small rules of the lottery pages that only they use.

export const PRIZE_KIND = { points: "积分", goods: "实物", trip: "旅游", nothing: "谢谢参与" };

export const SPIN_STATUS = { to_deliver: "待发放", delivered: "已发放", settled: "已到账" };
export const SPIN_TAG = { to_deliver: "warning", delivered: "success", settled: "info" };

// The API's limits: a wheel holds 1–12 prizes.
export const MAX_PRIZES = 12;

/** Where a wheel stands for people: 未开始, 进行中 or 已结束 (ended early, or its time is up). */
export function wheelPhase(wheel, now = Date.now()) {
  if (wheel.status === "ended" || new Date(wheel.ends_at).getTime() <= now) return { label: "已结束", tag: "info" };
  if (new Date(wheel.starts_at).getTime() > now) return { label: "未开始", tag: "warning" };
  return { label: "进行中", tag: "success" };
}

/** Each prize's chance in percent ("12.50"), over the prizes that still have stock, as a
 * spin draws: a prize with no stock left has no chance. */
export function chances(prizes) {
  const inStock = (p) => p.stock === null || p.stock === undefined || p.stock > 0;
  const total = prizes.reduce((sum, p) => sum + (inStock(p) ? Number(p.weight) || 0 : 0), 0);
  return prizes.map((p) => (total && inStock(p) ? ((Number(p.weight) || 0) * 100 / total).toFixed(2) : "0.00"));
}
