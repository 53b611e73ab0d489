// Fixes to the shopper's pages after an outside audit: a stale 3D Secure challenge never approves
// another card; a payment given back (released or refunded) is never "paid"; unknown page paths are
// the HTML 404 page; an expired session without a cancel_url has no dead end; the attempt limit shows
// up front; a rate-limited page is an HTML page; and the pages' accessibility.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { bucketObject, type RateLimiterObject } from "../../src/auth/rate-limit";
import type { Env } from "../../src/env";
import { isPagePath, pageGuard } from "../../src/pages/guard";
import { RECHECK_SECONDS, RECHECK_WINDOW_SECONDS, STOP_CHECKING } from "../../src/pages/checkout";
import type { IntentRecord } from "../../src/core/types";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { createIntent, get, post, type ListJson, type PaymentIntentJson, type TransactionJson } from "../helpers";
import { submit as submitForm } from "./card-form";

// Each request from an address of its own: the suite's files share the per-IP bucket of requests
// without one ("unknown"), and this file's many page requests must not run into its limit.
let client = 0;
const clientIp = () => `198.51.100.${(client++ % 200) + 1}`;
const submit = (path: string, fields: Record<string, string>) => submitForm(path, fields, { "cf-connecting-ip": clientIp() });
const open = (location: string) => exports.default.fetch(new Request(new URL(location, "http://gateway.test"), { redirect: "manual", headers: { "cf-connecting-ip": clientIp() } }));

const SUCCESS = "https://shop.example/thanks";
const CANCEL = "https://shop.example/cart";

interface Session {
  id: string;
  path: string;
  intent: string;
}

async function newSession(extra: Record<string, unknown> = {}): Promise<Session> {
  const res = await post<{ id: string; url: string; payment_intent: string }>("/v1/checkout/sessions", {
    mode: "payment",
    line_items: [{ price_data: { currency: "usd", unit_amount: 1500, product_data: { name: "Tea" } }, quantity: 1 }],
    success_url: SUCCESS,
    cancel_url: CANCEL,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { id: res.body.id, path: new URL(res.body.url).pathname, intent: res.body.payment_intent };
}

const decode = (s: string) => s.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, "&");

/** The hidden fields of the challenge page's first form (what the browser posts back with the button). */
function challengeFields(html: string): Record<string, string> {
  const form = /<form method="post"[^>]*>([\s\S]*?)<\/form>/.exec(html)?.[1] ?? "";
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) if (m[1]) fields[m[1]] = decode(m[2] ?? "");
  return fields;
}

/** A challenge page's answer, as its form posts it (to the page's own address). */
function answer(url: string, fields: Record<string, string>, outcome: "approve" | "fail"): Promise<Response> {
  const body = new URLSearchParams({ ...fields, outcome });
  return exports.default.fetch(new Request(new URL(url, "http://gateway.test"), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": clientIp() }, body, redirect: "manual" }));
}

const intentOf = async (id: string) => (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`)).body;
const transactions = async (id: string) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`)).body.data.map((t) => `${t.type}:${t.status}`);

describe("a stale 3D Secure challenge (a second tab paid with another card) approves nothing", () => {
  it("Checkout Session: tab A's challenge (•••• 3184) is refused with a clear page once tab B's (•••• 3220) replaced it; tab B's still completes with 3220", async () => {
    const s = await newSession();
    // Tab A: 3184 asks for 3DS; its challenge page is shown.
    const a = await submit(s.path, { card_number: "4000 0027 6000 3184" });
    expect(a.status).toBe(303);
    const urlA = a.headers.get("location") ?? "";
    const pageA = await (await open(urlA)).text();
    expect(pageA).toContain("Visa •••• 3184");
    const fieldsA = challengeFields(pageA);
    // Tab B: same session, 3220, another challenge.
    const b = await submit(s.path, { card_number: "4000 0000 0000 3220" });
    const urlB = b.headers.get("location") ?? "";
    expect(urlB).not.toBe(urlA);
    const pageB = await (await open(urlB)).text();
    expect(pageB).toContain("Visa •••• 3220");
    // Back in tab A: "Complete authentication" is refused, in plain words; nothing charged or changed.
    const stale = await answer(urlA, fieldsA, "approve");
    expect(stale.status).toBe(409);
    expect(stale.headers.get("content-type")).toContain("text/html");
    const html = await stale.text();
    expect(html).toContain("This challenge was replaced");
    expect(html).toContain("Your answer was not used: nothing was charged or changed.");
    expect(html).toContain(`href="${s.path}"`);
    expect(await intentOf(s.intent)).toMatchObject({ status: "requires_action", amount_received: 0 });
    expect((await get<{ status: string }>(`/v1/checkout/sessions/${s.id}`)).body.status).toBe("open");
    // Reloading tab A's page says so too, rather than showing 3220's challenge under 3184's address.
    const reloaded = await open(urlA);
    expect(reloaded.status).toBe(409);
    expect(await reloaded.text()).toContain("This challenge was replaced");
    // Failing it is refused the same way (it would fail 3220's payment).
    expect((await answer(urlA, fieldsA, "fail")).status).toBe(409);
    expect((await intentOf(s.intent)).status).toBe("requires_action");
    // Tab B's own challenge completes, with the card it showed.
    const done = await answer(urlB, challengeFields(pageB), "approve");
    expect(done.status).toBe(303);
    expect(new URL(done.headers.get("location") ?? "").pathname).toBe(`${s.path}/return`);
    const paid = await intentOf(s.intent);
    expect(paid.status).toBe("succeeded");
    expect((await get<{ payment_method_details?: { card?: { last4?: string } } }>(`/v1/charges/${paid.latest_charge as string}`)).body.payment_method_details?.card?.last4).toBe("3220");
  });

  it("/pay: the same, and the form's attempt alone is enough (the address without it, as an old link)", async () => {
    const pi = (await createIntent({ amount: 1200 })).body;
    const page = new URL(hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret));
    const path = `${page.pathname}${page.search}`;
    const a = await submit(page.pathname, { client_secret: pi.client_secret, card_number: "4000002760003184" });
    const urlA = a.headers.get("location") ?? "";
    const fieldsA = challengeFields(await (await open(urlA)).text());
    expect(fieldsA.attempt).toMatch(/^txn_/);
    const b = await submit(page.pathname, { client_secret: pi.client_secret, card_number: "4000000000003220" });
    const urlB = b.headers.get("location") ?? "";
    const bare = `/sandbox/3ds/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`;
    const stale = await answer(bare, fieldsA, "approve");
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain(`href="${path.replace(/&/g, "&#38;")}"`);
    expect((await intentOf(pi.id)).status).toBe("requires_action");
    expect((await transactions(pi.id)).sort()).toEqual(["authorize:canceled", "authorize:requires_action"]);
    const done = await answer(urlB, challengeFields(await (await open(urlB)).text()), "approve");
    expect(done.status).toBe(303);
    expect((await intentOf(pi.id)).status).toBe("succeeded");
  });

  it("the /v1 next_action URL names its attempt and API clients following it unchanged still complete it (with or without the attempt in the body)", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    const url = new URL(pi.next_action?.redirect_to_url.url ?? "");
    expect(url.searchParams.get("attempt")).toMatch(/^txn_/);
    expect(url.searchParams.get("client_secret")).toBe(pi.client_secret);
    const res = await answer(url.toString(), { client_secret: pi.client_secret }, "approve");
    expect(res.status).toBe(303);
    expect((await intentOf(pi.id)).status).toBe("succeeded");
    // And a scripted answer to the bare address (no attempt anywhere) answers the pending challenge, as before.
    const other = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    const plain = await answer(`/sandbox/3ds/${other.id}?client_secret=${encodeURIComponent(other.client_secret)}`, { client_secret: other.client_secret }, "approve");
    expect(plain.status).toBe(303);
    expect((await intentOf(other.id)).status).toBe("succeeded");
    // An attempt that is not an attempt's id (tampered with) is refused, not taken as none: it answered the pending challenge.
    const third = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    for (const attempt of ["txn-bad", "x".repeat(65)]) {
      const tampered = await answer(`/sandbox/3ds/${third.id}?client_secret=${encodeURIComponent(third.client_secret)}`, { client_secret: third.client_secret, attempt }, "fail");
      expect(tampered.status, attempt).toBe(400);
    }
    expect((await intentOf(third.id)).status).toBe("requires_action");
  });
});

describe("a payment given back (authorization released, or refunded) is never shown as paid", () => {
  it("a session paid with manual capture, then canceled: its page says the authorization was released and nothing charged", async () => {
    const s = await newSession({ payment_intent_data: { capture_method: "manual" } });
    const paid = await submit(s.path, {});
    expect(paid.headers.get("location")).toBe(SUCCESS);
    // Only authorized: the hold, not "You have paid".
    const held = await (await open(s.path)).text();
    expect(held).toContain("<h1>Payment authorized</h1>");
    expect(held).toContain("Your card was authorized for $15.00.");
    expect(held).not.toContain("You have paid");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${s.intent}/cancel`, {})).body.status).toBe("canceled");
    for (const path of [s.path, `${s.path}/return`]) {
      const html = await (await open(path)).text();
      expect(html).toContain("<h1>Payment canceled</h1>");
      expect(html).toContain("the authorization on your card was released and nothing was charged");
      expect(html).not.toContain("You have paid");
      expect(html).not.toContain("Thank you");
      // Not sent on to success_url as if paid.
      expect(html).not.toContain('http-equiv="refresh"');
    }
  });

  it("a session authorized for $15.00 and captured for $10.00 says $10.00 was paid and the rest released, as /pay and the 3DS result page do", async () => {
    const s = await newSession({ payment_intent_data: { capture_method: "manual" } });
    await submit(s.path, {});
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${s.intent}/capture`, { amount_to_capture: 1000 })).body.amount_received).toBe(1000);
    const html = await (await open(s.path)).text();
    expect(html).toContain("You have paid $10.00 to");
    expect(html).toContain("The rest of the amount held on your card ($5.00) was released.");
    expect(html).not.toContain("$15.00 to");
    const pi = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true, capture_method: "manual" })).body;
    const done = await answer(pi.next_action?.url ?? "", { client_secret: pi.client_secret }, "approve");
    const result = done.headers.get("location") ?? "";
    expect(await (await open(result)).text()).toContain("Your card was authorized for");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 100 })).status).toBe(200);
    for (const path of [result, hostedPaymentPageUrl("", pi.id, pi.client_secret)]) {
      const page = await (await open(path)).text();
      expect(page, path).toContain("Your payment of $1.00 has been made.");
      expect(page, path).toContain("was released.");
    }
  });

  it("/pay of an intent without a description or items lists the total alone, not a second 'Payment' under the heading", async () => {
    const pi = (await createIntent({ amount: 1234 })).body;
    const html = await (await open(hostedPaymentPageUrl("", pi.id, pi.client_secret))).text();
    expect(html).toContain("<h1>Payment</h1>");
    expect(html).not.toContain(">Payment</th>");
    // "Total" is the row's header (a screen reader names the amount by it).
    expect(html).toContain('<tr class="total"><th scope="row">Total</th><td class="amt">$12.34</td></tr>');
  });

  it("a session refunded in full, or in part, says so", async () => {
    const s = await newSession();
    await submit(s.path, {});
    expect((await post(`/v1/refunds`, { payment_intent: s.intent, amount: 500 })).status).toBe(200);
    const partly = await (await open(s.path)).text();
    expect(partly).toContain("<h1>Payment partly refunded</h1>");
    expect(partly).toContain("You paid $15.00, and $5.00 of it was refunded.");
    expect((await post(`/v1/refunds`, { payment_intent: s.intent })).status).toBe(200);
    const full = await (await open(s.path)).text();
    expect(full).toContain("<h1>Payment refunded</h1>");
    expect(full).toContain("Your payment of $15.00 was refunded in full.");
    expect(full).not.toContain("You have paid");
  });

  it("/pay and the 3DS result page of a refunded payment say it was refunded, not made", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    const done = await answer(pi.next_action?.url ?? "", { client_secret: pi.client_secret }, "approve");
    const result = done.headers.get("location") ?? "";
    expect((await post(`/v1/refunds`, { payment_intent: pi.id })).status).toBe(200);
    for (const path of [hostedPaymentPageUrl("", pi.id, pi.client_secret), result, pi.next_action?.url ?? ""]) {
      const html = await (await open(path)).text();
      expect(html, path).toContain("Your payment of $20.00 was refunded in full.");
      expect(html, path).not.toContain("has been made");
    }
  });
});

describe("unknown page paths and methods answer HTML pages, never the API's JSON", () => {
  it("404 page for unknown paths under /checkout, /pay, /sandbox/3ds, /connectors/return and /sandbox/paypal; 405 with Allow for another method on a page", async () => {
    const s = await newSession();
    for (const path of ["/checkout/cs_x/foo", "/checkout/", "/checkout", `${s.path}/foo`, "/pay/", "/pay/pi_x/extra", "/sandbox/3ds/pi_x/extra", "/sandbox/3ds/", "/connectors/return", "/connectors/return/pi_x/y", "/connectors/foo", "/sandbox/paypal/foo"]) {
      const res = await open(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), path).toContain("text/html");
      expect(res.headers.get("content-security-policy"), path).toContain("default-src 'none'");
      expect(await res.text(), path).toContain("<h1>");
    }
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      for (const [path, allow] of [[s.path, "GET, HEAD, POST"], [`${s.path}/return`, "GET, HEAD"], ["/pay/pi_x", "GET, HEAD, POST"], ["/sandbox/3ds/pi_x", "GET, HEAD, POST"], ["/connectors/return/pi_x", "GET, HEAD, POST"], ["/sandbox/paypal/checkoutnow", "GET, HEAD, POST"]] as const) {
        const res = await exports.default.fetch(new Request(`http://gateway.test${path}`, { method, headers: { origin: "http://gateway.test", "cf-connecting-ip": clientIp() } }));
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get("allow")).toBe(allow);
        expect(res.headers.get("content-type")).toContain("text/html");
        await res.arrayBuffer();
      }
    }
    // The pages themselves are unchanged.
    expect((await open(s.path)).status).toBe(200);
  });

  it("a path is a page's when it is one of the pages' prefixes or under one; a path that only starts with the same letters is the API's (its JSON 404)", async () => {
    for (const path of ["/checkout", "/checkout/cs_x", "/pay/", "/sandbox/3ds/pi_x", "/connectors/return", "/invoice/in_x/pay"]) expect(isPagePath(path), path).toBe(true);
    for (const path of ["/payments", "/pay_x", "/checkouts", "/invoices/in_x", "/v1/checkout/sessions", "/api/v1/payments", "/"]) expect(isPagePath(path), path).toBe(false);
    const res = await exports.default.fetch(new Request("http://gateway.test/pay_x", { headers: { "cf-connecting-ip": clientIp() } }));
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = await res.text();
    expect(body).toContain("Unrecognized request URL");
  });
});

describe("an expired session", () => {
  it("without a cancel_url says plainly to go back to the merchant's site (no link, no 'Return to' a link that is not there); with one, keeps the link", async () => {
    const bare = (await post<{ id: string; url: string }>("/v1/checkout/sessions", {
      mode: "payment",
      line_items: [{ price_data: { currency: "usd", unit_amount: 700, product_data: { name: "Mug" } }, quantity: 1 }],
      success_url: SUCCESS,
    })).body;
    expect((await post(`/v1/checkout/sessions/${bare.id}/expire`, {})).status).toBe(200);
    const page = await open(new URL(bare.url).pathname);
    expect(page.status).toBe(410);
    const html = await page.text();
    expect(html).toContain("<h1>Checkout expired</h1>");
    expect(html).toContain("This checkout has expired, so it can no longer be paid. To buy, go back to Demo Merchant A&#39;s website and start the checkout again there.");
    expect(html).not.toContain("Return to");
    expect(html).not.toContain("<a ");
    const s = await newSession();
    expect((await post(`/v1/checkout/sessions/${s.id}/expire`, {})).status).toBe(200);
    const withCancel = await (await open(s.path)).text();
    expect(withCancel).toContain("Return to Demo Merchant A to start again.");
    expect(withCancel).toContain(`<a class="cancel" href="${CANCEL}">Back to Demo Merchant A</a>`);
  });
});

describe("the attempt limit (MAX_PAYMENT_ATTEMPTS declines) shows up front", () => {
  it("a session that can take no more attempts opens on the limit's words, with no form; so does /pay", async () => {
    const s = await newSession();
    for (let i = 0; i < 10; i++) expect((await submit(s.path, { card_number: "4000000000000002" })).headers.get("location")).toBe(`${s.path}?error=card_declined`);
    for (const path of [s.path, `${s.path}/return`]) {
      const html = await (await open(path)).text();
      expect(html, path).toContain('<div id="form-error" role="alert" class="alert" tabindex="-1" autofocus>Too many attempts with this payment; try again later or contact the merchant.</div>');
      expect(html, path).toMatch(/Cards can be tried again for this payment in about (59|60) minutes\. Nothing was charged\./);
      expect(html, path).not.toContain("<form");
      expect(html, path).toContain(`href="${CANCEL}"`);
      expect(html, path).toContain("<title>Too many attempts");
    }
    const pi = (await createIntent({ amount: 800 })).body;
    const pay = hostedPaymentPageUrl("", pi.id, pi.client_secret);
    for (let i = 0; i < 10; i++) await submit(new URL(pay, "http://x").pathname, { client_secret: pi.client_secret, card_number: "4000000000000002" });
    const html = await (await open(pay)).text();
    expect(html).toContain("Too many attempts with this payment");
    expect(html).not.toContain("<form");
  });
});

/** Freezes the clock of a rate-limit bucket, so that its counts are exact whatever the machine's speed. */
async function frozenClock(key: string): Promise<void> {
  const now = Date.UTC(2030, 0, 1);
  const object = bucketObject(env, key);
  await runInDurableObject(object, (instance) => {
    (instance.constructor as typeof RateLimiterObject).clocks.set(object.id.toString(), () => now);
  });
}

describe("a rate-limited shopper's page", () => {
  it("pageGuard answers the IP's 429 as an HTML page (wait and try again) with Retry-After and the pages' security headers", async () => {
    const ip = "203.0.113.151";
    await frozenClock(`ip:${ip}`);
    const app = new Hono<{ Bindings: Env }>();
    app.use("*", pageGuard);
    app.get("*", (c) => c.text("the page"));
    const results: Response[] = [];
    // The suite's per-IP bucket: burst 40.
    for (let i = 0; i < 41; i++) results.push(await app.request("http://gateway.test/checkout/cs_x", { headers: { "cf-connecting-ip": ip } }, env));
    expect(results.slice(0, 40).every((r) => r.status === 200)).toBe(true);
    const limited = results[40];
    expect(limited?.status).toBe(429);
    expect(limited?.headers.get("retry-after")).toBe("1");
    expect(limited?.headers.get("content-type")).toContain("text/html");
    expect(limited?.headers.get("cache-control")).toBe("no-store");
    expect(limited?.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(limited?.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = (await limited?.text()) ?? "";
    expect(html).toContain("<title>Too many requests</title>");
    expect(html).toContain("<main>");
    expect(html).toContain("Wait a moment and try again");
    // Another client is not affected.
    expect((await app.request("http://gateway.test/pay/pi_x", { headers: { "cf-connecting-ip": "203.0.113.152" } }, env)).status).toBe(200);
  });

  it("the gateway's /checkout, /pay and /sandbox pages answer the IP's 429 as that HTML page", async () => {
    for (const [n, path] of ["/checkout/cs_x", "/pay/pi_x?client_secret=s", "/sandbox/3ds/pi_x?client_secret=s"].entries()) {
      const ip = `203.0.113.${160 + n}`;
      await frozenClock(`ip:${ip}`);
      let last: Response | undefined;
      for (let i = 0; i < 41; i++) {
        last = await exports.default.fetch(new Request(`http://gateway.test${path}`, { headers: { "cf-connecting-ip": ip } }));
        if (i < 40) await last.arrayBuffer();
      }
      expect(last?.status, path).toBe(429);
      expect(last?.headers.get("retry-after"), path).toBe("1");
      expect(last?.headers.get("content-type"), path).toContain("text/html");
      expect(last?.headers.get("content-security-policy"), path).toContain("default-src 'none'");
    }
  });
});

/** WCAG's contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (bl ?? 0);
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
}

describe("accessibility of the shopper's pages", () => {
  it("the card inputs' borders have at least 3:1 contrast against their background, in light and dark mode (WCAG 1.4.11)", async () => {
    const html = await (await open((await newSession()).path)).text();
    const light = /input\{width:100%;[^}]*border:1px solid (#[0-9a-f]{6})/.exec(html)?.[1] ?? "";
    expect(contrast(light, "#ffffff")).toBeGreaterThanOrEqual(3);
    const dark = /input\{background:(#[0-9a-f]{6});color:#[0-9a-f]{6};border-color:(#[0-9a-f]{6})\}/.exec(html);
    expect(contrast(dark?.[2] ?? "", dark?.[1] ?? "")).toBeGreaterThanOrEqual(3);
    expect(contrast(dark?.[2] ?? "", "#1b1c20")).toBeGreaterThanOrEqual(3);
    // The placeholders are text (WCAG 1.4.3): Chromium's default grey (#757575) passes on white
    // (4.6:1) but not on the dark input (3.3:1), so dark mode sets its own.
    expect(contrast("#757575", "#ffffff")).toBeGreaterThanOrEqual(4.5);
    const placeholder = /input::placeholder\{color:(#[0-9a-f]{6})\}/.exec(html)?.[1] ?? "";
    expect(contrast(placeholder, dark?.[1] ?? "")).toBeGreaterThanOrEqual(4.5);
  });

  it("buttons and links show a focus ring of the page's own (not the browser's default), at least 3:1 against the page in light and dark mode (WCAG 2.4.7, 1.4.11)", async () => {
    const html = await (await open((await newSession()).path)).text();
    const light = /button:focus-visible,a:focus-visible\{outline:2px solid (#[0-9a-f]{6});outline-offset:2px\}/.exec(html)?.[1] ?? "";
    expect(contrast(light, "#ffffff")).toBeGreaterThanOrEqual(3);
    expect(contrast(light, "#f6f7f9")).toBeGreaterThanOrEqual(3);
    const dark = /input:focus,button:focus-visible,a:focus-visible\{outline-color:(#[0-9a-f]{6})\}\}/.exec(html)?.[1] ?? "";
    expect(contrast(dark, "#1b1c20")).toBeGreaterThanOrEqual(3);
    expect(contrast(dark, "#111214")).toBeGreaterThanOrEqual(3);
  });

  it("the page of a payment being confirmed looks again at its own address (its script, never a meta refresh: WCAG 2.2.1) for a bounded time from the attempt, then only on 'Check again'", async () => {
    const s = await newSession();
    await submit(s.path, { card_number: "4000 0000 0000 7007" });
    const res = await open(`${s.path}/return`);
    const first = await res.text();
    // No reload on a timer (a time limit its reader cannot adjust, axe's meta-refresh): a script looks
    // in the background at the page's own address, allowed by its nonce alone, fetching only from here.
    expect(first).not.toContain('http-equiv="refresh"');
    const nonce = /<script nonce="([A-Za-z0-9]+)">/.exec(first)?.[1] ?? "";
    expect(nonce).not.toBe("");
    expect(res.headers.get("content-security-policy")).toContain(`script-src 'nonce-${nonce}'; connect-src 'self';`);
    expect(first).toContain(`var url=${JSON.stringify(`${s.path}/return`)},every=${RECHECK_SECONDS * 1000},`);
    // The message is true without script too (the link is the way on); the script unhides what it adds.
    expect(first).toContain(`<p role="status" id="payment-status">Your payment is being confirmed with your bank; there is no need to pay again. Use Check again to see where it stands.</p>`);
    expect(first).toContain(`<p id="auto-check" class="muted" hidden>This page also checks by itself every ${RECHECK_SECONDS} seconds for up to 5 minutes`);
    expect(first).not.toContain("check=1");
    // The way to stop it, and Check again, right after the heading, before the message.
    const stop = `<a class="cancel" href="${s.path}/return?${STOP_CHECKING}">Stop checking by itself</a>`;
    expect(first).toContain(`<h1>Payment processing</h1>${stop}<a class="cancel" href="${s.path}/return">Check again</a><p role="status"`);
    // An old bookmarked count means nothing now.
    expect(await (await open(`${s.path}/return?check=60`)).text()).toContain(`var url=${JSON.stringify(`${s.path}/return`)}`);
    const stopped = await (await open(`${s.path}/return?${STOP_CHECKING}`)).text();
    expect(stopped).toContain("<h1>Payment processing</h1>");
    expect(stopped).not.toContain("<script");
    expect(stopped).not.toContain("Stop checking by itself");
    expect(stopped).toContain("stopped checking by itself");
    expect(stopped).toContain(`<a class="cancel" href="${s.path}/return">Check again</a>`);
    // The shopper's Check again looks once more, and the page goes on looking while the window lasts.
    expect(await (await open(`${s.path}/return`)).text()).toContain("<script nonce=");
    // Once the attempt is older than the window, the page stops by itself, on every page of the session.
    await backdateAuthorization(s.intent, RECHECK_WINDOW_SECONDS * 1000);
    const late = await (await open(`${s.path}/return`)).text();
    expect(late).toContain("<h1>Payment processing</h1>");
    expect(late).not.toContain("<script");
    expect(late).toContain("stopped checking by itself");
    // The session's own page leads there: the processing page has one address.
    expect((await open(s.path)).headers.get("location")).toBe(`${s.path}/return`);
    // /pay too; its script stops when the window ends, whatever the shopper's clock says (the time left, not a date).
    const pi = (await createIntent({ amount: 900 })).body;
    const pay = hostedPaymentPageUrl("", pi.id, pi.client_secret);
    await submit(new URL(pay, "http://x").pathname, { client_secret: pi.client_secret, card_number: "4000000000007007" });
    expect(await (await open(pay)).text()).toContain(`var url=${JSON.stringify(pay)}`);
    expect(await (await open(`${pay}&${STOP_CHECKING}`)).text()).not.toContain("<script");
    await backdateAuthorization(pi.id, RECHECK_WINDOW_SECONDS * 1000 - 120_000);
    const left = Number(/until=Date\.now\(\)\+(\d+)/.exec(await (await open(pay)).text())?.[1]);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(120_000);
    await backdateAuthorization(pi.id, 120_000);
    expect(await (await open(pay)).text()).not.toContain("<script");
  });

  it("a paid session's return page sends the shopper on to success_url only from the address that leads there; a stopped page or a failed challenge's return (older history entries a Back lands on) says paid and stays", async () => {
    const s = await newSession();
    // A failed 3DS challenge returns to /return?...&redirect_status=failed (the form); another card then pays.
    const challenge = (await submit(s.path, { card_number: "4000 0027 6000 3184" })).headers.get("location") ?? "";
    const fields = challengeFields(await (await open(challenge)).text());
    const failed = await exports.default.fetch(
      new Request(new URL(challenge, "http://gateway.test").toString(), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ ...fields, outcome: "fail" }), redirect: "manual" }),
    );
    const failedReturn = new URL(failed.headers.get("location") ?? "", "http://gateway.test");
    expect(failedReturn.searchParams.get("redirect_status")).toBe("failed");
    expect((await submit(s.path, { card_number: "4242 4242 4242 4242" })).headers.get("location")).toContain(SUCCESS);
    for (const path of [`${failedReturn.pathname}${failedReturn.search}`, `${s.path}/return?${STOP_CHECKING}`]) {
      const html = await (await open(path)).text();
      expect(html, path).toContain("<h1>Payment complete</h1>");
      expect(html, path).not.toContain('http-equiv="refresh"');
      expect(html, path).toContain(`href="${SUCCESS}`);
    }
    // The address that leads there still does.
    expect(await (await open(`${s.path}/return`)).text()).toContain(`<meta http-equiv="refresh" content="0;url=${SUCCESS}`);
  });

  it("the form page's <title> says so when an error is shown", async () => {
    const s = await newSession();
    expect(await (await open(s.path)).text()).toContain("<title>Pay Demo Merchant A</title>");
    const declined = await submit(s.path, { card_number: "4000000000000002" });
    const html = await (await open(declined.headers.get("location") ?? "")).text();
    expect(html).toMatch(/<title>Error: Your card was declined\.[^<]* – Pay Demo Merchant A<\/title>/);
    const pi = (await createIntent({ amount: 900 })).body;
    expect(await (await open(`${hostedPaymentPageUrl("", pi.id, pi.client_secret)}&error=invalid_cvc`)).text()).toContain("<title>Error: Enter the 3 or 4 digit CVC. – Pay Demo Merchant A</title>");
  });

  it("the 3DS, PayPal and result pages have a <main> landmark, an initial-scale=1 viewport and the checkout's styles", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    const paypal = (await createIntent({ amount: 2599, payment_method_data: { type: "paypal" }, confirm: true })).body;
    const challenge = pi.next_action?.url ?? "";
    const done = await answer(challenge, { client_secret: pi.client_secret }, "approve");
    const approval = new URL(paypal.next_action?.redirect_to_url.url ?? "");
    for (const path of [challenge, done.headers.get("location") ?? "", `${approval.pathname}${approval.search}`, `/connectors/return/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`]) {
      const html = await (await open(path)).text();
      expect(html, path).toContain('<meta name="viewport" content="width=device-width,initial-scale=1">');
      expect(html, path).toMatch(/<body><main>[\s\S]*<\/main><\/body>/);
      expect(html, path).toContain("main{max-width:28rem");
    }
  });
});

describe("the Durable Object decides a challenge's answer against its attempt, one at a time", () => {
  it("completeAuthentication with an attempt that is not the pending one is refused (payment_intent_authentication_replaced) and changes nothing", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(pi.id));
    const stale = await stub.completeAuthentication(pi.id, pi.client_secret, true, "http://gateway.test", "txn_not_this_one");
    expect(stale.error?.code).toBe("payment_intent_authentication_replaced");
    expect(await intentOf(pi.id)).toMatchObject({ status: "requires_action", amount_received: 0 });
    const attempt = new URL(pi.next_action?.url ?? "").searchParams.get("attempt");
    const ok = await stub.completeAuthentication(pi.id, pi.client_secret, true, "http://gateway.test", attempt);
    expect(ok.error).toBeNull();
    expect(ok.intent?.status).toBe("succeeded");
  });
});

/** Moves the start of the intent's authorization `ms` into the past, in its Durable Object (as if the payment had been in flight that long). */
async function backdateAuthorization(id: string, ms: number): Promise<void> {
  await runInDurableObject(env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id)), async (instance, state) => {
    const record = await state.storage.get<IntentRecord>("intent");
    if (!record) throw new Error(`no intent ${id}`);
    const attempts = record.attempts.map((a) => (a.type === "authorize" ? { ...a, created: a.created - ms } : a));
    await state.storage.put("intent", { ...record, attempts });
    // The object reads its record again from storage.
    Reflect.set(instance, "intent", undefined);
  });
}

describe("a decline the page did not send is news, not the shopper's error", () => {
  it("a payment the merchant confirmed through the API with a declining card opens /pay on a notice: no field marked invalid, no alert, no 'Error:' title; the page's own decline (with ?error) is still an alert, which takes the focus", async () => {
    const declined = (await createIntent({ amount: 2300, payment_method: "pm_card_chargeDeclined", confirm: true })).body as unknown as PaymentIntentJson & { error?: { payment_intent?: PaymentIntentJson } };
    const intent = declined.error?.payment_intent ?? declined;
    expect(intent.status).toBe("requires_payment_method");
    const page = hostedPaymentPageUrl("", intent.id, intent.client_secret ?? "");
    const html = await (await open(page)).text();
    expect(html).toContain('<div id="form-notice" role="status" class="notice">The last attempt to pay did not go through: ');
    expect(html).not.toMatch(/<input[^>]*aria-invalid/);
    expect(html).not.toMatch(/<input[^>]*autofocus/);
    expect(html).not.toContain('role="alert"');
    expect(html).toContain("<title>Pay ");
    // The page's own attempt comes back with ?error: an alert that takes the focus (a decline marks no field: the number was not wrong).
    const res = await submitForm(`/pay/${intent.id}`, { client_secret: intent.client_secret ?? "", card_number: "4000 0000 0000 0002" });
    expect(res.status).toBe(303);
    const own = await (await open(res.headers.get("location") ?? "")).text();
    expect(own).toContain('<div id="form-error" role="alert" class="alert" tabindex="-1" autofocus>');
    expect(own).not.toMatch(/<input[^>]*aria-invalid/);
    expect(own).toContain("<title>Error: ");
  });
});
