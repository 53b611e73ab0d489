// The provider return page (/connectors/return/:intent): a GET never changes an intent; the page's
// form POSTs to complete a provider's redirect; the sandbox's 3DS challenge is decided only on its
// own challenge page, whatever reaches the return link.
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { IntentRecord } from "../../src/core/types";
import { createIntent, get, type PaymentIntentJson } from "../helpers";

async function storedIntent(id: string): Promise<IntentRecord> {
  const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));
  const record = await runInDurableObject(stub, async (_instance, state) => state.storage.get<IntentRecord>("intent"));
  if (!record) throw new Error(`no stored intent ${id}`);
  return record;
}

async function sandboxChallenge(extra: Record<string, unknown> = {}): Promise<PaymentIntentJson> {
  const res = await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/back", ...extra });
  expect(res.status).toBe(200);
  expect(res.body.status).toBe("requires_action");
  return res.body;
}

const returnUrl = (pi: PaymentIntentJson) => `http://gateway.test/connectors/return/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`;

function postReturn(pi: PaymentIntentJson, secret = pi.client_secret, canceled = false) {
  return exports.default.fetch(
    new Request(`http://gateway.test/connectors/return/${pi.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `client_secret=${encodeURIComponent(secret)}${canceled ? "&canceled=true" : ""}`,
      redirect: "manual",
    }),
  );
}

describe("provider return page", () => {
  it("a GET of the return link leaves a sandbox 3DS intent waiting on its challenge (status and version unchanged)", async () => {
    for (const extra of [{}, { return_url: undefined }]) {
      const pi = await sandboxChallenge(extra);
      const before = await storedIntent(pi.id);
      const res = await exports.default.fetch(new Request(returnUrl(pi), { redirect: "manual" }));
      expect([200, 303]).toContain(res.status);
      await res.text();
      const after = await storedIntent(pi.id);
      expect(after.status).toBe("requires_action");
      expect(after.version).toBe(before.version);
      expect(after.attempts).toEqual(before.attempts);
      expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("requires_action");
    }
  });

  it("neither the return page's POST nor the object's completeRedirect moves the sandbox's challenge", async () => {
    const pi = await sandboxChallenge();
    const before = await storedIntent(pi.id);
    const posted = await postReturn(pi);
    expect(posted.status).toBe(303);
    expect(new URL(posted.headers.get("location") ?? "").searchParams.get("redirect_status")).toBe("failed");
    const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(pi.id));
    const outcome = await stub.completeRedirect(pi.id, pi.client_secret, "http://gateway.test");
    expect(outcome.intent?.status).toBe("requires_action");
    const after = await storedIntent(pi.id);
    expect(after.status).toBe("requires_action");
    expect(after.version).toBe(before.version);
    expect(after.attempts.map((a) => `${a.type}:${a.status}`)).toEqual(before.attempts.map((a) => `${a.type}:${a.status}`));
    // The challenge page still decides it.
    const challenge = await exports.default.fetch(
      new Request(pi.next_action?.url ?? "", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `client_secret=${encodeURIComponent(pi.client_secret)}&outcome=approve`,
        redirect: "manual",
      }),
    );
    expect(challenge.status).toBe(303);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("succeeded");
  });

  it("shows plain words and the merchant's name, never a raw status; a wrong secret is 404 by GET and POST", async () => {
    const pi = await sandboxChallenge({ return_url: undefined });
    const res = await exports.default.fetch(new Request(returnUrl(pi), { redirect: "manual" }));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Merchant A");
    expect(html).not.toMatch(/requires_action|requires_confirmation|requires_payment_method/);
    // Not a dead end: the payment's own page (here it leads on to the challenge).
    expect(html).toContain(`<a class="onward" href="/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}">View your payment</a>`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const wrong = await exports.default.fetch(new Request(`http://gateway.test/connectors/return/${pi.id}?client_secret=nope`, { redirect: "manual" }));
    expect(wrong.status).toBe(404);
    expect((await postReturn(pi, "nope")).status).toBe(404);
    expect((await storedIntent(pi.id)).status).toBe("requires_action");
  });

  it("the 3DS challenge page's form may follow its 303 to the merchant's return_url (CSP form-action)", async () => {
    const pi = await sandboxChallenge({ return_url: "https://merchant.example:8443/done" });
    const res = await exports.default.fetch(pi.next_action?.url ?? "");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/form-action 'self' https:\/\/merchant\.example:8443(;|$)/);
    expect(csp).not.toContain("script-src");
    await res.text();
  });

  it("the 3DS, PayPal sandbox and provider return pages let the browser fetch /favicon.ico (img-src 'self', as the checkout pages do) and send no referrer", async () => {
    const challenge = await sandboxChallenge();
    const paypal = (await createIntent({ amount: 2500, payment_method_data: { type: "paypal" }, confirm: true, return_url: "https://shop.example/back" })).body;
    const approval = new URL(paypal.next_action?.redirect_to_url?.url ?? "");
    for (const url of [challenge.next_action?.url ?? "", `http://gateway.test${approval.pathname}${approval.search}`, returnUrl(paypal), `${returnUrl(challenge)}&result=1`]) {
      const res = await exports.default.fetch(new Request(url, { redirect: "manual" }));
      expect(res.status, url).toBe(200);
      expect(res.headers.get("content-security-policy") ?? "", url).toMatch(/^default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; /);
      expect(await res.text(), url).toContain('<meta name="referrer" content="no-referrer">');
    }
  });

  it("/favicon.ico, which browsers ask for on every page, is an empty icon (a 404 showed in every shopper's console)", async () => {
    const res = await exports.default.fetch(new Request("http://gateway.test/favicon.ico"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect(await res.text()).toContain("<svg");
  });

  it("the sandbox PayPal page lets its forms end at the merchant's return_url (CSP form-action): Cancel took the payer nowhere", async () => {
    const pi = (await createIntent({ amount: 2500, payment_method_data: { type: "paypal" }, confirm: true, return_url: "https://shop.example:8443/back" })).body;
    const approval = new URL(pi.next_action?.redirect_to_url?.url ?? "");
    expect(approval.pathname).toBe("/sandbox/paypal/checkoutnow");
    const shown = await exports.default.fetch(new Request(`http://gateway.test${approval.pathname}${approval.search}`));
    expect(shown.headers.get("content-security-policy") ?? "").toMatch(/form-action 'self' https:\/\/shop\.example:8443(;|$)/);
    // Money as the checkout pages write it (it read "25.00 USD").
    expect(await shown.text()).toContain("$25.00");
    // Cancel: the POST's 303s end at that origin, which the page's form-action allows.
    const canceled = await exports.default.fetch(
      new Request("http://gateway.test/sandbox/paypal/checkoutnow", {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `token=${approval.searchParams.get("token") ?? ""}&decision=cancel`,
      }),
    );
    expect(canceled.status).toBe(303);
    const back = await exports.default.fetch(new Request(new URL(canceled.headers.get("location") ?? "", "http://gateway.test"), { redirect: "manual" }));
    // The GET of the cancel link changes nothing: its page POSTs what it means, and that ends at the shop.
    expect(back.status).toBe(200);
    expect(back.headers.get("content-security-policy") ?? "").toMatch(/form-action 'self' https:\/\/shop\.example:8443(;|$)/);
    expect(await back.text()).toContain('name="canceled" value="true"');
    const posted = await postReturn(pi, pi.client_secret, true);
    expect(posted.status).toBe(303);
    const landed = new URL(posted.headers.get("location") ?? "");
    expect(landed.origin).toBe("https://shop.example:8443");
    expect(landed.searchParams.get("redirect_status")).toBe("failed");
  });

  it("the payer's cancel at PayPal ends the wait: the payment asks for a payment method again, says why, and is paid another way", async () => {
    const pi = (await createIntent({ amount: 1234, payment_method_data: { type: "paypal" }, confirm: true })).body;
    expect(pi.status).toBe("requires_action");
    const approval = new URL(pi.next_action?.redirect_to_url?.url ?? "");
    await exports.default.fetch(
      new Request("http://gateway.test/sandbox/paypal/checkoutnow", { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${approval.searchParams.get("token") ?? ""}&decision=cancel` }),
    );
    const before = await storedIntent(pi.id);
    expect((await exports.default.fetch(new Request(`${returnUrl(pi)}&canceled=true`))).status).toBe(200);
    expect((await storedIntent(pi.id)).version).toBe(before.version);
    const answered = await postReturn(pi, pi.client_secret, true);
    // Redirect-after-POST: the result page, a GET that only reads (reloading it completes nothing).
    expect(answered.status).toBe(303);
    expect(answered.headers.get("location")).toBe(`/connectors/return/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}&result=1`);
    const result = await exports.default.fetch(new Request(`http://gateway.test${answered.headers.get("location") ?? ""}`, { redirect: "manual" }));
    expect(result.status).toBe(200);
    const page = await result.text();
    expect(page).toContain("You canceled the PayPal payment, so nothing was charged.");
    expect(page).toContain(`/pay/${pi.id}`);
    expect(page).not.toContain("<form");
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after).toMatchObject({ status: "requires_payment_method", next_action: null });
    expect(after.last_payment_error?.message).toContain("canceled");
    // Seed 004 reads the same: the order is void.
    const order = await exports.default.fetch(new Request("http://gateway.test/api/v1/payments/paypal/get-order/", { method: "POST", headers: { authorization: "Bearer sk_test_merchant_a", "content-type": "application/json" }, body: JSON.stringify({ order_id: pi.id }) }));
    expect(((await order.json()) as { status: string }).status).toBe("VOIDED");
    const paid = await exports.default.fetch(new Request(`http://gateway.test/v1/payment_intents/${pi.id}/confirm`, { method: "POST", headers: { authorization: "Bearer sk_test_merchant_a", "content-type": "application/json" }, body: JSON.stringify({ payment_method: "pm_card_visa" }) }));
    expect(((await paid.json()) as PaymentIntentJson).status).toBe("succeeded");
  });

  it("a payer who approved, then followed the cancel link, still pays: the provider's approval wins", async () => {
    const pi = (await createIntent({ amount: 990, payment_method_data: { type: "paypal" }, confirm: true })).body;
    const approval = new URL(pi.next_action?.redirect_to_url?.url ?? "");
    await exports.default.fetch(
      new Request("http://gateway.test/sandbox/paypal/checkoutnow", { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${approval.searchParams.get("token") ?? ""}&decision=approve` }),
    );
    await (await postReturn(pi, pi.client_secret, true)).body?.cancel();
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("succeeded");
  });
});
