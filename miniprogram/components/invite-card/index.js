/**
 * An invitation to join the platform (邀请码): its QR picture, 保存到相册 and 分享给好友.
 * `<invite-card qr-url="{{invite.qrUrl}}" title="…" note="…" />`. Sharing uses a button
 * with open-type="share": the page's onShareAppMessage says what is shared (the join page
 * with the token).
 */
const { saveImageFromUrl } = require('../lib/save-image');

Component({
  options: { addGlobalClass: true },
  properties: {
    qrUrl: { type: String, value: '' },
    title: { type: String, value: '' },
    note: { type: String, value: '' },
  },
  data: { saving: false, broken: false },
  observers: {
    qrUrl() {
      this.setData({ broken: false });
    },
  },
  methods: {
    async onSave() {
      if (this.data.saving || !this.data.qrUrl) return;
      this.setData({ saving: true });
      try {
        const result = await saveImageFromUrl(this.data.qrUrl);
        if (result.ok) wx.showToast({ title: '已保存到相册', icon: 'success' });
        else if (result.message) wx.showToast({ title: result.message, icon: 'none' });
      } finally {
        this.setData({ saving: false });
      }
    },
    onPreview() {
      if (this.data.qrUrl) wx.previewImage({ urls: [this.data.qrUrl], current: this.data.qrUrl });
    },
    onImageError() {
      this.setData({ broken: true });
    },
  },
});
