// Client secrets in /v1 answers, for the credentials that may read a payment but not make one.
//
// A payment intent's client_secret is a credential: with it the hosted payment page (and a
// publishable key) confirms the payment. A setup intent's saves a card to the customer. A reader that
// may not do either itself (support, a token or restricted key narrowed to viewing) is answered with
// `client_secret: null` (Stripe's schema allows null), and without the challenge address that carries
// the secret (`next_action.redirect_to_url.url`), wherever the object appears: retrieve, list, search,
// an expansion (`latest_invoice.payment_intent`, `payments.data.payment.payment_intent`), an event's
// `data.object`; an invoice's `confirmation_secret` is null then. Else its lists would hand it every payment's
// secret, and it could pay through the page what its role may not confirm here. Seed 000's surface
// applies the same rule (src/api/paymentintents/index.ts, showsSecrets).
import type { Permission, Principal } from "../../auth/permissions";

/** The permission that may use each object's client secret (what confirming it takes). */
const SECRET_PERMISSION: Readonly<Record<string, Permission>> = {
  payment_intent: "payments.transactions.create",
  setup_intent: "payments.methods.manage",
};

/** Whether `principal` is answered every client secret as stored (it may make payments and save cards). */
function seesEverySecret(principal: Pick<Principal, "permissions">): boolean {
  return Object.values(SECRET_PERMISSION).every((p) => principal.permissions.has(p));
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `value` with the secrets `principal` may not see set to null, in place (a parsed answer, ours alone). */
function redact(value: Json, principal: Pick<Principal, "permissions">): void {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    for (const item of value) redact(item, principal);
    return;
  }
  const permission = typeof value.object === "string" ? SECRET_PERMISSION[value.object] : undefined;
  if (permission && !principal.permissions.has(permission) && typeof value.client_secret === "string") {
    value.client_secret = null;
    const next = value.next_action;
    if (next && typeof next === "object" && !Array.isArray(next)) {
      const redirect = next.redirect_to_url;
      if (redirect && typeof redirect === "object" && !Array.isArray(redirect) && typeof redirect.url === "string") redirect.url = null;
      // Seed 001's flat form of the same address.
      if (typeof next.url === "string") next.url = null;
    }
  }
  // An invoice's confirmation_secret ({client_secret, type: "payment_intent"}; Stripe's secret is never
  // null) is its payment intent's secret: the whole field null, as when the invoice has none.
  if (value.object === "invoice" && value.confirmation_secret && !principal.permissions.has("payments.transactions.create")) value.confirmation_secret = null;
  for (const child of Object.values(value)) redact(child, principal);
}

/**
 * The answer `principal` is given: as the handler made it for a credential that may use every client
 * secret (nothing read again: the write path's answers are untouched), else its JSON with the secrets
 * it may not use set to null.
 */
export async function withoutForeignSecrets(principal: Pick<Principal, "permissions">, response: Response): Promise<Response> {
  if (seesEverySecret(principal) || !(response.headers.get("content-type") ?? "").includes("application/json")) return response;
  const text = await response.text();
  if (!text.includes('"client_secret"')) return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  const body = JSON.parse(text) as Json;
  redact(body, principal);
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify(body), { status: response.status, statusText: response.statusText, headers });
}
