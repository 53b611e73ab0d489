// The pages shoppers pay on, on the gateway's origin, without script (but the processing page's look, allowed by a nonce):
// - GET/POST /checkout/{cs_id}: a Checkout Session's page (the session's `url`); after a 3DS challenge
//   the shopper comes back to GET /checkout/{cs_id}/return, which sends them on to success_url.
// - GET/POST /pay/{pi_id}?client_secret=...: the page of a bare payment intent (hostedPaymentPageUrl),
//   which sends the shopper to the intent's return_url once paid, and offers its cancel_url.
// Every POST answers with a 303 (redirect-after-POST): to success_url or return_url, to the 3DS page
// (through the form's GET page when it is on a provider's origin: challengeLocation), or to the
// form's GET page, which shows the outcome: what went wrong (?error=<code>: a decline, or a card
// the form's checks refused before anything was attempted), a payment being confirmed, one that
// cannot be completed, a session that expired (a 410 page). Back and reload never send the card again.
// A POST another site made a browser send is refused (403) before anything is read (cross-site.ts).
// The card goes to the sandbox vault (test mode) and then to the intent's Durable Object, the only
// place money moves; the number and CVC are never stored, logged or echoed back into the page.
// Live mode would take the card with Stripe Elements instead (README, "Hosted checkout").
import { Hono, type Context } from "hono";
import { ApiError } from "../core/errors";
import { awaitingMerchantConfirmation, awaitsPaymentMethod, DECLINE_VELOCITY_WINDOW_MS, isPaid, isPaidOrPaying, recentDeclines } from "../core/intent";
import { hasPrefix } from "../core/ids";
import { currencyExponent, minorToDecimal } from "../core/money";
import type { IntentRecord, IntentStatus, LineItem, PaymentError, PaymentMethodDetails } from "../core/types";
import { brandOf, cvcLengthOf, luhnValid } from "../connectors/sandbox/cards";
import { resolvePaymentMethod } from "../connectors/sandbox/vault";
import { completeFromIntent, expireSession, isOverdue, lineItemsOf, sessionById, sessionGuard, successLocation, type CheckoutSessionRow } from "../checkout/sessions";
import { merchants } from "../db/schema";
import { config, type Env } from "../env";
import { directoryDb, findOnShards, merchantEnv } from "../db/shards";
import { invoiceById } from "../billing/store";
import { readBodyParams } from "../http/body";
import type { OpOutcome, RequestContext } from "../intents/params";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { refuseCrossSitePosts } from "./cross-site";
import { returnLocation } from "./return";
import { checkoutSessionPageUrl, hostedPaymentPageUrl } from "./urls";
import { ownEntry } from "../core/own";

type PagesEnv = { Bindings: Env };

// Explicit direction controls (embeddings, overrides, isolates: U+202A-U+202E, U+2066-U+2069) in a
// merchant's or a customer's text would reorder the page's own words after it: a product named
// "Gift card \u202E01 x" turned its "× 2" into "2 × x 10". They are dropped from every text a page
// shows; right-to-left names still show as they should without them.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;

export const escapeHtml = (s: string) => s.replace(BIDI_CONTROLS, "").replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The origin of an http(s) URL, for a CSP source list (null for anything else). */
export function originOf(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.origin : null;
  } catch {
    return null;
  }
}

/** An amount in the currency's own format: 2500 usd -> "$25.00", 2500 jpy -> "¥2,500". */
export function formatMoney(minor: number, currency: string): string {
  const exponent = currencyExponent(currency) ?? 2;
  const decimal = minorToDecimal(minor, currency);
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase(), minimumFractionDigits: exponent, maximumFractionDigits: exponent }).format(Number(decimal));
  } catch {
    return `${decimal} ${currency.toUpperCase()}`;
  }
}

/** A card brand as shoppers read it on their card: "visa" -> "Visa", "amex" -> "American Express". */
export function brandName(brand: string): string {
  const names: Record<string, string> = { visa: "Visa", mastercard: "Mastercard", amex: "American Express", discover: "Discover", diners: "Diners Club", jcb: "JCB", unionpay: "UnionPay", cartes_bancaires: "Cartes Bancaires", eftpos_au: "eftpos" };
  const name = ownEntry(names, brand);
  if (name !== undefined) return name;
  return brand === "unknown" || brand === "" ? "your card" : brand.charAt(0).toUpperCase() + brand.slice(1);
}

/** A payment's status in plain words, for shoppers. */
export function statusInWords(status: IntentStatus): string {
  switch (status) {
    case "requires_payment_method":
    case "requires_confirmation":
      return "This payment is waiting for a card.";
    case "requires_action":
      return "This payment is waiting for you to confirm it with your bank.";
    case "processing":
      return "Your payment is being confirmed with your bank. You will hear from the merchant shortly.";
    case "requires_capture":
    case "succeeded":
      return "This payment has been made. Thank you!";
    case "canceled":
      return "This payment was canceled.";
    case "failed":
      return "This payment could not be completed.";
  }
}

/**
 * A payment whose money went back to the shopper: its authorization released (canceled after it was
 * authorized) or refunded, in a shopper's words (never "paid" for money given back); null otherwise.
 */
export function givenBackInWords(intent: IntentRecord): { title: string; message: string } | null {
  const amount = formatMoney(intent.amount, intent.currency);
  if (intent.status === "canceled") {
    const authorized = intent.attempts.some((a) => a.type === "authorize" && a.status === "succeeded");
    return {
      title: "Payment canceled",
      message: authorized
        ? `This payment of ${amount} was canceled: the authorization on your card was released and nothing was charged.`
        : `This payment of ${amount} was canceled, and nothing was charged.`,
    };
  }
  if (intent.amountRefunded > 0 && intent.amountReceived > 0) {
    const received = formatMoney(intent.amountReceived, intent.currency);
    if (intent.amountRefunded >= intent.amountReceived) return { title: "Payment refunded", message: `Your payment of ${received} was refunded in full.` };
    return { title: "Payment partly refunded", message: `You paid ${received}, and ${formatMoney(intent.amountRefunded, intent.currency)} of it was refunded.` };
  }
  return null;
}

/**
 * A payment that went through, in a shopper's words: only authorized, the hold (the merchant takes the
 * money later); captured, what was taken, and the rest of the hold released when the merchant took
 * less. `paid` words the amount taken ("You have paid $10.00 to Shop.").
 */
export function paidInWords(intent: IntentRecord, merchant: string, paid: (amount: string) => string): { title: string; message: string } {
  if (intent.status === "requires_capture") {
    const held = formatMoney(intent.amountCapturable || intent.amount, intent.currency);
    return { title: "Payment authorized", message: `Your card was authorized for ${held}. ${merchant} takes the payment when it completes your order: nothing more is needed from you. Thank you!` };
  }
  const taken = intent.amountReceived || intent.amount;
  const released = intent.amountReceived > 0 && intent.amountReceived < intent.amount ? ` The rest of the amount held on your card (${formatMoney(intent.amount - intent.amountReceived, intent.currency)}) was released.` : "";
  return { title: "Payment complete", message: `${paid(formatMoney(taken, intent.currency))}${released} Thank you!` };
}

const STYLE = `*{box-sizing:border-box}body{font:100%/1.45 system-ui,-apple-system,sans-serif;color:#1a1a1a;background:#f6f7f9;margin:0;padding:1rem}
main{max-width:28rem;margin:1rem auto;background:#fff;border:1px solid #e3e5e8;border-radius:.75rem;padding:1.25rem}
h1{font-size:1.25rem;margin:0 0 .25rem}.merchant{color:#555;margin:0 0 1rem;font-weight:600}
h1,p,a,.alert,.notice{overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;margin:.5rem 0 1rem}th,td{padding:.35rem 0;vertical-align:top;overflow-wrap:anywhere}th{text-align:left;font-weight:inherit}td.amt{text-align:right;white-space:nowrap;padding-left:.75rem}
tr.total th,tr.total td{border-top:1px solid #e3e5e8;font-weight:700;padding-top:.6rem}.qty{color:#666;font-size:.9rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}input{width:100%;font:inherit;padding:.65rem .75rem;border:1px solid #7c818a;border-radius:.4rem}
input:focus{outline:2px solid #2f5bea;outline-offset:1px}button:focus-visible,a:focus-visible{outline:2px solid #2f5bea;outline-offset:2px}input[aria-invalid=true]{border:2px solid #b3261e}.row{display:flex;gap:.75rem;align-items:flex-end}.row>div{flex:1;min-width:0}
button{width:100%;font:inherit;font-weight:700;margin-top:1.25rem;padding:.8rem;border:0;border-radius:.4rem;background:#2f5bea;color:#fff;cursor:pointer}
.alert{background:#fdecea;color:#8a1c12;border:1px solid #f3b8b1;border-radius:.4rem;padding:.65rem .75rem;margin:.75rem 0}.alert p{margin:0}.alert ul{margin:.25rem 0 0;padding-left:1.25rem}.alert a{color:inherit}
.hint{color:#555;font-size:.9rem;margin:0 0 .25rem}.field-error{color:#b3261e;font-weight:600;margin:0 0 .25rem}
.done{background:#e8f5ec;color:#14532d;border:1px solid #b7dfc3;border-radius:.4rem;padding:.65rem .75rem;margin:.75rem 0}
.notice{background:#eef2fd;color:#1c3275;border:1px solid #bccbf5;border-radius:.4rem;padding:.65rem .75rem;margin:.75rem 0}.notice a{color:inherit;font-weight:600}
.cancel{display:block;text-align:center;margin-top:.4rem;padding:.6rem 0;color:#2f5bea}a{color:#2f5bea}
a.button{display:block;text-align:center;text-decoration:none;font-weight:700;margin-top:1.25rem;padding:.8rem;border-radius:.4rem;background:#2f5bea;color:#fff}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem;margin:0 0 1rem}dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
.approve{background:#0a7d32}.fail{background:#b3261e}.onward{display:inline-block;margin-top:.25rem;padding:.25rem 0}.muted{color:#666;font-size:.85rem;margin-top:1rem}
:root{color-scheme:light dark}
@media (prefers-color-scheme:dark){body{color:#e6e7ea;background:#111214}main{background:#1b1c20;border-color:#30323a}
.merchant,dt,.hint{color:#b4b7bf}.field-error{color:#ff8a80}.qty,.muted{color:#a3a7b0}tr.total th,tr.total td{border-color:#30323a}input{background:#24262c;color:#e6e7ea;border-color:#858a93}input::placeholder{color:#a3a7b0}
input[aria-invalid=true]{border-color:#ff8a80}.alert{background:#3b1512;color:#ffb4ab;border-color:#7a2d26}.done{background:#0f2a1a;color:#a8e5bb;border-color:#235c39}
.notice{background:#172447;color:#c5d3ff;border-color:#2f4680}
.cancel,a{color:#9db2ff}input:focus,button:focus-visible,a:focus-visible{outline-color:#9db2ff}}`;

export { STYLE as PAGE_STYLE };

export interface PageOptions {
  status?: number;
  /** Origins besides ours that the form, or the redirect that answers it, may reach. */
  formAction?: (string | null)[];
  /** Sends the browser on (a meta refresh: no form, so form-action does not apply, and no script). */
  refreshTo?: string;
  /** Seconds before refreshTo is followed (0: at once). */
  refreshAfter?: number;
  /** A nonce allowing the page's own inline script, which may fetch only from this origin (connect-src 'self'). */
  scriptNonce?: string;
}

export function htmlPage(title: string, body: string, options: PageOptions = {}): Response {
  const formAction = ["'self'", ...new Set((options.formAction ?? []).filter((o): o is string => o !== null))].join(" ");
  const refresh = options.refreshTo ? `<meta http-equiv="refresh" content="${options.refreshAfter ?? 0};url=${escapeHtml(options.refreshTo)}">` : "";
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${refresh}
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
  return new Response(html, {
    status: options.status ?? 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "content-security-policy": `default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; ${options.scriptNonce ? `script-src 'nonce-${options.scriptNonce}'; connect-src 'self'; ` : ""}form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    },
  });
}

/** The merchant's name, for the pages shoppers see. */
export async function merchantName(env: Env, merchantId: string): Promise<string> {
  const [row] = await drizzle(directoryDb(env)).select({ name: merchants.name }).from(merchants).where(eq(merchants.id, merchantId)).limit(1);
  return row?.name ?? "The merchant";
}

interface Summary {
  merchant: string;
  lineItems: LineItem[];
  description: string | null;
  amount: number;
  currency: string;
}

/** The order's lines and total; each row's name is its header (a screen reader says "Total" with the amount). */
function summaryHtml(s: Summary): string {
  const rows = s.lineItems.length
    ? s.lineItems
        .map(
          (i) =>
            `<tr><th scope="row">${escapeHtml(i.name)}${i.quantity > 1 ? ` <span class="qty">× ${i.quantity}</span>` : ""}</th><td class="amt">${escapeHtml(formatMoney(i.unitAmount * i.quantity, s.currency))}</td></tr>`,
        )
        .join("")
    : // Without a description the page's heading already says "Payment": the total alone, not a second "Payment" row.
      s.description
      ? `<tr><th scope="row">${escapeHtml(s.description)}</th><td class="amt">${escapeHtml(formatMoney(s.amount, s.currency))}</td></tr>`
      : "";
  return `<table aria-label="Order summary"><tbody>${rows}<tr class="total"><th scope="row">Total</th><td class="amt">${escapeHtml(formatMoney(s.amount, s.currency))}</td></tr></tbody></table>`;
}

export function heading(merchant: string, title: string): string {
  return `<p class="merchant">${escapeHtml(merchant)}</p><h1>${escapeHtml(title)}</h1>`;
}

/** A field of the card form, by its element id. */
type CardField = "card-number" | "expiry" | "cvc";

/**
 * What the form says above it, and the field it is about (null: the card as a whole, or nothing the
 * shopper typed). A notice is news rather than an error (the shopper canceled at PayPal): it is
 * announced politely (role=status), marks no field and takes no focus.
 */
interface FormError {
  message: string;
  field: CardField | null;
  notice?: boolean;
  /** Several fields refused at once by the form's checks: each with its own message (the first is `field`). */
  fields?: FieldError[];
}

interface FieldError {
  field: CardField;
  message: string;
}

/**
 * The field an error is about, by its code: only a field the shopper typed wrong. A decline of the card
 * as a whole (a card error without a field of its own, a failed 3D Secure challenge) marks no field:
 * the number was not wrong, so it is not aria-invalid; the alert takes the focus instead. An error about
 * the request rather than the card (a live key on the test form) is about no field either.
 */
function fieldOf(code: string): CardField | null {
  switch (code) {
    case "incorrect_number":
    case "invalid_number":
      return "card-number";
    case "invalid_expiry":
    case "invalid_expiry_month":
    case "invalid_expiry_year":
    case "expired_card":
      return "expiry";
    case "invalid_cvc":
    case "incorrect_cvc":
      return "cvc";
    // The provider's trouble, not the card's: the same card may be tried again.
    case "processing_error":
      return null;
    default:
      return null;
  }
}

/** Room for the longest expiry the form takes: "12 / 2034". */
export const EXPIRY_MAX_LENGTH = "MM / YYYY".length;

/** A way on shown above the form while the payment waits on the shopper elsewhere (a 3DS challenge, PayPal). */
interface PendingStep {
  message: string;
  href: string;
  text: string;
}

interface FormInput {
  action: string;
  hidden?: Record<string, string>;
  cancelUrl: string | null;
  error: FormError | null;
  pending?: PendingStep | null;
  /** A live-mode payment: the form (the sandbox's, test mode only) is not offered (see cardForm). */
  live?: boolean;
}

const ERROR_ID = "form-error";

/** The expiry field's hint, under its label: what the server takes (cardFrom: MM/YY or MM/YYYY, the slash and spaces optional). */
const EXPIRY_HINT = "MM/YY, for example 04/28; the slash is optional.";

/**
 * The browser's own checks of each field (pattern, title, required), before anything is sent: they
 * take what cardFrom takes, so a value the browser lets through is judged by the server, never the
 * reverse. Digits with single spaces or dashes between them, 12 to 19 of them; a month 1 to 12 and a
 * 2- or 4-digit year; 3 or 4 digits.
 */
export const FIELD_PATTERNS: Record<CardField, { pattern: string; title: string }> = {
  "card-number": { pattern: " *(?:[0-9][ \\-]*){11,18}[0-9] *", title: "The 12 to 19 digits on the front of your card; spaces are fine." },
  expiry: { pattern: " *(?:0?[1-9]|1[0-2]) *\\/? *(?:[0-9]{2}|[0-9]{4}) *", title: "The month and year, MM/YY, for example 04/28." },
  cvc: { pattern: " *[0-9]{3,4} *", title: "The 3 or 4 digits of the security code (CVC)." },
};

/** The fields an error marks, each with its own message: several refused at once, or the one the error is about. */
function fieldErrorsOf(error: FormError | null): FieldError[] {
  if (!error || error.notice) return [];
  if (error.fields?.length) return error.fields;
  return error.field ? [{ field: error.field, message: error.message }] : [];
}

function cardForm(s: Summary, f: FormInput): string {
  // Live mode: this form is the sandbox's (test cards only; a live payment would take the card with the
  // provider's own fields, README "Hosted checkout"). Offering it asked shoppers for their real card,
  // said "Test mode: no real card is charged", and sent the number to this server only to refuse it:
  // no field to type a card into, only where the payment stands and the way back.
  if (f.live) {
    const pending = f.pending ? `<div role="status" class="notice">${escapeHtml(f.pending.message)} <a href="${escapeHtml(f.pending.href)}">${escapeHtml(f.pending.text)}</a></div>` : "";
    return (
      pending +
      `<p role="status">${escapeHtml(`This page cannot take a card for this payment, and nothing was charged. To pay, contact ${s.merchant}.`)}</p>` +
      `${f.cancelUrl ? `<a class="cancel" href="${escapeHtml(f.cancelUrl)}">Back to ${escapeHtml(s.merchant)}</a>` : ""}`
    );
  }
  // A fresh attempt id per rendering of the form: the same card sent twice from one rendering (a
  // double click, Enter pressed twice) is one attempt, not two (see shopperAttempt).
  const hidden = Object.entries({ ...(f.hidden ?? {}), attempt: randomToken() })
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join("");
  // Each field in error says so (aria-invalid) and is described by a message of its own, shown above it;
  // the alert above the form says it all at once (the form's checks report every field they refuse). The
  // focus starts on the first field in error (autofocus: the page has no script), or on the alert itself
  // when no field is at fault (a decline: the number was not wrong). A notice marks nothing and takes no
  // focus. Nothing the shopper typed is ever put back (every answer is a GET; the number and the CVC
  // must never be echoed).
  const error = f.error && !f.error.notice ? f.error : null;
  const wrong = fieldErrorsOf(error);
  const first = wrong[0]?.field ?? null;
  const messageOf = (id: CardField) => wrong.find((w) => w.field === id)?.message ?? null;
  const native = (id: CardField) => ` pattern="${escapeHtml(FIELD_PATTERNS[id].pattern)}" title="${escapeHtml(FIELD_PATTERNS[id].title)}"`;
  const state = (id: CardField, hint?: string) => {
    const described = [messageOf(id) !== null ? `${id}-error` : null, hint ?? null].filter((d) => d !== null).join(" ");
    return `${messageOf(id) !== null ? ' aria-invalid="true"' : ""}${described ? ` aria-describedby="${described}"` : ""}${first === id ? " autofocus" : ""}`;
  };
  const fieldMessage = (id: CardField) => {
    const message = messageOf(id);
    return message === null ? "" : `<p id="${id}-error" class="field-error">${escapeHtml(message)}</p>`;
  };
  const several = error?.fields && error.fields.length > 1 ? error.fields : null;
  const alertText = several
    ? `<p>${escapeHtml(error?.message ?? "")}</p><ul>${several.map((w) => `<li><a href="#${w.field}">${escapeHtml(w.message)}</a></li>`).join("")}</ul>`
    : escapeHtml(error?.message ?? "");
  const alert = error
    ? `<div id="${ERROR_ID}" role="alert" class="alert"${first ? "" : ' tabindex="-1" autofocus'}>${alertText}</div>`
    : f.error?.notice
      ? `<div id="form-notice" role="status" class="notice">${escapeHtml(f.error.message)}</div>`
      : "";
  const pending = f.pending
    ? `<div role="status" class="notice">${escapeHtml(f.pending.message)} <a href="${escapeHtml(f.pending.href)}">${escapeHtml(f.pending.text)}</a></div><p class="muted">Or pay with another card:</p>`
    : "";
  return (
    alert +
    pending +
    `<form method="post" action="${escapeHtml(f.action)}">${hidden}` +
    `<label for="card-number">Card number</label>${fieldMessage("card-number")}<input id="card-number" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="1234 1234 1234 1234" maxlength="23" required${native("card-number")}${state("card-number")}>` +
    `<div class="row"><div><label for="expiry">Expiry (MM/YY)</label><p id="expiry-hint" class="hint">${escapeHtml(EXPIRY_HINT)}</p>${fieldMessage("expiry")}<input id="expiry" name="expiry" inputmode="numeric" autocomplete="cc-exp" placeholder="MM / YY" maxlength="${EXPIRY_MAX_LENGTH}" required${native("expiry")}${state("expiry", "expiry-hint")}></div>` +
    `<div><label for="cvc">CVC</label>${fieldMessage("cvc")}<input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="123" maxlength="4" required${native("cvc")}${state("cvc")}></div></div>` +
    `<button type="submit">Pay ${escapeHtml(formatMoney(s.amount, s.currency))}</button></form>` +
    `${f.cancelUrl ? `<a class="cancel" href="${escapeHtml(f.cancelUrl)}">Cancel</a>` : ""}` +
    `<p class="muted">Test mode: no real card is charged. Your card details go only to the payment gateway, never to ${escapeHtml(s.merchant)}.</p>`
  );
}

function messagePage(s: Pick<Summary, "merchant">, title: string, message: string, options: PageOptions & { link?: { href: string; text: string }; links?: { href: string; text: string }[]; ok?: boolean; pending?: boolean } = {}): Response {
  const link = [...(options.link ? [options.link] : []), ...(options.links ?? [])].map((l) => `<a class="cancel" href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a>`).join("");
  // A message that is not good news is announced as it appears (role=alert), as the form's errors are;
  // news still pending (a payment being confirmed) is a status, read out without interrupting.
  const role = options.ok ? "" : options.pending ? ' role="status"' : ' role="alert"';
  return htmlPage(title, `${heading(s.merchant, title)}<p class="${options.ok ? "done" : ""}"${role}>${escapeHtml(message)}</p>${link}`, options);
}

/**
 * How often a page waiting on a payment being confirmed looks again by itself: its script asks for the
 * page's own address in the background (the page is never reloaded under its reader, nothing is
 * announced until the payment has moved on), and only then replaces the page with what it now says.
 */
export const RECHECK_SECONDS = 10;

/** The heading of the page of a payment being confirmed: what its script looks for in the page's own address to know it still is. */
const PROCESSING_HEADING = "Payment processing";

/**
 * The script of the page of a payment being confirmed (allowed by its nonce). Every RECHECK_SECONDS it
 * fetches `next` (the page's own address; connect-src 'self'), without following a redirect. While that
 * is still this page it says nothing; once the payment has moved on (another page, or a redirect), the
 * polite status says so and the page is replaced by `next` (location.replace: no history entry, as a
 * refresh to the page's own address). Past `leftMs` it stops and says so, leaving "Check again".
 */
function processingScript(next: string, leftMs: number): string {
  // JSON in a script: "<" escaped, so no text can close the element.
  const json = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c");
  return (
    `(function(){var url=${json(next)},every=${RECHECK_SECONDS * 1000},until=Date.now()+${Math.max(0, Math.floor(leftMs))},marker=${json(`<h1>${PROCESSING_HEADING}</h1>`)};` +
    `var status=document.getElementById("payment-status"),auto=document.getElementById("auto-check");if(!status||!window.fetch)return;if(auto)auto.hidden=false;` +
    `function say(t){status.textContent=t;if(auto)auto.hidden=true;}` +
    `function look(){if(Date.now()>=until){say(${json("This page has stopped checking by itself: use Check again to see where your payment stands.")});return;}` +
    `fetch(url,{cache:"no-store",credentials:"same-origin",redirect:"manual"}).then(function(r){if(r.type==="opaqueredirect"||(r.status>=300&&r.status<400))return "";if(!r.ok)throw new Error(String(r.status));return r.text();})` +
    `.then(function(html){if(html.indexOf(marker)!==-1){setTimeout(look,every);return;}say(${json("Your payment has moved on. Loading where it stands now…")});location.replace(url);},function(){setTimeout(look,every);});}` +
    `setTimeout(look,every);})();`
  );
}

/**
 * A payment in flight (the provider's answer is unknown until reconciliation learns it): no form, so
 * nobody pays twice, and a way on to `next`, which shows where the payment then stands: by itself (the
 * page's script, for a bounded time) or by the "Check again" link, which is all a browser without
 * script gets. No meta refresh: a page reloading itself on a timer is a time limit its reader cannot
 * adjust (WCAG 2.2.1, axe's meta-refresh).
 */
function processingPage(s: Pick<Summary, "merchant">, next: string, onward: string, looking: Looking): Response {
  // Bounded by the payment's age, not by a count in the URL: after RECHECK_WINDOW_SECONDS in flight
  // (or once the shopper asked it to stop) the page waits for the shopper's "Check again".
  const left = RECHECK_WINDOW_SECONDS * 1000 - (looking.now - looking.since);
  if (looking.stop || left <= 0) {
    return messagePage(s, PROCESSING_HEADING, `Your payment is being confirmed with your bank; there is no need to pay again. This page has stopped checking by itself: use Check again to see where it stands.`, {
      pending: true,
      link: { href: next, text: "Check again" },
    });
  }
  // The page's own address (`next`: the POST's 303 and the session's own page lead there) is where it
  // looks, and what replaces it once the payment moved on (no history entry per look: Back after the
  // payment went through is the paid page, never a look sending the shopper forward again). "Stop
  // checking by itself" comes first, right after the heading, and leads to the page without its script.
  const sep = next.includes("?") ? "&" : "?";
  const links = [
    { href: `${next}${sep}${STOP_CHECKING}`, text: "Stop checking by itself" },
    { href: next, text: "Check again" },
  ]
    .map((l) => `<a class="cancel" href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a>`)
    .join("");
  const message = "Your payment is being confirmed with your bank; there is no need to pay again. Use Check again to see where it stands.";
  // Said only where the script runs (it unhides it): a browser without script does not look by itself.
  const auto = `This page also checks by itself every ${RECHECK_SECONDS} seconds for up to ${RECHECK_WINDOW_SECONDS / 60} minutes and ${onward} once it is confirmed.`;
  const nonce = randomToken();
  return htmlPage(
    PROCESSING_HEADING,
    `${heading(s.merchant, PROCESSING_HEADING)}${links}<p role="status" id="payment-status">${escapeHtml(message)}</p><p id="auto-check" class="muted" hidden>${escapeHtml(auto)}</p>` +
      `<script nonce="${nonce}">${processingScript(next, left)}</script>`,
    { scriptNonce: nonce },
  );
}

/** How long a page waiting on a payment being confirmed looks again by itself, from the attempt's start (5 minutes: past the reconciliation schedule's first two rounds, 30 s and 2 min), before it leaves it to the shopper's "Check again". */
export const RECHECK_WINDOW_SECONDS = 300;

/** The query of the page that has stopped checking by itself (the shopper's "Stop checking by itself"). */
export const STOP_CHECKING = "check=stop";

/** Whether a processing page still looks again by itself: the attempt's start, the time now, and the shopper's stop. */
interface Looking {
  since: number;
  now: number;
  stop: boolean;
}

/** For the page of an intent being confirmed: since when (its authorization's start, as the object recorded it). */
function looking(c: Context<PagesEnv>, intent: IntentRecord | null): Looking {
  const starts = (intent?.attempts ?? []).filter((a) => a.type === "authorize").map((a) => a.created);
  const since = starts.length ? Math.max(...starts) : (intent?.updated ?? 0);
  return { since, now: Date.now(), stop: c.req.query("check") === "stop" };
}

/** A shopper's page refused by the per-IP limit (pageGuard, src/pages/guard.ts): wait a moment, then try again; Retry-After says how long. */
export function tooManyRequestsPage(retryAfterSeconds: number): Response {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  const res = htmlPage(
    "Too many requests",
    `<h1>Too many requests</h1><p role="alert">This page was asked for too many times in a short while. Wait a moment and try again${seconds > 1 ? ` (in about ${seconds} seconds)` : ""}; nothing was charged or changed.</p>`,
    { status: 429 },
  );
  res.headers.set("retry-after", String(seconds));
  return res;
}

/**
 * An error on our side behind a shopper's page: the HTML page in the pages' style, never the API's
 * JSON. It says what is true of every page here: a payment is never taken twice (the payment's own
 * object decides it once), so opening the page again shows where it stands.
 */
export function serverErrorPage(status: number, requestId: string | null): Response {
  const reference = requestId ? `<p class="muted">Reference: ${escapeHtml(requestId)}</p>` : "";
  return htmlPage(
    "Something went wrong",
    `<h1>Something went wrong</h1><p role="alert">This page could not be shown because of an error on our side. Try again in a moment: a payment is never taken twice, and if yours went through, the page says so when you open it again.</p>${reference}`,
    { status },
  );
}

/** A page's path asked with a method it does not take (PUT, DELETE, ...): the HTML page, 405, and the methods it takes. */
function methodNotAllowedPage(allow: string): Response {
  const res = htmlPage("Method not allowed", `<h1>Method not allowed</h1><p>This page can only be opened in a browser.</p>`, { status: 405 });
  res.headers.set("allow", allow);
  return res;
}

/** The catch-alls of a pages app, after its routes: another method on a page's path, and any other path (the HTML 404 page, never the API's JSON). */
export function unmatched(pages: Hono<PagesEnv>, paths: Record<string, string>, what?: string): void {
  for (const [path, allow] of Object.entries(paths)) pages.all(path, () => methodNotAllowedPage(allow));
  pages.all("*", () => notFoundPage(what));
}

export const notFoundPage = (what = "Payment page") => htmlPage("Not found", `<h1>${escapeHtml(what)} not found</h1><p>This link is not valid. Ask the shop for a new one.</p>`, { status: 404 });

/**
 * What the form's own checks (and the vault's) say when they refuse a card before anything is
 * attempted, by the code the redirect to the form's GET page carries (?error=<code>): the shopper's
 * words and the field to mark. Each message has a code of its own, so the GET page says exactly what
 * the POST found (a 4-digit CVC asked for on American Express, a 3-digit one on other cards).
 */
const CHECKS: Record<string, FormError> = {
  invalid_number: { message: "Enter the card number (12 to 19 digits).", field: "card-number" },
  incorrect_number: { message: "Your card number is incorrect.", field: "card-number" },
  invalid_expiry: { message: "Enter the expiry as MM / YY.", field: "expiry" },
  invalid_expiry_month: { message: "Your card's expiration month is invalid.", field: "expiry" },
  invalid_expiry_year: { message: "Your card's expiration year is invalid.", field: "expiry" },
  expired_card: { message: "Your card has expired.", field: "expiry" },
  invalid_cvc: { message: "Enter the 3 or 4 digit CVC.", field: "cvc" },
  invalid_cvc_amex: { message: "Enter the 4-digit CVC printed on the front of your American Express card.", field: "cvc" },
  invalid_cvc_3_digits: { message: "Enter the 3-digit CVC printed on the back of your card.", field: "cvc" },
  livemode_card_form: { message: "This page cannot take a card for this payment. Contact the merchant.", field: null },
  invalid_card_details: { message: "The card details could not be read. Enter them again.", field: null },
};

function refuse(code: keyof typeof CHECKS): never {
  const check = CHECKS[code];
  throw new ApiError({ status: 400, type: check?.field ? "card_error" : "invalid_request_error", code, message: check?.message ?? "" });
}

/** The form's checks refused one field or more: the code of each, in the form's order (number, expiry, CVC). */
class CardRefused extends Error {
  constructor(readonly codes: string[]) {
    super(codes.join(","));
  }
}

/**
 * What a refusal is redirected with (?error=): every check's code, joined by commas (each field
 * refused at once), a check's own, or the generic one for a refusal the page has no words for; null
 * for an error that is not a refusal.
 */
function checkCode(err: unknown): string | null {
  if (err instanceof CardRefused) return err.codes.join(",");
  if (!(err instanceof ApiError)) return null;
  const code = err.data.code ?? "";
  return Object.hasOwn(CHECKS, code) ? code : "invalid_card_details";
}

/** The most checks one ?error names: one a field. */
const MAX_CHECKS = 3;

/** The form's checks named by ?error (one code, or several joined by commas), as the form shows them; null unless every code is a check's. */
function checksError(code: string): FormError | null {
  const codes = [...new Set(code.split(","))];
  if (codes.length > MAX_CHECKS) return null;
  const checks = codes.map((c) => ownEntry(CHECKS, c));
  const found = checks.filter((c): c is FormError => c !== undefined);
  if (found.length !== checks.length || !found[0]) return null;
  if (found.length === 1) return found[0];
  const fields = found.flatMap((c) => (c.field ? [{ field: c.field, message: c.message }] : []));
  // Several codes are several fields refused at once; a list mixing in one that names no field is no redirect of ours.
  if (fields.length !== found.length) return null;
  return { message: `${fields.length} card details need correcting:`, field: fields[0]?.field ?? null, fields };
}

// MM/YY or MM/YYYY, the slash and the spaces around it optional. Written so that no run of spaces can
// be split two ways: `\s*\/?\s*` tried every split of the spaces between the month and what follows, and
// a POST of "1", 60,000 spaces and "x" (the form's maxlength binds browsers, not requests) took 7.5 s of
// CPU. A field longer than any date with its spaces is no date: refused before it is read.
const EXPIRY = /^(\d{1,2})\s*(?:\/\s*)?(\d{2}|\d{4})$/;
const EXPIRY_READ_LENGTH = 32;

/** The card form's expiry as typed (month, and year as written: two or four digits), or null when it is none. */
export function formExpiry(text: string): RegExpExecArray | null {
  const typed = text.trim();
  return typed.length > EXPIRY_READ_LENGTH ? null : EXPIRY.exec(typed);
}

/** The card of the form, through the sandbox vault (test mode only). Throws CardRefused (codes of CHECKS, every field refused) or ApiError (the vault's, or livemode_card_form) for a card refused before anything is attempted. */
async function cardFrom(env: Env, form: Record<string, unknown>, scope: { merchantId: string; livemode: boolean }): Promise<PaymentMethodDetails> {
  const text = (k: string) => (typeof form[k] === "string" ? (form[k] as string) : "");
  const number = text("card_number").replace(/[\s-]/g, "");
  const expiry = formExpiry(text("expiry"));
  const cvc = text("cvc").trim();
  // Every field is checked, and every one refused is said at once (not one per submission).
  const refused: string[] = [];
  const numberOk = /^\d{12,19}$/.test(number);
  // A mistyped digit (the Luhn check) is said with the rest, not in a second round once they are fixed.
  if (!numberOk) refused.push("invalid_number");
  else if (!luhnValid(number)) refused.push("incorrect_number");
  const month = expiry ? Number(expiry[1]) : 0;
  const typedYear = expiry ? Number(expiry[2]) : 0;
  const year = typedYear < 100 ? 2000 + typedYear : typedYear;
  // A date in the past is an expired card, in those words (the vault calls a past year "invalid").
  const now = new Date();
  if (!expiry) refused.push("invalid_expiry");
  else if (month < 1 || month > 12) refused.push("invalid_expiry_month");
  else if (year < now.getUTCFullYear() || (year === now.getUTCFullYear() && month < now.getUTCMonth() + 1)) refused.push("expired_card");
  // The vault's bound (no card runs 50 years): also said at once.
  else if (year > now.getUTCFullYear() + 50) refused.push("invalid_expiry_year");
  // The CVC's length by the brand, once the number says which it is.
  const cvcLength = numberOk ? cvcLengthOf(brandOf(number)) : null;
  if (!/^\d{3,4}$/.test(cvc)) refused.push("invalid_cvc");
  else if (cvcLength !== null && cvc.length !== cvcLength) refused.push(cvcLength === 4 ? "invalid_cvc_amex" : "invalid_cvc_3_digits");
  if (refused.length) throw new CardRefused(refused);
  if (scope.livemode) refuse("livemode_card_form");
  return resolvePaymentMethod(
    { kind: "card", number, expMonth: month, expYear: year, cvc, param: "card" },
    { merchantId: scope.merchantId, livemode: scope.livemode, fingerprintKey: config(env).fingerprintKey, now: Date.now() },
  );
}

const ATTEMPT_ID = /^[A-Za-z0-9_-]{16,64}$/;

const randomToken = () => crypto.randomUUID().replaceAll("-", "");

/**
 * The form's attempt id (a hidden field, new at each rendering of the form), or null. It is the
 * confirm's idempotency key within the intent's object: a second POST of the same rendering with the
 * same card (the same keyed card fingerprint and expiry) gets the first one's outcome replayed, so a
 * double submit records one decline, not two, and never starts a second attempt. Another card sent
 * from an old rendering (Back, then a new card) is another request: it runs as a fresh attempt.
 */
function shopperAttempt(form: Record<string, unknown>, card: PaymentMethodDetails): { key: string; fingerprint: string } | null {
  const id = form.attempt;
  if (typeof id !== "string" || !ATTEMPT_ID.test(id) || !card.card) return null;
  return { key: `page_attempt:${id}`, fingerprint: `card:${card.card.fingerprint}:${card.card.expMonth}/${card.card.expYear}` };
}

/**
 * The amount and currency the form showed (its hidden fields), which the payment must still have when
 * it is confirmed; undefined for a form without them (one rendered before they were added).
 */
function shownAmountOf(form: Record<string, unknown>): { amount: number; currency: string } | undefined {
  const { amount, currency } = form;
  if (typeof amount !== "string" || typeof currency !== "string" || !/^\d{1,15}$/.test(amount) || !/^[a-z]{3}$/.test(currency)) return undefined;
  return { amount: Number(amount), currency };
}

/** Confirms the intent with the shopper's card through its Durable Object, as the customer. */
async function confirmAsShopper(
  env: Env,
  intent: { id: string; merchantId: string; livemode: boolean },
  paymentMethod: PaymentMethodDetails,
  origin: string,
  details: Record<string, string>,
  attempt: { key: string; fingerprint: string } | null,
  shownAmount?: { amount: number; currency: string },
): Promise<OpOutcome> {
  const req: RequestContext = {
    scope: { merchantId: intent.merchantId, livemode: intent.livemode },
    requestId: null,
    idempotencyKey: attempt?.key ?? null,
    fingerprint: attempt?.fingerprint ?? null,
    origin,
    audit: { action: "payment_intents.confirm", actor: "customer", roles: [], details },
  };
  const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(intent.id));
  const params = { paymentMethod, offSession: false, byCustomer: true, ...(shownAmount ? { shownAmount } : {}) };
  const outcome = await stub.confirm(req, intent.id, params);
  // The attempt id already went with another card (an old rendering of the form): a fresh attempt.
  if (attempt && outcome.error?.code === "idempotency_key_reused") return stub.confirm({ ...req, idempotencyKey: null, fingerprint: null }, intent.id, params);
  return outcome;
}


/**
 * A failed attempt in a shopper's words, with the field to mark. The provider's words are kept where
 * they speak to a shopper ("Your card was declined."); where they speak to a developer, contradict
 * themselves, or blame a card the shopper never typed, the page has its own.
 */
function attemptError(e: PaymentError): FormError {
  if (e.paymentMethod?.type === "paypal") {
    // Canceled at PayPal's page (its Cancel, or its cancel link back): the shopper's own choice, not an error.
    if (e.declineCode === "payer_canceled" || e.code === "payment_intent_payment_attempt_failed") {
      return { message: "You canceled the PayPal payment, so nothing was charged. You can pay with a card instead.", field: null, notice: true };
    }
    return { message: "The PayPal payment did not go through, and nothing was charged. You can pay with a card instead.", field: null };
  }
  if (e.code === "payment_intent_payment_attempt_failed") {
    return { message: "The payment was canceled on your bank's page, and nothing was charged. Try again, or use another card.", field: null, notice: true };
  }
  // Stripe's test-mode words for a real card ("Your request was in test mode, but used a non test (live) card").
  if (e.declineCode === "test_mode_live_card") return { message: "This card cannot be used here. Try another card.", field: "card-number" };
  // Nothing wrong with the card: the same one may be tried again.
  if (e.code === "processing_error") return { message: "An error occurred while processing your card. Try again in a little bit.", field: null };
  // The card was not typed wrong: no field is marked, the alert takes the focus.
  if (e.code === "payment_intent_authentication_failure") return { message: "Your bank could not authenticate the payment (3D Secure failed). Try another card.", field: null };
  const message = e.message || "The payment did not go through.";
  return { message: `${message.replace(/\.?$/, ".")} Try another card.`, field: fieldOf(e.code) };
}

/** The intent's last payment error in a shopper's words (for the pages that show an attempt's outcome), or null. */
export function lastErrorInWords(intent: IntentRecord): string | null {
  return intent.lastPaymentError ? attemptError(intent.lastPaymentError).message : null;
}

/** The error of the intent's last attempt (a decline, a failed 3D Secure challenge, a PayPal cancel), as the form shows it. */
export function lastAttemptError(intent: IntentRecord): FormError | null {
  return intent.lastPaymentError ? attemptError(intent.lastPaymentError) : null;
}

/**
 * The last attempt's error as a page opened without ?error shows it. A failed 3D Secure challenge
 * the shopper comes back from is the answer to what the shopper just did, marked as such. Any other
 * is not this page's doing (a card this page sends comes back with ?error): a renewal the merchant
 * charged off session, a subscription's first charge or a confirm the merchant made through the API
 * with the card on file. It is said as news, a notice, with no field marked invalid and no focus
 * taken, since nothing on this page has been done wrong yet.
 */
function previousAttemptError(intent: IntentRecord): FormError | null {
  const error = lastAttemptError(intent);
  const last = intent.attempts.findLast((a) => a.type === "authorize" || a.type === "authenticate");
  if (!error || error.notice || (intent.offSession !== true && last?.type === "authenticate")) return error;
  return { message: `The last attempt to pay did not go through: ${error.message}`, field: null, notice: true };
}

// Redirect-after-POST: every POST of the form answers with a 303 to a GET page, so that Back and
// reload never offer to send the card again. A declined attempt, or a card the checks refused before
// anything was attempted, goes to the form's GET page with ?error=<code>: only a code travels, never
// what the shopper typed (not even the expiry: it would be in the URL, and in the history), and the
// GET page shows the words and marks the field of that code (the intent's last error for a decline).
const ERROR_CODE = /^[a-z0-9_]{1,64}$/;
/** The codes of several checks, joined by commas (?error=invalid_number,expired_card). */
const CHECKS_CODES = /^[a-z0-9_]{1,64}(?:,[a-z0-9_]{1,64}){1,2}$/;

function failureCode(outcome: Pick<OpOutcome, "error" | "intent">): string {
  const code = outcome.error?.code ?? outcome.intent?.lastPaymentError?.code ?? "";
  return ERROR_CODE.test(code) ? code : "payment_failed";
}

/**
 * Refusals that are not about the card, in a shopper's words: another card would not help, so the
 * intent's last decline (an earlier card's) is not what the page should show for them.
 */
const REFUSALS: Record<string, FormError> = {
  // The decline velocity rule (MAX_PAYMENT_ATTEMPTS): nothing was attempted.
  card_decline_rate_limit_exceeded: { message: "Too many attempts with this payment; try again later or contact the merchant.", field: null },
  // Nothing moved at the provider: the same card may be tried again.
  provider_error: { message: "The payment could not be processed just now, and nothing was charged. Please try again.", field: null },
  // The same rendering's first POST (a double click) still running after the object's wait: it
  // decides; this one attempted nothing.
  // The merchant changed the amount while the page was open (/pay): nothing was charged, and the page
  // now shows the new amount.
  amount_changed: { message: "The amount to pay changed while this page was open, and nothing was charged. Check the amount shown now, then pay again.", field: null },
  idempotency_key_in_use: { message: "This payment is already being sent from your first click. Wait a moment, then reload this page to see how it went before paying again.", field: null },
  // Every provider of the merchant paused by its circuit breaker (503 connectors_unavailable): the
  // card is not at fault, and another would fare no better until the providers answer again.
  connectors_unavailable: { message: "Payments cannot be taken just now: the payment provider is not answering. Nothing was charged. Please try again in a few minutes.", field: null },
};

/**
 * The error a GET page shows for ?error=<code>: our words for a refusal, the intent's last error when
 * it has that code (a decline), the check's words for a card the checks refused, else our generic
 * words (the query's text is never shown).
 */
function redirectedError(intent: IntentRecord | null, code: string | undefined): FormError | null {
  if (!code) return null;
  // Several fields the form's checks refused at once (only checks' codes are ever joined).
  if (code.includes(",")) return CHECKS_CODES.test(code) ? checksError(code) : null;
  if (!ERROR_CODE.test(code)) return null;
  const refusal = ownEntry(REFUSALS, code);
  if (refusal) return refusal;
  // Waiting on a challenge (a card sent after that decline went to 3D Secure): a decline's code in the
  // URL is an older attempt's (the page reached again with Back), not news. Only the form's own checks
  // (a card refused before anything was attempted, the challenge still waiting) are shown.
  if (intent?.status === "requires_action" && intent.nextAction) return checksError(code);
  if (intent?.lastPaymentError?.code === code) return lastAttemptError(intent);
  const check = checksError(code);
  if (check) return check;
  return { message: "The payment did not go through. Try another card.", field: null };
}

/** While the payment waits on the shopper elsewhere (a 3DS challenge, PayPal), the way back there, offered beside the form. */
function pendingStep(intent: IntentRecord | null): PendingStep | null {
  if (intent?.status !== "requires_action" || !intent.nextAction) return null;
  if (intent.paymentMethod?.type === "paypal") return { message: "This payment is waiting for you to approve it at PayPal.", href: intent.nextAction.url, text: "Continue to PayPal" };
  return { message: statusInWords("requires_action"), href: intent.nextAction.url, text: "Continue with your bank" };
}

/**
 * The query of a payment page that sends the shopper on to the challenge waiting at the payment
 * provider's own page (toChallengePage): where a POST of the card form leads when that page is on
 * another origin.
 */
const TO_CHALLENGE = "challenge=continue";

/**
 * Where a POST of the card form sends the shopper for a challenge (3D Secure, PayPal's approval):
 * straight there when it is on this origin (the sandbox's challenge page), else to the payment's
 * own page with TO_CHALLENGE, which goes on by a meta refresh. A form's redirect may only reach the
 * origins of the page's form-action (browsers check every redirect of a form's submission, and stop
 * at a refused one): a provider's page (Stripe's 3D Secure, on its own origin) is not among them,
 * and a 303 straight there left the shopper on a blocked navigation, the challenge never shown.
 */
function challengeLocation(c: Context<PagesEnv>, challenge: string, page: string): string {
  try {
    if (new URL(challenge, c.req.url).origin === new URL(c.req.url).origin) return challenge;
  } catch {
    // not a URL: the payment's page offers the way there as a link
  }
  return `${page}${page.includes("?") ? "&" : "?"}${TO_CHALLENGE}`;
}

/**
 * The page the redirect of challengeLocation leads to: on to the challenge at once (a meta refresh,
 * which form-action does not govern, and no script), with the link for a browser that does not
 * follow it; null when no challenge waits any more (Back after it), and the page shows as usual.
 * It only reads: the challenge is the intent's own next_action, whatever the query says.
 */
function toChallengePage(c: Context<PagesEnv>, s: Pick<Summary, "merchant">, intent: IntentRecord | null): Response | null {
  if (c.req.query("challenge") !== "continue") return null;
  const step = pendingStep(intent);
  if (!step) return null;
  return messagePage(s, "Confirm your payment", `${step.message} Taking you there now…`, { pending: true, refreshTo: step.href, link: { href: step.href, text: step.text } });
}

/**
 * Minutes until the decline velocity rule (MAX_PAYMENT_ATTEMPTS) takes a card for this intent again,
 * or null while it takes one now: a page that can take no more attempts says so up front, no form.
 */
function minutesUntilAttemptsAllowed(env: Env, intent: IntentRecord | null, now = Date.now()): number | null {
  if (!intent || (intent.status !== "requires_payment_method" && intent.status !== "requires_confirmation")) return null;
  const recent = recentDeclines(intent, now);
  if (recent.length < config(env).maxPaymentAttempts) return null;
  // The rule counts the declines within its window: a card is taken again once enough of them have left it.
  const times = recent.map((a) => a.completed ?? a.created).sort((x, y) => x - y);
  const lifts = (times[recent.length - config(env).maxPaymentAttempts] ?? now) + DECLINE_VELOCITY_WINDOW_MS;
  return Math.max(1, Math.ceil((lifts - now) / 60_000));
}

/** The page of a payment that can take no more attempts for now: what the refusal would say, when it lifts, and no form. */
function attemptsExhaustedPage(s: Summary, title: string, minutes: number, cancelUrl: string | null): Response {
  const refusal = REFUSALS.card_decline_rate_limit_exceeded?.message ?? "";
  return htmlPage(
    `Too many attempts – ${s.merchant}`,
    `${heading(s.merchant, title)}${summaryHtml(s)}<div id="${ERROR_ID}" role="alert" class="alert" tabindex="-1" autofocus>${escapeHtml(refusal)}</div>` +
      `<p>Cards can be tried again for this payment in about ${minutes} minute${minutes === 1 ? "" : "s"}. Nothing was charged.</p>` +
      `${cancelUrl ? `<a class="cancel" href="${escapeHtml(cancelUrl)}">Back to ${escapeHtml(s.merchant)}</a>` : ""}`,
  );
}

/** The form page's title: an error shown on it is the first thing the title says (what a screen reader announces on load). */
function formTitle(s: Summary, error: FormError | null): string {
  return error && !error.notice ? `Error: ${error.message} – Pay ${s.merchant}` : `Pay ${s.merchant}`;
}

// ---- Checkout Sessions ----------------------------------------------------------------------------

function sessionSummary(row: CheckoutSessionRow, merchant: string): Summary {
  return { merchant, lineItems: lineItemsOf(row), description: null, amount: row.amountTotal, currency: row.currency };
}

function sessionForm(row: CheckoutSessionRow, s: Summary, error: FormError | null, pending: PendingStep | null = null): Response {
  return htmlPage(formTitle(s, error), `${heading(s.merchant, "Checkout")}${summaryHtml(s)}${cardForm(s, { action: `/checkout/${row.id}`, cancelUrl: row.cancelUrl, error, pending, live: row.livemode })}`, {
    // A successful payment answers with a 303 to success_url (cross-origin): the form may lead there.
    formAction: [originOf(successLocation(row))],
  });
}

function sessionClosed(row: CheckoutSessionRow, s: Summary, intent: IntentRecord | null = null): Response {
  // Paid, then the money went back (the authorization released, or refunded): said so, never "You have paid".
  const back = row.status === "complete" && intent ? givenBackInWords(intent) : null;
  if (back) return messagePage(s, back.title, back.message, { pending: true, link: { href: row.cancelUrl ?? successLocation(row), text: `Back to ${s.merchant}` } });
  if (row.status === "complete") {
    // The intent says what was taken (a partial capture, or only an authorization so far); without it, the session's total.
    const done = intent && isPaid(intent) ? paidInWords(intent, s.merchant, (amount) => `You have paid ${amount} to ${s.merchant}.`) : { title: "Payment complete", message: `You have paid ${formatMoney(row.amountTotal, row.currency)} to ${s.merchant}. Thank you!` };
    return messagePage(s, done.title, done.message, { ok: true, link: { href: successLocation(row), text: `Back to ${s.merchant}` } });
  }
  // With a cancel_url, the way back; without one there is no address to link to: the words say where to go, and no link pretends to.
  if (row.cancelUrl) {
    return messagePage(s, "Checkout expired", `This checkout has expired, so it can no longer be paid. Return to ${s.merchant} to start again.`, {
      status: 410,
      link: { href: row.cancelUrl, text: `Back to ${s.merchant}` },
    });
  }
  return messagePage(s, "Checkout expired", `This checkout has expired, so it can no longer be paid. To buy, go back to ${s.merchant}'s website and start the checkout again there.`, { status: 410 });
}

/** The one address of the page of a session's payment being confirmed: /return, which sends the shopper on to success_url once it went through. */
function sessionProcessingPath(row: CheckoutSessionRow, stop = false): string {
  return `${checkoutSessionPageUrl("", row.id)}/return${stop ? `?${STOP_CHECKING}` : ""}`;
}

/** The session's payment is being confirmed: its page looks again at /return, its own address. */
function sessionProcessing(row: CheckoutSessionRow, s: Summary, looks: Looking): Response {
  return processingPage(s, sessionProcessingPath(row), `takes you back to ${s.merchant}`, looks);
}

/** An open session whose intent ended without being paid (failed for good, or canceled), or null while it can still be paid. */
function sessionEnded(row: CheckoutSessionRow, s: Summary, intent: IntentRecord | null): Response | null {
  if (intent?.status === "canceled") return sessionClosed({ ...row, status: "expired" }, s);
  if (intent?.status !== "failed") return null;
  return messagePage(s, "Payment not completed", `${statusInWords("failed")} Please contact ${s.merchant}.`, row.cancelUrl ? { link: { href: row.cancelUrl, text: `Back to ${s.merchant}` } } : {});
}

/** The session's payment intent, as its Durable Object holds it. */
function sessionIntent(env: Env, row: CheckoutSessionRow): Promise<IntentRecord | null> {
  return env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(row.paymentIntent)).retrieve({ merchantId: row.merchantId, livemode: row.livemode }, row.paymentIntent);
}

function sendOn(row: CheckoutSessionRow, s: Summary): Response {
  const to = successLocation(row);
  return messagePage(s, "Payment complete", `Payment received. Taking you back to ${s.merchant}…`, { ok: true, refreshTo: to, link: { href: to, text: `Continue to ${s.merchant}` } });
}

/** A session on whichever database holds its merchant; the request's env becomes that merchant's (src/db/shards.ts). */
async function findSession(c: Context<PagesEnv>, id: string): Promise<CheckoutSessionRow | null> {
  const row = await findOnShards(c.env, (d1) => sessionById(d1, id));
  if (row) c.env = merchantEnv(c.env, row.merchantId);
  return row;
}

function sessionPages(): Hono<PagesEnv> {
  const pages = new Hono<PagesEnv>();
  pages.use("*", refuseCrossSitePosts);

  pages.get("/:id", async (c) => {
    const row = await findSession(c, c.req.param("id"));
    if (!row) return notFoundPage();
    const s = sessionSummary(row, await merchantName(c.env, row.merchantId));
    // A completed session's payment may have gone back since (released, refunded): its intent says.
    if (row.status !== "open") return sessionClosed(row, s, row.status === "complete" ? await sessionIntent(c.env, row) : null);
    const intent = await sessionIntent(c.env, row);
    // A payment in flight can still complete an overdue session: it is not shown as expired meanwhile.
    // Its page lives at one address, /return (where the POST's 303 leads too), which reloads itself in
    // place: a look from here would move the shopper there and add a history entry.
    if (intent?.status === "processing") return c.redirect(sessionProcessingPath(row, c.req.query("check") === "stop"), 303);
    // A GET changes nothing: an overdue session shows as expired; the cron (or a POST) expires it.
    if (isOverdue(row, Date.now())) return sessionClosed({ ...row, status: "expired" }, s);
    // Paid, but the session not yet marked complete (its events on their way): paid, not the form.
    if (intent && isPaid(intent)) return sessionClosed({ ...row, status: "complete" }, s, intent);
    // No more attempts for now (MAX_PAYMENT_ATTEMPTS declines): said up front, with no form to type a card into.
    const wait = minutesUntilAttemptsAllowed(c.env, intent);
    if (wait !== null) return attemptsExhaustedPage(s, "Checkout", wait, row.cancelUrl);
    // The POST's way to a challenge on the provider's page (challengeLocation).
    const onward = toChallengePage(c, s, intent);
    if (onward) return onward;
    // After an attempt (redirect-after-POST): where the payment stands, or what went wrong, read from the
    // intent. Opened without ?error (a bookmark, the shop's link, a decline the provider reported
    // later), the last attempt's error is news, as on /pay.
    const code = c.req.query("error");
    const error = code ? redirectedError(intent, code) : intent && intent.status !== "requires_action" ? previousAttemptError(intent) : null;
    // A challenge still waiting is offered whatever else the page says (a card the form refused meanwhile).
    return sessionEnded(row, s, intent) ?? sessionForm(row, s, error, pendingStep(intent));
  });

  // Back from the 3DS challenge (or from the page of a payment being confirmed): on to success_url
  // when paid, else where the payment stands, or the form with what went wrong.
  pages.get("/:id/return", async (c) => {
    const row = await findSession(c, c.req.param("id"));
    if (!row) return notFoundPage();
    const s = sessionSummary(row, await merchantName(c.env, row.merchantId));
    const intent = await sessionIntent(c.env, row);
    if (row.status === "complete" || (intent && isPaid(intent))) {
      // Sent on to success_url only from an address that leads there: a page that stopped checking by
      // itself, or a failed challenge's return (paid since by another card, whose answer went to
      // success_url), is an older history entry a Back lands on, so it says paid and stays.
      const stays = c.req.query("check") === "stop" || c.req.query("redirect_status") === "failed";
      return (intent && givenBackInWords(intent)) || stays ? sessionClosed({ ...row, status: "complete" }, s, intent) : sendOn(row, s);
    }
    if (row.status === "open" && intent?.status === "processing") return sessionProcessing(row, s, looking(c, intent));
    if (row.status !== "open" || isOverdue(row, Date.now())) return sessionClosed({ ...row, status: "expired" }, s);
    const wait = minutesUntilAttemptsAllowed(c.env, intent);
    if (wait !== null) return attemptsExhaustedPage(s, "Checkout", wait, row.cancelUrl);
    const error = intent?.status === "requires_action" ? null : intent ? previousAttemptError(intent) : null;
    return sessionEnded(row, s, intent) ?? sessionForm(row, s, error, pendingStep(intent));
  });

  // Every answer is a 303 to a GET page (redirect-after-POST): success_url, the 3DS challenge, or the
  // session's own page, which shows what went wrong (?error=<code>), the payment being confirmed, or
  // the session closed (expired: a 410 page; paid in another tab: on to success_url).
  pages.post("/:id", async (c) => {
    const page = checkoutSessionPageUrl("", c.req.param("id"));
    const found = await findSession(c, c.req.param("id"));
    if (!found) return c.redirect(page, 303);
    const origin = config(c.env).publicBaseUrl ?? new URL(c.req.url).origin;
    let row = found;
    if (isOverdue(row, Date.now())) row = (await expireSession(c.env, row, origin, "customer")).row;
    // Paid meanwhile (another tab): this shopper's payment is done too, so send them on as the first.
    if (row.status === "complete") return c.redirect(successLocation(row), 303);
    // Expired (now, or before): the session's page says so.
    if (row.status !== "open") return c.redirect(page, 303);
    // Live mode takes no card here (the page offers no form): refused before the body is read.
    if (row.livemode) return c.redirect(`${page}?error=livemode_card_form`, 303);
    let card: PaymentMethodDetails;
    let form: Record<string, unknown> = {};
    try {
      form = await readBodyParams(c.req.raw);
      card = await cardFrom(c.env, form, row);
    } catch (err) {
      // Nothing was attempted: the form's page says what to correct (by codes, never what was typed).
      const refused = checkCode(err);
      if (refused !== null) return c.redirect(`${page}?error=${refused}`, 303);
      throw err;
    }
    const outcome = await confirmAsShopper(c.env, { id: row.paymentIntent, merchantId: row.merchantId, livemode: row.livemode }, card, origin, { checkout_session: row.id }, shopperAttempt(form, card));
    const intent = outcome.intent;
    if (intent && isPaid(intent)) {
      await completeFromIntent(c.env, intent, origin);
      return c.redirect(successLocation(row), 303);
    }
    if (intent?.status === "requires_action" && intent.nextAction) return c.redirect(challengeLocation(c, intent.nextAction.url, page), 303);
    // A payment being confirmed: straight to the one address of its page (/return, which reloads itself in place).
    if (intent?.status === "processing") return c.redirect(sessionProcessingPath(row), 303);
    // The session's page (a GET) shows a payment that ended.
    if (intent?.status === "failed" || intent?.status === "canceled") return c.redirect(page, 303);
    // The session may have been paid in another tab meanwhile.
    const now = await sessionById(c.env.DB, row.id);
    if (now?.status === "complete") return c.redirect(successLocation(now), 303);
    return c.redirect(`${page}?error=${failureCode(outcome)}`, 303);
  });

  unmatched(pages, { "/:id": "GET, HEAD, POST", "/:id/return": "GET, HEAD" });
  return pages;
}

// ---- bare payment intents -------------------------------------------------------------------------

function intentSummary(intent: IntentRecord, merchant: string): Summary {
  return { merchant, lineItems: intent.lineItems, description: intent.description, amount: intent.amount, currency: intent.currency };
}

/**
 * The page of the invoice an intent pays (its hosted_invoice_url, as a path on this origin), for the
 * way back from /pay; null for any other intent.
 */
async function invoicePageOf(env: Env, intent: IntentRecord): Promise<string | null> {
  if (!intent.invoiceId || intent.metadata.invoice !== intent.invoiceId) return null;
  const row = await invoiceById(merchantEnv(env, intent.merchantId).DB, intent.invoiceId);
  const at = row?.hostedUrl?.indexOf("/invoice/") ?? -1;
  return row?.hostedUrl && at >= 0 ? row.hostedUrl.slice(at) : null;
}

function intentForm(intent: IntentRecord, s: Summary, error: FormError | null, pending: PendingStep | null = null, invoicePage: string | null = null): Response {
  return htmlPage(formTitle(s, error), `${heading(s.merchant, "Payment")}${summaryHtml(s)}${cardForm(s, { action: `/pay/${intent.id}`, hidden: { client_secret: intent.clientSecret, amount: String(intent.amount), currency: intent.currency }, cancelUrl: intent.cancelUrl ?? invoicePage, error, pending, live: intent.livemode })}`, {
    formAction: [originOf(intent.returnUrl)],
  });
}

function intentDone(intent: IntentRecord, s: Summary, looks: Looking, invoicePage: string | null = null): Response {
  // Being confirmed: the page looks again until it knows (then it says paid, with the way back to the merchant).
  if (intent.status === "processing") return processingPage(s, hostedPaymentPageUrl("", intent.id, intent.clientSecret), "says how it went", looks);
  const back = returnLocation(intent);
  // An invoice's payment leads back to the invoice's page, which then says it is paid.
  const link = back ? { href: back, text: `Back to ${s.merchant}` } : invoicePage ? { href: invoicePage, text: "Back to the invoice" } : undefined;
  // The money went back (released, refunded): said so, never "This payment has been made".
  const givenBack = givenBackInWords(intent);
  if (givenBack) return messagePage(s, givenBack.title, givenBack.message, { pending: true, ...(link ? { link } : {}) });
  if (!isPaid(intent)) return messagePage(s, "Payment", statusInWords(intent.status), link ? { link } : {});
  const done = paidInWords(intent, s.merchant, (amount) => `Your payment of ${amount} has been made.`);
  return messagePage(s, done.title, done.message, { ok: true, ...(link ? { link } : {}) });
}

/** Whether the /pay page takes a card for the intent: waiting for one, or waiting on the shopper elsewhere (another card abandons that step). */
/**
 * A confirmation_method=manual payment: the merchant's server confirms it, never this page. Its 3D
 * Secure challenge is still the shopper's (the way there, while it waits), and once passed the page
 * says the merchant completes the payment.
 */
function confirmedByMerchant(intent: IntentRecord, s: Summary, invoicePage: string | null): Response {
  const back = returnLocation(intent) ?? intent.cancelUrl ?? invoicePage;
  const link = back ? { link: { href: back, text: `Back to ${s.merchant}` } } : {};
  if (intent.status === "requires_action" && intent.nextAction) {
    return messagePage(s, "Payment", `This payment of ${formatMoney(intent.amount, intent.currency)} is waiting for you to confirm it with your bank.`, { pending: true, links: [{ href: intent.nextAction.url, text: "Confirm with your bank" }, ...(back ? [{ href: back, text: `Back to ${s.merchant}` }] : [])] });
  }
  const verified = awaitingMerchantConfirmation(intent);
  const words = verified
    ? `Your bank confirmed your card for this payment of ${formatMoney(intent.amount, intent.currency)}. ${s.merchant} completes the payment; nothing more is needed from you here.`
    : `This payment of ${formatMoney(intent.amount, intent.currency)} is completed by ${s.merchant}, not on this page. To pay it, contact ${s.merchant}.`;
  return messagePage(s, "Payment", words, { pending: true, ...link });
}

export const takesCard = (intent: IntentRecord) =>
  cardAllowed(intent) && (awaitsPaymentMethod(intent) || (intent.status === "requires_action" && intent.nextAction !== null));

/** Whether the merchant lets a card pay the intent (its payment_method_types, when it names them). */
const cardAllowed = (intent: IntentRecord) => !intent.paymentMethodTypes || intent.paymentMethodTypes.includes("card");

function payPages(): Hono<PagesEnv> {
  const pages = new Hono<PagesEnv>();
  pages.use("*", refuseCrossSitePosts);
  const load = (env: Env, id: string, secret: string) =>
    hasPrefix(id, "pi") && secret ? env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id)).retrieveWithClientSecret(id, secret) : Promise.resolve(null);

  pages.get("/:id", async (c) => {
    const intent = await load(c.env, c.req.param("id"), c.req.query("client_secret") ?? "");
    if (!intent) return notFoundPage();
    // A Checkout Session's payment is paid on the session's own page (which knows its total and its expiry).
    // Read only: a GET changes nothing (the session's page shows an overdue session as expired).
    const session = await sessionGuard(c.env, intent, new URL(c.req.url).origin, true);
    if (session) return c.redirect(`/checkout/${session.id}`, 303);
    const s = intentSummary(intent, await merchantName(c.env, intent.merchantId));
    const invoicePage = await invoicePageOf(c.env, intent);
    // Waiting for a payment the merchant does not let a card make (payment_method_types): no form to fill in vain.
    if (!cardAllowed(intent) && awaitsPaymentMethod(intent)) {
      const back = intent.cancelUrl ?? invoicePage;
      // Which payment it is (its amount), said as a status, not an alert: nothing went wrong on the shopper's side.
      return messagePage(s, "Payment", `This payment of ${formatMoney(intent.amount, intent.currency)} cannot be made with a card on this page. To pay it, contact ${s.merchant}.`, { pending: true, ...(back ? { link: { href: back, text: "Back" } } : {}) });
    }
    if (!takesCard(intent)) return intentDone(intent, s, looking(c, intent), invoicePage);
    if (intent.confirmationMethod === "manual") return confirmedByMerchant(intent, s, invoicePage);
    const code = c.req.query("error");
    // Waiting on a 3DS challenge or PayPal: the way back there, or another card.
    if (intent.status === "requires_action") {
      return toChallengePage(c, s, intent) ?? intentForm(intent, s, redirectedError(intent, code), pendingStep(intent), invoicePage);
    }
    const wait = minutesUntilAttemptsAllowed(c.env, intent);
    if (wait !== null) return attemptsExhaustedPage(s, "Payment", wait, intent.cancelUrl ?? invoicePage);
    return intentForm(intent, s, code ? redirectedError(intent, code) : previousAttemptError(intent), null, invoicePage);
  });

  pages.post("/:id", async (c) => {
    let form: Record<string, unknown>;
    try {
      form = await readBodyParams(c.req.raw);
    } catch {
      return notFoundPage();
    }
    const secret = typeof form.client_secret === "string" ? form.client_secret : "";
    const intent = await load(c.env, c.req.param("id"), secret);
    if (!intent) return notFoundPage();
    const session = await sessionGuard(c.env, intent, new URL(c.req.url).origin);
    if (session) return c.redirect(`/checkout/${session.id}`, 303);
    // Saved cards and the read model are on the merchant's database (src/db/shards.ts).
    c.env = merchantEnv(c.env, intent.merchantId);
    // Redirect-after-POST for every outcome: the page's GET shows where the payment stands, or what
    // went wrong (&error=<code>), so Back and reload never offer to send the card again.
    const page = hostedPaymentPageUrl("", intent.id, intent.clientSecret);
    // Nothing is taken where nothing may be paid, nor for a payment only the merchant confirms.
    if (!takesCard(intent) || intent.confirmationMethod === "manual") return c.redirect(page, 303);
    // Live mode takes no card here (the page offers no form): refused before the card is read.
    if (intent.livemode) return c.redirect(`${page}&error=livemode_card_form`, 303);
    let card: PaymentMethodDetails;
    try {
      card = await cardFrom(c.env, form, intent);
    } catch (err) {
      // Nothing was attempted: the form's page says what to correct (by codes, never what was typed).
      const refused = checkCode(err);
      if (refused !== null) return c.redirect(`${page}&error=${refused}`, 303);
      throw err;
    }
    const origin = config(c.env).publicBaseUrl ?? new URL(c.req.url).origin;
    const outcome = await confirmAsShopper(c.env, intent, card, origin, {}, shopperAttempt(form, card), shownAmountOf(form));
    const after = outcome.intent ?? intent;
    if (after.status === "requires_action" && after.nextAction) return c.redirect(challengeLocation(c, after.nextAction.url, page), 303);
    if (isPaidOrPaying(after)) return c.redirect(returnLocation(after) ?? page, 303);
    if (awaitsPaymentMethod(after)) return c.redirect(`${page}&error=${failureCode(outcome)}`, 303);
    return c.redirect(page, 303);
  });
  unmatched(pages, { "/:id": "GET, HEAD, POST" });
  return pages;
}

export function checkoutPages(): { sessions: Hono<PagesEnv>; pay: Hono<PagesEnv> } {
  return { sessions: sessionPages(), pay: payPages() };
}
