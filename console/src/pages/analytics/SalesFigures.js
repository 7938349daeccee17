// One figure of the sales dashboard (a trend, a breakdown…): fetched again whenever its
// query changes, with loading | ready | error and the API's Chinese message. A reply that
// arrives after a newer request was sent is dropped, so quick filter changes never show an
// older figure.
import { reactive, watch } from "vue";
import { api } from "../../api.js";

export function useFigure(path, query) {
  const figure = reactive({ data: null, state: "loading", error: "", reload });
  let sequence = 0;

  async function reload() {
    const mine = ++sequence;
    figure.state = "loading";
    figure.error = "";
    try {
      const data = await api(`/analytics/sales/${path}`, { query: query() });
      if (mine !== sequence) return;
      figure.data = data;
      figure.state = "ready";
    } catch (failure) {
      if (mine !== sequence) return;
      figure.error = failure.message;
      figure.state = "error";
    }
  }

  watch(query, reload, { immediate: true, deep: true });
  return figure;
}
