// A POST another site makes a browser send (a hidden form on evil.example, auto-submitted) is refused
// with a 403 on every shopper page before anything is attempted: Sec-Fetch-Site cross-site or
// same-site, or an Origin that is not ours. A same-origin form POST under Referrer-Policy: no-referrer
// carries `Origin: null` (and Sec-Fetch-Site: same-origin): it is let through, as is a client that is
// no browser (no such headers).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isCrossSite } from "../../src/pages/cross-site";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { createIntent, get, post, type ListJson, type PaymentIntentJson, type TransactionJson } from "../helpers";
import { sessionPath, submit } from "./card-form";

const EVIL = { origin: "https://evil.example" };
const authorizations = async (intent: string) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${intent}/transactions`)).body.data.filter((t) => t.type === "authorize");
const sessionOf = async (path: string) => (await get<{ status: string; payment_intent: string }>(`/v1/checkout/sessions/${path.split("/").pop() ?? ""}`)).body;

function postForm(path: string, body: string, headers: Record<string, string>): Promise<Response> {
  return exports.default.fetch(new Request(`http://gateway.test${path}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body, redirect: "manual" }));
}

async function expectRefused(res: Response): Promise<void> {
  expect(res.status).toBe(403);
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("location")).toBeNull();
  expect(await res.text()).toContain("sent from another website, so nothing was done");
}

describe("isCrossSite", () => {
  const request = (headers: Record<string, string>) => new Request("http://127.0.0.1:8787/checkout/cs_x", { method: "POST", headers });
  it("refuses Sec-Fetch-Site cross-site and same-site, and an Origin not ours; lets same-origin, none, Origin null, and no headers through", () => {
    expect(isCrossSite(request({ "sec-fetch-site": "cross-site" }), null)).toBe(true);
    expect(isCrossSite(request({ "sec-fetch-site": "same-site" }), null)).toBe(true);
    expect(isCrossSite(request({ "sec-fetch-site": "same-site", origin: "null" }), null)).toBe(true);
    expect(isCrossSite(request({ origin: "https://evil.example" }), null)).toBe(true);
    expect(isCrossSite(request({ origin: "http://127.0.0.1:8788" }), null)).toBe(true);
    expect(isCrossSite(request({ "sec-fetch-site": "same-origin", origin: "https://evil.example" }), null)).toBe(true);
    expect(isCrossSite(request({ "sec-fetch-site": "same-origin", origin: "null" }), null)).toBe(false);
    expect(isCrossSite(request({ "sec-fetch-site": "none" }), null)).toBe(false);
    expect(isCrossSite(request({ origin: "http://127.0.0.1:8787" }), null)).toBe(false);
    expect(isCrossSite(request({}), null)).toBe(false);
    // PUBLIC_BASE_URL is ours too (a gateway behind a proxy sees another request URL).
    expect(isCrossSite(request({ origin: "https://pay.example.com" }), "https://pay.example.com")).toBe(false);
    expect(isCrossSite(request({ origin: "https://pay.example.com" }), null)).toBe(true);
  });
});

describe("cross-site POSTs to the shopper pages", () => {
  it("the checkout page: a card POSTed from evil.example (Origin, or Sec-Fetch-Site cross-site or same-site) is refused and charges nothing", async () => {
    const path = await sessionPath();
    for (const headers of [EVIL, { "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }, { ...EVIL, "sec-fetch-site": "cross-site" }]) await expectRefused(await submit(path, {}, headers));
    const session = await sessionOf(path);
    expect(session.status).toBe("open");
    expect(await authorizations(session.payment_intent)).toHaveLength(0);
  });

  it("the checkout page: the browser's own same-origin form POST (Origin: null under no-referrer, Sec-Fetch-Site same-origin) pays", async () => {
    const path = await sessionPath();
    const paid = await submit(path, {}, { origin: "null", "sec-fetch-site": "same-origin" });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe("https://shop.example/thanks");
    // Our own origin, named, is ours too.
    const other = await sessionPath();
    expect((await submit(other, {}, { origin: "http://gateway.test", "sec-fetch-site": "same-origin" })).status).toBe(303);
    expect((await sessionOf(other)).status).toBe("complete");
  });

  it("/pay, the 3DS answer, the sandbox PayPal decision and the provider return refuse a cross-site POST and change nothing", async () => {
    const bare = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 990, currency: "usd" })).body;
    const page = new URL(hostedPaymentPageUrl("http://gateway.test", bare.id, bare.client_secret));
    await expectRefused(await submit(page.pathname, { client_secret: bare.client_secret }, EVIL));
    expect(await authorizations(bare.id)).toHaveLength(0);

    const challenged = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    const challenge = new URL(challenged.next_action?.redirect_to_url?.url ?? "");
    await expectRefused(await postForm(challenge.pathname, `client_secret=${encodeURIComponent(challenged.client_secret)}&outcome=approve`, { "sec-fetch-site": "cross-site" }));
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${challenged.id}`)).body.status).toBe("requires_action");

    const paypal = (await createIntent({ amount: 2500, payment_method_data: { type: "paypal" }, confirm: true })).body;
    const token = new URL(paypal.next_action?.redirect_to_url?.url ?? "").searchParams.get("token") ?? "";
    await expectRefused(await postForm("/sandbox/paypal/checkoutnow", `token=${token}&decision=approve`, EVIL));
    // Still undecided: its page offers the choice.
    expect(await (await exports.default.fetch(`http://gateway.test/sandbox/paypal/checkoutnow?token=${token}`)).text()).toContain("Approve payment");
    await expectRefused(await postForm(`/connectors/return/${paypal.id}`, `client_secret=${encodeURIComponent(paypal.client_secret)}&canceled=true`, EVIL));
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${paypal.id}`)).body.status).toBe("requires_action");
    // The same POSTs from our own pages go through.
    expect((await postForm("/sandbox/paypal/checkoutnow", `token=${token}&decision=approve`, { origin: "null", "sec-fetch-site": "same-origin" })).status).toBe(303);
    expect((await postForm(`/connectors/return/${paypal.id}`, `client_secret=${encodeURIComponent(paypal.client_secret)}`, { "sec-fetch-site": "same-origin" })).status).toBe(303);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${paypal.id}`)).body.status).toBe("succeeded");
  });
});
