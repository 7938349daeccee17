/**
 * What the consumer's pages share: signing a consumer in without a word (WeChat login only:
 * no phone, no store), the code a page was opened with, and the wording of a check and of a
 * coupon.
 *
 * A consumer's pages never send anyone to the store owners' sign-in page: while one is shown,
 * a sign-in that has ended is answered by signing in again with wx.login (silent, no consent
 * needed) and trying the call once more.
 */
const api = require('../../utils/api');
const session = require('../../utils/session');
const { needsSignIn } = require('../../components/lib/errors');
const { formatTime, formatDate } = require('../../components/lib/format');
const { formatFen } = require('../../utils/money');
const { qrDataUrl } = require('./qr');

/** While a consumer's page is shown: an ended sign-in is theirs to renew, not a trip to the
 * store owners' login page. */
function holdSignIn() {
  api.setAuthExpiredHandler(() => {});
}

function releaseSignIn() {
  api.setAuthExpiredHandler(null);
}

async function ensureSignedIn() {
  if (!session.getSession()) await api.login();
}

/** Run `call` signed in; when the sign-in had ended, sign in again and run it once more. */
async function signedIn(call) {
  await ensureSignedIn();
  try {
    return await call();
  } catch (err) {
    if (!needsSignIn(err)) throw err;
    session.clearSession();
    await api.login();
    return call();
  }
}

/**
 * The code the page was opened with: `code` (from our own pages, the scan entry page, or a
 * scan in this page), or `q` (WeChat's 扫普通链接二维码打开小程序 passes the QR's URL,
 * encoded), or `scene`. Returns '' when there is none.
 */
function codeFrom(options) {
  const o = options || {};
  const raw = o.code || o.q || o.scene || '';
  try {
    return decodeURIComponent(String(raw)).trim();
  } catch (e) {
    return String(raw).trim();
  }
}

const COUPON_TAGS = { issued: 'tag-primary', redeemed: 'tag-muted', expired: 'tag-muted' };

/** A coupon as the pages show it; `withQr`: draw its QR when it can still be used. */
function presentCoupon(c, withQr) {
  const usable = c.status === 'issued';
  return {
    id: c.id,
    value: formatFen(c.value_fen),
    statusLabel: c.status_label,
    statusTag: COUPON_TAGS[c.status] || 'tag-muted',
    usable,
    expires: c.expires_at ? `有效期至 ${formatTime(c.expires_at)}` : '',
    redeemed: c.status === 'redeemed' && c.redeemed_at
      ? `已于 ${formatTime(c.redeemed_at)} ${c.store && c.store.name ? `在${c.store.name}` : ''}核销`
      : '',
    campaign: (c.campaign && c.campaign.name) || '',
    brand: (c.brand && c.brand.name) || '',
    product: (c.product && c.product.name) || '',
    code: c.token,
    qrText: c.qr_text,
    qrSrc: usable && withQr ? qrDataUrl(c.qr_text) : '',
  };
}

/** A check's answer as the check page shows it. */
function presentCheck(answer) {
  const product = answer.product || {};
  const batch = answer.batch || {};
  const times = answer.checks;
  let history;
  if (answer.first_check) history = '您是第一位查询该商品的人';
  else history = `该码此前已被查询 ${times - 1} 次，首次查询于 ${formatTime(answer.first_checked_at)}；如非您本人查询，请留意商品来源`;
  return {
    brand: (answer.brand && answer.brand.name) || '',
    product: {
      name: product.name || '',
      spec: product.spec || '',
      image: product.image_url || '',
    },
    facts: [
      { key: 'first', label: '首次查询', value: formatTime(answer.first_checked_at) },
      { key: 'count', label: '查询次数', value: `第 ${times} 次` },
      { key: 'batch', label: '生产批号', value: batch.batch_no || '' },
      { key: 'date', label: '生产日期', value: batch.produced_on ? formatDate(`${batch.produced_on}T00:00:00+08:00`) : '' },
      { key: 'serial', label: '商品码号', value: (answer.code && answer.code.serial_text) || '' },
    ].filter((fact) => fact.value),
    repeated: !answer.first_check,
    history,
    coupon: answer.coupon ? presentCoupon(answer.coupon, true) : null,
    couponNote: answer.coupon_note || '',
  };
}

module.exports = { holdSignIn, releaseSignIn, ensureSignedIn, signedIn, codeFrom, presentCoupon, presentCheck };
