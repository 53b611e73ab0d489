// Sending the customer back to the merchant after a challenge or a provider's page, with Stripe's
// query parameters: payment_intent, payment_intent_client_secret, redirect_status; or, when the intent
// has no return_url, on to the payment's own page on the gateway.
import { awaitingMerchantConfirmation, awaitsPaymentMethod, isPaidOrPaying } from "../core/intent";
import type { IntentRecord } from "../core/types";
import type { Env } from "../env";
import { isSessionIntent, sessionOfIntent } from "../checkout/sessions";
import { merchantEnv } from "../db/shards";
import { checkoutSessionPageUrl, hostedPaymentPageUrl } from "./urls";

export function returnLocation(intent: IntentRecord): string | null {
  if (!intent.returnUrl) return null;
  const url = new URL(intent.returnUrl);
  url.searchParams.set("payment_intent", intent.id);
  url.searchParams.set("payment_intent_client_secret", intent.clientSecret);
  // The customer's step went through: paid, being paid, or (manual confirmation) waiting for the merchant's confirm.
  const ok = isPaidOrPaying(intent) || awaitingMerchantConfirmation(intent);
  url.searchParams.set("redirect_status", ok ? "succeeded" : "failed");
  // A PayPal payment comes back as PayPal's do, with the order's id as `token`: a client that captures
  // the order named by the return URL's token (PayPal's usual flow) captures this one.
  const method = intent.paymentMethod ?? intent.lastPaymentError?.paymentMethod;
  if (method?.type === "paypal") url.searchParams.set("token", intent.id);
  return url.toString();
}

/**
 * The payment's own page on the gateway (a path), the way on from a result page when the intent has
 * no return_url: its Checkout Session's page for a session's intent, else the intent's hosted payment
 * page (/pay), which shows where the payment stands and takes another card after a decline. Only reads.
 */
export async function paymentPagePath(env: Env, intent: IntentRecord): Promise<string> {
  if (isSessionIntent(intent)) {
    const row = await sessionOfIntent(merchantEnv(env, intent.merchantId).DB, intent.id);
    if (row) return checkoutSessionPageUrl("", row.id);
  }
  return hostedPaymentPageUrl("", intent.id, intent.clientSecret);
}

/**
 * The link a result page offers: back to the merchant's return_url when there is one, else on to the
 * payment's own page. A Checkout Session's return_url is the gateway's own /checkout/{cs}/return,
 * which goes on to the merchant's success_url only once paid: until then the link says where it leads
 * (the payment page, where another card can be tried), never the merchant's name.
 */
export async function onwardLink(env: Env, intent: IntentRecord, merchant: string | null): Promise<{ href: string; text: string }> {
  const back = returnLocation(intent);
  if (back && isSessionIntent(intent) && !isPaidOrPaying(intent)) return { href: back, text: "Back to the payment page" };
  if (back) return { href: back, text: merchant ? `Back to ${merchant}` : "Back to the shop" };
  // A payment only its merchant confirms offers no card form: the way on is to the payment's page, which says where it stands.
  const retry = intent.confirmationMethod !== "manual" && awaitsPaymentMethod(intent);
  return { href: await paymentPagePath(env, intent), text: retry ? "Pay with another card" : "View your payment" };
}
