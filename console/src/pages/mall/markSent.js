// Marking something the brand sends as sent (a redeemed gift, a won prize): asked first,
// then the row shows what the server answers, or the list reloads after a refusal.
import { api } from "../../api.js";
import { rowAction } from "../../composables/rowAction.js";

/**
 * @param {object} step
 * @param {object} step.row  the list's row; its status and delivered_at are updated in place
 * @param {string} step.path  the API's POST that marks it sent
 * @param {string} step.title  the confirmation's title ("标记已发货"); the toast says it is done
 * @param {string} step.question  what the person confirms, naming the thing and the addressee
 * @param {string} step.button  the confirming button
 * @param {import("vue").Ref<number>} step.busy  the id of the row being sent, for its spinner
 * @param {() => void} step.reload  reloads the list when the server refused
 */
export async function markSent({ row, path, title, question, button, busy, reload }) {
  const done = await rowAction({
    ask: { title, text: question, button },
    busy,
    id: row.id,
    work: async () => {
      const sent = await api(path, { method: "POST" });
      Object.assign(row, { status: sent.status, delivered_at: sent.delivered_at });
    },
    done: `已${title.replace(/^标记/, "标记为")}`,
  });
  if (done === false) reload(); // refused: someone else may have sent it meanwhile
}
