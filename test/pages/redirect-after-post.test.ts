// Redirect-after-POST on every shopper page: whatever a POST finds (a card the form's checks refuse,
// an expired or unknown session, a 3DS answer or a provider's return without a return_url), it answers
// with a 303 to a GET page that shows it, so that Back, Forward and reload never offer to send the
// card (or the client secret) again. Only a code travels in the URL, never what the shopper typed.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { createIntent, get, post, type ListJson, type PaymentIntentJson, type TransactionJson } from "../helpers";
import { attributesOf, open, sessionPath, submit, submitAndFollow } from "./card-form";

const transactions = async (intent: string) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${intent}/transactions`)).body.data;
const sessionOf = async (path: string) => (await get<{ id: string; status: string; payment_intent: string }>(`/v1/checkout/sessions/${path.split("/").pop() ?? ""}`)).body;

describe("a card the form's checks refuse", () => {
  // What the shopper typed, the code the redirect carries, the field marked and the words shown: one code per message.
  const cases = [
    [{ card_number: "4242 4242" }, "invalid_number", "card-number", "Enter the card number (12 to 19 digits)."],
    [{ card_number: "4242 4242 4242 4241" }, "incorrect_number", "card-number", "Your card number is incorrect."],
    [{ expiry: "1234567" }, "invalid_expiry", "expiry", "Enter the expiry as MM / YY."],
    [{ expiry: "00 / 34" }, "invalid_expiry_month", "expiry", "Your card&#39;s expiration month is invalid."],
    [{ expiry: "01 / 20" }, "expired_card", "expiry", "Your card has expired."],
    [{ expiry: "12 / 2099" }, "invalid_expiry_year", "expiry", "Your card&#39;s expiration year is invalid."],
    [{ cvc: "1" }, "invalid_cvc", "cvc", "Enter the 3 or 4 digit CVC."],
    [{ card_number: "3782 822463 10005", cvc: "918" }, "invalid_cvc_amex", "cvc", "Enter the 4-digit CVC printed on the front of your American Express card."],
    [{ card_number: "4242 4242 4242 4242", cvc: "9187" }, "invalid_cvc_3_digits", "cvc", "Enter the 3-digit CVC printed on the back of your card."],
  ] as const;

  it("answers with a 303 to the form's GET page with a code of its own for each message (never what was typed); that page says it and marks the field; nothing is attempted", async () => {
    const path = await sessionPath();
    for (const [fields, code, field, words] of cases) {
      const { location, page, html } = await submitAndFollow(path, fields, `${path}?error=${code}`);
      expect(page.status, code).toBe(200);
      expect(page.headers.get("cache-control")).toBe("no-store");
      expect(html, code).toContain(`<div id="form-error" role="alert" class="alert">${words}</div>`);
      // Described by a message of its own (and the expiry by its hint too).
      expect(attributesOf(html, field), code).toMatchObject({ "aria-invalid": "true", "aria-describedby": field === "expiry" ? "expiry-error expiry-hint" : `${field}-error`, autofocus: "" });
      expect(html, code).toContain(`<p id="${field}-error" class="field-error">${words}</p>`);
      // The query is the code alone: nothing typed travels.
      expect(new URL(location, "http://gateway.test").search, code).toBe(`?error=${code}`);
      for (const typed of Object.values(fields)) expect(html, code).not.toContain(`value="${typed}"`);
    }
    expect(new Set(cases.map(([, code]) => code)).size).toBe(cases.length);
    expect(await transactions((await sessionOf(path)).payment_intent)).toHaveLength(0);
  });

  it("the /pay page answers the same way, keeping its client secret in the GET's URL only", async () => {
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 990, currency: "usd" })).body;
    const page = new URL(hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret));
    const { html } = await submitAndFollow(page.pathname, { client_secret: pi.client_secret, card_number: "3782 822463 10005", cvc: "918" }, `${page.pathname}${page.search}&error=invalid_cvc_amex`);
    expect(html).toContain("Enter the 4-digit CVC printed on the front of your American Express card.");
    expect(attributesOf(html, "cvc")["aria-invalid"]).toBe("true");
    expect(await transactions(pi.id)).toHaveLength(0);
  });

  it("reloading the page a refusal led to attempts nothing and shows the same words", async () => {
    const path = await sessionPath();
    const { location } = await submitAndFollow(path, { expiry: "01/20" });
    for (let i = 0; i < 3; i++) expect(await (await open(location)).text()).toContain("Your card has expired.");
    const session = await sessionOf(path);
    expect(session.status).toBe("open");
    expect(await transactions(session.payment_intent)).toHaveLength(0);
  });
});

describe("a POST to a session that cannot be paid", () => {
  it("an expired session answers with a 303 to its page, whose GET is the 410 'Checkout expired' page; nothing is attempted", async () => {
    const path = await sessionPath();
    const session = await sessionOf(path);
    expect((await post(`/v1/checkout/sessions/${session.id}/expire`)).status).toBe(200);
    const { page, html } = await submitAndFollow(path, {}, path);
    expect(page.status).toBe(410);
    expect(html).toContain("<h1>Checkout expired</h1>");
    expect(html).not.toContain("<form");
    expect((await transactions(session.payment_intent)).filter((t) => t.type === "authorize")).toHaveLength(0);
  });

  it("a session past expires_at is expired by the POST, which answers with a 303 to the 410 page", async () => {
    const path = await sessionPath();
    const session = await sessionOf(path);
    await env.DB.prepare("UPDATE checkout_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1000, session.id).run();
    const { page } = await submitAndFollow(path, {}, path);
    expect(page.status).toBe(410);
    expect((await sessionOf(path)).status).toBe("expired");
    expect((await transactions(session.payment_intent)).filter((t) => t.type === "authorize")).toHaveLength(0);
  });

  it("an unknown session answers with a 303 to its page, a 404", async () => {
    const { page } = await submitAndFollow("/checkout/cs_test_nosuchsession", {}, "/checkout/cs_test_nosuchsession");
    expect(page.status).toBe(404);
  });
});

describe("the 3DS challenge's answer without a return_url", () => {
  it("answers with a 303 to a result page that only reads: a stale one, after a newer challenge of the same payment, shows the way to it and answers nothing", async () => {
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 700, currency: "usd" })).body;
    const pay = new URL(hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret));
    const first = (await submit(pay.pathname, { client_secret: pi.client_secret, card_number: "4000002760003184" })).headers.get("location") ?? "";
    const failed = await exports.default.fetch(
      new Request(first, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(pi.client_secret)}&outcome=fail`, redirect: "manual" }),
    );
    expect(failed.status).toBe(303);
    const result = failed.headers.get("location") ?? "";
    expect(result).toBe(`/sandbox/3ds/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}&result=1`);
    expect(await (await open(result)).text()).toContain("<h1>Payment not completed</h1>");
    // A newer challenge of the same payment: the old result page, reloaded, cannot answer it.
    expect((await submit(pay.pathname, { client_secret: pi.client_secret, card_number: "4000002760003184" })).status).toBe(303);
    const before = await transactions(pi.id);
    const stale = await open(result);
    expect(stale.status).toBe(200);
    const html = await stale.text();
    expect(html).toContain("<h1>Confirm with your bank</h1>");
    expect(html).not.toContain("<form");
    expect(html).not.toContain("<button");
    const waiting = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(waiting.status).toBe("requires_action");
    expect(html).toContain(`href="${(waiting.next_action?.redirect_to_url?.url ?? "").replace(/&/g, "&#38;")}"`);
    expect(await transactions(pi.id)).toEqual(before);
  });
});

describe("the provider return's POST without a return_url", () => {
  it("answers with a 303 to a result page (a GET) that never POSTs again, even while the provider still waits on the payer", async () => {
    const pi = (await createIntent({ amount: 1500, payment_method_data: { type: "paypal" }, confirm: true })).body;
    expect(pi.status).toBe("requires_action");
    const posted = await exports.default.fetch(
      new Request(`http://gateway.test/connectors/return/${pi.id}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(pi.client_secret)}`, redirect: "manual" }),
    );
    expect(posted.status).toBe(303);
    const location = posted.headers.get("location") ?? "";
    expect(location).toBe(`/connectors/return/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}&result=1`);
    const before = await transactions(pi.id);
    const page = await open(location);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("waiting for you to finish");
    expect(html).not.toContain("<form");
    expect(html).not.toContain("<script");
    expect(await transactions(pi.id)).toEqual(before);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("requires_action");
  });
});

describe("the result page after the payer canceled at PayPal (an intent without return_url)", () => {
  it("says, as a notice, that they canceled and nothing was charged, as /pay says it; not an alert that it failed", async () => {
    const pi = (await createIntent({ amount: 1500, payment_method_data: { type: "paypal" }, confirm: true })).body;
    const posted = await exports.default.fetch(
      new Request(`http://gateway.test/connectors/return/${pi.id}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(pi.client_secret)}&canceled=true`, redirect: "manual" }),
    );
    expect(posted.status).toBe(303);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("requires_payment_method");
    const html = await (await open(posted.headers.get("location") ?? "")).text();
    expect(html).toMatch(/<p role="status">You canceled the PayPal payment, so nothing was charged\./);
    expect(html).not.toContain("did not go through");
    expect(html).not.toContain('role="alert"');
  });
});
