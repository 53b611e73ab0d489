// The hosted invoice page (Stripe's hosted_invoice_url): GET /invoice/{in_id}/{token}, the link a
// merchant sends the invoice's customer. It shows the invoice (its line, what was paid and what is
// due, or that it was voided) and, while the invoice's latest payment can still take a card, a way to
// pay it: the payment page of that intent (/pay/{pi_id}?client_secret=..., src/pages/checkout.ts),
// which confirms it in its Durable Object like any other payment; the invoice is marked paid by the
// billing hooks of that payment, as when a renewal is charged. The token is an HMAC of the invoice's
// id (hostedInvoiceToken): only whoever was given the link can open the page, as with the invoice's
// confirmation_secret. A GET here changes nothing.
import { Hono, type Context } from "hono";
import { hasPrefix, timingSafeEqual } from "../core/ids";
import type { IntentRecord } from "../core/types";
import { openPageAttempt } from "../billing/engine";
import { invoiceById, type InvoiceRow } from "../billing/store";
import { findOnShards, merchantEnv } from "../db/shards";
import { config, type Env } from "../env";
import { escapeHtml, formatMoney, heading, htmlPage, merchantName, notFoundPage, takesCard, unmatched } from "./checkout";
import { refuseCrossSitePosts } from "./cross-site";
import { hostedInvoiceToken, hostedPaymentPageUrl } from "./urls";

type PagesEnv = { Bindings: Env };

/** A date as the customer reads it: "December 5, 2026" (UTC, as the invoice's period is counted). */
function dateInWords(ms: number): string {
  return new Intl.DateTimeFormat("en-US", { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" }).format(new Date(ms));
}

/** The invoice's latest payment, as its Durable Object holds it (null: none made yet). */
function latestPayment(env: Env, row: InvoiceRow): Promise<IntentRecord | null> {
  if (!row.paymentIntent) return Promise.resolve(null);
  return env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(row.paymentIntent)).retrieve({ merchantId: row.merchantId, livemode: row.livemode }, row.paymentIntent);
}

/** The invoice's line, its total, what was paid and what is still due. */
function amountsHtml(row: InvoiceRow): string {
  const money = (minor: number) => escapeHtml(formatMoney(minor, row.currency));
  const period = `${dateInWords(row.periodStart)} – ${dateInWords(row.periodEnd)}`;
  // Each row's name is its header (as the checkout's order summary): a screen reader reads "Total" with its amount.
  const line = `<tr><th scope="row">${escapeHtml(row.description ?? "Subscription")}<br><span class="qty">${escapeHtml(period)}</span></th><td class="amt">${money(row.amountDue)}</td></tr>`;
  const paid = row.amountPaid > 0 ? `<tr><th scope="row">Amount paid</th><td class="amt">${money(row.amountPaid)}</td></tr>` : "";
  const due = row.status === "open" || row.status === "uncollectible" ? `<tr class="total"><th scope="row">Amount due</th><td class="amt">${money(row.amountDue - row.amountPaid)}</td></tr>` : "";
  return `<table aria-label="Invoice"><tbody>${line}<tr class="total"><th scope="row">Total</th><td class="amt">${money(row.amountDue)}</td></tr>${paid}${due}</tbody></table>`;
}

/** Who and what the invoice is: its id, its customer as the invoice keeps them, when it was made. */
function detailsHtml(row: InvoiceRow): string {
  const billedTo = [row.customerName, row.customerEmail].filter((v): v is string => Boolean(v)).join(", ");
  return `<dl><dt>Invoice number</dt><dd>${escapeHtml(row.id)}</dd><dt>Date</dt><dd>${escapeHtml(dateInWords(row.created))}</dd>${billedTo ? `<dt>Billed to</dt><dd>${escapeHtml(billedTo)}</dd>` : ""}</dl>`;
}

/** What the page says of the invoice's state, and the way to pay it when there is one. */
function stateHtml(row: InvoiceRow, merchant: string, intent: IntentRecord | null, self: string): string {
  if (row.status === "paid") {
    const when = row.paidAt !== null ? ` on ${dateInWords(row.paidAt)}` : "";
    return `<p class="done">${row.amountDue === 0 ? "Nothing is due on this invoice." : `Paid${escapeHtml(when)}. Thank you!`}</p>`;
  }
  if (row.status === "void") return `<p role="status">This invoice was voided: nothing is due on it.</p>`;
  const due = escapeHtml(formatMoney(row.amountDue - row.amountPaid, row.currency));
  const late = row.status === "uncollectible" ? `<p class="alert">This invoice is past due.</p>` : "";
  // Being confirmed: this page does not look again by itself; "Check again" does, and the payment's own
  // page (which does look again by itself) is one link away.
  if (intent?.status === "processing") {
    const page = hostedPaymentPageUrl("", intent.id, intent.clientSecret);
    return `${late}<p role="status">Your payment is being confirmed with your bank; there is no need to pay again.</p><p><a href="${escapeHtml(self)}">Check again</a> · <a href="${escapeHtml(page)}">Follow the payment</a></p>`;
  }
  // Live mode: the payment page takes test cards only (a live card would be typed into the provider's
  // own fields, README "Hosted checkout"), so its /pay page has no card form. A "Pay" link there (or the
  // button that opens a new attempt and goes there) was a dead end: the page says how to pay instead. A
  // 3D Secure step still waiting is the exception: /pay leads on to the bank's page, no card typed.
  if (row.livemode && !(intent?.status === "requires_action" && intent.nextAction)) {
    if (row.status === "open" && row.nextPaymentAttempt !== null && !(intent && takesCard(intent))) return `${late}<p role="status">This invoice's payment is being attempted with the card on file. For another way to pay, contact ${escapeHtml(merchant)}.</p>`;
    return `${late}<p role="status">${escapeHtml(`This page cannot take a card for this invoice, and nothing was charged. To pay ${formatMoney(row.amountDue - row.amountPaid, row.currency)}, contact ${merchant}.`)}</p>`;
  }
  if (intent && takesCard(intent)) {
    const page = hostedPaymentPageUrl("", intent.id, intent.clientSecret);
    const text = intent.status === "requires_action" ? "Confirm the payment with your bank" : `Pay ${due}`;
    return `${late}<a class="button" href="${escapeHtml(page)}">${escapeHtml(text)}</a>`;
  }
  // Its payment cannot take a card now. Open with an attempt planned (none made yet, or the next being
  // prepared): the card on file is charged. Otherwise (marked uncollectible, its intent canceled) no
  // attempt is coming: the button opens a new one (POST, openPageAttempt) and goes to its payment page.
  if (row.status === "open" && row.nextPaymentAttempt !== null) return `${late}<p role="status">This invoice's payment is being attempted with the card on file. For another way to pay, contact ${escapeHtml(merchant)}.</p>`;
  return `${late}<form method="post"><button type="submit">Pay ${due}</button></form>`;
}

async function findInvoice(c: Context<PagesEnv>, id: string, token: string): Promise<InvoiceRow | null> {
  if (!hasPrefix(id, "in") || !timingSafeEqual(token, await hostedInvoiceToken(config(c.env).fingerprintKey, id))) return null;
  const row = await findOnShards(c.env, (d1) => invoiceById(d1, id));
  // A link is only ever given for an invoice that has one (made since migration 0055).
  if (!row?.hostedUrl) return null;
  c.env = merchantEnv(c.env, row.merchantId);
  return row;
}

export function invoicePages(): Hono<PagesEnv> {
  const pages = new Hono<PagesEnv>();
  pages.use("*", refuseCrossSitePosts);
  pages.get("/:id/:token", async (c) => {
    const row = await findInvoice(c, c.req.param("id"), c.req.param("token"));
    if (!row) return notFoundPage("Invoice");
    const merchant = await merchantName(c.env, row.merchantId);
    const intent = row.status === "open" || row.status === "uncollectible" ? await latestPayment(c.env, row) : null;
    const title = row.status === "paid" ? "Invoice paid" : row.status === "void" ? "Invoice voided" : "Invoice";
    return htmlPage(title, `${heading(merchant, title)}${detailsHtml(row)}${amountsHtml(row)}${stateHtml(row, merchant, intent, new URL(c.req.url).pathname)}`);
  });
  // The Pay button of an invoice whose payment cannot take a card: a new attempt's intent, then its page.
  // Whatever the invoice has become meanwhile (paid, voided, an attempt under way), the invoice's page
  // says it; the same intent's page when two presses race (one claim makes it, the other finds it).
  pages.post("/:id/:token", async (c) => {
    const row = await findInvoice(c, c.req.param("id"), c.req.param("token"));
    if (!row) return notFoundPage("Invoice");
    // Live mode offers no such button (its payment page takes no card): nothing is opened, the page says how to pay.
    if (row.livemode) return c.redirect(new URL(c.req.url).pathname, 303);
    const intent = await openPageAttempt(c.env, row.id, new URL(c.req.url).origin, null);
    const to = intent && takesCard(intent) ? hostedPaymentPageUrl("", intent.id, intent.clientSecret) : new URL(c.req.url).pathname;
    return c.redirect(to, 303);
  });
  unmatched(pages, { "/:id/:token": "GET, HEAD, POST" }, "Invoice");
  return pages;
}
