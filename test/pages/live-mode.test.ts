// The hosted card form is the sandbox's (test cards, test mode only). A live-mode payment's page
// offered it anyway, saying "Test mode: no real card is charged": a shopper typed a real card, whose
// number was sent to this server only to be refused. A live payment's page has no card form; a POST
// of one is refused before the card is read, and nothing is attempted.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createIntent, get, newMerchant, post, seedMerchant, type ListJson, type TransactionJson } from "../helpers";

async function liveKey(label: string): Promise<string> {
  const { id } = await newMerchant(label);
  const key = `sk_live_${id.slice(5)}`;
  await seedMerchant(id, label, `key_live_${id.slice(5)}`, key, true);
  return key;
}

function postForm(url: string, body: string): Promise<Response> {
  return exports.default.fetch(new Request(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body, redirect: "manual" }));
}

const card = "card_number=4242424242424242&expiry=12/34&cvc=123";

describe("a live-mode payment's page", () => {
  it("a Checkout Session's page offers no card form, says so, and keeps the way back; a card POSTed anyway is refused and nothing attempted", async () => {
    const key = await liveKey("live-session-page");
    const s = (await post<{ id: string; url: string; payment_intent: string; livemode: boolean }>("/v1/checkout/sessions", {
      mode: "payment",
      line_items: [{ price_data: { currency: "usd", unit_amount: 1800, product_data: { name: "Tea" } }, quantity: 1 }],
      success_url: "https://shop.example/thanks",
      cancel_url: "https://shop.example/cart",
    }, { key })).body;
    expect(s.livemode).toBe(true);
    const page = await exports.default.fetch(s.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain("<form");
    expect(html).not.toContain('name="card_number"');
    expect(html).not.toContain("Test mode");
    expect(html).toContain("This page cannot take a card for this payment, and nothing was charged. To pay, contact live-session-page.");
    expect(html).toContain('<a class="cancel" href="https://shop.example/cart">Back to live-session-page</a>');
    // The order is still shown: what it is about.
    expect(html).toContain("$18.00");
    const res = await postForm(s.url, card);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/checkout/${s.id}?error=livemode_card_form`);
    expect(await (await exports.default.fetch(new URL(res.headers.get("location") ?? "", s.url))).text()).not.toContain("<form");
    expect((await get<ListJson<TransactionJson>>(`/v1/payment_intents/${s.payment_intent}/transactions`, { key })).body.data).toHaveLength(0);
  });

  it("a bare intent's /pay page offers no card form either; a card POSTed anyway is refused and nothing attempted", async () => {
    const key = await liveKey("live-pay-page");
    const pi = (await createIntent({ amount: 1000 }, { key })).body;
    const url = `http://gateway.test/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`;
    const html = await (await exports.default.fetch(url)).text();
    expect(html).not.toContain("<form");
    expect(html).not.toContain("Test mode");
    expect(html).toContain("This page cannot take a card for this payment");
    const res = await postForm(`http://gateway.test/pay/${pi.id}`, `client_secret=${encodeURIComponent(pi.client_secret)}&${card}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}&error=livemode_card_form`);
    expect((await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, { key })).body.data).toHaveLength(0);
  });
});
