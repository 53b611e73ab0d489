// Addresses of the pages shoppers use, for every surface that links to them.

/** The hosted payment page of a payment intent: `GET /pay/{pi_id}?client_secret=...` (src/pages/checkout.ts). */
export function hostedPaymentPageUrl(base: string, intentId: string, clientSecret: string): string {
  return `${base.replace(/\/+$/, "")}/pay/${encodeURIComponent(intentId)}?client_secret=${encodeURIComponent(clientSecret)}`;
}

/** The page of a Checkout Session: `GET /checkout/{cs_id}`. */
export function checkoutSessionPageUrl(base: string, sessionId: string): string {
  return `${base.replace(/\/+$/, "")}/checkout/${encodeURIComponent(sessionId)}`;
}
