// One dialog's sending: busy while it runs, the API's Chinese message when it refuses, and one
// Idempotency-Key for the whole opening (a double click or a retry creates nothing twice), a new
// one after a refusal (the form corrected is another request).
import { ref } from "vue";
import { keyAfter, newIdempotencyKey } from "../api.js";

export function useSubmit() {
  const busy = ref(false);
  const error = ref("");
  let key = newIdempotencyKey();
  return {
    busy,
    error,
    /** A new opening of the dialog: a new key, no old message. */
    reset() {
      key = newIdempotencyKey();
      error.value = "";
    },
    /** Runs `work(key)`; true when it succeeded, else the refusal is in `error`. */
    async run(work) {
      busy.value = true;
      error.value = "";
      try {
        await work(key);
        return true;
      } catch (refused) {
        key = keyAfter(refused, key);
        error.value = refused.message || "操作失败，请稍后重试";
        return false;
      } finally {
        busy.value = false;
      }
    },
  };
}
