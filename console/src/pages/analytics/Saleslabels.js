// The sales dashboard's words: grains, dimensions and channels as the API names them, and
// the period shortcuts of its date picker.
import { chinaDay } from "../../format.js";

export const GRAINS = [
  { value: "day", label: "按日" },
  { value: "week", label: "按周" },
  { value: "month", label: "按月" },
];

export const DIMS = [
  { value: "region", label: "区域" },
  { value: "distributor", label: "经销商" },
  { value: "tier", label: "门店等级" },
  { value: "tag", label: "门店标签" },
  { value: "category", label: "品类" },
  { value: "sku", label: "商品" },
];

export const CHANNELS = [
  { value: "self", label: "自主下单" },
  { value: "proxy", label: "代下单" },
  { value: "live", label: "直播" },
];

// The longest period each grain may show (the API refuses longer ones).
export const GRAIN_DAYS = { day: 92, week: 106 * 7, month: 36 * 31 };

const firstOfMonth = (day) => `${day.slice(0, 8)}01`;

function lastMonth() {
  const first = firstOfMonth(chinaDay());
  const [year, month] = first.split("-").map(Number);
  const previous = month === 1 ? `${year - 1}-12-01` : `${year}-${String(month - 1).padStart(2, "0")}-01`;
  const end = new Date(`${first}T00:00:00Z`);
  end.setUTCDate(0);
  return [previous, end.toISOString().slice(0, 10)];
}

/** The date picker's shortcuts, each [start, end] as YYYY-MM-DD China days. */
export const PERIODS = [
  { text: "最近 7 天", value: () => [chinaDay(-6), chinaDay()] },
  { text: "最近 30 天", value: () => [chinaDay(-29), chinaDay()] },
  { text: "最近 90 天", value: () => [chinaDay(-89), chinaDay()] },
  { text: "本月", value: () => [firstOfMonth(chinaDay()), chinaDay()] },
  { text: "上月", value: lastMonth },
];

/** "+12.3%", "-4.0%", or "—" when there is nothing to compare with. */
export function changeText(value) {
  if (value === null || value === undefined) return "—";
  return `${value > 0 ? "+" : ""}${value.toFixed(1)}%`;
}

export const percent = (value) => (value === null || value === undefined ? "—" : `${value.toFixed(1)}%`);
