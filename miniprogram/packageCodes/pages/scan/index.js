/**
 * 扫码入库 / 动销 / 核销: the store's scanner. Three modes (`mode` option: receive, sell,
 * redeem); 开始扫码 opens the camera (wx.scanCode, camera only) again and again, one code
 * after the other, until the person closes it or a scan is refused: a refusal stops the loop
 * so its reason (the server's Chinese message: 该箱已入库, 请先扫箱码入库…) is read, not
 * scanned past. Each scan is one row of a running list, newest on top: what it did (入库 12
 * 件 and the open-box reward, 动销 1 件, 核销 ¥10.00 credited) or why it was refused; a scan
 * whose answer was lost (network) keeps its Idempotency-Key and can be sent again from its
 * row without doing it twice.
 *
 *   入库 POST /codes/scans {code, action: "receive", latitude?, longitude?}
 *   动销 POST /codes/scans {code, action: "sell", …}
 *   核销 POST /codes/redemptions {coupon, latitude?, longitude?}
 *
 * The phone's location (asked once, kept a few minutes) goes with each scan for the brand's
 * diversion check; without it scans still work. A code typed in (a damaged label) is sent
 * the same way. Rows are appended by path and shown newest first with CSS, so a scan sends
 * one row, never the list.
 */
const api = require('../../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../../components/lib/errors');
const { requireStore } = require('../../../components/lib/identity');
const { keepsAttempt } = require('../../../components/lib/attempt');
const codes = require('../../lib/codes');

let rowKeys = 0;

function modeOf(key) {
  return codes.MODES.find((m) => m.key === key) || codes.MODES[0];
}

function feel(ok) {
  // Felt with the camera still open: the next scan starts at once.
  const vibrate = ok ? wx.vibrateShort : wx.vibrateLong;
  if (typeof vibrate === 'function') vibrate.call(wx, ok ? { type: 'medium' } : {});
}

Component({
  data: {
    modes: codes.MODES,
    mode: 'receive',
    hint: codes.MODES[0].hint,
    scanLabel: '开始扫码入库',
    scanning: false,
    results: [], // [{key, mode, modeName, time, status: sending | ok | skipped | failed, title, name, serial, lines, message, canRetry, sending}]
    totals: '',
    manual: '',
    manualError: '',
    sendingManual: false,
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return;
      const wanted = (options || {}).mode;
      const mode = modeOf(codes.MODE_KEYS.indexOf(wanted) >= 0 ? wanted : 'receive');
      this.totals = codes.emptyTotals();
      this.sent = {}; // per row key: {mode, text, body, idempotencyKey}
      this.done = { receive: new Set(), sell: new Set(), redeem: new Set() };
      this.setData({ mode: mode.key, hint: mode.hint, scanLabel: `开始扫码${mode.name}` });
      wx.setNavigationBarTitle({ title: mode.title });
    },
    onUnload() {
      this.gone = true;
    },

    onMode(e) {
      const key = e.currentTarget.dataset.key;
      if (!key || key === this.data.mode || this.data.scanning) return;
      const mode = modeOf(key);
      this.setData({ mode: mode.key, hint: mode.hint, scanLabel: `开始扫码${mode.name}`, manualError: '' });
      wx.setNavigationBarTitle({ title: mode.title });
    },

    /** Scan after scan until the scanner is closed or a scan is refused. */
    onScan() {
      return api.withButtonLock(this, 'scanning', async () => {
        for (;;) {
          // eslint-disable-next-line no-await-in-loop
          const shot = await codes.scanOnce();
          if (this.gone || shot.cancelled) return;
          if (shot.failed) {
            wx.showToast({ title: '没有识别到二维码，请对准后重试', icon: 'none' });
            return;
          }
          // eslint-disable-next-line no-await-in-loop
          const outcome = await this.submit(this.data.mode, shot.text);
          if (this.gone || outcome === 'failed' || outcome === 'signed-out') return;
        }
      });
    },

    onManualInput(e) {
      this.setData({ manual: e.detail.value, manualError: '' });
    },
    onManualSubmit() {
      const text = String(this.data.manual || '').trim();
      if (!text) {
        this.setData({ manualError: '请输入码值或链接' });
        return Promise.resolve();
      }
      if (!codes.kindOf(text) || codes.kindOf(text) === 'other') {
        this.setData({ manualError: '码值是 20 位字母和数字，或以 /C/、/V/ 开头的链接' });
        return Promise.resolve();
      }
      return api.withButtonLock(this, 'sendingManual', async () => {
        const outcome = await this.submit(this.data.mode, text);
        if (outcome === 'ok') this.setData({ manual: '' });
      });
    },

    /** One scanned text in `mode`: a new row, sent; → 'ok' | 'skipped' | 'failed' | 'signed-out'. */
    async submit(mode, text) {
      const at = this.data.results.length;
      rowKeys += 1;
      const key = `s${rowKeys}`;
      const modeName = modeOf(mode).name;
      const base = { key, mode, modeName, time: codes.timeNow(), title: '', name: '', serial: '', lines: [], message: '', canRetry: false, sending: false };

      const wrong = codes.wrongMode(mode, text);
      if (wrong) {
        this.addRow(at, Object.assign(base, { status: 'failed', title: `${modeName}失败`, message: wrong }));
        this.count(null);
        feel(false);
        return 'failed';
      }
      const token = codes.tokenOf(text) || text;
      if (this.done[mode].has(token)) {
        // The camera read the same label again: already counted in this session.
        this.addRow(at, Object.assign(base, { status: 'skipped', title: '刚刚已扫过这个码', message: '未重复计入，请扫下一个' }));
        feel(true);
        return 'skipped';
      }
      this.addRow(at, Object.assign(base, { status: 'sending', title: `${modeName}中…`, sending: true }));
      const body = mode === 'redeem' ? { coupon: text } : { code: text, action: mode };
      this.sent[key] = { mode, token, body, idempotencyKey: api.newIdempotencyKey() };
      return this.send(key);
    },

    async send(key) {
      const sent = this.sent[key];
      const at = this.data.results.findIndex((r) => r.key === key);
      if (!sent || at < 0) return 'failed';
      const where = await codes.locate();
      const body = Object.assign({}, sent.body);
      if (where) Object.assign(body, { latitude: where.latitude, longitude: where.longitude });
      const path = sent.mode === 'redeem' ? '/codes/redemptions' : '/codes/scans';
      try {
        const answer = await api.post(path, body, { idempotencyKey: sent.idempotencyKey });
        const shown = sent.mode === 'redeem' ? codes.presentRedemption(answer) : codes.presentScan(sent.mode, answer);
        this.done[sent.mode].add(sent.token);
        this.setRow(at, { status: 'ok', title: shown.title, name: shown.name, serial: shown.serial, lines: shown.lines, message: '', canRetry: false, sending: false });
        this.count(sent.mode, answer, shown);
        feel(true);
        return 'ok';
      } catch (err) {
        if (redirectIfSignedOut(err)) return 'signed-out';
        const canRetry = keepsAttempt(err);
        if (!canRetry) delete this.sent[key];
        this.setRow(at, { status: 'failed', title: `${modeOf(sent.mode).name}失败`, message: errorMessage(err), canRetry, sending: false });
        this.count(null);
        feel(false);
        return 'failed';
      }
    },

    /** Sends a row again whose answer was lost, with its first Idempotency-Key. */
    onRetryRow(e) {
      const key = e.currentTarget.dataset.key;
      const at = this.data.results.findIndex((r) => r.key === key);
      if (at < 0 || !this.sent[key] || this.data.results[at].sending) return Promise.resolve();
      this.setRow(at, { status: 'sending', title: `${modeOf(this.sent[key].mode).name}中…`, message: '', canRetry: false, sending: true });
      return this.send(key);
    },

    addRow(at, row) {
      this.setData({ [`results[${at}]`]: row });
    },
    setRow(at, fields) {
      const patch = {};
      Object.keys(fields).forEach((k) => {
        patch[`results[${at}].${k}`] = fields[k];
      });
      this.setData(patch);
    },
    count(mode, answer, shown) {
      const t = this.totals;
      if (!mode) t.failed += 1;
      else if (mode === 'receive') {
        t.receive.boxes += 1;
        t.receive.items += shown.count;
      } else if (mode === 'sell') t.sell.items += shown.count;
      else {
        t.redeem.coupons += 1;
        t.redeem.fen += shown.valueFen;
      }
      this.setData({ totals: codes.totalsText(t) });
    },

    /** A result line that leads somewhere (the order the box signed for). */
    onLine(e) {
      const url = e.currentTarget.dataset.url;
      if (url) wx.navigateTo({ url });
    },
    onStock() {
      wx.navigateTo({ url: '/packageCodes/pages/stock/index' });
    },
  },
});
