/**
 * Saving a picture from a URL into the phone's album: wx.downloadFile, then
 * wx.saveImageToPhotosAlbum. The album permission may have been refused before; WeChat then
 * fails at once, and only the settings page can grant it again, so the user is offered it.
 * Resolves to {ok: true} or {ok: false, message} (message in Chinese, or '' when the user
 * just closed the dialog).
 */

const privacy = require('./privacy');

function download(url) {
  return new Promise((resolve) => {
    wx.downloadFile({
      url,
      success: (res) => resolve(res && res.statusCode === 200 && res.tempFilePath ? res.tempFilePath : null),
      fail: () => resolve(null),
    });
  });
}

function save(filePath) {
  return new Promise((resolve) => {
    wx.saveImageToPhotosAlbum({
      filePath,
      success: () => resolve({ ok: true }),
      fail: (res) => resolve({ ok: false, errMsg: (res && res.errMsg) || '', errno: res && res.errno }),
    });
  });
}

function offerSettings() {
  wx.showModal({
    title: '需要相册权限',
    content: '请在设置中允许“保存到相册”，再保存二维码。',
    confirmText: '去设置',
    success: (res) => {
      if (res.confirm && typeof wx.openSetting === 'function') wx.openSetting({});
    },
  });
}

async function saveImageFromUrl(url) {
  const filePath = await download(url);
  if (!filePath) return { ok: false, message: '图片下载失败，请检查网络后重试' };
  const saved = await save(filePath);
  if (saved.ok) return saved;
  if (/cancel/i.test(saved.errMsg)) return { ok: false, message: '' };
  // Refused the privacy guide (errMsg "…privacy permission is not authorized"): not a
  // matter for the settings page; the pop-up asks again next time.
  if (privacy.isDenied(saved)) return { ok: false, message: privacy.DENIED_MESSAGE };
  if (/auth|deny|denied|authorize/i.test(saved.errMsg)) {
    offerSettings();
    return { ok: false, message: '未获得相册权限' };
  }
  return { ok: false, message: '保存失败，请重试' };
}

module.exports = { saveImageFromUrl };
