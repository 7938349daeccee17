/**
 * Who is signed in, and moving between one's identities (a person may be a store's owner
 * and a salesperson, or own two stores).
 */

const api = require('../../utils/api');
const session = require('../../utils/session');

const STORE_ROLES = ['store_owner', 'store_clerk'];
const ROLE_NAMES = {
  store_owner: '门店老板',
  store_clerk: '门店店员',
  salesperson: '业务员',
  distributor_admin: '经销商管理员',
  distributor_staff: '经销商员工',
  brand_admin: '品牌管理员',
  brand_ops: '品牌运营',
};

function isStoreRole(role) {
  return STORE_ROLES.indexOf(role) >= 0;
}

function currentRole() {
  const identity = session.currentIdentity();
  return (identity && identity.role) || null;
}

/** Sign in as another of one's memberships; the new tokens replace the session. */
async function switchTo(membershipId) {
  const pair = await api.post('/auth/switch', { membership_id: membershipId });
  session.saveSession(pair);
  return pair;
}

/**
 * For pages only a store may use: true when the session is a store's; otherwise sends the
 * user to the sign-in page (which finds out what they are) and returns false.
 */
function requireStore() {
  if (isStoreRole(currentRole())) return true;
  wx.reLaunch({ url: '/pages/login/index' });
  return false;
}

/** A membership as the identity chooser lists it. */
function describeMembership(m) {
  const where = (m.store && m.store.name) || (m.salesperson && m.salesperson.name) ||
    (m.distributor && m.distributor.name) || (m.brand && m.brand.name) || '';
  return {
    id: m.id,
    role: m.role,
    roleName: ROLE_NAMES[m.role] || m.role,
    title: where,
    brandName: (m.brand && m.brand.name) || '',
  };
}

module.exports = { STORE_ROLES, ROLE_NAMES, isStoreRole, currentRole, switchTo, requireStore, describeMembership };
