// Stripe API versions (the Stripe-Version header). Pure data and checks; /v1 validates and echoes
// the version, and events carry the one they were rendered with.
//
// Which versions exist: Stripe's dated versions up to 2024-06-20 carry no name; since 2024-09-30
// each carries its major release's name (`2024-09-30.acacia`, ..., `2026-10-28.endive`, the
// version stripe-node 23 pins). A version is known when it is a real calendar date from
// 2011-01-01 to today and, after 2024-06-20, carries the name of the release that date falls in
// (RELEASES: `2025-04-30.basil` is, `2025-04-30.acacia` and `2024-09-30.basil` are not).

/** The version /v1 renders when neither the request nor the merchant names one: stripe-node 23's. */
export const GATEWAY_API_VERSION = "2026-10-28.endive";

/**
 * Stripe's major releases, oldest first, each with the date of its first version: a release's
 * versions are dated from its first to the next release's first (exclusive); the last one's up to
 * today. From the stripe package's CHANGELOG.md ("pinned API version to ...") and the API versions of
 * its WebhookEndpointCreateParams.ApiVersion: acacia 2024-09-30 to 2025-02-24, basil 2025-03-31 to
 * 2025-08-27, clover 2025-09-30 to 2026-02-25, dahlia 2026-03-25 to 2026-08-26, endive from 2026-09-30.
 */
export const RELEASES = [
  { name: "acacia", since: "2024-09-30" },
  { name: "basil", since: "2025-03-31" },
  { name: "clover", since: "2025-09-30" },
  { name: "dahlia", since: "2026-03-25" },
  { name: "endive", since: "2026-09-30" },
] as const;

/** Stripe's major release names, oldest first. */
export const RELEASE_NAMES = RELEASES.map((r) => r.name);

/** The release a version dated `date` (YYYY-MM-DD, after 2024-06-20) belongs to; none before the first release. */
export function releaseOf(date: string): (typeof RELEASES)[number]["name"] | null {
  let found: (typeof RELEASES)[number]["name"] | null = null;
  for (const release of RELEASES) if (date >= release.since) found = release.name;
  return found;
}

const FIRST_DATED = "2011-01-01";
const LAST_UNNAMED = "2024-06-20";
const SHAPE = /^(\d{4})-(\d{2})-(\d{2})(?:\.([a-z]+))?$/;

/** The version that removed a PaymentIntent's `charges` list (latest_charge replaced it). */
export const CHARGES_LIST_REMOVED = "2022-11-15";

/** The version that made a charge's `refunds` list expandable only: the same change as CHARGES_LIST_REMOVED. */
export const CHARGE_REFUNDS_REMOVED = CHARGES_LIST_REMOVED;

/**
 * Shape differences rendered per version: the version that made the change -> what a request for
 * an earlier version gets instead. A renderer checks `rendersAsOf(version, since)` before adding or
 * changing a field.
 */
export const VERSION_DIFFERENCES: Readonly<Record<string, readonly string[]>> = {
  [CHARGES_LIST_REMOVED]: [
    "PaymentIntent.charges: a list of every charge of the intent, newest first (total_count, url /v1/charges?payment_intent=)",
    "Charge.refunds: on every charge, a list of its refunds, newest first (total_count, url /v1/charges/{id}/refunds); later versions only with expand[]=refunds",
  ],
};

/** Whether `version` names a Stripe API version (a real date, no later than `now`, after 2024-06-20 named after its own release). */
export function isKnownApiVersion(version: string, now: number = Date.now()): boolean {
  // The gateway's own version is known whatever the clock says.
  if (version === GATEWAY_API_VERSION) return true;
  const m = SHAPE.exec(version);
  if (!m) return false;
  const date = `${m[1]}-${m[2]}-${m[3]}`;
  const parsed = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date) return false;
  if (date < FIRST_DATED || parsed.getTime() > now) return false;
  const name = m[4];
  if (date <= LAST_UNNAMED) return name === undefined;
  // A date's own release, not any release's name (2024-09-30.basil is no version); a date between
  // 2024-06-20 and the first release (2024-09-30) belongs to none.
  return name !== undefined && name === releaseOf(date);
}

/** Whether a response rendered for `version` includes a change made in `since` (both known versions). */
export function rendersAsOf(version: string, since: string): boolean {
  return version.slice(0, 10) >= since.slice(0, 10);
}
