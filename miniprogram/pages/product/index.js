/**
 * 商品详情: a product's SKUs at this store's price (GET /catalog/skus?product_id=), the
 * quantity tiers (阶梯价), case size and minimum order, the promotions running now that can
 * apply to the SKU chosen (GET /promotions/current?sku_id=), and, for the quantity chosen, a
 * live one-line quote (POST /quote) that shows the tier price reached, the promotions it
 * gets, the gifts by name and why it could not be ordered; then add to the cart.
 */
const api = require('../../utils/api');
const { goShopping } = require('../../components/lib/links');
const { formatFen } = require('../../utils/money');
const { errorMessage, redirectIfSignedOut, toastError } = require('../../components/lib/errors');
const { orderableMin } = require('../../components/lib/quantity');
const { appliedOf, giftsOf, presentCurrent } = require('../../components/lib/promotions');
const { requireStore } = require('../../components/lib/identity');
const { diffPatch } = require('../../components/lib/patch');
const track = require('../../utils/track');

function presentSku(sku, offer) {
  const unit = sku.unit;
  const tiers = ((offer && offer.price_tiers) || []).map((t) => ({
    key: `${t.min_qty}-${t.unit_price_fen}`,
    qty: `${t.min_qty}${unit}起`,
    price: `${formatFen(t.unit_price_fen)}/${unit}`,
  }));
  let blocked = '';
  if (!offer || !offer.sold_here) blocked = '您的经销商暂不供应该商品';
  else if (offer.stock <= 0) blocked = '暂时缺货';
  return {
    id: sku.id,
    name: sku.name,
    spec: sku.spec,
    unit,
    caseSize: sku.case_size,
    minOrderQty: sku.min_order_qty,
    minQty: orderableMin(sku.min_order_qty, sku.case_size),
    listPriceFen: sku.list_price_fen,
    unitPriceFen: offer ? offer.unit_price_fen : null,
    stock: offer ? offer.stock : 0,
    tiers,
    blocked,
  };
}

function presentQuote(answer) {
  const line = (answer.lines || [])[0] || {};
  const problems = (line.problems || []).concat(answer.problems || []).map((p) => p.message);
  const promotions = answer.promotions;
  const names = {};
  names[line.sku_id] = `${line.product_name || ''} ${line.sku_name || ''}`.trim();
  return {
    unitPriceFen: line.unit_price_fen,
    amountFen: line.payable_fen,
    payableFen: answer.payable_fen,
    savedFen: answer.discount_fen,
    applied: appliedOf(promotions),
    gifts: giftsOf(promotions, names),
    points: promotions ? promotions.points_earned : 0,
    problems,
    orderable: Boolean(line.orderable) && answer.orderable !== false,
  };
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    product: null,
    skus: [],
    selected: null,
    quantity: 1,
    inCart: {},
    quote: null,
    quoteStatus: '',
    quoteError: '',
    promotions: [],
    promotionsStatus: '',
    adding: false,
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.productId = Number((options || {}).product_id);
      this.wantedSku = Number((options || {}).sku_id) || null;
      return this.load();
    },
    onShow() {
      track.pageView('pages/product/index');
    },

    async load() {
      if (!this.productId) {
        this.setData({ status: 'error', errorMessage: '找不到该商品' });
        return;
      }
      this.setData({ status: 'loading', errorMessage: '' });
      this.loadCart();
      try {
        const [product, offers] = await Promise.all([
          api.get(`/catalog/products/${this.productId}`),
          api.get('/catalog/skus', { product_id: this.productId, limit: 100 }),
        ]);
        const byId = {};
        (offers.items || []).forEach((o) => {
          byId[o.id] = o;
        });
        const skus = (product.skus || []).filter((s) => s.is_active).map((s) => presentSku(s, byId[s.id]));
        if (!skus.length) {
          this.setData({ status: 'empty' });
          return;
        }
        const chosen = skus.find((s) => s.id === this.wantedSku) || skus[0];
        wx.setNavigationBarTitle({ title: product.name });
        this.setData({
          status: 'ready',
          product: { id: product.id, name: product.name, description: product.description, images: product.images || [] },
          skus,
          selected: chosen,
          quantity: chosen.minQty,
        });
        track.productView(product.id, chosen.id);
        await Promise.all([this.requote(), this.loadPromotions()]);
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    async loadCart() {
      try {
        const cart = await api.get('/cart');
        const inCart = {};
        (cart.lines || []).forEach((l) => {
          inCart[l.sku_id] = l.quantity;
        });
        this.cartKnown = true;
        this.setData(diffPatch('inCart', this.data.inCart, inCart));
      } catch (err) {
        this.cartKnown = false;
      }
    },

    /** The running promotions whose scope takes the chosen SKU; the page works without them. */
    async loadPromotions() {
      const { selected } = this.data;
      if (!selected) return;
      this.promotionsSeq = (this.promotionsSeq || 0) + 1;
      const seq = this.promotionsSeq;
      this.setData({ promotionsStatus: 'loading' });
      try {
        const answer = await api.get('/promotions/current', { sku_id: selected.id });
        if (seq !== this.promotionsSeq) return; // another SKU was picked meanwhile
        this.setData({ promotions: (answer.items || []).map(presentCurrent), promotionsStatus: 'ready' });
      } catch (err) {
        if (seq !== this.promotionsSeq || redirectIfSignedOut(err)) return;
        this.setData({ promotions: [], promotionsStatus: 'error' });
      }
    },

    async requote() {
      const { selected, quantity } = this.data;
      if (!selected) return;
      this.quoteSeq = (this.quoteSeq || 0) + 1;
      const seq = this.quoteSeq;
      this.setData({ quoteStatus: 'loading', quoteError: '' });
      try {
        const answer = await api.post('/quote', { lines: [{ sku_id: selected.id, quantity }] });
        if (seq !== this.quoteSeq) return; // the quantity changed meanwhile
        // A new quantity changes a few amounts: those go by path, not the whole quote.
        this.setData(Object.assign(diffPatch('quote', this.data.quote, presentQuote(answer)), { quoteStatus: 'ready' }));
      } catch (err) {
        if (seq !== this.quoteSeq || redirectIfSignedOut(err)) return;
        this.setData({ quoteStatus: 'error', quoteError: errorMessage(err) });
      }
    },

    onRetry() {
      return this.load();
    },
    onRetryQuote() {
      return this.requote();
    },
    onRetryPromotions() {
      return this.loadPromotions();
    },
    onPickSku(e) {
      const id = Number(e.currentTarget.dataset.id);
      const sku = this.data.skus.find((s) => s.id === id);
      if (!sku || (this.data.selected && sku.id === this.data.selected.id)) return Promise.resolve();
      this.setData({ selected: sku, quantity: sku.minQty, quote: null });
      return Promise.all([this.requote(), this.loadPromotions()]);
    },
    onQuantity(e) {
      this.setData({ quantity: e.detail.value });
      return this.requote();
    },

    onAdd() {
      const { selected, quantity } = this.data;
      if (!selected || selected.blocked) return Promise.resolve();
      return api.withButtonLock(this, 'adding', async () => {
        try {
          if (!this.cartKnown) await this.loadCart();
          if (!this.cartKnown) throw new api.ApiError({ code: 'cart.unknown', message: '购物车加载失败，请稍后重试' });
          const total = (this.data.inCart[selected.id] || 0) + quantity;
          const cart = await api.put(`/cart/items/${selected.id}`, { quantity: total });
          const inCart = {};
          (cart.lines || []).forEach((l) => {
            inCart[l.sku_id] = l.quantity;
          });
          this.setData(diffPatch('inCart', this.data.inCart, inCart));
          track.addToCart(selected.id, this.productId);
          wx.showToast({ title: '已加入购物车', icon: 'success' });
        } catch (err) {
          if (!redirectIfSignedOut(err)) toastError(err);
        }
      });
    },
    onGoCart() {
      wx.switchTab({ url: '/pages/cart/index' });
    },
    onPreview(e) {
      const { images } = this.data.product;
      wx.previewImage({ urls: images, current: e.currentTarget.dataset.src });
    },
    onGoShopping() {
      goShopping();
    },
  },
});
