/**
 * utils/api replaced at its module boundary: every call is a jest.fn the test programs,
 * ApiError is the real class, and withButtonLock/toastError keep their real behaviour (they
 * are part of what a page does when a button is tapped twice or a call fails).
 */
function createApiMock() {
  const actual = jest.requireActual('../../../utils/api');
  let keys = 0;
  return {
    ApiError: actual.ApiError,
    LOGIN_PAGE: actual.LOGIN_PAGE,
    settings: actual.settings,
    get: jest.fn(() => Promise.reject(new Error('api.get not programmed'))),
    post: jest.fn(() => Promise.reject(new Error('api.post not programmed'))),
    put: jest.fn(() => Promise.reject(new Error('api.put not programmed'))),
    del: jest.fn(() => Promise.reject(new Error('api.del not programmed'))),
    login: jest.fn(),
    bindPhone: jest.fn(() => Promise.reject(new Error('api.bindPhone not programmed'))),
    logout: jest.fn(() => Promise.resolve()),
    refreshSession: jest.fn(),
    setAuthExpiredHandler: jest.fn(),
    newIdempotencyKey: jest.fn(() => {
      keys += 1;
      return `key-${keys}`;
    }),
    withButtonLock: actual.withButtonLock,
    toastError: actual.toastError,
  };
}

/** Route api.get/post/put/del calls by "METHOD path" to answers (values, errors or functions). */
function route(api, table) {
  const answer = (method) => (path, ...rest) => {
    const key = `${method} ${path}`;
    if (!(key in table)) return Promise.reject(new Error(`unexpected ${key}`));
    const found = table[key];
    const value = typeof found === 'function' ? found(path, ...rest) : found;
    if (value instanceof Error) return Promise.reject(value);
    return Promise.resolve(value);
  };
  api.get.mockImplementation(answer('GET'));
  api.post.mockImplementation(answer('POST'));
  api.put.mockImplementation(answer('PUT'));
  api.del.mockImplementation(answer('DELETE'));
}

function apiError(ApiError, code, message, status = 409, details = null) {
  return new ApiError({ code, message, status, details });
}

module.exports = { createApiMock, route, apiError };
