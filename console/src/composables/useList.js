// One list's life, the same on every page: its filters live in the URL (a copied link reopens
// the same view, back and forward work), pages are fetched by keyset cursor and appended with
// "加载更多", and the state is loading | ready | error with the API's Chinese message. A reply
// that arrives after a newer request was sent is dropped, so fast filter changes never show
// an older view.
import { computed, reactive, ref, watch } from "vue";
import { useRoute, useRouter } from "vue-router";
import { api } from "../api.js";

/** The cursor for the next page, from whichever paging shape the API answered. */
export function nextCursor(page) {
  if (page?.next_after) return { after: page.next_after };
  if (page?.next_before) return { before: page.next_before };
  if (page?.next_cursor) return { cursor: page.next_cursor };
  if (page?.next && typeof page.next === "object") return page.next;
  return null;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function fromQuery(defaults, query) {
  const filters = {};
  for (const [key, fallback] of Object.entries(defaults)) {
    const value = query[key];
    if (Array.isArray(fallback)) filters[key] = value === undefined ? [...fallback] : [].concat(value);
    else filters[key] = value === undefined ? fallback : String(value);
  }
  return filters;
}

function toQuery(defaults, filters) {
  const query = {};
  for (const [key, value] of Object.entries(filters)) {
    if (same(value, defaults[key]) || value === "" || value === null || value === undefined) continue;
    query[key] = value;
  }
  return query;
}

/**
 * @param {object} options
 * @param {string | (() => string)} options.path  the API list, e.g. "/orders"
 * @param {object} options.filters  each filter's default ("" for none; [] for a multi-value)
 * @param {(filters: object) => object} [options.query]  filters to the API's query (default: as is)
 * @param {number} [options.pageSize]
 * @param {boolean} [options.immediate]  load at once (default true)
 */
export function useList({ path, filters: defaults, query = (f) => f, pageSize = 20, immediate = true }) {
  const route = useRoute();
  const router = useRouter();
  const routeName = route.name;
  const filters = reactive(fromQuery(defaults, route.query));
  const items = ref([]);
  const state = ref("loading"); // loading | ready | error
  const error = ref("");
  const loadingMore = ref(false);
  const next = ref(null);
  let sequence = 0;

  async function fetchPage(cursor) {
    const target = typeof path === "function" ? path() : path;
    return api(target, { query: { limit: pageSize, ...query({ ...filters }), ...(cursor || {}) } });
  }

  async function reload() {
    const mine = ++sequence;
    state.value = "loading";
    error.value = "";
    try {
      const page = await fetchPage(null);
      if (mine !== sequence) return;
      items.value = page.items;
      next.value = nextCursor(page);
      state.value = "ready";
    } catch (failure) {
      if (mine !== sequence) return;
      error.value = failure.message;
      state.value = "error";
    }
  }

  async function more() {
    if (!next.value || loadingMore.value) return;
    const mine = sequence;
    loadingMore.value = true;
    try {
      const page = await fetchPage(next.value);
      if (mine !== sequence) return;
      items.value = [...items.value, ...page.items];
      next.value = nextCursor(page);
    } catch (failure) {
      error.value = failure.message;
    } finally {
      loadingMore.value = false;
    }
  }

  function reset() {
    Object.assign(filters, fromQuery(defaults, {}));
  }

  // Filters -> URL (replace: a filter change is not a page to go back to) -> load.
  watch(
    filters,
    () => {
      const wanted = toQuery(defaults, filters);
      if (!same(wanted, toQuery(defaults, fromQuery(defaults, route.query)))) {
        router.replace({ query: wanted });
      }
      reload();
    },
    { deep: true },
  );
  // URL -> filters, when the person goes back or forward, or opens a link to this same page.
  watch(
    () => route.query,
    (query) => {
      if (route.name !== routeName) return;
      const wanted = fromQuery(defaults, query);
      if (!same(wanted, { ...filters })) Object.assign(filters, wanted);
    },
  );
  if (immediate) reload();

  // reactive(): templates read list.items, list.state… without .value.
  return reactive({
    filters,
    items,
    state,
    error,
    loadingMore,
    hasMore: computed(() => Boolean(next.value)),
    reload,
    more,
    reset,
  });
}
