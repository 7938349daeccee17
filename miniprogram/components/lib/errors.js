/**
 * What a page shows when a request fails, and when a failure means "sign in again".
 *
 * An ApiError from utils/api carries the server's Chinese message (or 网络不给力… for a lost
 * network); anything else is a bug in the page, whose English text a store owner must never
 * see.
 */

const FALLBACK_MESSAGE = '出错了，请稍后重试';

// Codes after which only a new sign-in helps (utils/api already tried a token refresh).
const SIGN_IN_CODES = [
  'auth.expired',
  'auth.token_missing',
  'auth.token_invalid',
  'auth.token_expired',
  'auth.session_revoked',
  'auth.refresh_token_invalid',
  'auth.refresh_token_reused',
  'auth.unauthenticated',
];

function isApiError(err) {
  return Boolean(err && typeof err.code === 'string' && err.code);
}

function errorMessage(err, fallback) {
  if (isApiError(err) && typeof err.message === 'string' && err.message) return err.message;
  return fallback || FALLBACK_MESSAGE;
}

function needsSignIn(err) {
  return isApiError(err) && SIGN_IN_CODES.indexOf(err.code) >= 0;
}

/** The signed-in identity is not a store (e.g. a new user, or a store that was closed). */
function needsStore(err) {
  return isApiError(err) && (err.code === 'auth.role_required' || err.code === 'auth.forbidden');
}

/**
 * True when `err` takes the user away from this page, so the page shows nothing more:
 * the sign-in has ended (utils/api has already sent the user to the login page), or the
 * identity is not a store's (the login page finds out what it is and where to go).
 */
function redirectIfSignedOut(err) {
  if (needsSignIn(err)) return true;
  if (!needsStore(err)) return false;
  wx.reLaunch({ url: '/pages/login/index' });
  return true;
}

/** `{field: message}` from a 422's details (pydantic field errors). */
function fieldErrors(err) {
  const found = {};
  const details = isApiError(err) && Array.isArray(err.details) ? err.details : [];
  details.forEach((d) => {
    if (d && d.field && !found[d.field]) found[d.field] = d.message || '格式不正确';
  });
  return found;
}

function toastError(err, fallback) {
  if (needsSignIn(err)) return;
  wx.showToast({ title: errorMessage(err, fallback), icon: 'none', duration: 2500 });
}

module.exports = {
  FALLBACK_MESSAGE,
  isApiError,
  errorMessage,
  needsSignIn,
  needsStore,
  redirectIfSignedOut,
  fieldErrors,
  toastError,
};
