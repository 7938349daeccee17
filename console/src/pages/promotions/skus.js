// The brand's SKUs as the promotion pages name them (GET /catalog/sku-options).
import { api } from "../../api.js";

export const skuLabel = (sku) => [sku.product_name, sku.name].filter(Boolean).join(" · ");

/** Searches the brand's SKUs by name or barcode; remembers each one's name in `names`. */
export async function searchSkus(text, names, limit = 50) {
  const { items } = await api("/catalog/sku-options", { query: { q: text, limit } });
  items.forEach((sku) => names.set(sku.id, skuLabel(sku)));
  return items;
}

/** Names `ids` in `names` (a saved promotion's SKUs, which no search may list), page by page. */
export async function nameSkus(ids, names) {
  const wanted = new Set(ids.filter((id) => id && !names.has(id)));
  let after;
  while (wanted.size) {
    const page = await api("/catalog/sku-options", { query: { limit: 100, after } });
    page.items.forEach((sku) => {
      names.set(sku.id, skuLabel(sku));
      wanted.delete(sku.id);
    });
    if (!page.next_after) break;
    after = page.next_after;
  }
}

/** Options for a select: the picked ids first (named), then the search's results. */
export function skuChoices(found, pickedIds, names) {
  const listed = new Set(found.map((sku) => sku.id));
  const picked = [...new Set(pickedIds)].filter((id) => id && !listed.has(id));
  return [
    ...picked.map((id) => ({ id, label: names.get(id) || `商品 #${id}` })),
    ...found.map((sku) => ({ id: sku.id, label: skuLabel(sku) })),
  ];
}
