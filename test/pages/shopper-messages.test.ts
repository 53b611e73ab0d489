// What the form says after an attempt, in a shopper's words: never a message that contradicts itself
// (a processing error: try again, not "try another card"), never a developer's ("test mode", "live
// card"), never blame for a card the shopper did not type (a PayPal cancel marks no field).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { createIntent, get, type PaymentIntentJson } from "../helpers";
import { attributesOf, open, sessionPath, submitAndFollow } from "./card-form";

const form = (body: string) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body, redirect: "manual" as const });

describe("decline messages on the form", () => {
  it("a processing error (4000 0000 0000 0119) says to try again, not to try another card, and marks no field", async () => {
    const path = await sessionPath();
    const { html } = await submitAndFollow(path, { card_number: "4000 0000 0000 0119" }, `${path}?error=processing_error`);
    expect(html).toContain('<div id="form-error" role="alert" class="alert" tabindex="-1" autofocus>An error occurred while processing your card. Try again in a little bit.</div>');
    expect(html).not.toMatch(/another card/i);
    expect(html).not.toContain('aria-invalid="true"');
  });

  it("a real card in test mode (4111 1111 1111 1111) is 'cannot be used here', not Stripe's developer words", async () => {
    const path = await sessionPath();
    const { html } = await submitAndFollow(path, { card_number: "4111 1111 1111 1111" }, `${path}?error=card_declined`);
    expect(html).toMatch(/<div id="form-error" role="alert" class="alert">This card cannot be used here\. Try another card\.<\/div>/);
    expect(html).not.toMatch(/request was in test mode|non test|\(live\) card/i);
    expect(attributesOf(html, "card-number")["aria-invalid"]).toBe("true");
  });
});

describe("a session's page opened again without ?error (a bookmark, the shop's link)", () => {
  it("still says the last attempt did not go through, as news (role=status, no field marked), as /pay does", async () => {
    const path = await sessionPath();
    await submitAndFollow(path, { card_number: "4000 0000 0000 0002" }, `${path}?error=card_declined`);
    const html = await (await open(path)).text();
    expect(html).toContain("The last attempt to pay did not go through: Your card was declined.");
    expect(html).not.toContain('aria-invalid="true"');
    expect(html).not.toContain('role="alert"');
  });
});

describe("after a PayPal cancel, the /pay page", () => {
  /** A PayPal payment of a bare intent (no return_url), canceled by the payer `how`, and the /pay page afterwards. */
  async function canceled(how: "at PayPal" | "by the cancel link"): Promise<string> {
    const pi = (await createIntent({ amount: 1800, payment_method_data: { type: "paypal" }, confirm: true })).body;
    const token = new URL(pi.next_action?.redirect_to_url?.url ?? "").searchParams.get("token") ?? "";
    if (how === "at PayPal") expect((await exports.default.fetch(new Request("http://gateway.test/sandbox/paypal/checkoutnow", form(`token=${token}&decision=cancel`)))).status).toBe(303);
    const back = await exports.default.fetch(new Request(`http://gateway.test/connectors/return/${pi.id}`, form(`client_secret=${encodeURIComponent(pi.client_secret)}&canceled=true`)));
    expect(back.status).toBe(303);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("requires_payment_method");
    const page = new URL(hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret));
    return (await open(`${page.pathname}${page.search}`)).text();
  }

  for (const how of ["at PayPal", "by the cancel link"] as const) {
    it(`canceled ${how}: a neutral notice (role=status), no field marked or focused, no 'try another card'`, async () => {
      const html = await canceled(how);
      expect(html).toContain('<div id="form-notice" role="status" class="notice">You canceled the PayPal payment, so nothing was charged. You can pay with a card instead.</div>');
      expect(html).not.toContain('aria-invalid="true"');
      expect(html).not.toContain("autofocus");
      expect(html).not.toContain('role="alert"');
      expect(html).not.toMatch(/payer canceled|Try another card/i);
    });
  }
});
