/**
 * One user action that creates something on the server (an order, a redemption, a spin, a
 * complaint) and the Idempotency-Key it is sent with.
 *
 * The key is made when the action starts and kept while the same request may still have
 * been done by the server (the answer was lost, the server was busy): a retry then sends the
 * same key and the server answers with the first result instead of doing it twice. A
 * definitive refusal (no stock, not enough points) ends the action; the next tap is a new
 * one with a new key. `signature` tells actions apart: other content is another action.
 *
 *   const attempts = createAttempts();
 *   const key = attempts.keyFor(JSON.stringify(body));
 *   try { await api.post(path, body, { idempotencyKey: key }); attempts.done(); }
 *   catch (err) { attempts.failed(err); }
 */
const api = require('../../utils/api');

/** After these the server may still have done it (or may do it on a retry): keep the key. */
function keepsAttempt(err) {
  if (!err || !err.code) return true;
  if (err.code === 'network.failed' || err.code === 'idempotency.in_progress') return true;
  return err.status === 0 || err.status === 429 || err.status >= 500;
}

function createAttempts() {
  let current = null;
  return {
    keyFor(signature) {
      const sig = signature === undefined ? '' : String(signature);
      if (!current || current.signature !== sig) current = { key: api.newIdempotencyKey(), signature: sig };
      return current.key;
    },
    done() {
      current = null;
    },
    failed(err) {
      if (!keepsAttempt(err)) current = null;
    },
    get key() {
      return current ? current.key : null;
    },
  };
}

module.exports = { createAttempts, keepsAttempt };
