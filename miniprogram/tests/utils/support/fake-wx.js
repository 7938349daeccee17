/**
 * A fake `wx` for the utils' unit tests: storage in a Map, and `wx.request` answered by a
 * function the test writes, as the server would (asynchronously, like WeChat).
 *
 *   const fake = installFakeWx();
 *   fake.serve((call) => ({ status: 200, body: { items: [] } }));   // or NETWORK_DOWN
 *   fake.calls  // every request: {method, url, path, query, header, data}
 */

const BASE = 'http://127.0.0.1:8000/api/v1';
const NETWORK_DOWN = Symbol('network down');

function installFakeWx() {
  const storage = new Map();
  const calls = [];
  let handler = () => {
    throw new Error('no server programmed');
  };
  const copy = (value) => (value === undefined ? value : JSON.parse(JSON.stringify(value)));

  const wx = {
    getStorageSync: (key) => (storage.has(key) ? copy(storage.get(key)) : ''),
    setStorageSync: (key, value) => storage.set(key, copy(value)),
    removeStorageSync: (key) => storage.delete(key),
    reLaunch: jest.fn(),
    showToast: jest.fn(),
    login: jest.fn((options) => setTimeout(() => options.success({ code: 'wx-code-1' }), 0)),
    request: jest.fn((options) => {
      const [withoutQuery, query = ''] = options.url.split('?');
      const call = {
        method: options.method,
        url: options.url,
        path: withoutQuery.startsWith(BASE) ? withoutQuery.slice(BASE.length) : withoutQuery,
        query,
        header: Object.assign({}, options.header),
        data: copy(options.data),
      };
      calls.push(call);
      Promise.resolve()
        .then(() => handler(call))
        .then((answer) => {
          if (answer === NETWORK_DOWN) {
            options.fail({ errMsg: 'request:fail timeout' });
          } else {
            options.success({ statusCode: answer.status, data: answer.body, header: {} });
          }
        });
    }),
  };
  global.wx = wx;
  return {
    wx,
    storage,
    calls,
    serve(fn) {
      handler = fn;
    },
  };
}

function errorBody(code, message, details = null) {
  return { error: { code, message, details } };
}

module.exports = { installFakeWx, errorBody, NETWORK_DOWN, BASE };
