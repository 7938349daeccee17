/**
 * The privacy pop-up (用户隐私保护指引) every page that reaches a privacy interface carries:
 * `<privacy-popup />` plus `"privacy-popup": "/components/privacy-popup/index"` in the page's
 * usingComponents. It stays hidden until WeChat asks for consent (components/lib/privacy.js
 * holds the listener and the waiting calls); 同意 is WeChat's agreePrivacyAuthorization
 * button, 拒绝 refuses, and the guide's name opens it with wx.openPrivacyContract.
 */
const privacy = require('../lib/privacy');

Component({
  options: { addGlobalClass: true },
  data: {
    visible: false,
    contractName: privacy.DEFAULT_CONTRACT,
    agreeId: privacy.AGREE_BUTTON_ID,
  },
  lifetimes: {
    attached() {
      this.handle = {
        open: () => this.open(),
        close: () => {
          if (this.data.visible) this.setData({ visible: false });
        },
        isOpen: () => this.data.visible,
      };
      privacy.register(this.handle);
    },
    detached() {
      privacy.unregister(this.handle);
    },
  },
  pageLifetimes: {
    show() {
      if (this.handle) privacy.bringToFront(this.handle);
    },
  },
  methods: {
    open() {
      this.setData({ visible: true });
      return privacy.getSetting().then((setting) => {
        if (setting.privacyContractName !== this.data.contractName) this.setData({ contractName: setting.privacyContractName });
      });
    },
    onOpenContract() {
      privacy.openContract();
    },
    onAgree(e) {
      privacy.agree((e && e.currentTarget && e.currentTarget.id) || privacy.AGREE_BUTTON_ID);
    },
    onDisagree() {
      privacy.disagree();
    },
    noop() {},
  },
});
