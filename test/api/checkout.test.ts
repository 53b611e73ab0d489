// Checkout Sessions inside workerd: the /v1 resource (create with price_data and with a price,
// retrieve with expand, list, line items, expire, events), the page's form (decline then retry, 3DS,
// success_url), a session paid twice at once charges once, an expired session cannot be paid (by
// /expire, by the cron, or merely overdue), bad input is a clear 4xx, and no card data is stored.
import { createScheduledController, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { expectError, get, post, type ListJson, type PaymentIntentJson, type TransactionJson, waitFor } from "../helpers";

interface SessionJson {
  id: string;
  object: string;
  url: string | null;
  status: string;
  payment_status: string;
  amount_subtotal: number;
  amount_total: number;
  currency: string;
  payment_intent: string | PaymentIntentJson;
  success_url: string;
  cancel_url: string | null;
  expires_at: number;
  created: number;
  metadata: Record<string, string>;
  client_reference_id: string | null;
  customer_email: string | null;
  line_items?: ListJson<{ id: string; object: string; quantity: number; amount_total: number; description: string; price: { id: string; unit_amount: number } }>;
}
interface EventJson {
  id: string;
  type: string;
  data: { object: SessionJson };
}

const SUCCESS = "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}";
const CANCEL = "https://shop.example/cart";

async function session(extra: Record<string, unknown> = {}): Promise<SessionJson> {
  const res = await post<SessionJson>("/v1/checkout/sessions", {
    mode: "payment",
    line_items: [
      { price_data: { currency: "usd", unit_amount: 1000, product_data: { name: "T-shirt" } }, quantity: 2 },
      { price_data: { currency: "usd", unit_amount: 500, product_data: { name: "Sticker" } }, quantity: 1 },
    ],
    success_url: SUCCESS,
    cancel_url: CANCEL,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

function pagePath(s: SessionJson): string {
  return new URL(s.url ?? "").pathname;
}

function pay(path: string, card: string, extra: Record<string, string> = {}): Promise<Response> {
  const body = new URLSearchParams({ card_number: card, expiry: "12 / 34", cvc: "123", ...extra });
  return exports.default.fetch(new Request(`http://gateway.test${path}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body, redirect: "manual" }));
}

const intentOf = async (s: SessionJson) => (await get<PaymentIntentJson>(`/v1/payment_intents/${String(s.payment_intent)}`)).body;
const transactions = async (id: string) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`)).body.data;

describe("/v1/checkout/sessions", () => {
  it("creates a session with price_data: Stripe's fields, a payment intent with the line items, 24 h expiry", async () => {
    const before = Math.floor(Date.now() / 1000);
    const s = await session({ client_reference_id: "order-77", customer_email: "a@shop.example", metadata: { order: "77" }, payment_intent_data: { description: "Order 77", metadata: { order: "77" } } });
    expect(s).toMatchObject({ object: "checkout.session", status: "open", payment_status: "unpaid", amount_subtotal: 2500, amount_total: 2500, currency: "usd", success_url: SUCCESS, cancel_url: CANCEL, client_reference_id: "order-77", metadata: { order: "77" } });
    expect(s.id).toMatch(/^cs_/);
    expect(s.url).toBe(`http://gateway.test/checkout/${s.id}`);
    expect(s.expires_at - before).toBeGreaterThanOrEqual(24 * 3600 - 5);
    expect(s.expires_at - before).toBeLessThanOrEqual(24 * 3600 + 5);
    const pi = await intentOf(s);
    expect(pi).toMatchObject({ amount: 2500, currency: "usd", status: "requires_payment_method", description: "Order 77", metadata: { order: "77" } });
    const record = await env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(pi.id)).retrieve({ merchantId: "acct_merchant_a", livemode: false }, pi.id);
    expect(record?.lineItems).toEqual([
      { name: "T-shirt", quantity: 2, unitAmount: 1000 },
      { name: "Sticker", quantity: 1, unitAmount: 500 },
    ]);
  });

  it("creates a session from a /v1/prices price; retrieves it with expand[]=payment_intent and line_items; lists line items", async () => {
    const price = await post<{ id: string }>("/v1/prices", { unit_amount: 1500, currency: "eur", product_data: { name: "Membership" } });
    expect(price.status).toBe(200);
    // A recurring price needs subscription mode: refused in payment mode, and no session or intent is made.
    const monthly = await post<{ id: string }>("/v1/prices", { unit_amount: 1500, currency: "eur", recurring: { interval: "month" }, product_data: { name: "Membership" } });
    expect(monthly.status).toBe(200);
    const sessionsBefore = (await get<ListJson<SessionJson>>("/v1/checkout/sessions?limit=100")).body.data.length;
    const refused = await post<SessionJson>("/v1/checkout/sessions", { mode: "payment", line_items: [{ price: price.body.id, quantity: 1 }, { price: monthly.body.id, quantity: 1 }], success_url: SUCCESS });
    const err = expectError(refused, 400);
    expect(err.param).toBe("line_items[1][price]");
    expect(err.message).toMatch(/recurring/);
    expect((await get<ListJson<SessionJson>>("/v1/checkout/sessions?limit=100")).body.data.length).toBe(sessionsBefore);
    const created = await post<SessionJson>("/v1/checkout/sessions", { mode: "payment", line_items: [{ price: price.body.id, quantity: 3 }], success_url: SUCCESS });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ amount_total: 4500, currency: "eur" });
    const got = await get<SessionJson>(`/v1/checkout/sessions/${created.body.id}?expand[]=payment_intent&expand[]=line_items`);
    expect(got.status).toBe(200);
    expect(got.body.payment_intent).toMatchObject({ object: "payment_intent", amount: 4500, currency: "eur" });
    expect(got.body.line_items?.data).toEqual([expect.objectContaining({ object: "item", quantity: 3, amount_total: 4500, description: "Membership", price: expect.objectContaining({ id: price.body.id, unit_amount: 1500 }) })]);
    const items = await get<ListJson<{ id: string }>>(`/v1/checkout/sessions/${created.body.id}/line_items`);
    expect(items.body).toMatchObject({ object: "list", has_more: false });
    expect(items.body.data).toHaveLength(1);
    const plain = await get<SessionJson>(`/v1/checkout/sessions/${created.body.id}`);
    expect(typeof plain.body.payment_intent).toBe("string");
    expect(plain.body.line_items).toBeUndefined();
  });

  it("a product renamed is sold under its new name: its prices' line items say it", async () => {
    const price = await post<{ id: string; product: string }>("/v1/prices", { unit_amount: 900, currency: "usd", product_data: { name: "Beans" } });
    expect((await post(`/v1/products/${price.body.product}`, { name: "Coffee beans" })).status).toBe(200);
    const created = await post<SessionJson>("/v1/checkout/sessions", { mode: "payment", line_items: [{ price: price.body.id, quantity: 1 }], success_url: SUCCESS });
    const items = await get<ListJson<{ description: string }>>(`/v1/checkout/sessions/${created.body.id}/line_items`);
    expect(items.body.data.map((i) => i.description)).toEqual(["Coffee beans"]);
    // Renamed twice at once: the prices keep the name the product ends with.
    await Promise.all([post(`/v1/products/${price.body.product}`, { name: "Arabica" }), post(`/v1/products/${price.body.product}`, { name: "Robusta" })]);
    const product = await get<{ name: string }>(`/v1/products/${price.body.product}`);
    const again = await post<SessionJson>("/v1/checkout/sessions", { mode: "payment", line_items: [{ price: price.body.id, quantity: 1 }], success_url: SUCCESS });
    const named = await get<ListJson<{ description: string }>>(`/v1/checkout/sessions/${again.body.id}/line_items`);
    expect(named.body.data.map((i) => i.description)).toEqual([product.body.name]);
  });

  it("lists sessions newest first, filtered by status and payment_intent; another merchant sees none of them", async () => {
    const a = await session();
    const b = await session();
    const list = await get<ListJson<SessionJson>>("/v1/checkout/sessions?limit=2");
    expect(list.body.data.map((s) => s.id)).toEqual([b.id, a.id]);
    const byIntent = await get<ListJson<SessionJson>>(`/v1/checkout/sessions?payment_intent=${String(a.payment_intent)}`);
    expect(byIntent.body.data.map((s) => s.id)).toEqual([a.id]);
    const other = await get<ListJson<SessionJson>>("/v1/checkout/sessions?limit=100", { key: "sk_test_merchant_b" });
    expect(other.body.data.map((s) => s.id)).not.toContain(a.id);
    expectError(await get(`/v1/checkout/sessions/${a.id}`, { key: "sk_test_merchant_b" }), 404, "resource_missing");
  });

  it("lists by customer_details[email] (Stripe's filter): the sessions given that email, newest first; an empty email is a 400", async () => {
    const email = `list-${crypto.randomUUID().slice(0, 8)}@shop.example`;
    const first = await session({ customer_email: email });
    await session({ customer_email: "someone-else@shop.example" });
    const second = await session({ customer_email: email });
    const listed = await get<ListJson<SessionJson>>(`/v1/checkout/sessions?customer_details[email]=${encodeURIComponent(email)}`);
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body.data.map((s) => s.id)).toEqual([second.id, first.id]);
    expect(listed.body.data.map((s) => s.customer_email)).toEqual([email, email]);
    expect((await get<ListJson<SessionJson>>(`/v1/checkout/sessions?customer_details[email]=${encodeURIComponent(email)}`, { key: "sk_test_merchant_b" })).body.data).toEqual([]);
    expectError(await get("/v1/checkout/sessions?customer_details[email]="), 400);
  });

  it("a create retried with its Idempotency-Key answers the same session, not a second payable one", async () => {
    const key = `checkout-${Date.now()}-${Math.random()}`;
    const body = { mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 1500, product_data: { name: "Mug" } }, quantity: 1 }], success_url: SUCCESS };
    const first = await post<SessionJson>("/v1/checkout/sessions", body, { idempotencyKey: key });
    const again = await post<SessionJson>("/v1/checkout/sessions", body, { idempotencyKey: key });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.payment_intent).toBe(first.body.payment_intent);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expectError(await post("/v1/checkout/sessions", { ...body, success_url: "https://shop.example/other" }, { idempotencyKey: key }), 400);
    const listed = await get<ListJson<SessionJson>>(`/v1/checkout/sessions?payment_intent=${String(first.body.payment_intent)}`);
    expect(listed.body.data.map((x) => x.id)).toEqual([first.body.id]);
  });

  it("is in the OpenAPI document", async () => {
    const doc = (await (await exports.default.fetch("http://gateway.test/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    for (const path of ["/v1/checkout/sessions", "/v1/checkout/sessions/{id}", "/v1/checkout/sessions/{id}/expire", "/v1/checkout/sessions/{id}/line_items"]) expect(doc.paths[path], path).toBeDefined();
    expect(Object.keys(doc.components.schemas)).toContain("CheckoutSession");
  });

  it("refuses bad input with a clear 4xx", async () => {
    const base = { mode: "payment", success_url: SUCCESS };
    expectError(await post("/v1/checkout/sessions", { ...base, line_items: [] }), 400);
    expectError(await post("/v1/checkout/sessions", { ...base, mode: "subscription", line_items: [{ price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } }, quantity: 1 }] }), 400);
    expectError(await post("/v1/checkout/sessions", { ...base, line_items: [{ quantity: 1 }] }), 400);
    // A price named in a parameter that does not exist: a 400 resource_missing, as at Stripe.
    expectError(await post("/v1/checkout/sessions", { ...base, line_items: [{ price: "price_doesnotexist00", quantity: 1 }] }), 400, "resource_missing");
    expectError(
      await post("/v1/checkout/sessions", {
        ...base,
        line_items: [
          { price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } }, quantity: 1 },
          { price_data: { currency: "eur", unit_amount: 100, product_data: { name: "y" } }, quantity: 1 },
        ],
      }),
      400,
    );
    expectError(await post("/v1/checkout/sessions", { ...base, success_url: "javascript:alert(1)", line_items: [{ price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } }, quantity: 1 }] }), 400);
    // A newline (or any control character or space) would break the redirect's Location header after
    // the shopper paid: refused before anything is stored.
    for (const success_url of ["https://shop.example/ok\nSet-Cookie: a=b", "https://shop.example/o k", "https://shop.example/ok\t"]) {
      expectError(await post("/v1/checkout/sessions", { ...base, success_url, line_items: [{ price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } }, quantity: 1 }] }), 400);
    }
    expectError(await post("/v1/checkout/sessions", { ...base, expires_at: Math.floor(Date.now() / 1000) + 60, line_items: [{ price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } }, quantity: 1 }] }), 400);
    expectError(await post("/v1/checkout/sessions", { ...base, line_items: [{ price_data: { currency: "usd", unit_amount: 99_999_999, product_data: { name: "x" } }, quantity: 2 }] }), 400, "amount_too_large");
  });
});

describe("the checkout page", () => {
  it("a session paid without customer_email completes with customer_details (email null), as Stripe's always has them; an open one without has none", async () => {
    const s = await session();
    expect((await get<{ customer_details: unknown }>(`/v1/checkout/sessions/${s.id}`)).body.customer_details).toBeNull();
    expect((await pay(pagePath(s), "4242424242424242")).status).toBe(303);
    const done = await waitFor(async () => {
      const r = (await get<{ status: string; customer_details: { email: string | null } | null }>(`/v1/checkout/sessions/${s.id}`)).body;
      return r.status === "complete" ? r : undefined;
    });
    expect(done.customer_details).toMatchObject({ email: null, name: null, address: null });
  });

  it("shows the merchant, the line items, the total, labelled card fields, a Pay button and Cancel, under a strict CSP", async () => {
    const s = await session();
    const res = await exports.default.fetch(s.url ?? "");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Merchant A");
    expect(html).toContain("T-shirt");
    expect(html).toContain("$25.00");
    // The expiry's format is in its label, not only in a placeholder that goes once the shopper types.
    for (const label of ["Card number", "Expiry \\(MM/YY\\)", "CVC"]) expect(html).toMatch(new RegExp(`<label for="[a-z-]+">${label}</label>`));
    expect(html).toContain(">Pay $25.00</button>");
    expect(html).toContain(`href="${CANCEL}"`);
    expect(html).not.toMatch(/<script/i);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/form-action 'self' https:\/\/shop\.example(;|$)/);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("a decline shows its reason in role=alert and keeps the form; another card then pays and goes to success_url", async () => {
    const s = await session();
    // Redirect-after-POST: the form's page says what went wrong, so Back and reload never resend the card.
    const declined = await pay(pagePath(s), "4000 0000 0000 0002");
    expect(declined.status).toBe(303);
    expect(declined.headers.get("location")).toBe(`${pagePath(s)}?error=card_declined`);
    const html = await (await exports.default.fetch(`http://gateway.test${declined.headers.get("location") ?? ""}`)).text();
    expect(html).toMatch(/<div [^>]*role="alert"[^>]*>[^<]*declined/i);
    expect(html).toContain("Card number");
    expect(html).not.toContain("4000 0000 0000 0002");
    const ok = await pay(pagePath(s), "4242424242424242");
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe(`https://shop.example/thanks?session=${s.id}`);
    const after = (await get<SessionJson>(`/v1/checkout/sessions/${s.id}`)).body;
    expect(after).toMatchObject({ status: "complete", payment_status: "paid", url: null });
    expect((await intentOf(s)).status).toBe("succeeded");
    // A completed session shows that and offers no form.
    const page = await (await exports.default.fetch(s.url ?? `http://gateway.test/checkout/${s.id}`)).text();
    expect(page).toContain("Payment complete");
    expect(page).not.toContain("<form");
  });

  it("a 3DS card goes through the challenge, back to the session, then on to success_url", async () => {
    const s = await session();
    const res = await pay(pagePath(s), "4000002760003184");
    expect(res.status).toBe(303);
    const challenge = res.headers.get("location") ?? "";
    expect(new URL(challenge).pathname).toMatch(/^\/sandbox\/3ds\/pi_/);
    const page = await exports.default.fetch(challenge);
    expect(await page.text()).toContain("Merchant A");
    const pi = await intentOf(s);
    const answered = await exports.default.fetch(
      new Request(challenge, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(pi.client_secret)}&outcome=approve`, redirect: "manual" }),
    );
    expect(answered.status).toBe(303);
    const back = answered.headers.get("location") ?? "";
    expect(new URL(back).pathname).toBe(`/checkout/${s.id}/return`);
    // Completed by the challenge's answer, before the shopper reaches success_url.
    expect((await get<SessionJson>(`/v1/checkout/sessions/${s.id}`)).body.status).toBe("complete");
    const onward = await (await exports.default.fetch(back)).text();
    expect(onward).toContain(`url=https://shop.example/thanks?session=${s.id}`);
  });

  it("a failed 3DS challenge brings the shopper back to the form with words for a shopper (not the API's PaymentMethod message)", async () => {
    const s = await session();
    const challenge = (await pay(pagePath(s), "4000002760003184")).headers.get("location") ?? "";
    const pi = await intentOf(s);
    const answered = await exports.default.fetch(
      new Request(challenge, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(pi.client_secret)}&outcome=fail`, redirect: "manual" }),
    );
    expect(answered.status).toBe(303);
    const back = await (await exports.default.fetch(answered.headers.get("location") ?? "")).text();
    expect(back).toContain("Your bank could not authenticate the payment (3D Secure failed). Try another card.");
    expect(back).not.toContain("PaymentMethod");
  });

  it("what the page shows is what it charges: the session's intent cannot be re-priced, and is paid only on the session's page", async () => {
    const s = await session();
    const pi = await intentOf(s);
    for (const change of [{ amount: 99999 }, { currency: "jpy" }, { capture_method: "manual" }, { payment_method: "pm_card_visa" }]) {
      expectError(await post(`/v1/payment_intents/${pi.id}`, change), 400);
    }
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, { metadata: { order: "A-1" } })).status).toBe(200);
    // The bare payment page sends the shopper to the session's page.
    const bare = hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret);
    const shown = await exports.default.fetch(new Request(bare, { redirect: "manual" }));
    expect(shown.status).toBe(303);
    expect(shown.headers.get("location")).toBe(`/checkout/${s.id}`);
    const posted = await pay(new URL(bare).pathname, "4242424242424242", { client_secret: pi.client_secret });
    expect(posted.status).toBe(303);
    expect(posted.headers.get("location")).toBe(`/checkout/${s.id}`);
    expect((await intentOf(s)).status).toBe("requires_payment_method");
    // Paid on its own page, for the total it shows.
    expect((await pay(pagePath(s), "4242424242424242")).status).toBe(303);
    expect((await intentOf(s)).amount_received).toBe(2500);
  });

  it("a session past expires_at cannot be paid through the 3D Secure page either: it is expired there, and nothing is charged", async () => {
    const s = await session();
    const res = await pay(pagePath(s), "4000002760003184");
    const challenge = res.headers.get("location") ?? "";
    const pi = await intentOf(s);
    expect(pi.status).toBe("requires_action");
    await env.DB.prepare("UPDATE checkout_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1000, s.id).run();
    const answered = await exports.default.fetch(
      new Request(challenge, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(pi.client_secret)}&outcome=approve`, redirect: "manual" }),
    );
    // Sent to the session's own page, which says so (announced to screen readers) with the way back to the shop.
    expect(answered.status).toBe(303);
    expect(answered.headers.get("location")).toBe(pagePath(s));
    expect((await get<SessionJson>(`/v1/checkout/sessions/${s.id}`)).body.status).toBe("expired");
    const closed = await exports.default.fetch(new Request(`http://gateway.test${pagePath(s)}`));
    expect(closed.status).toBe(410);
    expect(closed.headers.get("content-security-policy")).toContain("base-uri 'none'");
    const html = await closed.text();
    expect(html).toMatch(/<p class="" role="alert">/);
    expect(html).toContain(`href="${CANCEL}"`);
    expect(await intentOf(s)).toMatchObject({ status: "canceled", amount_received: 0 });
  });

  it("a 3D Secure answer after another tab paid the session charges nothing and sends the shopper to the session's page, which shows it paid and links to success_url", async () => {
    const s = await session();
    const challenge = (await pay(pagePath(s), "4000002760003184")).headers.get("location") ?? "";
    const pi = await intentOf(s);
    // The other tab pays with a card meanwhile.
    expect((await pay(pagePath(s), "4242424242424242")).status).toBe(303);
    const answered = await exports.default.fetch(
      new Request(challenge, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(pi.client_secret)}&outcome=approve`, redirect: "manual" }),
    );
    expect(answered.status).toBe(303);
    expect(answered.headers.get("location")).toBe(pagePath(s));
    const shown = await (await exports.default.fetch(new Request(`http://gateway.test${pagePath(s)}`))).text();
    expect(shown).toContain("Payment complete");
    expect(shown).toContain(`href="https://shop.example/thanks?session=${s.id}"`);
    expect(await intentOf(s)).toMatchObject({ status: "succeeded", amount_received: 2500 });
  });

  it("two tabs paying the same session at once charge once", async () => {
    const s = await session();
    const [one, two] = await Promise.all([pay(pagePath(s), "4242424242424242"), pay(pagePath(s), "5555555555554444")]);
    expect([one.status, two.status]).toEqual([303, 303]);
    expect(one.headers.get("location")).toBe(`https://shop.example/thanks?session=${s.id}`);
    expect(two.headers.get("location")).toBe(`https://shop.example/thanks?session=${s.id}`);
    const pi = await intentOf(s);
    expect(pi.amount_received).toBe(2500);
    const auths = (await transactions(pi.id)).filter((t) => t.type === "authorize" && t.status === "succeeded");
    expect(auths).toHaveLength(1);
    const events = await waitFor(async () => {
      const list = (await get<ListJson<EventJson>>("/v1/events?type=checkout.session.completed&limit=100")).body.data.filter((e) => e.data.object.id === s.id);
      return list.length > 0 ? list : undefined;
    }, 10_000, "checkout.session.completed");
    expect(events).toHaveLength(1);
    expect(events[0]?.data.object).toMatchObject({ status: "complete", payment_status: "paid", payment_intent: pi.id });
    // A tab that submits after the session completed is sent on to success_url too, and charges nothing.
    const late = await pay(pagePath(s), "4242424242424242");
    expect(late.status).toBe(303);
    expect(late.headers.get("location")).toBe(`https://shop.example/thanks?session=${s.id}`);
    expect((await transactions(pi.id)).filter((t) => t.type === "authorize")).toHaveLength(1);
  });
});

describe("completion from the intent's events", () => {
  it("a session whose intent is paid elsewhere (here: /v1 confirm) completes once its events are processed", async () => {
    const s = await session();
    const confirmed = await post<PaymentIntentJson>(`/v1/payment_intents/${String(s.payment_intent)}/confirm`, { payment_method: "pm_card_visa" });
    expect(confirmed.body.status).toBe("succeeded");
    const done = await waitFor(async () => {
      const now = (await get<SessionJson>(`/v1/checkout/sessions/${s.id}`)).body;
      return now.status === "complete" ? now : undefined;
    }, 15_000, "the session completed by the events consumer");
    expect(done.payment_status).toBe("paid");
  });
});

describe("expiry", () => {
  it("/expire cancels the session's intent, emits checkout.session.expired, and the page then offers no form and takes no payment", async () => {
    const s = await session();
    const expired = await post<SessionJson>(`/v1/checkout/sessions/${s.id}/expire`);
    expect(expired.status, JSON.stringify(expired.body)).toBe(200);
    expect(expired.body).toMatchObject({ status: "expired", url: null });
    expect((await intentOf(s)).status).toBe("canceled");
    expectError(await post(`/v1/checkout/sessions/${s.id}/expire`), 400, "checkout_session_not_open");
    const page = await exports.default.fetch(`http://gateway.test/checkout/${s.id}`);
    const html = await page.text();
    expect(html).toContain("expired");
    expect(html).not.toContain("<form");
    // Redirect-after-POST: the session's page, a GET, is the 410 page.
    const paid = await pay(`/checkout/${s.id}`, "4242424242424242");
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`/checkout/${s.id}`);
    expect((await exports.default.fetch(`http://gateway.test/checkout/${s.id}`)).status).toBe(410);
    expect((await transactions(String(s.payment_intent))).filter((t) => t.type === "authorize")).toHaveLength(0);
    const events = await waitFor(async () => {
      const list = (await get<ListJson<EventJson>>("/v1/events?type=checkout.session.expired&limit=100")).body.data.filter((e) => e.data.object.id === s.id);
      return list.length > 0 ? list : undefined;
    }, 10_000, "checkout.session.expired");
    expect(events[0]?.data.object.status).toBe("expired");
  });

  it("a session past expires_at cannot be paid; the GET changes nothing, the cron expires it", async () => {
    const s = await session();
    await env.DB.prepare("UPDATE checkout_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1000, s.id).run();
    const page = await (await exports.default.fetch(`http://gateway.test/checkout/${s.id}`)).text();
    expect(page).toContain("expired");
    expect(page).not.toContain("<form");
    expect((await get<SessionJson>(`/v1/checkout/sessions/${s.id}`)).body.status).toBe("open");
    // Nor does a GET of the bare payment page of its intent: it sends the shopper to the session's page.
    const pi = await intentOf(s);
    const bare = await exports.default.fetch(`http://gateway.test/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret ?? "")}`, { redirect: "manual" });
    expect(bare.status).toBe(303);
    expect(bare.headers.get("location")).toBe(`/checkout/${s.id}`);
    expect((await get<SessionJson>(`/v1/checkout/sessions/${s.id}`)).body.status).toBe("open");
    expect((await intentOf(s)).status).not.toBe("canceled");
    // Redirect-after-POST: the session's page, a GET, is the 410 page.
    const paid = await pay(`/checkout/${s.id}`, "4242424242424242");
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`/checkout/${s.id}`);
    expect((await exports.default.fetch(`http://gateway.test/checkout/${s.id}`)).status).toBe(410);
    expect((await intentOf(s)).status).toBe("canceled");
    expect((await get<SessionJson>(`/v1/checkout/sessions/${s.id}`)).body.status).toBe("expired");

    const later = await session();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now() + 25 * 3600_000, cron: "* * * * *" }), env);
    expect((await get<SessionJson>(`/v1/checkout/sessions/${later.id}`)).body.status).toBe("expired");
    expect((await intentOf(later)).status).toBe("canceled");
  });

  it("cannot expire a paid session", async () => {
    const s = await session();
    expect((await pay(pagePath(s), "4242424242424242")).status).toBe(303);
    expectError(await post(`/v1/checkout/sessions/${s.id}/expire`), 400, "checkout_session_not_open");
  });
});

describe("the page of a bare payment intent", () => {
  it("pays at /pay/{pi}?client_secret and returns to the intent's return_url; a wrong secret is a 404", async () => {
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1234, currency: "eur", return_url: "https://merchant.example/done" })).body;
    const url = hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret);
    const page = await exports.default.fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("€12.34");
    expect(html).toContain("Merchant A");
    expect(page.headers.get("content-security-policy")).toContain("form-action 'self' https://merchant.example");
    expect((await exports.default.fetch(hostedPaymentPageUrl("http://gateway.test", pi.id, "pi_wrong_secret"))).status).toBe(404);
    const paid = await pay(`/pay/${pi.id}`, "4242424242424242", { client_secret: pi.client_secret });
    expect(paid.status).toBe(303);
    const location = new URL(paid.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe("https://merchant.example/done");
    expect(location.searchParams.get("redirect_status")).toBe("succeeded");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("succeeded");
  });
});

describe("storage", () => {
  it("keeps no card number or CVC from the page in D1 or the intent's object", async () => {
    const s = await session();
    expect((await pay(pagePath(s), "4000 0000 0000 0002", { cvc: "918" })).status).toBe(303);
    expect((await pay(pagePath(s), "5555 5555 5555 4444", { cvc: "918" })).status).toBe(303);
    const numbers = ["4000000000000002", "5555555555554444"];
    const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'").all<{ name: string }>();
    for (const { name } of tables.results) {
      const text = JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results);
      for (const n of numbers) expect(text.includes(n), `card number in ${name}`).toBe(false);
    }
    const id = String(s.payment_intent);
    const stored = await runInDurableObject(env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id)), async (_i, state) => JSON.stringify([...(await state.storage.list()).entries()]));
    expect(stored).toContain(id);
    for (const n of numbers) expect(stored.includes(n)).toBe(false);
    expect(stored.includes('"918"')).toBe(false);
  });
});

describe("Stripe's line item and payment_intent_data parameters", () => {
  it("price_data[product] sells one of the merchant's products by its name; another merchant's product is a 400 resource_missing, an archived one a 400", async () => {
    const product = await post<{ id: string }>("/v1/products", { name: "Espresso machine" });
    const s = await session({ line_items: [{ price_data: { currency: "usd", unit_amount: 25000, product: product.body.id, tax_behavior: "exclusive" }, quantity: 1 }] });
    expect(s.amount_total).toBe(25000);
    const items = (await get<ListJson<{ description: string; price: { product: string | null; unit_amount: number } }>>(`/v1/checkout/sessions/${s.id}/line_items`)).body.data;
    expect(items).toEqual([expect.objectContaining({ description: "Espresso machine", price: expect.objectContaining({ product: product.body.id, unit_amount: 25000 }) })]);
    const theirs = await post<{ id: string }>("/v1/products", { name: "Theirs" }, { key: "sk_test_merchant_b" });
    const body = (productId: string) => ({ mode: "payment", success_url: SUCCESS, line_items: [{ price_data: { currency: "usd", unit_amount: 100, product: productId }, quantity: 1 }] });
    expect(expectError(await post("/v1/checkout/sessions", body(theirs.body.id)), 400, "resource_missing").param).toBe("line_items[0][price_data][product]");
    const archived = await post<{ id: string }>("/v1/products", { name: "Old", active: false });
    expect(expectError(await post("/v1/checkout/sessions", body(archived.body.id)), 400).param).toBe("line_items[0][price_data][product]");
    // Neither product nor product_data, or both: a 400 naming them.
    expectError(await post("/v1/checkout/sessions", { mode: "payment", success_url: SUCCESS, line_items: [{ price_data: { currency: "usd", unit_amount: 100 }, quantity: 1 }] }), 400, "parameter_missing");
  });

  it("product_data takes images, metadata and a description, kept with the line item; line items take metadata and adjustable_quantity[enabled]=false", async () => {
    const s = await session({
      line_items: [
        {
          price_data: { currency: "usd", unit_amount: 1200, product_data: { name: "Poster", description: "A2, matte", images: ["https://shop.example/poster.png"], metadata: { sku: "P-2" } } },
          quantity: 1,
          metadata: { line: "1" },
          adjustable_quantity: { enabled: false },
        },
      ],
    });
    const [item] = (await get<ListJson<{ metadata: Record<string, string>; adjustable_quantity: unknown; price: { product_data?: unknown } }>>(`/v1/checkout/sessions/${s.id}/line_items`)).body.data;
    expect(item?.metadata).toEqual({ line: "1" });
    expect(item?.adjustable_quantity).toEqual({ enabled: false, maximum: null, minimum: null });
    expect(item?.price.product_data).toEqual({ name: "Poster", description: "A2, matte", images: ["https://shop.example/poster.png"], metadata: { sku: "P-2" } });
    // What the page cannot do is refused by name, with why.
    const line = { price_data: { currency: "usd", unit_amount: 1200, product_data: { name: "Poster" } }, quantity: 1 };
    const adjustable = expectError(await post("/v1/checkout/sessions", { mode: "payment", success_url: SUCCESS, line_items: [{ ...line, adjustable_quantity: { enabled: true, maximum: 5 } }] }), 400, "parameter_not_supported");
    expect(adjustable.param).toBe("line_items[0][adjustable_quantity][enabled]");
    const recurring = expectError(await post("/v1/checkout/sessions", { mode: "payment", success_url: SUCCESS, line_items: [{ ...line, price_data: { ...line.price_data, recurring: { interval: "month" } } }] }), 400, "parameter_not_supported");
    expect(recurring.param).toBe("line_items[0][price_data][recurring]");
    expectError(await post("/v1/checkout/sessions", { mode: "payment", success_url: SUCCESS, line_items: [{ ...line, price_data: { ...line.price_data, product_data: { name: "x", images: ["not a url"] } } }] }), 400, "parameter_invalid");
  });

  it("payment_intent_data's receipt_email, statement descriptors, shipping and metadata reach the session's intent, as POST /v1/payment_intents takes them", async () => {
    const s = await session({
      customer_email: "buyer@shop.example",
      payment_intent_data: {
        receipt_email: "receipts@shop.example",
        statement_descriptor: "SHOP EXAMPLE",
        statement_descriptor_suffix: "ORDER 9",
        shipping: { name: "Jenny Rosen", address: { line1: "1 Main St", city: "Paris", country: "FR" } },
        metadata: { order: "9" },
        transfer_group: "ignored",
      },
    });
    const pi = await intentOf(s);
    expect(pi).toMatchObject({
      receipt_email: "receipts@shop.example",
      statement_descriptor: "SHOP EXAMPLE",
      statement_descriptor_suffix: "ORDER 9",
      shipping: { name: "Jenny Rosen", address: { line1: "1 Main St", city: "Paris", country: "FR" } },
      metadata: { order: "9" },
    });
    const connect = expectError(await post("/v1/checkout/sessions", { mode: "payment", success_url: SUCCESS, line_items: [{ price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } }, quantity: 1 }], payment_intent_data: { on_behalf_of: "acct_1" } }), 400, "parameter_not_supported");
    expect(connect.param).toBe("payment_intent_data[on_behalf_of]");
    // An embedded session (Stripe's ui_mode=embedded, with a return_url and no success_url): the
    // parameter not served is named, not the success_url such a session does not take.
    const embedded = expectError(await post("/v1/checkout/sessions", { mode: "payment", ui_mode: "embedded", return_url: "https://shop.example/return", line_items: [{ price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } }, quantity: 1 }] }), 400, "parameter_not_supported");
    expect(embedded.param).toBe("ui_mode");
  });

  it("payment_intent_data[setup_future_usage] saves the card the shopper pays with to the session's customer; without a customer nothing is saved, and the card may be attached afterwards", async () => {
    const customer = await post<{ id: string }>("/v1/customers", { email: "saver@shop.example" });
    const s = await session({ customer: customer.body.id, payment_intent_data: { setup_future_usage: "off_session" } });
    expect((await intentOf(s)) as unknown).toMatchObject({ setup_future_usage: "off_session", customer: customer.body.id });
    expect((await pay(pagePath(s), "4242424242424242")).status).toBe(303);
    const saved = await waitFor(async () => {
      const list = (await get<ListJson<{ id: string; card: { last4: string } }>>(`/v1/payment_methods?customer=${customer.body.id}&type=card`)).body.data;
      return list.length > 0 ? list : undefined;
    }, 15_000, "the card saved to the customer");
    expect(saved[0]?.card.last4).toBe("4242");
    // No customer: as at Stripe, accepted; the session makes none, and nothing is saved.
    const bare = await session({ payment_intent_data: { setup_future_usage: "on_session" } });
    expect((await intentOf(bare)) as unknown).toMatchObject({ setup_future_usage: "on_session", customer: null });
    expect((await pay(pagePath(bare), "5555555555554444")).status).toBe(303);
    const paid = await waitFor(async () => {
      const intent = await intentOf(bare);
      return intent.status === "succeeded" ? intent : undefined;
    }, 15_000, "the session's payment");
    expect((await get<{ customer: string | null }>(`/v1/checkout/sessions/${bare.id}`)).body.customer).toBeNull();
    // The card it was paid with is attached afterwards, to a customer made then.
    const later = (await post<{ id: string }>("/v1/customers", { email: "later@shop.example" })).body.id;
    const attached = await post<{ id: string; customer: string; card: { last4: string } }>(`/v1/payment_methods/${String(paid.payment_method)}/attach`, { customer: later });
    expect(attached.status, JSON.stringify(attached.body)).toBe(200);
    expect(attached.body).toMatchObject({ id: paid.payment_method, customer: later, card: { last4: "4444" } });
  });

  it("the list takes created[gt|gte|lt|lte]", async () => {
    const s = await session();
    const ids = async (q: string) => (await get<ListJson<SessionJson>>(`/v1/checkout/sessions?limit=100&${q}`)).body.data.map((x) => x.id);
    expect(await ids(`created[gte]=${s.created}&created[lte]=${s.created}`)).toContain(s.id);
    expect(await ids(`created[gt]=${s.created}`)).not.toContain(s.id);
    expect(await ids(`created[lt]=${s.created}`)).not.toContain(s.id);
    expect(await ids(`created=${s.created}`)).toContain(s.id);
  });
});
