// ISO-8601 UTC times, as Date.prototype.toISOString writes them (`2026-12-03T07:35:48.123Z`), without
// making a Date: seed 000's lists print up to four times for each of 1,000 intents, and a Date and its
// toISOString were the largest cost of rendering them (about 2 ms a page in workerd). The calendar
// date of each day is worked out once and kept (a page spans few days).

const MS_PER_DAY = 86_400_000;
/** 0000-01-01 and 9999-12-31T23:59:59.999Z: outside, Date's own (six-digit years) is used. */
const MIN_MS = -62_167_219_200_000;
const MAX_MS = 253_402_300_799_999;
const DAY_CACHE_LIMIT = 4096;

let days = new Map<number, string>();

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** `YYYY-MM-DDT` of a day counted from 1970-01-01 (the proleptic Gregorian calendar, as Date uses). */
function dayPrefix(day: number): string {
  const cached = days.get(day);
  if (cached !== undefined) return cached;
  // Days to year, month and day through 400-year eras starting on March 1st (leap day last).
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const dayOfMonth = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const text = `${String(year).padStart(4, "0")}-${two(month)}-${two(dayOfMonth)}T`;
  if (days.size >= DAY_CACHE_LIMIT) days = new Map();
  days.set(day, text);
  return text;
}

/**
 * `ms` (milliseconds since the epoch, an integer) as toISOString writes it; with `dropZeroMillis`,
 * a whole second ends `:SSZ` rather than `:SS.000Z`.
 */
export function isoTimestamp(ms: number, dropZeroMillis = false): string {
  if (!Number.isSafeInteger(ms) || ms < MIN_MS || ms > MAX_MS) {
    const iso = new Date(ms).toISOString();
    return dropZeroMillis && iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
  }
  const day = Math.floor(ms / MS_PER_DAY);
  let rest = ms - day * MS_PER_DAY;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  const clock = `${dayPrefix(day)}${two(hours)}:${two(minutes)}:${two(seconds)}`;
  if (millis === 0 && dropZeroMillis) return `${clock}Z`;
  return `${clock}.${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
}
