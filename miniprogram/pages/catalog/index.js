/**
 * 订货 (catalog): categories, search by name, scan a barcode, pages of SKUs with this
 * store's price and the kinds of running promotions (GET /promotions/current) that can apply
 * to each, and "add to cart" from the list (one orderable step at a time).
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const pagedList = require('../../components/lib/paged-list');
const { formatFen } = require('../../utils/money');
const { redirectIfSignedOut, toastError } = require('../../components/lib/errors');
const { nextQuantity, orderableMin } = require('../../components/lib/quantity');
const { requireStore } = require('../../components/lib/identity');
const { takeIntent } = require('../../components/lib/intent');
const { covers } = require('../../components/lib/promotions');
const privacy = require('../../components/lib/privacy');
const { diffPatch } = require('../../components/lib/patch');
const track = require('../../utils/track');

const PAGE_SIZE = 20;

function tiersOf(sku) {
  return (sku.price_tiers || [])
    .filter((t) => t.min_qty > 1)
    .map((t) => ({ key: `${t.min_qty}-${t.unit_price_fen}`, text: `满${t.min_qty}${sku.unit} ${formatFen(t.unit_price_fen)}/${sku.unit}` }));
}

function blockedReason(sku) {
  if (!sku.sold_here) return '经销商暂不供应';
  if (sku.stock < orderableMin(sku.min_order_qty, sku.case_size)) return sku.stock > 0 ? `库存不足，仅剩${sku.stock}${sku.unit}` : '暂时缺货';
  return '';
}

function present(sku) {
  return {
    id: sku.id,
    productId: sku.product_id,
    categoryId: sku.category_id,
    title: sku.product_name,
    skuName: sku.name,
    spec: sku.spec,
    unit: sku.unit,
    image: '',
    unitPriceFen: sku.unit_price_fen,
    listPriceFen: sku.list_price_fen,
    caseSize: sku.case_size,
    minOrderQty: sku.min_order_qty,
    rules: [
      sku.case_size > 1 ? `${sku.case_size}${sku.unit}/箱` : '',
      sku.min_order_qty > 1 ? `${sku.min_order_qty}${sku.unit}起订` : '',
    ].filter(Boolean).join(' · '),
    tiers: tiersOf(sku),
    blocked: blockedReason(sku),
  };
}

const MAX_TAGS = 2;

/** {skuId: [{key, text}]}: the running promotions each listed SKU is in scope of. */
function promotionTags(items, promotions) {
  const tags = {};
  items.forEach((item) => {
    const found = promotions.filter((p) => covers(p, { id: item.id, category_id: item.categoryId }));
    if (found.length) {
      tags[item.id] = found.slice(0, MAX_TAGS).map((p) => ({ key: `p${p.id}`, text: p.kind_name || '活动', name: p.name }));
    }
  });
  return tags;
}

function quantitiesOf(cart) {
  const found = {};
  ((cart && cart.lines) || []).forEach((line) => {
    found[line.sku_id] = line.quantity;
  });
  return found;
}

Component({
  behaviors: [pagedList],
  data: {
    categories: [{ id: 0, name: '全部' }],
    activeCategory: 0,
    keyword: '',
    input: '',
    barcode: '',
    inCart: {},
    adding: {},
    promoTags: {},
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      const query = options || {};
      if (query.q) {
        this.setData({ keyword: query.q, input: query.q });
        this.searched = true;
      }
      return Promise.all([this.loadCategories(), this.reload(), this.loadCart(), this.loadPromotions()]);
    },
    onShow() {
      track.pageView('pages/catalog/index');
      // The cart may have changed on another page: keep the "已加 N" marks true.
      if (this.shownOnce) this.loadCart();
      this.shownOnce = true;
      // 扫码订货 on the home page: scan at once.
      if (takeIntent('/pages/catalog/index') === 'scan') return this.onScan();
      return Promise.resolve();
    },
    onPullDownRefresh() {
      return endPullDown(Promise.all([this.loadCategories(), this.reload(), this.loadCart(), this.loadPromotions()]));
    },
    async loadCategories() {
      try {
        const answer = await api.get('/catalog/categories');
        const top = (answer.items || [])
          .filter((c) => !c.parent_id)
          .sort((a, b) => a.sort - b.sort || a.id - b.id)
          .map((c) => ({ id: c.id, name: c.name }));
        this.setData({ categories: [{ id: 0, name: '全部' }].concat(top) });
      } catch (err) {
        // The list still works without the tabs (search and 全部).
        redirectIfSignedOut(err);
      }
    },
    async loadPromotions() {
      try {
        const answer = await api.get('/promotions/current');
        this.promotions = answer.items || [];
        this.tagItems();
      } catch (err) {
        // The list works without the tags; the home page lists the promotions too.
        redirectIfSignedOut(err);
      }
    },
    /** Tag `added` items (the next page: by path) or, without it, every item shown. */
    tagItems(added) {
      const tags = promotionTags(added || this.data.items, this.promotions || []);
      if (!added) {
        this.setData({ promoTags: tags });
        return;
      }
      const patch = {};
      Object.keys(tags).forEach((id) => {
        patch[`promoTags.${id}`] = tags[id];
      });
      if (Object.keys(patch).length) this.setData(patch);
    },
    /** What the cart holds, by SKU: only the quantities that changed go to the view. */
    showInCart(cart) {
      const patch = diffPatch('inCart', this.data.inCart, quantitiesOf(cart));
      if (Object.keys(patch).length) this.setData(patch);
    },
    async loadCart() {
      try {
        const cart = await api.get('/cart');
        this.cartKnown = true;
        this.showInCart(cart);
      } catch (err) {
        this.cartKnown = false;
      }
    },

    async fetchPage(after) {
      const query = { limit: PAGE_SIZE };
      if (this.data.barcode) query.barcode = this.data.barcode;
      else if (this.data.keyword) query.q = this.data.keyword;
      if (this.data.activeCategory) query.category_id = this.data.activeCategory;
      if (after) query.after = after;
      const answer = await api.get('/catalog/skus', query);
      // A search (not a refresh or another tab of it) is what its first page found (0:
      // nothing): the brand's zero-result terms.
      if (this.searched && query.q && !after) track.search(query.q, (answer.items || []).length);
      if (!after) this.searched = false;
      return { items: (answer.items || []).map(present), next: answer.next_after };
    },
    afterPage(added, { appended }) {
      this.tagItems(appended ? added : null);
    },

    onPickCategory(e) {
      const id = Number(e.currentTarget.dataset.id) || 0;
      if (id === this.data.activeCategory) return Promise.resolve();
      this.setData({ activeCategory: id });
      return this.reload();
    },
    onInput(e) {
      this.setData({ input: e.detail.value });
    },
    onSearch() {
      this.setData({ keyword: this.data.input.trim(), barcode: '' });
      this.searched = true;
      return this.reload();
    },
    onClearSearch() {
      this.setData({ keyword: '', input: '', barcode: '' });
      return this.reload();
    },
    onScan() {
      return new Promise((resolve) => {
        wx.scanCode({
          scanType: ['barCode', 'qrCode'],
          success: (res) => {
            const code = String(res.result || '').trim();
            if (!code) {
              resolve();
              return;
            }
            this.setData({ barcode: code, keyword: '', input: '', activeCategory: 0 });
            resolve(this.reload());
          },
          fail: (res) => {
            if (!privacy.explainDenied(res) && !/cancel/.test((res && res.errMsg) || '')) {
              wx.showToast({ title: '扫码失败，请重试', icon: 'none' });
            }
            resolve();
          },
        });
      });
    },

    onOpen(e) {
      const { id, product } = e.currentTarget.dataset;
      wx.navigateTo({ url: `/pages/product/index?product_id=${product}&sku_id=${id}` });
    },
    onAdd(e) {
      const id = Number(e.currentTarget.dataset.id);
      const item = this.data.items.find((i) => i.id === id);
      if (!item || item.blocked) return Promise.resolve();
      return api.withButtonLock(this, `adding.${id}`, async () => {
        try {
          // Never set a quantity from a guess: PUT replaces what the cart holds.
          if (!this.cartKnown) {
            const cart = await api.get('/cart');
            this.cartKnown = true;
            this.showInCart(cart);
          }
          const current = this.data.inCart[id] || 0;
          const quantity = nextQuantity(current, item.minOrderQty, item.caseSize);
          const cart = await api.put(`/cart/items/${id}`, { quantity });
          this.showInCart(cart);
          track.addToCart(id, item.productId);
          wx.showToast({ title: `已加入购物车（共${quantity}${item.unit}）`, icon: 'none' });
        } catch (err) {
          if (!redirectIfSignedOut(err)) toastError(err);
        }
      });
    },
  },
});
