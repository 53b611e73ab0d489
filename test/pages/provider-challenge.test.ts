// A challenge on the payment provider's own page (Stripe's 3D Secure, on Stripe's origin) reached
// from the card form. A browser checks every redirect of a form's submission against the page's CSP
// form-action (the gateway's origin and the merchant's): a 303 straight to the provider's origin was
// blocked, and the shopper was left on a failed navigation, the challenge never shown. The POST now
// leads to the payment's own page (same origin), which goes on to the provider by a meta refresh.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addConnector, createIntent, get, newMerchant, post, type CallOptions, type PaymentIntentJson } from "../helpers";

const form = "card_number=4000002760003184&expiry=12/34&cvc=123";

function postCard(url: string, body: string): Promise<Response> {
  return exports.default.fetch(new Request(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body, redirect: "manual" }));
}

/** The origins a page's CSP lets its forms (and their redirects) reach. */
function formAction(res: Response): string[] {
  return /form-action ([^;]+)/.exec(res.headers.get("content-security-policy") ?? "")?.[1]?.split(" ") ?? [];
}

/** Whether a browser would follow a form's redirect to `location` from a page with these form-action sources. */
function allowed(sources: string[], location: string, page: string): boolean {
  const target = new URL(location, page).origin;
  return sources.some((src) => (src === "'self'" ? target === new URL(page).origin : src === target));
}

async function stripeMerchant(label: string): Promise<CallOptions> {
  const { opts } = await newMerchant(label);
  await addConnector(opts, { connector: "stripe", credentials: { secret_key: `sk_test_fake_${label.replace(/-/g, "_")}` } });
  return opts;
}

describe("a card whose challenge is on the provider's page", () => {
  it("a Checkout Session's form leads to its own page, allowed by form-action, which goes on to the provider's challenge by a meta refresh", async () => {
    const opts = await stripeMerchant("challenge-session");
    const s = (await post<{ id: string; url: string; payment_intent: string }>("/v1/checkout/sessions", {
      mode: "payment",
      line_items: [{ price_data: { currency: "usd", unit_amount: 1800, product_data: { name: "Tea" } }, quantity: 1 }],
      success_url: "https://shop.example/thanks",
    }, opts)).body;
    const shown = await exports.default.fetch(s.url);
    const sources = formAction(shown);
    await shown.text();
    const res = await postCard(s.url, form);
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}`, opts)).body;
    expect(pi.status).toBe("requires_action");
    const challenge = pi.next_action?.redirect_to_url.url ?? "";
    expect(new URL(challenge).origin).toBe(new URL(env.STRIPE_API_BASE).origin);
    // The browser may follow it: the form's page names no provider's origin.
    expect(allowed(sources, location, s.url), `${location} under form-action ${sources.join(" ")}`).toBe(true);
    expect(location).toBe(`/checkout/${s.id}?challenge=continue`);
    const page = await exports.default.fetch(new URL(location, s.url));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`<meta http-equiv="refresh" content="0;url=${challenge}">`);
    expect(html).toContain(`<a class="cancel" href="${challenge}">Continue with your bank</a>`);
    expect(html).not.toContain("<form");
    // A GET: nothing changed.
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}`, opts)).body.status).toBe("requires_action");
  });

  it("the /pay form does the same; the sandbox's own challenge (this origin) is still reached at once", async () => {
    const opts = await stripeMerchant("challenge-pay");
    const pi = (await createIntent({ amount: 2300, return_url: "https://shop.example/back" }, opts)).body;
    const pay = `http://gateway.test/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`;
    const shown = await exports.default.fetch(pay);
    const sources = formAction(shown);
    await shown.text();
    const res = await postCard(`http://gateway.test/pay/${pi.id}`, `client_secret=${encodeURIComponent(pi.client_secret)}&${form}`);
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    expect(allowed(sources, location, pay), location).toBe(true);
    expect(location).toBe(`/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}&challenge=continue`);
    const challenge = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.next_action?.redirect_to_url.url ?? "";
    const html = await (await exports.default.fetch(new URL(location, pay))).text();
    expect(html).toContain(`<meta http-equiv="refresh" content="0;url=${challenge}">`);

    // The sandbox's challenge is on the gateway's origin: the 303 goes there directly, as before.
    const sandbox = (await createIntent({ amount: 2300 })).body;
    const direct = await postCard(`http://gateway.test/pay/${sandbox.id}`, `client_secret=${encodeURIComponent(sandbox.client_secret)}&${form}`);
    expect(new URL(direct.headers.get("location") ?? "", "http://gateway.test").pathname).toBe(`/sandbox/3ds/${sandbox.id}`);
    // The query alone sends no one anywhere once no challenge waits: the page as usual.
    const plain = (await createIntent({ amount: 2300 })).body;
    const page = await (await exports.default.fetch(`http://gateway.test/pay/${plain.id}?client_secret=${encodeURIComponent(plain.client_secret)}&challenge=continue`)).text();
    expect(page).not.toContain("http-equiv=\"refresh\"");
    expect(page).toContain("Card number");
  });
});
