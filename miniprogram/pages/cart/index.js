/**
 * 购物车: the store's server-side cart, priced live (GET /cart): each line at the store's
 * price with the promotions that changed it, a stepper by whole cases (箱规) from the
 * minimum order, its name opening the product; the gifts by name; lines that cannot be
 * ordered and why, the coupon picker (every wallet coupon with what it would take off or
 * why not), the rebate balance, points to be earned, and the way to checkout.
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const { errorMessage, redirectIfSignedOut, toastError } = require('../../components/lib/errors');
const { presentPriced } = require('../../components/lib/priced');
const { requireStore } = require('../../components/lib/identity');
const { diffPatch } = require('../../components/lib/patch');
const track = require('../../utils/track');

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    cart: null,
    couponId: null,
    useRebate: false,
    couponPanel: false,
    updating: {},
    clearing: false,
  },
  methods: {
    onLoad() {
      if (!requireStore()) return Promise.resolve();
      this.loadedOnce = true;
      return this.load();
    },
    onShow() {
      track.pageView('pages/cart/index');
      // A tab page: the cart may have changed on the catalog or product page.
      if (!this.shownOnce) {
        this.shownOnce = true;
        if (this.loadedOnce) return Promise.resolve();
      }
      return this.load({ quiet: true });
    },
    onPullDownRefresh() {
      return endPullDown(this.load({ quiet: true }));
    },

    async load(options) {
      const quiet = options && options.quiet && this.data.cart;
      this.seq = (this.seq || 0) + 1;
      const seq = this.seq;
      if (!quiet) this.setData({ status: 'loading', errorMessage: '' });
      try {
        const answer = await api.get('/cart', this.data.couponId ? { coupon_id: this.data.couponId } : undefined);
        if (seq !== this.seq) return;
        this.show(answer);
      } catch (err) {
        if (seq !== this.seq || redirectIfSignedOut(err)) return;
        if (quiet) toastError(err);
        else this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    show(answer) {
      this.lastAnswer = answer;
      const cart = presentPriced(answer, { useRebate: this.data.useRebate });
      // A changed quantity reprices a few lines and the totals: send those by path, not the cart.
      const patch = Object.assign(diffPatch('cart', this.data.cart, cart), { status: cart.hasLines ? 'ready' : 'empty' });
      // A chosen coupon that no longer applies stays chosen (the problem says why) until
      // the owner picks another; one that left the wallet is dropped.
      if (this.data.couponId && !cart.coupons.some((c) => c.id === this.data.couponId)) patch.couponId = null;
      this.setData(patch);
    },

    onRetry() {
      return this.load();
    },

    onQuantity(e) {
      const skuId = Number(e.currentTarget.dataset.sku);
      return this.setQuantity(skuId, e.detail.value);
    },
    onRemove(e) {
      const skuId = Number(e.currentTarget.dataset.sku);
      return this.setQuantity(skuId, 0);
    },
    setQuantity(skuId, quantity) {
      return api.withButtonLock(this, `updating.${skuId}`, async () => {
        try {
          const answer = await api.put(`/cart/items/${skuId}`, { quantity });
          this.seq = (this.seq || 0) + 1; // older loads must not overwrite this answer
          if (this.data.couponId) {
            // PUT answers without the coupon: price the chosen coupon again.
            await this.load({ quiet: true });
          } else {
            this.show(answer);
          }
        } catch (err) {
          if (redirectIfSignedOut(err)) return;
          toastError(err);
          await this.load({ quiet: true });
        }
      });
    },
    onClear() {
      return new Promise((resolve) => {
        wx.showModal({
          title: '清空购物车',
          content: '确定清空购物车中的全部商品吗？',
          confirmText: '清空',
          confirmColor: '#e4393c',
          success: (res) => {
            if (!res.confirm) {
              resolve();
              return;
            }
            resolve(
              api.withButtonLock(this, 'clearing', async () => {
                try {
                  await api.del('/cart');
                  this.setData({ couponId: null, useRebate: false });
                  await this.load();
                } catch (err) {
                  if (!redirectIfSignedOut(err)) toastError(err);
                }
              }),
            );
          },
          fail: () => resolve(),
        });
      });
    },

    onToggleCoupons() {
      this.setData({ couponPanel: !this.data.couponPanel });
    },
    onPickCoupon(e) {
      const id = Number(e.currentTarget.dataset.id) || null;
      const option = id && this.data.cart.coupons.find((c) => c.id === id);
      if (option && !option.usable) {
        wx.showToast({ title: option.reason, icon: 'none' });
        return Promise.resolve();
      }
      this.setData({ couponId: id, couponPanel: false });
      return this.load({ quiet: true });
    },
    onRebate(e) {
      const useRebate = Boolean(e.detail.value);
      this.setData({ useRebate });
      // The same answer again: the rebate changes only what is left to pay.
      if (this.lastAnswer) this.show(this.lastAnswer);
    },

    onCheckout() {
      const { cart, couponId, useRebate } = this.data;
      if (!cart || !cart.orderable) return;
      const query = [];
      if (couponId) query.push(`coupon_id=${couponId}`);
      if (useRebate) query.push('use_rebate=1');
      wx.navigateTo({ url: `/pages/checkout/index${query.length ? `?${query.join('&')}` : ''}` });
    },
    onOpenProduct(e) {
      const { product, sku } = e.currentTarget.dataset;
      if (!product) return; // a line whose SKU the catalog no longer knows
      wx.navigateTo({ url: `/pages/product/index?product_id=${product}&sku_id=${sku}` });
    },
    onGoShopping() {
      wx.switchTab({ url: '/pages/catalog/index' });
    },
  },
});
