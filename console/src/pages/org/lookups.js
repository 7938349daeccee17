// What the organisation pages name by id: the brand's regions, distributors and salespeople,
// loaded once per page, with { id: name } maps. A failed load leaves the list empty (ids then
// show as "—"); the page's own list shows its own error.
import { computed, reactive } from "vue";
import { api } from "../../api.js";

const byId = (rows) => Object.fromEntries(rows.map((row) => [row.id, row.name]));

export function useLookups(...kinds) {
  const paths = { regions: "/regions", distributors: "/distributors", salespeople: "/salespeople" };
  const lists = reactive({ regions: [], distributors: [], salespeople: [] });
  async function load(kind) {
    lists[kind] = (await api(paths[kind]).catch(() => ({ items: [] }))).items;
  }
  kinds.forEach(load);
  return reactive({
    ...Object.fromEntries(Object.keys(paths).map((kind) => [kind, computed(() => lists[kind])])),
    regionName: computed(() => byId(lists.regions)),
    distributorName: computed(() => byId(lists.distributors)),
    salespersonName: computed(() => byId(lists.salespeople)),
    reload: (kind) => load(kind),
  });
}
