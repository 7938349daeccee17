/**
 * Dates and times as store owners read them: always in China Standard Time (UTC+8, no
 * daylight saving), whatever time zone the phone or the test machine is set to.
 */

const CHINA_OFFSET_MS = 8 * 60 * 60 * 1000;

function pad(n) {
  return String(n).padStart(2, '0');
}

function chinaParts(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const d = new Date(ms + CHINA_OFFSET_MS);
  return {
    year: d.getUTCFullYear(),
    month: pad(d.getUTCMonth() + 1),
    day: pad(d.getUTCDate()),
    hour: pad(d.getUTCHours()),
    minute: pad(d.getUTCMinutes()),
  };
}

/** `2026-01-05T06:30:00+00:00` → `2026-01-05 14:30`; '' for nothing or nonsense. */
function formatTime(iso) {
  const p = chinaParts(iso);
  return p ? `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}` : '';
}

/** `2026-01-05T06:30:00+00:00` → `01-05 14:30`. */
function formatShortTime(iso) {
  const p = chinaParts(iso);
  return p ? `${p.month}-${p.day} ${p.hour}:${p.minute}` : '';
}

/** `2026-01-05T06:30:00+00:00` → `2026-01-05`. */
function formatDate(iso) {
  const p = chinaParts(iso);
  return p ? `${p.year}-${p.month}-${p.day}` : '';
}

module.exports = { formatTime, formatShortTime, formatDate };
