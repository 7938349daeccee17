/**
 * Just enough of `wx` to run the mini-program's own utils under node: storage in memory and
 * `wx.connectSocket` over the `ws` package, with the SocketTask surface WeChat documents
 * (onOpen/onMessage/onClose/onError, send({data}), close({code})). Text frames arrive as
 * strings, as in WeChat.
 */
const WebSocket = require('ws');

function connectSocket({ url, fail }) {
  const ws = new WebSocket(url);
  ws.on('error', (error) => {
    if (fail) fail({ errMsg: `connectSocket:fail ${error.message}` });
  });
  return {
    onOpen: (cb) => ws.on('open', () => cb({})),
    onMessage: (cb) =>
      ws.on('message', (data, isBinary) => cb({ data: isBinary ? data : data.toString('utf8') })),
    onClose: (cb) => ws.on('close', (code, reason) => cb({ code, reason: String(reason) })),
    onError: (cb) => ws.on('error', (error) => cb({ errMsg: error.message })),
    send: ({ data, success, fail: failed }) =>
      ws.send(data, (error) => {
        if (error && failed) failed({ errMsg: error.message });
        else if (!error && success) success({});
      }),
    close: ({ code = 1000 } = {}) => ws.close(code),
  };
}

function installWx() {
  const storage = new Map();
  global.wx = {
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, value) => storage.set(key, value),
    removeStorageSync: (key) => storage.delete(key),
    connectSocket,
    reLaunch: () => {},
  };
  return global.wx;
}

module.exports = { installWx, connectSocket };
