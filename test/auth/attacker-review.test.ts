// An attacker's review, one test per attack the paths and roles tests (tenancy, access matrix,
// list-filter-ids) do not already make: merchant B (or A's own live key) naming merchant A's test
// objects in request *bodies*, the hosted pages fed with markup by a merchant, framing and tampered
// page POSTs, more spellings of internal webhook addresses, and a PSP webhook signed by another
// merchant's own account. Each answers a clear 4xx in its surface's format and changes nothing.
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../../src/webhooks/url-guard";
import { addConnector, call, expectError, get, newMerchant, ok, post, seedMerchant, type CallOptions, type PaymentIntentJson, type RefundJson, type TransactionJson, type ListJson } from "../helpers";
import { open, submit } from "../pages/card-form";

type J = Record<string, unknown>;

/** A marker that must never come back in an answer to a stranger, and markup that must never reach a page raw. */
const SECRET_NAME = "Alice Attacker-Review";
const MARKUP = `<script>alert(1)</script>"><img src=x onerror=alert(2)>'`;

interface World {
  a: CallOptions;
  b: CallOptions;
  aLive: CallOptions;
  customer: string;
  card: string;
  product: string;
  price: string;
  subscription: string;
  invoice: string;
  setupIntent: string;
  paid: string;
  charge: string;
  refund: string;
  bCustomer: string;
  bCard: string;
  bIntent: string;
  bSetupIntent: string;
  bSubscription: string;
}

async function world(label: string): Promise<World> {
  const a = await newMerchant(`${label}-a`);
  const b = await newMerchant(`${label}-b`);
  const liveKey = `sk_live_${a.key.slice("sk_test_".length)}`;
  await seedMerchant(a.id, `${label}-a`, `key_live_${a.key.slice("sk_test_".length)}`, liveKey, true);
  const customer = (await ok(post<J>("/v1/customers", { name: SECRET_NAME, email: "alice@example.com" }, a.opts))).id as string;
  const card = (await ok(post<J>(`/v1/customers/${customer}/payment_methods`, { payment_method: "pm_card_visa", set_default: true }, a.opts))).id as string;
  const product = (await ok(post<J>("/v1/products", { name: "Secret plan" }, a.opts))).id as string;
  const price = (await ok(post<J>("/v1/prices", { product, unit_amount: 1000, currency: "usd", recurring: { interval: "month" } }, a.opts))).id as string;
  const sub = await ok(post<J>("/v1/subscriptions", { customer, items: [{ price }], default_payment_method: card }, a.opts));
  const setupIntent = (await ok(post<J>("/v1/setup_intents", { customer }, a.opts))).id as string;
  const paid = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 5000, currency: "usd", customer, payment_method: card, confirm: true }, a.opts));
  const refund = await ok(post<RefundJson>("/v1/refunds", { payment_intent: paid.id, amount: 100 }, a.opts));
  const bCustomer = (await ok(post<J>("/v1/customers", { name: "Bob" }, b.opts))).id as string;
  const bCard = (await ok(post<J>(`/v1/customers/${bCustomer}/payment_methods`, { payment_method: "pm_card_visa", set_default: true }, b.opts))).id as string;
  const bPrice = (await ok(post<J>("/v1/prices", { unit_amount: 500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "B plan" } }, b.opts))).id as string;
  const bSubscription = (await ok(post<J>("/v1/subscriptions", { customer: bCustomer, items: [{ price: bPrice }], default_payment_method: bCard }, b.opts))).id as string;
  const bIntent = (await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 700, currency: "usd" }, b.opts))).id;
  const bSetupIntent = (await ok(post<J>("/v1/setup_intents", { customer: bCustomer }, b.opts))).id as string;
  return {
    a: a.opts,
    b: b.opts,
    aLive: { key: liveKey },
    customer,
    card,
    product,
    price,
    subscription: sub.id as string,
    invoice: sub.latest_invoice as string,
    setupIntent,
    paid: paid.id,
    charge: paid.latest_charge as string,
    refund: refund.id,
    bCustomer,
    bCard,
    bIntent,
    bSetupIntent,
    bSubscription,
  };
}

/** What merchant A's objects look like (to prove a stranger's requests changed nothing). */
async function snapshot(w: World): Promise<unknown[]> {
  return Promise.all(
    [
      `/v1/customers/${w.customer}`,
      `/v1/payment_methods/${w.card}`,
      `/v1/products/${w.product}`,
      `/v1/prices/${w.price}`,
      `/v1/subscriptions/${w.subscription}`,
      `/v1/invoices/${w.invoice}`,
      `/v1/setup_intents/${w.setupIntent}`,
      `/v1/payment_intents/${w.paid}`,
      `/v1/refunds/${w.refund}`,
      `/v1/refunds?payment_intent=${w.paid}`,
      `/v1/customers/${w.customer}/payment_methods`,
    ].map(async (path) => ok(get(path, w.a))),
  );
}

/** The requests a stranger (`as`) makes with A's ids in its parameters: bodies, list filters, cursors, expansions. */
function strangerRequests(w: World): [string, string, unknown][] {
  return [
    ["POST", "/v1/payment_intents", { amount: 100, currency: "usd", customer: w.customer }],
    ["POST", "/v1/payment_intents", { amount: 100, currency: "usd", payment_method: w.card, confirm: true }],
    ["POST", `/v1/payment_intents/${w.bIntent}`, { payment_method: w.card }],
    ["POST", `/v1/payment_intents/${w.bIntent}`, { customer: w.customer }],
    ["POST", `/v1/payment_intents/${w.bIntent}/confirm`, { payment_method: w.card }],
    ["POST", "/v1/refunds", { payment_intent: w.paid, amount: 100 }],
    ["POST", "/v1/refunds", { charge: w.charge, amount: 100 }],
    ["POST", "/v1/customers", { payment_method: w.card }],
    ["POST", `/v1/customers/${w.bCustomer}`, { invoice_settings: { default_payment_method: w.card } }],
    ["POST", `/v1/payment_methods/${w.card}/attach`, { customer: w.bCustomer }],
    ["POST", `/v1/payment_methods/${w.card}/detach`, {}],
    ["POST", `/v1/payment_methods/${w.bCard}/attach`, { customer: w.customer }],
    ["POST", "/v1/setup_intents", { customer: w.customer }],
    ["POST", "/v1/setup_intents", { payment_method: w.card }],
    ["POST", `/v1/setup_intents/${w.bSetupIntent}/confirm`, { payment_method: w.card }],
    ["POST", "/v1/prices", { product: w.product, unit_amount: 1, currency: "usd" }],
    ["POST", "/v1/subscriptions", { customer: w.customer, items: [{ price: w.price }] }],
    ["POST", "/v1/subscriptions", { customer: w.bCustomer, items: [{ price: w.price }], default_payment_method: w.bCard }],
    ["POST", "/v1/subscriptions", { customer: w.bCustomer, items: [{ price_data: { product: w.product, currency: "usd", unit_amount: 100, recurring: { interval: "month" } } }], default_payment_method: w.bCard }],
    ["POST", `/v1/subscriptions/${w.bSubscription}`, { default_payment_method: w.card }],
    ["POST", "/v1/invoices/create_preview", { customer: w.customer, subscription: w.subscription }],
    ["POST", "/v1/checkout/sessions", { mode: "payment", customer: w.customer, line_items: [{ price: w.price, quantity: 1 }], success_url: "https://shop.example/ok" }],
    ["POST", "/v1/checkout/sessions", { mode: "payment", line_items: [{ price_data: { product: w.product, currency: "usd", unit_amount: 100 }, quantity: 1 }], success_url: "https://shop.example/ok" }],
    ["GET", `/v1/payment_intents?customer=${w.customer}`, undefined],
    ["GET", `/v1/charges?payment_intent=${w.paid}`, undefined],
    ["GET", `/v1/refunds?charge=${w.charge}`, undefined],
    ["GET", `/v1/payment_methods?customer=${w.customer}`, undefined],
    ["GET", `/v1/subscriptions?price=${w.price}`, undefined],
    ["GET", `/v1/invoices?subscription=${w.subscription}`, undefined],
    ["GET", `/v1/invoice_payments?invoice=${w.invoice}`, undefined],
    ["GET", `/v1/setup_attempts?setup_intent=${w.setupIntent}`, undefined],
    ["GET", `/v1/prices?product=${w.product}`, undefined],
    ["GET", `/v1/customers?starting_after=${w.customer}`, undefined],
    ["GET", `/v1/payment_intents?ending_before=${w.paid}`, undefined],
    ["GET", `/v1/payment_intents/${w.paid}?expand[]=customer`, undefined],
    ["GET", `/v1/invoices/${w.invoice}?expand[]=payment_intent`, undefined],
  ];
}

describe("1. merchant A's ids in another credential's parameters", () => {
  for (const who of ["merchant B's secret key", "merchant A's own live key on its test objects"] as const) {
    it(`${who}: every body parameter, list filter, cursor and expansion naming A's objects is a 4xx resource_missing that shows nothing of them, and changes nothing`, async () => {
      const w = await world(who.startsWith("merchant B") ? "atk-ids-b" : "atk-ids-live");
      const as = who.startsWith("merchant B") ? w.b : w.aLive;
      const before = await snapshot(w);
      for (const [method, path, body] of strangerRequests(w)) {
        const res = await call(method, path, { ...as, ...(body === undefined ? {} : { body }) });
        const what = `${method} ${path} ${JSON.stringify(body)}: ${res.status} ${JSON.stringify(res.body)}`;
        expect([400, 404], what).toContain(res.status);
        const error = expectError(res, res.status);
        expect(error.code, what).toBe("resource_missing");
        expect(JSON.stringify(res.body), what).not.toContain(SECRET_NAME);
        expect(JSON.stringify(res.body), what).not.toContain("alice@example.com");
      }
      expect(await snapshot(w)).toEqual(before);
    });
  }
});

describe("3. hosted pages under attack", () => {
  it("a merchant's markup (its name, product and line item names, descriptions, metadata, customer name, cancel_url) is escaped on the checkout, /pay, 3DS and invoice pages", async () => {
    const m = await newMerchant("atk-xss");
    await ok(post("/v1/account", { name: `Shop ${MARKUP}` }, m.opts));
    const customer = (await ok(post<J>("/v1/customers", { name: MARKUP, email: "x@example.com", description: MARKUP }, m.opts))).id as string;
    const session = await ok(
      post<{ url: string }>(
        "/v1/checkout/sessions",
        {
          mode: "payment",
          line_items: [{ price_data: { currency: "usd", unit_amount: 1234, product_data: { name: MARKUP, description: MARKUP } }, quantity: 1 }],
          success_url: "https://shop.example/ok",
          cancel_url: `https://shop.example/cart?x="><script>alert(3)</script>`,
          client_reference_id: "ref-1",
          metadata: { k: MARKUP },
          payment_intent_data: { description: MARKUP },
        },
        m.opts,
      ),
    );
    const bare = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 999, currency: "usd", customer, description: MARKUP, metadata: { k: MARKUP } }, m.opts));
    const challenged = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 888, currency: "usd", description: MARKUP, payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/back" }, m.opts));
    const challenge = (challenged.next_action as { redirect_to_url: { url: string } } | null)?.redirect_to_url.url ?? "";
    expect(challenge).not.toBe("");
    const product = (await ok(post<J>("/v1/products", { name: MARKUP, description: MARKUP }, m.opts))).id as string;
    const price = (await ok(post<J>("/v1/prices", { product, unit_amount: 2000, currency: "usd", recurring: { interval: "month" } }, m.opts))).id as string;
    // A card that declines: the invoice stays open, and its page offers the payment.
    await ok(post(`/v1/customers/${customer}/payment_methods`, { payment_method: "pm_card_chargeDeclined", set_default: true }, m.opts));
    const sub = await post<{ latest_invoice: string }>("/v1/subscriptions", { customer, items: [{ price }], description: MARKUP, metadata: { k: MARKUP } }, m.opts);
    const invoice = await ok(get<{ hosted_invoice_url: string | null }>(`/v1/invoices/${sub.body.latest_invoice}`, m.opts));
    expect(invoice.hosted_invoice_url).toMatch(/\/invoice\//);
    for (const url of [session.url, `/pay/${bare.id}?client_secret=${encodeURIComponent(bare.client_secret ?? "")}`, challenge, invoice.hosted_invoice_url ?? ""]) {
      const res = await open(url);
      const html = await res.text();
      expect(res.status, url).toBe(200);
      expect(html, url).toContain("Shop &#60;script&#62;");
      expect(html, url).not.toContain("<script>alert");
      expect(html, url).not.toContain("<img src=x");
      expect(html, url).not.toMatch(/"><script/);
      // Not framed anywhere (clickjacking of the card form or the challenge's buttons).
      expect(res.headers.get("x-frame-options"), url).toBe("DENY");
      expect(res.headers.get("content-security-policy") ?? "", url).toContain("frame-ancestors 'none'");
      expect(res.headers.get("content-security-policy") ?? "", url).toContain("default-src 'none'");
    }
  });

  it("a checkout POST that adds amount and currency fields pays the session's own amount, in its own currency", async () => {
    const m = await newMerchant("atk-tamper");
    const session = await ok(
      post<{ id: string; url: string }>(
        "/v1/checkout/sessions",
        { mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 4321, product_data: { name: "Tea" } }, quantity: 1 }], success_url: "https://shop.example/ok" },
        m.opts,
      ),
    );
    const res = await submit(new URL(session.url).pathname, { amount: "1", currency: "jpy", amount_total: "1", unit_amount: "1", quantity: "0", "line_items[0][price_data][unit_amount]": "1" });
    expect(res.status).toBe(303);
    const done = await ok(get<{ status: string; amount_total: number; currency: string; payment_intent: string }>(`/v1/checkout/sessions/${session.id}`, m.opts));
    expect(done).toMatchObject({ status: "complete", amount_total: 4321, currency: "usd" });
    const intent = await ok(get<PaymentIntentJson>(`/v1/payment_intents/${done.payment_intent}`, m.opts));
    expect(intent).toMatchObject({ status: "succeeded", amount: 4321, amount_received: 4321, currency: "usd" });
  });

  it("another payment's client secret does not open or pay a payment's page: 404, nothing attempted", async () => {
    const a = await newMerchant("atk-page-a");
    const b = await newMerchant("atk-page-b");
    const victim = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 1500, currency: "usd" }, a.opts));
    const own = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 1500, currency: "usd" }, b.opts));
    const path = `/pay/${victim.id}?client_secret=${encodeURIComponent(own.client_secret ?? "")}`;
    expect((await open(path)).status).toBe(404);
    const paid = await submit(path, { client_secret: own.client_secret ?? "" });
    expect([303, 404]).toContain(paid.status);
    const after = await ok(get<PaymentIntentJson>(`/v1/payment_intents/${victim.id}`, a.opts));
    expect(after.status).toBe("requires_payment_method");
    expect((await ok(get<ListJson<TransactionJson>>(`/v1/payment_intents/${victim.id}/transactions`, a.opts))).data).toEqual([]);
  });
});

describe("4. webhook URLs: more spellings of internal addresses", () => {
  const refused = [
    "https://0x7f000001/hook", // whole-number hex loopback
    "https://0177.0.0.1/hook", // octal first part
    "https://0251.0376.0251.0376/latest/meta-data", // octal metadata address
    "https://0xa9fea9fe/latest/meta-data", // hex metadata address
    "https://2852039166/latest/meta-data", // decimal metadata address
    "https://169.254.169.254./latest/meta-data", // trailing dot
    "https://metadata.google.internal./computeMetadata/v1/",
    "https://0/hook", // 0.0.0.0
    "https://[0:0:0:0:0:ffff:7f00:1]/hook", // IPv4-mapped loopback, long form
    "https://[::ffff:169.254.169.254]/hook",
    "https://[::ffff:0.0.0.0]/hook",
    "https://[0::]/hook",
    "https://a@127.0.0.1/hook",
    "https://a:b@hooks.merchant.example/hook",
    "https://localhost.:443/hook",
    "https://LocalHost./hook",
    "https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/hook", // full-width letters: localhost
    "https://localhost%2e/hook", // an encoded trailing dot
    "https://0x7f.0x0.0x0.0x1/hook",
    "https://127.000.000.001/hook",
    "https://[::1%25lo]/hook",
  ];
  it("live mode, and test mode on a deployed gateway, refuse each", () => {
    for (const url of refused) {
      expect(webhookUrlProblem(url, true, false), url).not.toBeNull();
      expect(webhookUrlProblem(url, false, false), url).not.toBeNull();
    }
  });

  it("test mode on a local gateway allows http loopback, but not with credentials in it", () => {
    expect(webhookUrlProblem("http://127.0.0.1:4242/hook", false, true)).toBeNull();
    expect(webhookUrlProblem("http://a@127.0.0.1:4242/hook", false, true)).not.toBeNull();
    expect(webhookUrlProblem("http://a:b@localhost:4242/hook", false, true)).not.toBeNull();
  });
});

describe("5. a PSP webhook signed by another merchant's own Stripe account", () => {
  it("naming merchant A's payment, it is refused on seed 004's endpoint and on B's own /v1/psp_webhooks, and A's refund stays as it is", async () => {
    const cryptoProvider = Stripe.createSubtleCryptoProvider();
    const a = await newMerchant("atk-psp-a");
    const b = await newMerchant("atk-psp-b");
    await addConnector(a.opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_atk_a" }, webhook_secret: "whsec_atk_a_secret" });
    const bAccount = await addConnector(b.opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_atk_b" }, webhook_secret: "whsec_atk_b_secret" });
    const paid = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 3000, currency: "usd", payment_method: "pm_card_visa", confirm: true }, a.opts));
    const refund = await ok(post<RefundJson>("/v1/refunds", { payment_intent: paid.id, amount: 1000 }, a.opts));
    const rows = (await ok(get<ListJson<TransactionJson>>(`/v1/payment_intents/${paid.id}/transactions`, a.opts))).data;
    expect(rows[0]?.connector).toBe("stripe");
    const attempt = rows.find((t) => t.type === "refund");
    const payload = JSON.stringify({
      id: "evt_atk_refund_failed",
      object: "event",
      type: "refund.updated",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { id: attempt?.provider_reference, object: "refund", status: "failed", failure_reason: "expired_or_canceled_card", metadata: { gateway_intent: paid.id, gateway_attempt: attempt?.id } } },
    });
    const signedByB = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: "whsec_atk_b_secret", cryptoProvider });
    const seed004 = await call<{ error: unknown }>("POST", "/api/v1/payments/webhooks/stripe/", { key: null, body: payload, headers: { "stripe-signature": signedByB } });
    expect(seed004.status, JSON.stringify(seed004.body)).toBe(400);
    expect(typeof seed004.body.error).toBe("string");
    const v1 = await call<J>("POST", `/v1/psp_webhooks/${bAccount.id}`, { key: null, body: payload, headers: { "stripe-signature": signedByB } });
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ received: true, applied: 0 });
    expect((await ok(get<RefundJson>(`/v1/refunds/${refund.id}`, a.opts))).status).toBe("succeeded");
    expect((await ok(get<PaymentIntentJson>(`/v1/payment_intents/${paid.id}`, a.opts))).amount_refunded).toBe(1000);
  });
});
