/**
 * Uploading a file to the API with `wx.uploadFile` (multipart), which utils/api cannot do:
 * the same base URL, bearer token and error shape, and one token refresh on a 401 (the
 * shared refresh of utils/api, so the refresh token still rotates once).
 *
 *   const photo = await uploadFile('/complaints/photos', tempFilePath);  // {id, url, ...}
 *   uploadFile('/display/photos', path, { formData: { taken_at }, onProgress: (percent) => … })
 * Rejects with an ApiError whose Chinese message can be shown as it is.
 */
const config = require('../../config');
const session = require('../../utils/session');
const api = require('../../utils/api');

const FIELD = 'file'; // the multipart field the API reads (backend/complaints/routes.py)
const UPLOAD_TIMEOUT_MS = 60000; // a photo over a weak mobile network takes a while

function parse(data) {
  if (data && typeof data === 'object') return data;
  try {
    return JSON.parse(data);
  } catch (e) {
    return null;
  }
}

function uploadOnce(path, filePath, options) {
  const { formData, onProgress } = options || {};
  return new Promise((resolve) => {
    const current = session.getSession();
    const token = current ? current.access_token : null;
    const header = {};
    if (token) header.Authorization = `Bearer ${token}`;
    const task = wx.uploadFile({
      url: `${config.apiBase()}${config.API_PREFIX}${path}`,
      filePath,
      name: FIELD,
      header,
      formData: formData || {},
      timeout: UPLOAD_TIMEOUT_MS,
      success: (res) => resolve({ status: res.statusCode, data: parse(res.data) }),
      fail: (res) => resolve({ status: 0, data: null, errMsg: (res && res.errMsg) || '' }),
    });
    // The task reports how far the file has gone (not every base library returns one).
    if (onProgress && task && typeof task.onProgressUpdate === 'function') {
      task.onProgressUpdate((res) => onProgress(Number(res && res.progress) || 0));
    }
  });
}

function errorOf(answer) {
  if (answer.status === 0) {
    return new api.ApiError({ code: 'network.failed', message: '网络不给力，图片未能上传，请重试', status: 0 });
  }
  const envelope = answer.data && answer.data.error;
  if (envelope && envelope.code) {
    return new api.ApiError({
      code: envelope.code,
      message: envelope.message || '图片上传失败，请重试',
      status: answer.status,
      details: envelope.details === undefined ? null : envelope.details,
    });
  }
  const message = answer.status === 413 ? '图片太大，请换一张' : '图片上传失败，请重试';
  return new api.ApiError({ code: `http.${answer.status}`, message, status: answer.status });
}

async function uploadFile(path, filePath, options) {
  let answer = await uploadOnce(path, filePath, options);
  if (answer.status === 401) {
    await api.refreshSession(); // rejects with auth.expired when the sign-in is over
    answer = await uploadOnce(path, filePath, options);
  }
  if (answer.status >= 200 && answer.status < 300 && answer.data) return answer.data;
  throw errorOf(answer);
}

module.exports = { uploadFile, FIELD };
