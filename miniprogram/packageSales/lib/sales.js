/**
 * The salesperson's (业务员) side of the mini-program: who may use its pages, and the store
 * statuses and tiers as they read them.
 */
const { currentRole } = require('../../components/lib/identity');

const STORE_STATUS = { active: '正常', suspended: '已暂停', closed: '已关闭' };
const TIERS = { A: 'A类', B: 'B类', C: 'C类', D: 'D类' };
const APPLICATION_STATUS = { pending: '待审核', approved: '已通过', rejected: '已拒绝' };

/** For salesperson pages: true when the session is a salesperson's; otherwise back to the
 * sign-in page (which finds out who the user is) and false. */
function requireSalesperson() {
  if (currentRole() === 'salesperson') return true;
  wx.reLaunch({ url: '/pages/login/index' });
  return false;
}

function tierName(tier) {
  return TIERS[tier] || (tier ? `${tier}类` : '');
}

module.exports = { STORE_STATUS, TIERS, APPLICATION_STATUS, requireSalesperson, tierName };
