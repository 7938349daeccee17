// The brand's categories, loaded once per page: the flat list, the tree as select options,
// and a name by id.
import { computed, ref } from "vue";
import { api } from "../../api.js";
import { categoryTree } from "./labels.js";

export function useCategories() {
  const categories = ref([]);
  const failed = ref("");
  async function load() {
    try {
      categories.value = (await api("/catalog/categories")).items;
      failed.value = "";
    } catch (error) {
      failed.value = error.message;
    }
  }
  const options = computed(() => categoryTree(categories.value));
  const nameOf = (id) => options.value.find((option) => option.value === id)?.label || "—";
  return { categories, options, nameOf, load, failed };
}
