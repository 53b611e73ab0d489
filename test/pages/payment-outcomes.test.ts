// What the shopper's pages show after a card is sent, whatever the outcome: every attempt is answered
// with a 303 to a GET page (redirect-after-POST, so Back and reload never offer to send the card
// again); a payment being confirmed (an unknown outcome, settled by reconciliation) shows as such,
// with no form, and leads on to success_url once it went through; a refusal that is not about the
// card (the decline velocity rule) is told in its own words.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { IntentRecord } from "../../src/core/types";
import { RECHECK_SECONDS } from "../../src/pages/checkout";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { get, post, waitFor, type ListJson, type PaymentIntentJson, type TransactionJson } from "../helpers";

const SUCCESS = "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}";
const CANCEL = "https://shop.example/cart";

interface Session {
  id: string;
  path: string;
  intent: string;
}

async function newSession(): Promise<Session> {
  const res = await post<{ id: string; url: string; payment_intent: string }>("/v1/checkout/sessions", {
    mode: "payment",
    line_items: [{ price_data: { currency: "usd", unit_amount: 2500, product_data: { name: "Kettle" } }, quantity: 1 }],
    success_url: SUCCESS,
    cancel_url: CANCEL,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { id: res.body.id, path: new URL(res.body.url).pathname, intent: res.body.payment_intent };
}

function submit(path: string, fields: Record<string, string>): Promise<Response> {
  const body = new URLSearchParams({ card_number: "4242 4242 4242 4242", expiry: "12 / 34", cvc: "123", ...fields });
  return exports.default.fetch(new Request(`http://gateway.test${path}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body, redirect: "manual" }));
}

const open = (path: string) => exports.default.fetch(new Request(`http://gateway.test${path}`, { redirect: "manual" }));
const authorizations = async (id: string) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`)).body.data.filter((t) => t.type === "authorize");
const sessionStatus = async (id: string) => (await get<{ status: string }>(`/v1/checkout/sessions/${id}`)).body.status;

/** The page of a payment being confirmed: its words, no form and no Cancel, and a way on (its script's look, and a link) to `next`. */
function expectProcessingPage(html: string, next: string): void {
  expect(html).toContain("<h1>Payment processing</h1>");
  expect(html).toMatch(/role="status"[^>]*>Your payment is being confirmed[^<]*no need to pay again/);
  expect(html).not.toContain("<form");
  expect(html).not.toContain(`href="${CANCEL}"`);
  // It looks again at its own address (src/pages/checkout.ts RECHECK_WINDOW_SECONDS bounds the looks).
  expect(html).not.toContain('http-equiv="refresh"');
  expect(html).toContain(`var url=${JSON.stringify(next)},every=${RECHECK_SECONDS * 1000},`);
  expect(html).toContain(`<a class="cancel" href="${next}">Check again</a>`);
}

/** Makes the intent `failed` in its Durable Object (no sandbox card ends an intent that way today; the pages must still say so). */
async function markFailed(id: string): Promise<void> {
  await runInDurableObject(env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id)), async (instance, state) => {
    const record = await state.storage.get<IntentRecord>("intent");
    if (!record) throw new Error(`no intent ${id}`);
    await state.storage.put("intent", { ...record, status: "failed" });
    // The object reads its record again from storage.
    Reflect.set(instance, "intent", undefined);
  });
}

describe("a checkout payment being confirmed (4000 0000 0000 7007: the provider times out, reconciliation later learns it succeeded)", () => {
  it("the POST redirects to the one address of the page of the payment being confirmed (/return: no form, no Cancel), which reloads itself in place, takes no second card, and leads on to success_url once the session completes", async () => {
    const s = await newSession();
    const res = await submit(s.path, { card_number: "4000 0000 0000 7007" });
    expect(res.status).toBe(303);
    // Straight to /return: its reloads are to its own address, so the first look adds no history entry.
    expect(res.headers.get("location")).toBe(`${s.path}/return`);
    const page = await open(`${s.path}/return`);
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    expectProcessingPage(await page.text(), `${s.path}/return`);
    // The session's page opened meanwhile (another tab, a bookmark) leads to the same address.
    const session = await open(s.path);
    expect(session.status).toBe(303);
    expect(session.headers.get("location")).toBe(`${s.path}/return`);
    expect((await open(`${s.path}?check=stop`)).headers.get("location")).toBe(`${s.path}/return?check=stop`);
    // A form posted meanwhile (another tab, or Back) charges nothing and answers with the same page.
    const again = await submit(s.path, { card_number: "4242424242424242" });
    expect(again.status).toBe(303);
    expect(again.headers.get("location")).toBe(`${s.path}/return`);
    expect((await authorizations(s.intent)).map((t) => t.status)).toEqual(["pending"]);
    // Reconciliation settles the payment and the session completes: the page's way on leads to success_url.
    await waitFor(async () => (await sessionStatus(s.id)) === "complete", 30_000, "the session completed after reconciliation");
    const onward = await (await open(`${s.path}/return`)).text();
    expect(onward).toContain(`<meta http-equiv="refresh" content="0;url=https://shop.example/thanks?session=${s.id}">`);
    const fresh = await (await open(s.path)).text();
    expect(fresh).toContain("Payment complete");
    expect(fresh).not.toContain("<form");
    expect((await authorizations(s.intent)).map((t) => t.status)).toEqual(["succeeded"]);
  });
});

describe("redirect-after-POST for every outcome of a card POST", () => {
  it("/pay without a return_url: a payment answers with a 303 to the page's GET, which says it is paid (not the POST's own 200 page)", async () => {
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 990, currency: "usd", description: "Gift card" })).body;
    const page = new URL(hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret));
    const res = await submit(page.pathname, { client_secret: pi.client_secret });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${page.pathname}${page.search}`);
    const html = await (await open(`${page.pathname}${page.search}`)).text();
    expect(html).toContain("<h1>Payment complete</h1>");
    expect(html).not.toContain("<form");
    // A card posted to a page already paid (a stale tab) is answered the same way, and charges nothing.
    const late = await submit(page.pathname, { client_secret: pi.client_secret, card_number: "5555555555554444" });
    expect(late.status).toBe(303);
    expect(late.headers.get("location")).toBe(`${page.pathname}${page.search}`);
    expect(await authorizations(pi.id)).toHaveLength(1);
  });

  it("/pay without a return_url: a payment being confirmed answers with a 303 to the page's GET, which says so and looks again", async () => {
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 990, currency: "usd" })).body;
    const page = new URL(hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret));
    const res = await submit(page.pathname, { client_secret: pi.client_secret, card_number: "4000000000007007" });
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    expect(location).toBe(`${page.pathname}${page.search}`);
    expectProcessingPage(await (await open(location)).text(), location);
  });

  it("a checkout payment that failed for good answers with a 303 to the session's page, which says so with no form", async () => {
    const s = await newSession();
    await markFailed(s.intent);
    const res = await submit(s.path, { card_number: "4242424242424242" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(s.path);
    const html = await (await open(s.path)).text();
    expect(html).toContain("<h1>Payment not completed</h1>");
    expect(html).toContain("This payment could not be completed.");
    expect(html).not.toContain("<form");
    expect(await authorizations(s.intent)).toHaveLength(0);
  });
});

describe("the decline velocity rule on the pages", () => {
  it("after MAX_PAYMENT_ATTEMPTS declines, a good card is refused with words of its own (too many attempts), not a decline's 'try another card'", async () => {
    const s = await newSession();
    for (let i = 0; i < 10; i++) expect((await submit(s.path, { card_number: "4000000000000002" })).headers.get("location")).toBe(`${s.path}?error=card_declined`);
    const res = await submit(s.path, { card_number: "4242424242424242" });
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    expect(location).toBe(`${s.path}?error=card_decline_rate_limit_exceeded`);
    const html = await (await open(location)).text();
    expect(html).toMatch(/<div id="form-error" role="alert" class="alert" tabindex="-1" autofocus>Too many attempts with this payment; try again later or contact the merchant\.<\/div>/);
    expect(html).not.toContain("Try another card");
    // Not the card's fault: no field is marked.
    expect(html).not.toContain('aria-invalid="true"');
    expect((await authorizations(s.intent)).filter((t) => t.status === "succeeded")).toHaveLength(0);
  });
});

describe("every provider paused by its circuit breaker (503 connectors_unavailable) on the pages", () => {
  // The page's POST redirects here with ?error=connectors_unavailable (its confirm refused before any
  // attempt); the breaker's own opening is tested in test/connectors/failover.test.ts.
  it("says the provider is not answering and to try again later, not 'try another card', and marks no field", async () => {
    const s = await newSession();
    const html = await (await open(`${s.path}?error=connectors_unavailable`)).text();
    expect(html).toMatch(/role="alert"[^>]*>Payments cannot be taken just now: the payment provider is not answering\. Nothing was charged\. Please try again in a few minutes\.<\/div>/);
    expect(html).not.toContain("Try another card");
    expect(html).not.toContain('aria-invalid="true"');
    // The same words on the bare payment page.
    const pi = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1500, currency: "usd" });
    const page = new URL(hostedPaymentPageUrl("http://x", pi.body.id, pi.body.client_secret ?? ""));
    const bare = await (await open(`${page.pathname}${page.search}&error=connectors_unavailable`)).text();
    expect(bare).toContain("Payments cannot be taken just now: the payment provider is not answering.");
    expect(bare).not.toContain("Try another card");
  });
});

describe("a double submit of one rendering of the form (a double click, Enter pressed twice)", () => {
  const attemptOf = async (path: string): Promise<string> => {
    const html = await (await open(path)).text();
    const id = /<input type="hidden" name="attempt" value="([A-Za-z0-9_-]+)">/.exec(html)?.[1];
    expect(id, "the form carries a fresh attempt id").toBeDefined();
    return id ?? "";
  };
  const declines = async (id: string) => (await authorizations(id)).filter((t) => t.status === "failed");

  it("records one decline, not two: the second POST gets the first one's outcome; each rendering has its own id", async () => {
    const s = await newSession();
    const attempt = await attemptOf(s.path);
    expect(await attemptOf(s.path)).not.toBe(attempt);
    const [a, b] = await Promise.all([submit(s.path, { card_number: "4000000000000002", attempt }), submit(s.path, { card_number: "4000000000000002", attempt })]);
    expect(a.headers.get("location")).toBe(`${s.path}?error=card_declined`);
    expect(b.headers.get("location")).toBe(`${s.path}?error=card_declined`);
    expect(await declines(s.intent)).toHaveLength(1);
    // And sent again later from the same rendering (a reload of the POST): still the one decline.
    await submit(s.path, { card_number: "4000000000000002", attempt });
    expect(await declines(s.intent)).toHaveLength(1);
    // The next rendering is a new attempt.
    await submit(s.path, { card_number: "4000000000000002", attempt: await attemptOf(s.path) });
    expect(await declines(s.intent)).toHaveLength(2);
  });

  it("another card sent from an old rendering (Back, then a new card) is a fresh attempt, and pays", async () => {
    const pi = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1800, currency: "usd" });
    const page = new URL(hostedPaymentPageUrl("http://x", pi.body.id, pi.body.client_secret ?? ""));
    const path = `${page.pathname}${page.search}`;
    const attempt = await attemptOf(path);
    const declined = await submit(page.pathname, { client_secret: pi.body.client_secret ?? "", card_number: "4000000000000002", attempt });
    expect(declined.headers.get("location")).toContain("error=card_declined");
    const paidWith = await submit(page.pathname, { client_secret: pi.body.client_secret ?? "", card_number: "4242424242424242", attempt });
    expect(paidWith.status).toBe(303);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.body.id}`)).body.status).toBe("succeeded");
    expect(await declines(pi.body.id)).toHaveLength(1);
  });
});

describe("Back to a decline's page once a later card went to 3D Secure", () => {
  it("shows the challenge waiting (with its link), not the older decline; a card the form refuses meanwhile is said with the challenge still offered", async () => {
    const s = await newSession();
    const declined = await submit(s.path, { card_number: "4000000000000002" });
    const stale = declined.headers.get("location") ?? "";
    expect(stale).toBe(`${s.path}?error=card_declined`);
    const challenged = await submit(s.path, { card_number: "4000002760003184" });
    expect(challenged.headers.get("location")).toContain("/sandbox/3ds/");
    // Back: the decline's URL again.
    const html = await (await open(stale)).text();
    expect(html).not.toContain("Your card was declined");
    expect(html).not.toContain('aria-invalid="true"');
    expect(html).toMatch(/This payment is waiting for you to confirm it with your bank\. <a href="[^"]+">Continue with your bank<\/a>/);
    // A card number the form refuses, the challenge still waiting: both said.
    const refused = await (await open(`${s.path}?error=invalid_number`)).text();
    expect(refused).toContain("Enter the card number (12 to 19 digits).");
    expect(refused).toContain("Continue with your bank");
    // The same on the bare payment page.
    const pi = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1500, currency: "usd" });
    const page = new URL(hostedPaymentPageUrl("http://x", pi.body.id, pi.body.client_secret ?? ""));
    const secret = pi.body.client_secret ?? "";
    await submit(page.pathname, { client_secret: secret, card_number: "4000000000000002" });
    await submit(page.pathname, { client_secret: secret, card_number: "4000002760003184" });
    const bare = await (await open(`${page.pathname}${page.search}&error=card_declined`)).text();
    expect(bare).not.toContain("Your card was declined");
    expect(bare).toContain("Continue with your bank");
  });
});
