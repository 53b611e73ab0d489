// Stripe's hosted_invoice_url: every invoice links to its page (GET /invoice/{in_id}/{token},
// src/pages/invoice.ts), where its customer sees it and, while it is open and its payment can take a
// card, pays it through the intent's payment page; the invoice is then paid as by any payment of its
// intent. Only the link opens the page (a token made from the invoice's id with the gateway's key); a
// renewal made by a sweep, with no request to take an origin from, links under its first invoice's
// base; a GET of the page changes nothing.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { get, newMerchant, ok, post, seedMerchant, waitFor, type CallOptions, type ListJson } from "../helpers";
import { open, submit, submitAndFollow } from "./card-form";

interface InvoiceJson {
  id: string;
  status: string;
  amount_due: number;
  amount_paid: number;
  hosted_invoice_url: string | null;
  invoice_pdf: null;
  payment_intent: string | { id: string; status: string; client_secret: string } | null;
}

interface SubscriptionJson {
  id: string;
  status: string;
  latest_invoice: string | InvoiceJson;
}

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);

interface Setup {
  opts: CallOptions;
  clock: string;
  customer: string;
  price: string;
}

/** A merchant with a test clock, a customer on it (a name, an email and a default card) and a monthly price of 19.99 USD. */
async function setup(label: string, card = "pm_card_visa"): Promise<Setup> {
  const m = await newMerchant(label);
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-01-31T10:00:00Z"), name: label }, m.opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, name: "Ada Lovelace", test_clock: clock.id }, m.opts));
  await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: card, set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro plan" } }, m.opts));
  return { opts: m.opts, clock: clock.id, customer: customer.id, price: price.id };
}

const invoice = (s: Setup, id: string) => ok(get<InvoiceJson>(`/v1/invoices/${id}`, s.opts));
const page = async (url: string) => {
  const res = await open(url);
  return { status: res.status, html: await res.text(), headers: res.headers };
};
/** The page's one link styled as a button (its href, with &amp; undone), or null. */
const payLink = (html: string) => {
  const m = /<a class="button" href="([^"]+)">([^<]+)<\/a>/.exec(html);
  return m ? { href: (m[1] ?? "").replaceAll("&#38;", "&"), text: m[2] ?? "" } : null;
};

describe("hosted_invoice_url", () => {
  it("links every invoice to its page, which shows the invoice and pays it through its intent's page; once paid it says so", async () => {
    const s = await setup("hosted-invoice-pay");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, s.opts));
    const first = sub.latest_invoice as InvoiceJson;
    const intent = first.payment_intent as { id: string; status: string; client_secret: string };
    expect(first.hosted_invoice_url).toMatch(new RegExp(`^http://gateway\\.test/invoice/${first.id}/[A-Za-z0-9]{32}$`));
    expect(first.invoice_pdf).toBeNull();
    // The same link on every read of it, and in its events.
    expect((await invoice(s, first.id)).hosted_invoice_url).toBe(first.hosted_invoice_url);
    const events = await ok(get<ListJson<{ type: string; data: { object: InvoiceJson } }>>("/v1/events?type=invoice.finalized", s.opts));
    expect(events.data.find((e) => e.data.object.id === first.id)?.data.object.hosted_invoice_url).toBe(first.hosted_invoice_url);

    const shown = await page(first.hosted_invoice_url ?? "");
    expect(shown.status).toBe(200);
    expect(shown.headers.get("cache-control")).toBe("no-store");
    expect(shown.headers.get("referrer-policy")).toBe("no-referrer");
    expect(shown.html).toContain("<h1>Invoice</h1>");
    expect(shown.html).toContain(first.id);
    expect(shown.html).toContain("Ada Lovelace, hosted-invoice-pay@example.com");
    expect(shown.html).toContain("Pro plan × 1");
    expect(shown.html).toContain("January 31, 2026 – February 28, 2026");
    expect(shown.html).toMatch(/<tr class="total"><th scope="row">Amount due<\/th><td class="amt">\$19\.99<\/td><\/tr>/);
    const link = payLink(shown.html);
    expect(link).toEqual({ href: `/pay/${intent.id}?client_secret=${intent.client_secret}`, text: "Pay $19.99" });
    // Reading the page changed nothing.
    expect(await invoice(s, first.id)).toMatchObject({ status: "open", amount_paid: 0 });
    expect((await ok(get<{ status: string }>(`/v1/payment_intents/${intent.id}`, s.opts))).status).toBe(intent.status);

    // The intent's page leads back to the invoice (its Cancel), and so does its answer once paid.
    const invoicePath = new URL(first.hosted_invoice_url ?? "").pathname;
    const form = await page(link?.href ?? "");
    expect(form.html).toContain(`<a class="cancel" href="${invoicePath}">Cancel</a>`);
    // The customer pays on the intent's page: the invoice is paid, the subscription active.
    const paid = await submitAndFollow(new URL(link?.href ?? "", "http://gateway.test").pathname, { client_secret: intent.client_secret });
    expect(paid.html).toContain("Payment complete");
    expect(paid.html).toContain(`<a class="cancel" href="${invoicePath}">Back to the invoice</a>`);
    await waitFor(async () => (await invoice(s, first.id)).status === "paid", 15_000, "the invoice paid");
    expect(await invoice(s, first.id)).toMatchObject({ status: "paid", amount_paid: 1999 });
    expect((await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, s.opts))).status).toBe("active");
    const after = await page(first.hosted_invoice_url ?? "");
    expect(after.html).toContain("<h1>Invoice paid</h1>");
    expect(after.html).toContain("Paid on January 31, 2026. Thank you!");
    expect(after.html).toMatch(/<th scope="row">Amount paid<\/th><td class="amt">\$19\.99<\/td>/);
    expect(after.html).not.toContain("Amount due");
    expect(payLink(after.html)).toBeNull();
  });

  it("opens only with its own token: another token, another invoice's, or no token is the 404 page; other methods are 405", async () => {
    const s = await setup("hosted-invoice-token");
    const a = (await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice"] }, s.opts))).latest_invoice as InvoiceJson;
    const b = (await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice"] }, s.opts))).latest_invoice as InvoiceJson;
    const url = new URL(a.hosted_invoice_url ?? "");
    const token = url.pathname.split("/")[3] ?? "";
    const otherToken = new URL(b.hosted_invoice_url ?? "").pathname.split("/")[3] ?? "";
    expect(token).not.toBe(otherToken);
    const flipped = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    for (const path of [`/invoice/${a.id}/${flipped}`, `/invoice/${a.id}/${otherToken}`, `/invoice/${b.id}/${token}`, `/invoice/${a.id}`, `/invoice/${a.id}/`, `/invoice/in_x/${token}`, `/invoice/${a.id}/${token}/more`]) {
      const res = await page(path);
      expect(res.status, path).toBe(404);
      expect(res.html, path).toContain("<h1>Invoice not found</h1>");
      expect(res.html, path).not.toContain(a.id);
    }
    expect((await page(url.pathname)).status).toBe(200);
    const put = await exports.default.fetch(new Request(`http://gateway.test${url.pathname}`, { method: "PUT" }));
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD, POST");
  });

  it("a renewal made by the clock's sweep links under the first invoice's base; when its charge fails, its page takes another card and the invoice is paid", async () => {
    const s = await setup("hosted-invoice-renewal");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, expand: ["latest_invoice"] }, s.opts));
    expect(sub.status).toBe("active");
    const first = sub.latest_invoice as InvoiceJson;
    // The first invoice, paid at once: its page says so.
    expect((await page(first.hosted_invoice_url ?? "")).html).toContain("<h1>Invoice paid</h1>");
    await ok(post(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "pm_card_chargeCustomerFail", set_default: true }, s.opts));
    await ok(post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: t("2026-02-28T12:00:00Z") }, s.opts));
    const pastDue = await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, s.opts));
    expect(pastDue.status).toBe("past_due");
    const renewal = await invoice(s, pastDue.latest_invoice as string);
    expect(renewal).toMatchObject({ status: "open", amount_paid: 0 });
    expect(renewal.hosted_invoice_url).toMatch(new RegExp(`^http://gateway\\.test/invoice/${renewal.id}/[A-Za-z0-9]{32}$`));

    const shown = await page(renewal.hosted_invoice_url ?? "");
    expect(shown.html).toContain("February 28, 2026 – March 31, 2026");
    const link = payLink(shown.html);
    expect(link?.text).toBe("Pay $19.99");
    const intentId = new URL(link?.href ?? "", "http://gateway.test").pathname.split("/")[2] ?? "";
    expect(intentId).toBe(renewal.payment_intent);
    const secret = new URL(link?.href ?? "", "http://gateway.test").searchParams.get("client_secret") ?? "";
    // The renewal's own decline (charged off session, nobody there) is news on the page, not an error
    // of the shopper's: a notice (role=status), no field marked invalid, no focus taken.
    const payPage = (await page(link?.href ?? "")).html;
    expect(payPage).toContain('<div id="form-notice" role="status" class="notice">The last attempt to pay did not go through:');
    expect(payPage).not.toMatch(/<input[^>]*aria-invalid/);
    expect(payPage).not.toContain('role="alert"');
    expect(payPage).toContain("<title>Pay ");
    // The shopper is there: a card that asks for 3D Secure is challenged, not declined as an off-session charge would be.
    const challenged = await submit(`/pay/${intentId}`, { client_secret: secret, card_number: "4000 0027 6000 3184" });
    expect(challenged.status).toBe(303);
    expect((await ok(get<{ status: string; off_session?: unknown }>(`/v1/payment_intents/${intentId}`, s.opts))).status).toBe("requires_action");
    const paid = await submitAndFollow(`/pay/${intentId}`, { client_secret: secret });
    expect(paid.html).toContain("Payment complete");
    await waitFor(async () => (await invoice(s, renewal.id)).status === "paid", 15_000, "the renewal paid");
    expect((await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, s.opts))).status).toBe("active");
    expect((await page(renewal.hosted_invoice_url ?? "")).html).toContain("<h1>Invoice paid</h1>");
  });

  it("a voided invoice's page says nothing is due, with no way to pay", async () => {
    const s = await setup("hosted-invoice-void");
    const first = (await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice"] }, s.opts))).latest_invoice as InvoiceJson;
    await ok(post(`/v1/invoices/${first.id}/void`, {}, s.opts));
    const shown = await page(first.hosted_invoice_url ?? "");
    expect(shown.status).toBe(200);
    expect(shown.html).toContain("<h1>Invoice voided</h1>");
    expect(shown.html).toContain("This invoice was voided: nothing is due on it.");
    expect(shown.html).not.toContain("Amount due");
    expect(payLink(shown.html)).toBeNull();
  });
});


describe("hosted_invoice_url of an invoice marked uncollectible", () => {
  const press = (pathname: string, headers: Record<string, string> = {}) =>
    exports.default.fetch(new Request(`http://gateway.test${pathname}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: "", redirect: "manual" }));

  it("says it is past due and takes a card: its Pay button opens one new attempt (two presses at once, one intent) and paying it pays the invoice", async () => {
    const s = await setup("hosted-invoice-uncollectible");
    const first = (await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice"] }, s.opts))).latest_invoice as InvoiceJson;
    const canceled = typeof first.payment_intent === "string" ? first.payment_intent : (first.payment_intent?.id ?? "");
    await ok(post(`/v1/invoices/${first.id}/mark_uncollectible`, {}, s.opts));
    const url = new URL(first.hosted_invoice_url ?? "");
    const shown = await page(url.href);
    expect(shown.status).toBe(200);
    // Said once, not announced as an alert when the page opens.
    expect(shown.html).toContain(`<p class="alert">This invoice is past due.</p>`);
    expect(shown.html).toContain(`<form method="post"><button type="submit">Pay $19.99</button></form>`);
    expect(shown.html).not.toContain("being attempted");
    expect(shown.html).not.toContain("contact");
    // The GET made nothing.
    expect((await invoice(s, first.id)).payment_intent).toBe(canceled);

    // A POST another site makes a browser send is refused, and opens nothing.
    const forged = await press(url.pathname, { "sec-fetch-site": "cross-site", origin: "https://evil.example" });
    expect(forged.status).toBe(403);
    expect((await invoice(s, first.id)).payment_intent).toBe(canceled);

    const pressed = await Promise.all([press(url.pathname), press(url.pathname)]);
    const locations = pressed.map((res) => {
      expect(res.status).toBe(303);
      return res.headers.get("location") ?? "";
    });
    // One claim makes the intent; the other press finds it, or (while the claim is held) goes back to the invoice.
    const intents = new Set(locations.filter((l) => l.startsWith("/pay/")).map((l) => new URL(l, "http://gateway.test").pathname.split("/")[2]));
    expect(intents.size, locations.join(" ")).toBe(1);
    for (const l of locations) if (!l.startsWith("/pay/")) expect(l).toBe(url.pathname);
    const [intentId] = [...intents];
    expect(intentId).not.toBe(canceled);
    const after = await invoice(s, first.id);
    expect(after).toMatchObject({ status: "uncollectible", payment_intent: intentId, amount_paid: 0 });
    const intent = await ok(get<{ id: string; amount: number; status: string; client_secret: string; metadata: Record<string, string> }>(`/v1/payment_intents/${intentId}`, s.opts));
    expect(intent).toMatchObject({ amount: 1999, status: "requires_payment_method", metadata: { invoice: first.id, invoice_attempt: "2" } });
    // The page now leads to that intent's page, and pressing again opens no other.
    expect(payLink((await page(url.href)).html)?.href).toBe(`/pay/${intentId}?client_secret=${intent.client_secret}`);
    expect((await press(url.pathname)).headers.get("location")).toBe(`/pay/${intentId}?client_secret=${intent.client_secret}`);

    // A declined card leaves it uncollectible, and another card pays it.
    const declined = await submitAndFollow(`/pay/${intentId}`, { client_secret: intent.client_secret, card_number: "4000 0000 0000 0002" });
    expect(declined.html).toContain("declined");
    await waitFor(async () => (await invoice(s, first.id)).status === "uncollectible", 15_000, "still uncollectible");
    const paid = await submitAndFollow(`/pay/${intentId}`, { client_secret: intent.client_secret });
    expect(paid.html).toContain("Payment complete");
    await waitFor(async () => (await invoice(s, first.id)).status === "paid", 15_000, "the invoice paid");
    expect(await invoice(s, first.id)).toMatchObject({ amount_paid: 1999, payment_intent: intentId });
    const charged = await ok(get<ListJson<{ amount_received: number; status: string }>>(`/v1/payment_intents?customer=${s.customer}`, s.opts));
    expect(charged.data.filter((p) => p.status === "succeeded").map((p) => p.amount_received)).toEqual([1999]);
    const done = await page(url.href);
    expect(done.html).toContain("<h1>Invoice paid</h1>");
    // Pressing the button of a page opened before it was paid opens nothing: the page says it is paid.
    const late = await press(url.pathname);
    expect(late.headers.get("location")).toBe(url.pathname);
    expect((await invoice(s, first.id)).payment_intent).toBe(intentId);
  });

  it("POST /v1/invoices/:id/pay while the customer's payment on the page is being confirmed charges nothing and says a payment is under way", async () => {
    const s = await setup("hosted-invoice-pay-race");
    const first = (await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice"] }, s.opts))).latest_invoice as InvoiceJson;
    await ok(post(`/v1/invoices/${first.id}/mark_uncollectible`, {}, s.opts));
    const url = new URL(first.hosted_invoice_url ?? "");
    const location = (await press(url.pathname)).headers.get("location") ?? "";
    const pay = new URL(location, "http://gateway.test");
    const intentId = pay.pathname.split("/")[2] ?? "";
    // The provider times out on this card: the customer's payment stays processing until reconciliation settles it.
    await submit(pay.pathname, { client_secret: pay.searchParams.get("client_secret") ?? "", card_number: "4000000000007007" });
    expect((await ok(get<{ status: string }>(`/v1/payment_intents/${intentId}`, s.opts))).status).toBe("processing");
    // The invoice's page says so, with a way to look again and the payment's own page (which looks by itself).
    const waiting = (await page(first.hosted_invoice_url ?? "")).html;
    expect(waiting).toContain("being confirmed with your bank");
    expect(waiting).toContain(`<a href="${url.pathname}">Check again</a>`);
    expect(waiting).toContain(`<a href="${pay.pathname}?client_secret=${pay.searchParams.get("client_secret") ?? ""}">Follow the payment</a>`);
    expect(waiting).toContain(`<th scope="row">Total</th>`);

    const res = await post<{ error: { type: string; code: string } }>(`/v1/invoices/${first.id}/pay`, {}, s.opts);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: "invalid_request_error", code: "invoice_payment_in_progress" });
    expect(await invoice(s, first.id)).toMatchObject({ status: "uncollectible", payment_intent: intentId, amount_paid: 0 });
    // The card on file was not charged beside the customer's payment.
    const intents = await ok(get<ListJson<{ id: string; status: string }>>(`/v1/payment_intents?customer=${s.customer}`, s.opts));
    expect(intents.data.filter((p) => p.status !== "canceled").map((p) => p.id)).toEqual([intentId]);

    // Once reconciliation learns it went through, the invoice is paid, and a later POST /pay says so.
    await waitFor(async () => (await invoice(s, first.id)).status === "paid", 30_000, "the invoice paid after reconciliation");
    const again = await post<{ error: { code: string } }>(`/v1/invoices/${first.id}/pay`, {}, s.opts);
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe("invoice_already_paid");
  });

  it("the Pay button of a voided invoice, or with another token, opens nothing", async () => {
    const s = await setup("hosted-invoice-press-void");
    const first = (await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice"] }, s.opts))).latest_invoice as InvoiceJson;
    await ok(post(`/v1/invoices/${first.id}/mark_uncollectible`, {}, s.opts));
    const url = new URL(first.hosted_invoice_url ?? "");
    const before = (await invoice(s, first.id)).payment_intent;
    const wrong = await press(`/invoice/${first.id}/${"A".repeat(32)}`);
    expect(wrong.status).toBe(404);
    await ok(post(`/v1/invoices/${first.id}/void`, {}, s.opts));
    const res = await press(url.pathname);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(url.pathname);
    expect(await invoice(s, first.id)).toMatchObject({ status: "void", payment_intent: before });
  });
});

describe("hosted_invoice_url of a live-mode invoice", () => {
  // The payment page takes test cards only (a live payment would take the card in the provider's own
  // fields, README "Hosted checkout"): its live /pay page has no card form. The invoice's "Pay" link led
  // there, a dead end for a customer with money to pay. The live invoice's page offers no such link nor
  // button: it says the amount due and whom to contact, and a POST opens no attempt.
  it("offers no Pay link or button to a page that cannot take a card: it says how to pay, and a POST opens no attempt", async () => {
    const m = await newMerchant("hosted-invoice-live");
    const key = `sk_live_${m.id.slice(5)}`;
    await seedMerchant(m.id, "hosted-invoice-live", `key_live_${m.id.slice(5)}`, key, true);
    const opts = { key };
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "live@example.com", name: "Grace Hopper" }, opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro plan" } }, opts));
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: customer.id, price: price.id, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, opts));
    const first = sub.latest_invoice as InvoiceJson;
    const intent = first.payment_intent as { id: string; status: string; client_secret: string };
    expect(intent.status).toBe("requires_payment_method");
    const url = first.hosted_invoice_url ?? "";
    const shown = await page(url);
    expect(shown.status).toBe(200);
    expect(shown.html).toMatch(/<tr class="total"><th scope="row">Amount due<\/th><td class="amt">\$19\.99<\/td><\/tr>/);
    expect(payLink(shown.html)).toBeNull();
    expect(shown.html).not.toContain("/pay/");
    expect(shown.html).not.toContain("<form");
    expect(shown.html).toContain("This page cannot take a card for this invoice, and nothing was charged. To pay $19.99, contact hosted-invoice-live.");

    // Marked uncollectible: still no button (it opened a new attempt, only to lead to the same dead end).
    await ok(post(`/v1/invoices/${first.id}/mark_uncollectible`, {}, opts));
    const late = await page(url);
    expect(late.html).toContain("This invoice is past due.");
    expect(late.html).not.toContain("<form");
    expect(late.html).toContain("To pay $19.99, contact hosted-invoice-live.");
    const before = await invoice({ opts } as Setup, first.id);
    const res = await exports.default.fetch(new Request(url, { method: "POST", redirect: "manual" }));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(new URL(url).pathname);
    await res.arrayBuffer();
    expect((await invoice({ opts } as Setup, first.id)).payment_intent).toBe(before.payment_intent);
  });
});
