// Merchants and their settings (cached briefly in the isolate).
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { merchants } from "./schema";

export interface MerchantSettings {
  /** Refunds above these amounts (minor units, per currency) wait for an approver (refunds.approve). */
  refund_approval_thresholds: Record<string, number>;
  /** What happens to a subscription when the last retry of a renewal fails: `canceled` (Stripe's default) or `unpaid`. */
  subscription_dunning_final_action: "canceled" | "unpaid";
  /** The Stripe API version /v1 renders when a request sends no Stripe-Version (null: the gateway's default). */
  api_version: string | null;
}

export const DEFAULT_SETTINGS: MerchantSettings = { refund_approval_thresholds: {}, subscription_dunning_final_action: "canceled", api_version: null };

const TTL_MS = 10_000;
const cache = new Map<string, { settings: MerchantSettings; expires: number }>();

export function parseSettings(text: string): MerchantSettings {
  const parsed = JSON.parse(text || "{}") as Partial<MerchantSettings>;
  return {
    ...DEFAULT_SETTINGS,
    ...parsed,
    refund_approval_thresholds: parsed.refund_approval_thresholds ?? {},
    subscription_dunning_final_action: parsed.subscription_dunning_final_action === "unpaid" ? "unpaid" : "canceled",
    api_version: typeof parsed.api_version === "string" ? parsed.api_version : null,
  };
}

/**
 * A merchant's settings, from the isolate's cache while it is fresh (10 s). `fresh` reads D1 each time:
 * for the refund-approval thresholds, which another isolate may have just made stricter (this
 * isolate's cache does not hear of that: a refund above the new threshold went through unheld).
 */
export async function merchantSettings(d1: D1Database, merchantId: string, options: { fresh?: boolean } = {}): Promise<MerchantSettings> {
  const hit = cache.get(merchantId);
  if (!options.fresh && hit && hit.expires > Date.now()) return hit.settings;
  const [row] = await drizzle(d1).select({ settings: merchants.settings }).from(merchants).where(eq(merchants.id, merchantId)).limit(1);
  const settings = row ? parseSettings(row.settings) : DEFAULT_SETTINGS;
  cache.set(merchantId, { settings, expires: Date.now() + TTL_MS });
  return settings;
}

export function forgetSettings(merchantId: string): void {
  cache.delete(merchantId);
}

const EXISTS_TTL_MS = 60_000;
const known = new Map<string, number>();

/**
 * Whether the merchant exists (the directory's row). Found answers are kept a minute in the isolate;
 * a missing one is asked again each time, so a merchant just created is usable at once.
 */
export async function merchantExists(d1: D1Database, merchantId: string): Promise<boolean> {
  const until = known.get(merchantId);
  if (until !== undefined && until > Date.now()) return true;
  const [row] = await drizzle(d1).select({ id: merchants.id }).from(merchants).where(eq(merchants.id, merchantId)).limit(1);
  if (!row) return false;
  if (known.size > 10_000) known.clear();
  known.set(merchantId, Date.now() + EXISTS_TTL_MS);
  return true;
}
