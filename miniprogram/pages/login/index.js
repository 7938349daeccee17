/**
 * 登录: 微信一键登录, then finding out who the person is here.
 *
 *   - a store's owner or clerk goes to the home page;
 *   - a salesperson is recognised by the phone number the brand registered for them: binding
 *     that phone (getPhoneNumber → POST /auth/wechat/phone) links them, and the server signs
 *     them in as the salesperson at once when that is their only identity (the answer carries
 *     the new tokens); a phone already bound to another WeChat user is refused, and the page
 *     says so;
 *   - someone with several identities (two stores, or a store and a salesperson) chooses;
 *   - someone with none yet (a new store) goes to 门店入驻 (join), which also shows an
 *     application already made;
 *   - a consumer sent here on the way to a consumer's page (`redirect` under
 *     /packageConsumer/: checking a product's code, their coupons) goes straight there once
 *     signed in with WeChat: no phone, no store, whatever identities they have. Without a
 *     redirect, the phone step offers 我是消费者 for someone who only wants to check a code.
 *
 * A sign-in starts in the person's oldest identity, or none; a new identity (a store just
 * approved, a salesperson just linked) is entered with POST /auth/switch.
 */
const api = require('../../utils/api');
const session = require('../../utils/session');
const { errorMessage, toastError } = require('../../components/lib/errors');
const { isStoreRole, switchTo, describeMembership, ROLE_NAMES } = require('../../components/lib/identity');
const privacy = require('../../components/lib/privacy');

const HOME = '/pages/home/index';
const JOIN = '/pages/join/index';
// The salesperson's own pages (代下单); if the app has none yet, they stay here.
const SALES_HOME = '/packageSales/pages/home/index';
const ENTERABLE = ['store_owner', 'store_clerk', 'salesperson'];
// A consumer's pages need a WeChat sign-in only.
const CONSUMER_PAGES = '/packageConsumer/';
const CONSUMER_CHECK = '/packageConsumer/pages/check/index';

Component({
  data: {
    step: 'checking', // checking | welcome | phone | choose | salesperson | error
    errorMessage: '',
    loggingIn: false,
    binding: false,
    switching: false,
    choices: [],
    phoneError: '',
    salesName: '',
    agreed: true,
  },
  methods: {
    onLoad(options) {
      this.next = (options && options.redirect) ? decodeURIComponent(options.redirect) : '';
      if (!session.getSession()) {
        this.setData({ step: 'welcome' });
        return Promise.resolve();
      }
      return this.route();
    },

    onLogin() {
      return api.withButtonLock(this, 'loggingIn', async () => {
        try {
          await api.login();
        } catch (err) {
          toastError(err);
          return;
        }
        await this.route();
      });
    },

    /** Where the signed-in person goes. */
    async route() {
      if (this.next.indexOf(CONSUMER_PAGES) === 0) {
        this.enterConsumer(this.next);
        return;
      }
      this.setData({ step: 'checking', errorMessage: '' });
      let me;
      try {
        me = await api.get('/me');
      } catch (err) {
        if (err && err.code === 'auth.expired') {
          this.setData({ step: 'welcome' });
          return;
        }
        this.setData({ step: 'error', errorMessage: errorMessage(err) });
        return;
      }
      const current = (me.current && me.current.role) || null;
      const usable = (me.memberships || []).filter((m) => ENTERABLE.indexOf(m.role) >= 0);

      if (isStoreRole(current)) {
        this.enterStore();
        return;
      }
      if (!usable.length) {
        if (!me.phone && !this.phoneSkipped) {
          this.setData({ step: 'phone' });
          return;
        }
        wx.redirectTo({ url: JOIN });
        return;
      }
      if (usable.length === 1) {
        const only = usable[0];
        if (!(me.current && me.current.membership_id === only.id)) {
          const switched = await this.switchTo(only.id);
          if (!switched) return;
        }
        this.enter(describeMembership(only));
        return;
      }
      this.setData({ step: 'choose', choices: usable.map(describeMembership) });
    },

    async switchTo(membershipId) {
      try {
        await switchTo(membershipId);
        return true;
      } catch (err) {
        this.setData({ step: 'error', errorMessage: errorMessage(err) });
        return false;
      }
    },

    enter(choice) {
      if (isStoreRole(choice.role)) this.enterStore();
      else this.enterSales(choice);
    },
    enterStore() {
      if (this.next) wx.redirectTo({ url: this.next, fail: () => wx.switchTab({ url: HOME }) });
      else wx.switchTab({ url: HOME });
    },
    enterConsumer(url) {
      wx.redirectTo({ url, fail: () => wx.reLaunch({ url }) });
    },
    /** Someone who only wants to check a product's code: no phone, no store needed. */
    onConsumer() {
      this.enterConsumer(CONSUMER_CHECK);
    },
    enterSales(choice) {
      this.setData({ step: 'salesperson', salesName: `${choice.title}（${ROLE_NAMES.salesperson}）` });
      wx.reLaunch({ url: SALES_HOME, fail: () => {} });
    },

    /** The phone button is also the privacy guide's 同意 (getPhoneNumber|agreePrivacyAuthorization):
     * one tap agrees and asks for the number; any call waiting on consent goes on too. */
    onAgreePrivacy(e) {
      privacy.agree((e && e.currentTarget && e.currentTarget.id) || 'phone-agree-btn');
    },

    onGetPhone(e) {
      const detail = (e && e.detail) || {};
      if (!detail.code && privacy.explainDenied(detail)) {
        this.setData({ phoneError: privacy.DENIED_MESSAGE });
        return Promise.resolve();
      }
      if (!detail.code) {
        // Refused, or an old WeChat without the phone code: the owner can still go on.
        wx.showToast({ title: '未授权手机号，可稍后在“我的”中绑定', icon: 'none' });
        return Promise.resolve();
      }
      this.setData({ phoneError: '' });
      return api.withButtonLock(this, 'binding', async () => {
        let answer;
        try {
          answer = await api.bindPhone(detail.code);
        } catch (err) {
          // Taken by another WeChat user: say so where the button is, not in a passing toast.
          if (err && err.code === 'auth.phone_taken') this.setData({ phoneError: err.message });
          else toastError(err);
          return;
        }
        await this.afterPhone(answer);
      });
    },

    /** Where binding the phone leads: straight in when the server switched into the one
     * identity the person has, the chooser when there are several, else the usual route. */
    async afterPhone(answer) {
      const usable = ((answer && answer.memberships) || []).filter((m) => ENTERABLE.indexOf(m.role) >= 0);
      const current = answer && answer.identity && answer.identity.membership_id;
      const entered = usable.find((m) => m.id === current);
      if (answer && answer.switched && entered) {
        this.enter(describeMembership(entered));
        return;
      }
      if (answer && answer.needs_switch && usable.length > 1) {
        this.setData({ step: 'choose', choices: usable.map(describeMembership) });
        return;
      }
      await this.route();
    },
    onSkipPhone() {
      this.phoneSkipped = true;
      return this.route();
    },

    onChoose(e) {
      const id = Number(e.currentTarget.dataset.id);
      const choice = this.data.choices.find((c) => c.id === id);
      if (!choice) return Promise.resolve();
      return api.withButtonLock(this, 'switching', async () => {
        try {
          await switchTo(id);
        } catch (err) {
          toastError(err);
          return;
        }
        this.enter(choice);
      });
    },

    onRetry() {
      return this.route();
    },
    onSignOut() {
      return api.logout().then(() => this.setData({ step: 'welcome' }));
    },
  },
});
