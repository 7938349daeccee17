// A step taken on one row of a list (end a wheel, take a gift off sale, stop an account, mark
// a prize sent): asked first, the row's button busy while it runs, then a success message or
// the API's Chinese refusal.

/**
 * @param {object} step
 * @param {{ title: string, text: string, button: string, type?: string }} step.ask  the question
 * @param {import("vue").Ref<number>} step.busy  set to `id` while the step runs, for the spinner
 * @param {number} step.id  the row's id
 * @param {() => Promise<unknown>} step.work  the request; it also shows the answer in the row
 * @param {string} step.done  what the success message says
 * @returns {Promise<boolean|undefined>} true when done, false when refused, undefined when
 *   the person did not confirm
 */
export async function rowAction({ ask, busy, id, work, done }) {
  try {
    await ElMessageBox.confirm(ask.text, ask.title, {
      type: ask.type ?? "warning",
      confirmButtonText: ask.button,
      cancelButtonText: "取消",
    });
  } catch {
    return undefined; // not confirmed
  }
  busy.value = id;
  try {
    await work();
    ElMessage.success(done);
    return true;
  } catch (error) {
    ElMessage.error(error.message);
    return false;
  } finally {
    busy.value = 0;
  }
}
