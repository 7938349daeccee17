/**
 * 代下单: a salesperson orders for one of their stores (channel `proxy`). The catalog is the
 * store's (GET /catalog/skus?store_id=: its prices and its distributor's stock); the chosen
 * lines are priced as the store (POST /quote with store_id: tier and volume prices and the
 * running promotions, and why a line cannot be ordered); the order is placed with
 * POST /orders {store_id, lines} under one Idempotency-Key per attempt. The store then pays
 * it in its own mini-program (coupons and exchange vouchers are the store's to use on its own
 * orders, so none apply here).
 */
const api = require('../../../utils/api');
const { formatFen } = require('../../../utils/money');
const { errorMessage, redirectIfSignedOut } = require('../../../components/lib/errors');
const { endPullDown } = require('../../../components/lib/pull-down');
const { appendPatch, diffPatch } = require('../../../components/lib/patch');
const { formatTime } = require('../../../components/lib/format');
const { presentPriced } = require('../../../components/lib/priced');
const { orderableMin } = require('../../../components/lib/quantity');
const { createAttempts } = require('../../../components/lib/attempt');
const { requireSalesperson } = require('../../lib/sales');

const PAGE_SIZE = 20;

function blockedReason(sku) {
  if (sku.sold_here === false) return '经销商暂不供应';
  const min = orderableMin(sku.min_order_qty, sku.case_size);
  if (typeof sku.stock === 'number' && sku.stock < min) return sku.stock > 0 ? `库存不足，仅剩${sku.stock}${sku.unit}` : '暂时缺货';
  return '';
}

function presentSku(sku) {
  return {
    id: sku.id,
    title: sku.product_name || '',
    skuName: sku.name,
    spec: sku.spec || '',
    unit: sku.unit,
    unitPriceFen: sku.unit_price_fen,
    listPriceFen: sku.list_price_fen,
    stock: sku.stock,
    min: Math.max(1, sku.min_order_qty || 1),
    step: Math.max(1, sku.case_size || 1),
    rules: [
      sku.case_size > 1 ? `${sku.case_size}${sku.unit}/箱` : '',
      sku.min_order_qty > 1 ? `${sku.min_order_qty}${sku.unit}起订` : '',
    ].filter(Boolean).join(' · '),
    blocked: blockedReason(sku),
  };
}

Component({
  data: {
    storeName: '',
    input: '',
    keyword: '',
    status: 'loading',
    errorMessage: '',
    items: [],
    nextAfter: null,
    loadingMore: false,
    quantities: {}, // sku id → quantity chosen
    lineCount: 0,
    quote: null, // presentPriced(...) of the chosen lines
    quoting: false,
    quoteError: '',
    submitting: false,
    submitError: '',
    placed: null,
  },
  methods: {
    onLoad(options) {
      if (!requireSalesperson()) return Promise.resolve();
      this.storeId = Number((options || {}).store_id);
      this.attempts = createAttempts();
      return Promise.all([this.loadStore(), this.reload()]);
    },
    onReachBottom() {
      return this.loadMore();
    },

    async loadStore() {
      try {
        const store = await api.get(`/stores/${this.storeId}`);
        this.setData({ storeName: store.name });
      } catch (err) {
        redirectIfSignedOut(err); // the list below says what failed
      }
    },
    query(after) {
      const q = { store_id: this.storeId, limit: PAGE_SIZE };
      if (this.data.keyword) q.q = this.data.keyword;
      if (after) q.after = after;
      return q;
    },
    onPullDownRefresh() {
      return endPullDown(this.reload());
    },

    async reload() {
      this.seq = (this.seq || 0) + 1;
      const seq = this.seq;
      this.setData({ status: 'loading', errorMessage: '', items: [], nextAfter: null });
      try {
        const answer = await api.get('/catalog/skus', this.query());
        if (seq !== this.seq) return;
        const items = (answer.items || []).map(presentSku);
        this.setData({ items, nextAfter: answer.next_after || null, status: items.length ? 'ready' : 'empty' });
      } catch (err) {
        if (seq !== this.seq || redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    async loadMore() {
      const { nextAfter, loadingMore, status } = this.data;
      if (!nextAfter || loadingMore || status !== 'ready') return;
      const seq = this.seq;
      this.setData({ loadingMore: true });
      try {
        const answer = await api.get('/catalog/skus', this.query(nextAfter));
        if (seq !== this.seq) return;
        this.setData(Object.assign(appendPatch('items', this.data.items, (answer.items || []).map(presentSku)), { nextAfter: answer.next_after || null }));
      } catch (err) {
        if (seq === this.seq && !redirectIfSignedOut(err)) wx.showToast({ title: errorMessage(err), icon: 'none' });
      } finally {
        if (seq === this.seq) this.setData({ loadingMore: false });
      }
    },
    onRetry() {
      return this.reload();
    },
    onInput(e) {
      this.setData({ input: e.detail.value });
    },
    onSearch() {
      this.setData({ keyword: this.data.input.trim() });
      return this.reload();
    },

    // ---- the lines and their price -----------------------------------------------------------

    lines() {
      const { quantities } = this.data;
      return Object.keys(quantities)
        .filter((id) => quantities[id] > 0)
        .map((id) => ({ sku_id: Number(id), quantity: quantities[id] }));
    },
    onQuantity(e) {
      const skuId = Number(e.currentTarget.dataset.sku);
      const quantities = Object.assign({}, this.data.quantities, { [skuId]: e.detail.value });
      if (!e.detail.value) delete quantities[skuId];
      this.setData({ quantities, lineCount: Object.keys(quantities).length, submitError: '' });
      return this.requote();
    },
    onAdd(e) {
      const skuId = Number(e.currentTarget.dataset.sku);
      const sku = this.data.items.find((s) => s.id === skuId);
      if (!sku || sku.blocked) return Promise.resolve();
      return this.onQuantity({ currentTarget: { dataset: { sku: skuId } }, detail: { value: orderableMin(sku.min, sku.step) } });
    },
    async requote() {
      const lines = this.lines();
      this.quoteSeq = (this.quoteSeq || 0) + 1;
      const seq = this.quoteSeq;
      if (!lines.length) {
        this.setData({ quote: null, quoting: false, quoteError: '' });
        return;
      }
      this.setData({ quoting: true, quoteError: '' });
      try {
        const answer = await api.post('/quote', { store_id: this.storeId, lines });
        if (seq !== this.quoteSeq) return;
        this.setData(Object.assign(diffPatch('quote', this.data.quote, presentPriced(answer)), { quoting: false }));
      } catch (err) {
        if (seq !== this.quoteSeq || redirectIfSignedOut(err)) return;
        this.setData({ quoting: false, quoteError: errorMessage(err) });
      }
    },
    onRetryQuote() {
      return this.requote();
    },

    // ---- placing -------------------------------------------------------------------------------

    onSubmit() {
      const lines = this.lines();
      const { quote, quoting } = this.data;
      if (!lines.length || quoting || !quote || !quote.orderable) return Promise.resolve();
      return api.withButtonLock(this, 'submitting', async () => {
        this.setData({ submitError: '' });
        const body = { store_id: this.storeId, lines };
        const key = this.attempts.keyFor(JSON.stringify(body));
        try {
          const order = await api.post('/orders', body, { idempotencyKey: key });
          this.attempts.done();
          this.setData({
            placed: {
              id: order.id,
              orderNo: order.order_no,
              payableText: formatFen(order.payable_fen),
              statusName: order.status_name || '待付款',
              payDeadline: formatTime(order.pay_deadline),
            },
          });
        } catch (err) {
          this.attempts.failed(err);
          if (redirectIfSignedOut(err)) return;
          this.setData({ submitError: errorMessage(err) });
          if (err.status === 409 || err.status === 422) this.requote(); // stock or prices moved: show why
        }
      });
    },
    onAnother() {
      this.attempts.done();
      this.setData({ placed: null, quantities: {}, lineCount: 0, quote: null, submitError: '' });
      return this.reload();
    },
    onBack() {
      wx.navigateBack();
    },
    onViewOrder() {
      if (this.data.placed) wx.navigateTo({ url: `/pages/order/index?id=${this.data.placed.id}` });
    },
  },
});
