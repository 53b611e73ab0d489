// Billing periods. A subscription's periods are counted from its billing cycle anchor: period i runs
// from boundary(i) to boundary(i + 1). Calendar intervals are computed from the anchor each time (not
// by adding to the previous boundary), so a subscription started on the 31st bills on the last day of
// shorter months and returns to the 31st after them, as Stripe's do.
export const INTERVALS = ["day", "week", "month", "year"] as const;
export type Interval = (typeof INTERVALS)[number];

const DAY_MS = 86_400_000;

function addMonths(anchor: number, months: number): number {
  const d = new Date(anchor);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + months;
  const targetYear = year + Math.floor(month / 12);
  const targetMonth = ((month % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(targetYear, targetMonth + 1, 0)).getUTCDate();
  const day = Math.min(d.getUTCDate(), lastDay);
  return Date.UTC(targetYear, targetMonth, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/** The start of period `index` (0 is the anchor), in epoch milliseconds. */
export function boundary(anchor: number, interval: Interval, intervalCount: number, index: number): number {
  const n = index * intervalCount;
  switch (interval) {
    case "day":
      return anchor + n * DAY_MS;
    case "week":
      return anchor + n * 7 * DAY_MS;
    case "month":
      return addMonths(anchor, n);
    case "year":
      return addMonths(anchor, n * 12);
  }
}

/**
 * The furthest a test clock at `from` may be advanced in one go, as at Stripe: two intervals of its
 * shortest subscription (interval × interval_count, counted on the calendar from `from`, so a longer
 * one may allow more than two years), or two years when it has none.
 */
export function clockAdvanceLimit(from: number, intervals: readonly { interval: Interval; intervalCount: number }[]): number {
  if (intervals.length === 0) return boundary(from, "year", 1, 2);
  return Math.min(...intervals.map(({ interval, intervalCount }) => boundary(from, interval, intervalCount, 2)));
}

/** At most a few years of one interval, as Stripe allows. */
export const MAX_INTERVAL_COUNT: Record<Interval, number> = { day: 1095, week: 156, month: 36, year: 3 };
