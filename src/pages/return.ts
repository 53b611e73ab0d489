// Sending the customer back to the merchant after a challenge or a provider's page, with Stripe's
// query parameters: payment_intent, payment_intent_client_secret, redirect_status.
import type { IntentRecord } from "../core/types";

export function returnLocation(intent: IntentRecord): string | null {
  if (!intent.returnUrl) return null;
  const url = new URL(intent.returnUrl);
  url.searchParams.set("payment_intent", intent.id);
  url.searchParams.set("payment_intent_client_secret", intent.clientSecret);
  const ok = intent.status === "succeeded" || intent.status === "requires_capture" || intent.status === "processing";
  url.searchParams.set("redirect_status", ok ? "succeeded" : "failed");
  // A PayPal payment comes back as PayPal's do, with the order's id as `token`: a client that captures
  // the order named by the return URL's token (PayPal's usual flow) captures this one.
  const method = intent.paymentMethod ?? intent.lastPaymentError?.paymentMethod;
  if (method?.type === "paypal") url.searchParams.set("token", intent.id);
  return url.toString();
}
