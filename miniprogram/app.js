/**
 * 澜泉订货: the store owners' mini-program.
 *
 * Pages decide for themselves whether a sign-in is needed (utils/api sends the user to
 * /pages/login/index when the session has ended), so the app itself only keeps the
 * installed version current.
 */

const track = require('./utils/track');

App({
  onLaunch() {
    this.applyUpdates();
  },

  /** Behaviour events waiting to be sent go before the app may be killed in the background. */
  onHide() {
    track.flush();
  },

  /** A store ordering on an old version may miss a rule the server now requires: when
   * WeChat has downloaded a new version, offer to restart into it. */
  applyUpdates() {
    if (typeof wx.getUpdateManager !== 'function') return;
    const manager = wx.getUpdateManager();
    manager.onUpdateReady(() => {
      wx.showModal({
        title: '发现新版本',
        content: '新版本已准备好，重启后即可使用。',
        confirmText: '立即重启',
        cancelText: '稍后',
        success: (res) => {
          if (res.confirm) manager.applyUpdate();
        },
      });
    });
  },
});
