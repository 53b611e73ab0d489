// /pay charges only the amount its page showed. A merchant may change a bare intent's amount while its
// page is open (POST /v1/payment_intents/{id} amount=...): the shopper's card, sent from the page that
// showed $10.00, charged $500.00. The form now carries what it showed; the intent's object compares it
// in the confirmation's own turn, and a difference charges nothing and shows the new amount.
import { describe, expect, it } from "vitest";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { get, post, type ListJson, type PaymentIntentJson, type TransactionJson } from "../helpers";
import { open, submit } from "./card-form";

/** The hidden fields of the page's card form, by name. */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) if (m[1]) fields[m[1]] = (m[2] ?? "").replaceAll("&amp;", "&");
  return fields;
}

async function newIntent(amount: number): Promise<{ id: string; page: string }> {
  const res = await post<PaymentIntentJson>("/v1/payment_intents", { amount, currency: "usd", description: "Widget" });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { id: res.body.id, page: hostedPaymentPageUrl("", res.body.id, String(res.body.client_secret)) };
}

const authorizations = async (id: string) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`)).body.data.filter((t) => t.type === "authorize");

describe("/pay: the amount shown is the amount charged", () => {
  it("a form that showed $10.00 charges nothing once the merchant made it $500.00; the page then shows $500.00, and paying from it charges that", async () => {
    const { id, page } = await newIntent(1000);
    const first = await (await open(page)).text();
    expect(first).toContain("$10.00");
    const shown = hiddenFields(first);
    expect(shown).toMatchObject({ amount: "1000", currency: "usd" });

    expect((await post(`/v1/payment_intents/${id}`, { amount: 50000 })).status).toBe(200);
    const res = await submit(`/pay/${id}`, shown);
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    expect(location).toBe(`${page}&error=amount_changed`);
    const after = await (await open(location)).text();
    expect(after).toContain("The amount to pay changed while this page was open, and nothing was charged.");
    expect(after).toContain("$500.00");
    expect(after).not.toContain("$10.00");
    const intent = (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`)).body;
    expect(intent).toMatchObject({ status: "requires_payment_method", amount: 50000, amount_received: 0, last_payment_error: null });
    expect(await authorizations(id)).toHaveLength(0);

    // The same form again (a second click): still nothing.
    expect((await submit(`/pay/${id}`, shown)).headers.get("location")).toBe(`${page}&error=amount_changed`);
    expect(await authorizations(id)).toHaveLength(0);

    // From the page that shows $500.00: paid, that amount.
    const paid = await submit(`/pay/${id}`, hiddenFields(after));
    expect(paid.status).toBe(303);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`)).body).toMatchObject({ status: "succeeded", amount_received: 50000 });
  });

  it("a currency changed under the page is refused the same way", async () => {
    const { id, page } = await newIntent(1000);
    const shown = hiddenFields(await (await open(page)).text());
    expect((await post(`/v1/payment_intents/${id}`, { currency: "eur" })).status).toBe(200);
    expect((await submit(`/pay/${id}`, shown)).headers.get("location")).toBe(`${page}&error=amount_changed`);
    expect(await authorizations(id)).toHaveLength(0);
  });

  it("the amount the form showed is checked by the object: an amount the page never showed is refused, the intent's own pays", async () => {
    const { id, page } = await newIntent(1000);
    const shown = hiddenFields(await (await open(page)).text());
    expect((await submit(`/pay/${id}`, { ...shown, amount: "999" })).headers.get("location")).toBe(`${page}&error=amount_changed`);
    expect(await authorizations(id)).toHaveLength(0);
    // A new rendering of the page (a fresh attempt id), as the redirect shows it.
    await submit(`/pay/${id}`, hiddenFields(await (await open(page)).text()));
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`)).body).toMatchObject({ status: "succeeded", amount_received: 1000 });
  });
});
