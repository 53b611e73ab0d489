// No dead ends, and links that say where they lead: the sandbox PayPal page of an order already
// decided (Back after approving) links on, and names whom it pays; the 3DS challenge names the card's
// brand as it is written ("Visa"), offers a way out besides failing it, and once answered links to
// where its link truly leads (a Checkout Session's own payment page is not "Back to <merchant>").
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { createIntent, get, post, type ListJson, type PaymentIntentJson, type TransactionJson } from "../helpers";
import { open, sessionPath, submit } from "./card-form";

const form = (body: string) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body, redirect: "manual" as const });
const decode = (s: string) => s.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
const onward = (html: string) => /<a class="onward" href="([^"]+)">([^<]+)<\/a>/.exec(html);

describe("the sandbox PayPal page", () => {
  for (const returnUrl of ["https://shop.example/paypal-back", null]) {
    it(`names the merchant, and after approving, Back shows the order approved with a link onward (${returnUrl ? "to the return_url" : "to the result page"})`, async () => {
      const pi = (await createIntent({ amount: 2599, payment_method_data: { type: "paypal" }, confirm: true, ...(returnUrl ? { return_url: returnUrl } : {}) })).body;
      const approval = new URL(pi.next_action?.redirect_to_url?.url ?? "");
      const shown = await (await open(`${approval.pathname}${approval.search}`)).text();
      expect(shown).toContain('<p class="muted">Demo Merchant A</p>');
      expect(shown).toContain("Pay <strong>$25.99</strong> to Demo Merchant A");
      const decided = await exports.default.fetch(new Request("http://gateway.test/sandbox/paypal/checkoutnow", form(`token=${approval.searchParams.get("token") ?? ""}&decision=approve`)));
      expect(decided.status).toBe(303);
      // Back to the PayPal page, before (or after) the gateway completed the order: a way on, not a dead end.
      const back = await (await open(`${approval.pathname}${approval.search}`)).text();
      expect(back).toContain("This order of $25.99 to Demo Merchant A was already approved.");
      const link = onward(back);
      expect(link?.[2]).toBe("Continue");
      expect(decode(link?.[1] ?? "")).toBe(decided.headers.get("location"));
      // The link leads where the approval's answer led: the return page, which completes the order.
      const returned = await open(decode(link?.[1] ?? ""));
      expect(returned.status).toBe(200);
      const html = await returned.text();
      expect(html).toContain('<form id="complete" method="post"');
      const completed = await exports.default.fetch(new Request(`http://gateway.test/connectors/return/${pi.id}`, form(`client_secret=${encodeURIComponent(pi.client_secret)}`)));
      expect(completed.status).toBe(303);
      expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("succeeded");
      // Once completed, the same link leads on to the merchant, or to the result page.
      const after = await open(decode(onward(await (await open(`${approval.pathname}${approval.search}`)).text())?.[1] ?? ""));
      if (returnUrl) {
        expect(after.status).toBe(303);
        expect(after.headers.get("location") ?? "").toMatch(/^https:\/\/shop\.example\/paypal-back\?/);
      } else {
        expect(after.status).toBe(200);
        expect(await after.text()).toContain("Your payment is complete.");
      }
    });
  }
});

describe("the 3DS challenge page", () => {
  it("names the brand as written on the card ('Visa •••• 3220'), and offers a way out: back to the payment page, where another card pays", async () => {
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1250, currency: "eur", return_url: "https://shop.example/back" })).body;
    const pay = new URL(hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret));
    const challenge = (await submit(pay.pathname, { client_secret: pi.client_secret, card_number: "4000 0000 0000 3220" })).headers.get("location") ?? "";
    const html = await (await open(challenge)).text();
    expect(html).toContain("with Visa •••• 3220.");
    expect(html).not.toMatch(/visa ••••/);
    const cancel = /<a class="onward" href="([^"]+)">Cancel and go back to the payment page<\/a>/.exec(html)?.[1] ?? "";
    expect(decode(cancel)).toBe(`${pay.pathname}${pay.search}`);
    // The payment page while the challenge waits: the way back to it, or another card.
    const page = await (await open(decode(cancel))).text();
    expect(page).toMatch(/<div role="status" class="notice">This payment is waiting for you to confirm it with your bank\. <a href="[^"]+">Continue with your bank<\/a><\/div>/);
    expect(page).toContain('<input id="card-number"');
    expect(page).not.toContain('aria-invalid="true"');
    const paid = await submit(pay.pathname, { client_secret: pi.client_secret, card_number: "4242 4242 4242 4242" });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location") ?? "").toMatch(/^https:\/\/shop\.example\/back\?.*redirect_status=succeeded/);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("succeeded");
    const history = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`)).body.data;
    expect(history.filter((t) => t.type === "authorize" && t.status === "succeeded")).toHaveLength(1);
    // The abandoned challenge answers nothing any more.
    expect(await (await open(challenge)).text()).toContain("Nothing to confirm");
  });

  it("on a Checkout Session: the Cancel link goes to the session's page; once failed, Back says 'Back to the payment page' (where its link leads), and 'Back to <merchant>' only once paid", async () => {
    const path = await sessionPath();
    const challenge = (await submit(path, { card_number: "4000002760003184" })).headers.get("location") ?? "";
    const secret = new URL(challenge).searchParams.get("client_secret") ?? "";
    const shown = await (await open(challenge)).text();
    expect(shown).toContain(`<a class="onward" href="${path}">Cancel and go back to the payment page</a>`);
    expect((await exports.default.fetch(new Request(challenge, form(`client_secret=${encodeURIComponent(secret)}&outcome=fail`)))).status).toBe(303);
    const failed = onward(await (await open(challenge)).text());
    expect(failed?.[2]).toBe("Back to the payment page");
    expect(new URL(decode(failed?.[1] ?? "")).pathname).toBe(`${path}/return`);
    // Where it leads: the payment page, with the form.
    expect(await (await open(decode(failed?.[1] ?? ""))).text()).toContain('<input id="card-number"');
    // Paid with another 3DS card: the link goes on (through /return) to the merchant, and says so.
    const second = (await submit(path, { card_number: "4000002760003184" })).headers.get("location") ?? "";
    expect((await exports.default.fetch(new Request(second, form(`client_secret=${encodeURIComponent(secret)}&outcome=approve`)))).status).toBe(303);
    expect(onward(await (await open(second)).text())?.[2]).toBe("Back to Demo Merchant A");
  });
});
