// One form dialog's saving (see components/FormDialog.vue): the form checked first (when it
// has rules), then the request (with the dialog's Idempotency-Key, see useSubmit); on success
// a message, the dialog closed and `event` emitted with the answer; on refusal the API's
// words in `failure`.
import { useSubmit } from "./useSubmit.js";

export function useDialogSave(visible, emit = null, event = "saved") {
  const { busy, error, reset, run } = useSubmit();
  /** `send(key)` makes the request; `message(answer)` is what the success says (none: the
   * page that opened the dialog says it). */
  async function save(send, message = null, formRef = null) {
    if (formRef && !(await formRef.value.validate().catch(() => false))) return;
    let answer;
    if (!(await run(async (key) => (answer = await send(key))))) return;
    if (message) ElMessage.success(message(answer));
    visible.value = false;
    emit?.(event, answer);
  }
  return { saving: busy, failure: error, reset, save };
}
