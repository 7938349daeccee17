/**
 * The page a box's or an item's QR code opens (`<base>/C/<token>`, configured as 扫普通链接二维码
 * 打开小程序: the URL arrives encoded as `q`; a mini-program code's `scene`, or `code`, works
 * too). Whoever scans it is signed in with WeChat at once (wx.login needs no tap), and
 * GET /codes/lookup says where they belong:
 *   - the brand's store staff ("store") see the product and what the store may do now
 *     (`actions`): an action sheet offers 扫码入库 for a box and 动销 for an item, then the
 *     result (items received, the open-box reward, the order signed for), or the server's
 *     reason for refusing it;
 *   - someone with no store of the brand scanning a box ("join") goes to 门店入驻 with the
 *     distributor's join token;
 *   - an item scanned by anyone else ("consumer") goes to the consumer's genuine check.
 * An unknown code shows the server's message and lets the person scan another.
 */
const api = require('../../../utils/api');
const session = require('../../../utils/session');
const { errorMessage, isApiError, redirectIfSignedOut } = require('../../../components/lib/errors');
const { createAttempts, keepsAttempt } = require('../../../components/lib/attempt');
const { formatDate } = require('../../../components/lib/format');
const codes = require('../../lib/codes');

const JOIN = '/pages/join/index';
const CONSUMER_CHECK = '/packageConsumer/pages/check/index';

function actionName(action, kind) {
  if (action === 'receive') return '扫码入库';
  return kind === 'box' ? '整箱动销（全部卖出）' : '动销（已卖出）';
}

function presentCode(found) {
  const code = found.code || {};
  const product = found.product || {};
  const batch = found.batch || {};
  const box = found.box || {};
  const isBox = code.kind === 'box';
  const facts = [];
  if (code.serial_text) facts.push({ key: 'serial', name: isBox ? '箱号' : '序号', value: code.serial_text });
  if (!isBox && code.box_serial_text) facts.push({ key: 'box', name: '所在箱', value: code.box_serial_text });
  if (batch.batch_no) facts.push({ key: 'batch', name: '生产批次', value: batch.batch_no });
  if (batch.produced_on) facts.push({ key: 'produced', name: '生产日期', value: formatDate(`${batch.produced_on}T00:00:00+08:00`) || batch.produced_on });
  if (isBox && box.items_per_box) facts.push({ key: 'per-box', name: '每箱', value: `${box.items_per_box} 件` });
  if (isBox) facts.push({ key: 'received', name: '状态', value: box.received ? '已入库' : '未入库' });
  const actions = (found.actions || []).filter((a) => a === 'receive' || a === 'sell').map((a) => ({ key: a, name: actionName(a, code.kind) }));
  let idle = '';
  if (!actions.length) idle = isBox && box.received ? '该箱已入库，不需要再扫' : '这个码现在没有可做的操作';
  return {
    token: code.token || '',
    kind: code.kind || '',
    kindLabel: code.kind_label || (isBox ? '箱码' : '商品码'),
    name: product.name || '',
    spec: product.spec || '',
    image: product.image_url || '',
    facts,
    actions,
    idle,
  };
}

Component({
  data: {
    view: 'loading', // loading | error | invalid | code | leaving
    errorMessage: '',
    invalidMessage: '',
    canJoin: false,
    code: null,
    acting: false,
    scanning: false,
    result: null, // {ok, title, name, serial, lines, message, canRetry, action}
  },
  methods: {
    onLoad(options) {
      const o = options || {};
      this.text = codes.decodeOption(o.q) || codes.decodeOption(o.scene) || codes.decodeOption(o.code);
      this.attempts = createAttempts();
      return this.load();
    },

    async load() {
      if (!this.text) {
        this.setData({ view: 'invalid', invalidMessage: '没有读到二维码的内容，请重新扫码', canJoin: false });
        return;
      }
      this.setData({ view: 'loading', errorMessage: '', result: null });
      let found;
      try {
        // Opened by the camera before anyone signed in: sign in here, not lose the code.
        if (!session.getSession()) await api.login();
        found = await api.get('/codes/lookup', { code: this.text });
      } catch (err) {
        // The code itself was refused (unknown, forged, another brand's): scanning another is
        // the way on. Busy (429), signed out or offline: 重试 or the sign-in.
        if (isApiError(err) && err.status >= 400 && err.status < 500 && err.status !== 429 && !/^auth\./.test(err.code)) {
          this.setData({ view: 'invalid', invalidMessage: errorMessage(err), canJoin: false });
          return;
        }
        if (redirectIfSignedOut(err)) return;
        this.setData({ view: 'error', errorMessage: errorMessage(err) });
        return;
      }
      this.route(found);
    },

    route(found) {
      const code = found.code || {};
      if (found.next === 'join') {
        if (found.join_token) {
          this.setData({ view: 'leaving' });
          wx.redirectTo({ url: `${JOIN}?token=${encodeURIComponent(found.join_token)}` });
          return;
        }
        this.setData({ view: 'invalid', invalidMessage: '这个箱码还不能用来入驻，请联系供货的经销商，或用邀请码申请入驻', canJoin: true });
        return;
      }
      if (found.next === 'consumer') {
        this.setData({ view: 'leaving' });
        wx.redirectTo({ url: `${CONSUMER_CHECK}?code=${encodeURIComponent(code.token || this.text)}` });
        return;
      }
      const shown = presentCode(found);
      this.setData({ view: 'code', code: shown, result: null });
      if (shown.actions.length) this.offer(shown.actions);
    },

    /** The action sheet: what this store may do with the code now. */
    offer(actions) {
      wx.showActionSheet({
        itemList: actions.map((a) => a.name),
        success: (res) => {
          const chosen = actions[res.tapIndex];
          if (chosen) this.act(chosen.key);
        },
        fail: () => {}, // closed: the page's own buttons stay
      });
    },

    onRetry() {
      return this.load();
    },
    onAction(e) {
      return this.act(e.currentTarget.dataset.action);
    },

    act(action) {
      const { code } = this.data;
      if (!code || !action) return Promise.resolve();
      return api.withButtonLock(this, 'acting', async () => {
        const where = await codes.locate();
        const body = { code: code.token || this.text, action };
        if (where) Object.assign(body, { latitude: where.latitude, longitude: where.longitude });
        const key = this.attempts.keyFor(`${body.code}|${action}`);
        try {
          const answer = await api.post('/codes/scans', body, { idempotencyKey: key });
          this.attempts.done();
          // The card above says what the code is now: a received box, no action left to take.
          const facts = code.facts.map((f) => (f.key === 'received' && action === 'receive' ? Object.assign({}, f, { value: '已入库' }) : f));
          this.setData({
            code: Object.assign({}, code, { facts, actions: [], idle: '' }),
            result: Object.assign(codes.presentScan(action, answer), { message: '', canRetry: false, action }),
          });
        } catch (err) {
          this.attempts.failed(err);
          if (redirectIfSignedOut(err)) return;
          this.setData({
            result: { ok: false, title: action === 'receive' ? '入库失败' : '动销失败', name: code.name, serial: '', lines: [], message: errorMessage(err), canRetry: keepsAttempt(err), action },
          });
        }
      });
    },
    onRetryAction() {
      return this.act(this.data.result && this.data.result.action);
    },

    /** Another code, scanned here (an unknown code, or the next box). */
    onScanAnother() {
      return api.withButtonLock(this, 'scanning', async () => {
        const shot = await codes.scanOnce();
        if (!shot.text) {
          if (shot.failed) wx.showToast({ title: '没有识别到二维码，请对准后重试', icon: 'none' });
          return;
        }
        this.text = shot.text;
        this.attempts.done();
        await this.load();
      });
    },
    onKeepScanning() {
      const action = (this.data.result && this.data.result.action) || 'receive';
      wx.redirectTo({ url: `/packageCodes/pages/scan/index?mode=${action}` });
    },
    /** A result line that leads somewhere (the order the box signed for). */
    onLine(e) {
      const url = e.currentTarget.dataset.url;
      if (url) wx.navigateTo({ url });
    },
    onStock() {
      wx.redirectTo({ url: '/packageCodes/pages/stock/index' });
    },
    onJoin() {
      wx.redirectTo({ url: JOIN });
    },
    onHome() {
      wx.switchTab({ url: '/pages/home/index' });
    },
  },
});
