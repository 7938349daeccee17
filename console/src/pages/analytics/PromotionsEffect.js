// What the three effect pages (促销效果, 优惠券效果, 直播效果) share: the period they read, kept in
// the URL so a link reopens the same view, the report loaded for it, and how a rate or a ratio
// reads on screen.
import { computed, ref, watch } from "vue";
import { useRoute, useRouter } from "vue-router";
import { api, download } from "../../api.js";
import { chinaDay } from "../../format.js";

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The report at `path` for the period in the URL (default: the last 30 days). */
export function useEffectReport(path, extraQuery = () => ({})) {
  const route = useRoute();
  const router = useRouter();
  const days = computed({
    get: () => [
      DAY.test(route.query.start ?? "") ? route.query.start : chinaDay(-29),
      DAY.test(route.query.end ?? "") ? route.query.end : chinaDay(0),
    ],
    set: (value) => router.replace({
      query: { ...route.query, ...(value ? { start: value[0], end: value[1] } : { start: undefined, end: undefined }) },
    }),
  });
  const query = () => ({ start: days.value[0], end: days.value[1], ...extraQuery() });
  const report = ref(null);
  const state = ref("loading"); // loading | ready | error
  const error = ref("");
  const exporting = ref(false);
  let sequence = 0;

  async function load() {
    const mine = ++sequence;
    state.value = "loading";
    try {
      const found = await api(path, { query: query() });
      if (mine !== sequence) return;
      report.value = found;
      state.value = "ready";
    } catch (failure) {
      if (mine !== sequence) return;
      error.value = failure.message;
      state.value = "error";
    }
  }
  watch(() => JSON.stringify(query()), load, { immediate: true });

  async function exportXlsx(name) {
    exporting.value = true;
    try {
      await download(`${path}.xlsx`, query(), `${name}.xlsx`);
    } finally {
      exporting.value = false;
    }
  }
  return { days, report, state, error, load, exporting, exportXlsx };
}

const absent = (value) => value === null || value === undefined;
// The API answers one decimal; JSON drops a trailing zero (50.0 arrives as 50): put it back.
const oneDecimal = (value) => Number(value).toFixed(1);

/** "12.5%" or "—" when there is no base. */
export const percent = (value) => (absent(value) ? "—" : `${oneDecimal(value)}%`);
/** "12.3" or "—": GMV per yuan of cost. */
export const times = (value) => (absent(value) ? "—" : oneDecimal(value));
/** A change as "+12.5%" / "-3.0%", for the figures compared with an earlier period. */
export const signed = (value) => (absent(value) ? "—" : `${value > 0 ? "+" : ""}${oneDecimal(value)}%`);
