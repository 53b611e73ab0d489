// The sandbox 3DS challenge: next_action leads to a page served by the gateway; approving completes
// the payment, failing declines it; either way the browser returns to return_url.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createIntent, get, type ListJson, type PaymentIntentJson, type TransactionJson } from "../helpers";
import { sessionPath, submit } from "./card-form";

async function startChallenge(extra: Record<string, unknown> = {}) {
  const res = await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/return?cart=9", ...extra });
  expect(res.status).toBe(200);
  expect(res.body.status).toBe("requires_action");
  return res.body;
}

function answer(url: string, outcome: string, secret: string) {
  return exports.default.fetch(
    new Request(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `client_secret=${encodeURIComponent(secret)}&outcome=${outcome}`,
      redirect: "manual",
    }),
  );
}

describe("sandbox 3DS challenge", () => {
  it("next_action redirects to the gateway's challenge page (Stripe's shape and seed 001's url)", async () => {
    const pi = await startChallenge();
    expect(pi.next_action?.type).toBe("redirect_to_url");
    expect(pi.next_action?.redirect_to_url.return_url).toBe("https://shop.example/return?cart=9");
    expect(pi.next_action?.url).toBe(pi.next_action?.redirect_to_url.url);
    const page = await exports.default.fetch(pi.next_action?.url ?? "");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain("$20.00");
    expect(html).toContain("Complete authentication");
    expect(html).toContain("Fail authentication");
  });

  it("approving authorizes the payment and returns to return_url with Stripe's parameters", async () => {
    const pi = await startChallenge();
    const res = await answer(pi.next_action?.url ?? "", "approve", pi.client_secret);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe("https://shop.example/return");
    expect(location.searchParams.get("cart")).toBe("9");
    expect(location.searchParams.get("payment_intent")).toBe(pi.id);
    expect(location.searchParams.get("payment_intent_client_secret")).toBe(pi.client_secret);
    expect(location.searchParams.get("redirect_status")).toBe("succeeded");
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after).toMatchObject({ status: "succeeded", next_action: null, amount_received: 2000 });
    const steps = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`)).body.data.map((t) => `${t.type}:${t.status}`);
    expect(steps).toEqual(["authorize:requires_action", "authenticate:succeeded", "authorize:succeeded"]);
  });

  it("with manual capture, approving leaves the payment authorized", async () => {
    const pi = await startChallenge({ capture_method: "manual" });
    await answer(pi.next_action?.url ?? "", "approve", pi.client_secret);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("requires_capture");
  });

  it("failing declines the attempt: back to requires_payment_method with last_payment_error", async () => {
    const pi = await startChallenge();
    const res = await answer(pi.next_action?.url ?? "", "fail", pi.client_secret);
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get("location") ?? "").searchParams.get("redirect_status")).toBe("failed");
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after.status).toBe("requires_payment_method");
    // As Stripe reports it: not a card_error (the card was not declined; its holder failed the challenge).
    expect(after.last_payment_error).toMatchObject({ code: "payment_intent_authentication_failure", type: "invalid_request_error" });
  });

  it("a wrong client secret is a 404 and changes nothing; a second answer changes nothing", async () => {
    const pi = await startChallenge();
    const url = pi.next_action?.url ?? "";
    expect((await answer(url, "approve", `${pi.id}_secret_wrong`)).status).toBe(404);
    expect((await exports.default.fetch(`http://gateway.test/sandbox/3ds/${pi.id}?client_secret=nope`)).status).toBe(404);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("requires_action");
    expect((await answer(url, "fail", pi.client_secret)).status).toBe(303);
    expect((await answer(url, "approve", pi.client_secret)).status).toBe(303);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("requires_payment_method");
    expect((await answer(url, "maybe", pi.client_secret)).status).toBe(400);
  });

  it("without a return_url the answer's 303 leads to a result page (a GET) that shows the result and links on to the payment's page (no dead end)", async () => {
    const res = await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true });
    const pi = res.body;
    const done = await answer(pi.next_action?.url ?? "", "approve", pi.client_secret);
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe(`/sandbox/3ds/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}&result=1`);
    const shown = await exports.default.fetch(`http://gateway.test${done.headers.get("location") ?? ""}`);
    expect(shown.status).toBe(200);
    expect(shown.headers.get("cache-control")).toBe("no-store");
    const html = await shown.text();
    // Plain words, the amount as the pages write it and the merchant's name, never a raw status.
    expect(html).toContain("<h1>Payment complete</h1>");
    expect(html).toContain("Your payment of $20.00 has been made. Thank you!");
    expect(html).toContain("Merchant A");
    expect(html).not.toMatch(/succeeded|requires_/);
    const payPage = `/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`;
    expect(html).toContain(`<a class="onward" href="${payPage}">View your payment</a>`);
    expect(await (await exports.default.fetch(`http://gateway.test${payPage}`)).text()).toContain("Your payment of $20.00 has been made. Thank you!");
    // The challenge's page again (Back): nothing to confirm, and the same way on.
    const again = await (await exports.default.fetch(pi.next_action?.url ?? "")).text();
    expect(again).toContain("Nothing to confirm");
    expect(again).toContain(`href="${payPage}"`);
    expect(again).not.toMatch(/succeeded|requires_/);
  });

  it("a failed challenge without a return_url says so (role=alert, nothing charged) and links to the payment page, where another card can be tried", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    const failed = await answer(pi.next_action?.url ?? "", "fail", pi.client_secret);
    expect(failed.status).toBe(303);
    const html = await (await exports.default.fetch(`http://gateway.test${failed.headers.get("location") ?? ""}`)).text();
    expect(html).toContain("<h1>Payment not completed</h1>");
    expect(html).toMatch(/<p role="alert">Your bank could not authenticate the payment \(3D Secure failed\)\. Try another card\. Nothing was charged\.<\/p>/);
    const payPage = `/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`;
    expect(html).toContain(`<a class="onward" href="${payPage}">Pay with another card</a>`);
    const form = await (await exports.default.fetch(`http://gateway.test${payPage}`)).text();
    expect(form).toContain("3D Secure failed");
    // The number was not typed wrong: no field is marked; the alert takes the focus.
    expect(form).not.toMatch(/<input[^>]*aria-invalid/);
    expect(form).toMatch(/<div id="form-error" role="alert" class="alert" tabindex="-1" autofocus>[^<]*3D Secure failed/);
  });

  it("the challenge's page, once answered, links back to the merchant's return_url when there is one", async () => {
    const pi = await startChallenge();
    await answer(pi.next_action?.url ?? "", "approve", pi.client_secret);
    const again = await (await exports.default.fetch(pi.next_action?.url ?? "")).text();
    expect(again).toContain("Nothing to confirm");
    const link = /<a class="onward" href="([^"]+)">([^<]+)<\/a>/.exec(again);
    expect(link?.[2]).toBe("Back to Demo Merchant A");
    const href = new URL((link?.[1] ?? "").replaceAll("&#38;", "&"));
    expect(href.origin + href.pathname).toBe("https://shop.example/return");
    expect(Object.fromEntries(href.searchParams)).toEqual({ cart: "9", payment_intent: pi.id, payment_intent_client_secret: pi.client_secret, redirect_status: "succeeded" });
  });

  it("lets the challenge's form lead to a cross-origin return_url (form-action covers the 303's target)", async () => {
    const pi = await startChallenge();
    const page = await exports.default.fetch(pi.next_action?.url ?? "");
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/form-action 'self' https:\/\/shop\.example(;|$)/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(await page.text()).toContain("Merchant A");
  });

  it("a Checkout Session's challenge is not offered once the session is past expires_at: the GET leads to the session's 'Checkout expired' page and expires nothing", async () => {
    const path = await sessionPath();
    const id = path.split("/").pop() ?? "";
    const challenge = (await submit(path, { card_number: "4000 0027 6000 3184" })).headers.get("location") ?? "";
    expect(new URL(challenge).pathname).toMatch(/^\/sandbox\/3ds\/pi_/);
    // Open, the challenge is offered.
    expect(await (await exports.default.fetch(challenge)).text()).toContain("Complete authentication");
    await env.DB.prepare("UPDATE checkout_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1000, id).run();
    const page = await exports.default.fetch(new Request(challenge, { redirect: "manual" }));
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe(`/checkout/${id}`);
    expect(await page.text()).not.toContain("Complete authentication");
    expect((await exports.default.fetch(`http://gateway.test/checkout/${id}`)).status).toBe(410);
    // Read only: the session is still open (the cron, or a POST, expires it) and its payment still waits.
    const session = (await get<{ status: string; payment_intent: string }>(`/v1/checkout/sessions/${id}`)).body;
    expect(session.status).toBe("open");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${session.payment_intent}`)).body.status).toBe("requires_action");
  });
});
