// Addresses of the pages shoppers use, for every surface that links to them.
import { hmacBase62 } from "../core/ids";

/** The hosted payment page of a payment intent: `GET /pay/{pi_id}?client_secret=...` (src/pages/checkout.ts). */
export function hostedPaymentPageUrl(base: string, intentId: string, clientSecret: string): string {
  return `${base.replace(/\/+$/, "")}/pay/${encodeURIComponent(intentId)}?client_secret=${encodeURIComponent(clientSecret)}`;
}

/** The page of a Checkout Session: `GET /checkout/{cs_id}`. */
export function checkoutSessionPageUrl(base: string, sessionId: string): string {
  return `${base.replace(/\/+$/, "")}/checkout/${encodeURIComponent(sessionId)}`;
}

/** The token of an invoice's hosted page: an HMAC of its id, so only whoever was given the link can open it. */
export function hostedInvoiceToken(fingerprintKey: string, invoiceId: string): Promise<string> {
  return hmacBase62(fingerprintKey, `hosted_invoice:${invoiceId}`, 32);
}

/** The hosted page of an invoice (Stripe's hosted_invoice_url): `GET /invoice/{in_id}/{token}` (src/pages/invoice.ts). */
export async function hostedInvoicePageUrl(fingerprintKey: string, base: string, invoiceId: string): Promise<string> {
  return `${base.replace(/\/+$/, "")}/invoice/${encodeURIComponent(invoiceId)}/${await hostedInvoiceToken(fingerprintKey, invoiceId)}`;
}
