// The store pages' words: a store's tier and status as people say them.
export const STORE_TIER = { A: "A 类", B: "B 类", C: "C 类", D: "D 类" };

export const STORE_STATUS = { active: "正常营业", suspended: "已暂停", closed: "已关闭" };

export const STORE_STATUS_TAG = { active: "success", suspended: "warning", closed: "info" };

/** The salespeople list as { id: name }, for showing a store's salesperson by id. */
export function namesById(people) {
  return Object.fromEntries(people.map((person) => [person.id, person.name]));
}
