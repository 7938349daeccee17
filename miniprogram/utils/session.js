/**
 * The signed-in user's tokens, kept in WeChat storage so that they survive a restart.
 *
 * One storage entry holds the whole answer of a sign-in or refresh (`access_token`,
 * `refresh_token`, `expires_in`, `identity`), so that the tokens and the identity they
 * belong to are always replaced together.
 */

const SESSION_STORAGE_KEY = 'b2bc.session';

/** The saved session, or null when no one is signed in. */
function getSession() {
  let saved;
  try {
    saved = wx.getStorageSync(SESSION_STORAGE_KEY);
  } catch (e) {
    return null;
  }
  return saved && typeof saved === 'object' && saved.access_token ? saved : null;
}

/** Save a sign-in or refresh answer: `{access_token, refresh_token, expires_in, identity, ...}`. */
function saveSession(answer) {
  if (!answer || !answer.access_token || !answer.refresh_token) {
    throw new Error('saveSession needs access_token and refresh_token');
  }
  const session = Object.assign({}, answer, { saved_at: Date.now() });
  wx.setStorageSync(SESSION_STORAGE_KEY, session);
  return session;
}

function clearSession() {
  try {
    wx.removeStorageSync(SESSION_STORAGE_KEY);
  } catch (e) {
    // nothing more to do: the next read finds no valid session either way
  }
}

/** The current identity (role, store_id, ...) or null. */
function currentIdentity() {
  const session = getSession();
  return (session && session.identity) || null;
}

module.exports = { SESSION_STORAGE_KEY, getSession, saveSession, clearSession, currentIdentity };
