// What both print pages load: the chosen orders (?ids=1,2,3 in the URL) with their lines by
// case and unit, their stores' addresses, and the SKUs summed over them (GET /orders/print).
import { ref } from "vue";
import { useRoute } from "vue-router";
import { api } from "../../api.js";

export function usePrintSheet() {
  const route = useRoute();
  const sheet = ref(null);
  const state = ref("loading"); // loading | ready | error
  const error = ref("");
  const ids = String(route.query.ids || "");

  async function load() {
    state.value = "loading";
    if (!/^\d+(,\d+)*$/.test(ids)) {
      error.value = "没有选择要打印的订单，请回到订单列表勾选后再打印";
      state.value = "error";
      return;
    }
    try {
      sheet.value = await api("/orders/print", { query: { ids } });
      state.value = "ready";
    } catch (failure) {
      error.value =
        failure.code === "order.not_found" ? "找不到所选的部分订单，或您无权查看这些订单" : failure.message;
      state.value = "error";
    }
  }
  load();
  return { sheet, state, error, reload: load };
}
