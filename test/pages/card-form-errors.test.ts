// The card form shown again after a failed submission, on the Checkout Session page and the bare
// /pay page: a field in error is aria-invalid and described by a message of its own (the alert,
// role=alert, says it too), the focus starts there (autofocus: the pages have no script), and nothing
// the shopper typed is ever put back (not the card number, the CVC, nor the expiry). A decline (or a
// failed 3D Secure challenge) marks no field, since nothing was typed wrong: the alert takes the focus.
// Every submission is answered by a redirect to the form's GET page (redirect-after-POST) with
// ?error=<code>: a card the form's checks refused, or a declined attempt.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { get, post, type ListJson, type PaymentIntentJson, type TransactionJson } from "../helpers";
import { attributesOf, sessionPath, submit, submitAndFollow } from "./card-form";

/** The field in error is marked, described by its own message (the expiry by its hint too), and the only element focused on load. */
function expectFieldInError(html: string, field: string): void {
  const alert = attributesOf(html, "form-error");
  expect(alert.role).toBe("alert");
  expect(attributesOf(html, field)).toMatchObject({ "aria-invalid": "true", "aria-describedby": field === "expiry" ? "expiry-error expiry-hint" : `${field}-error`, autofocus: "" });
  expect(html).toMatch(new RegExp(`<p id="${field}-error" class="field-error">[^<]+</p>`));
  for (const other of ["card-number", "expiry", "cvc"].filter((f) => f !== field)) {
    const attrs = attributesOf(html, other);
    expect(attrs["aria-invalid"], other).toBeUndefined();
    expect(attrs.autofocus, other).toBeUndefined();
  }
  expect(html.match(/\bautofocus\b/g)).toHaveLength(1);
}

/** A decline of the card as a whole: no field marked invalid (the number was not wrong), the alert focused instead. */
function expectAlertFocused(html: string): void {
  expect(attributesOf(html, "form-error")).toMatchObject({ role: "alert", tabindex: "-1", autofocus: "" });
  for (const field of ["card-number", "expiry", "cvc"]) {
    const attrs = attributesOf(html, field);
    expect(attrs["aria-invalid"], field).toBeUndefined();
    expect(attrs.autofocus, field).toBeUndefined();
  }
  expect(html).not.toContain('class="field-error"');
  expect(html.match(/\bautofocus\b/g)).toHaveLength(1);
}

describe("the card form after a failed check", () => {
  it("a card number that fails its check: a 303 to the form's page with its code; that page marks the number and focuses it, and keeps nothing typed", async () => {
    const path = await sessionPath();
    const { location, html } = await submitAndFollow(path, { card_number: "4242 4242 4242 4241", expiry: "7/2034", cvc: "918" }, `${path}?error=incorrect_number`);
    expect(location).not.toMatch(/4241|2034|918/);
    expectFieldInError(html, "card-number");
    expect(html).toMatch(/<div id="form-error" role="alert"[^>]*>Your card number is incorrect\.<\/div>/);
    for (const field of ["card-number", "expiry", "cvc"]) expect(attributesOf(html, field).value, field).toBeUndefined();
    expect(html).not.toMatch(/4241|424242|918|2034/);
  });

  it("a number that fails its Luhn check, or a year the vault refuses, is said with the other fields' errors at once, not in a second round once those are fixed", async () => {
    const path = await sessionPath();
    const both = await submitAndFollow(path, { card_number: "4242 4242 4242 4241", expiry: "01/20", cvc: "1" }, `${path}?error=incorrect_number,expired_card,invalid_cvc`);
    expect(both.html).toContain("3 card details need correcting:");
    expect(attributesOf(both.html, "card-number")["aria-invalid"]).toBe("true");
    const far = await submitAndFollow(path, { card_number: "4242 4242 4242 4241", expiry: `12/${new Date().getUTCFullYear() + 60}` }, `${path}?error=incorrect_number,invalid_expiry_year`);
    expect(attributesOf(far.html, "expiry")["aria-invalid"]).toBe("true");
  });

  it("an expiry or a CVC in error is the field marked and focused", async () => {
    const path = await sessionPath();
    const month = await submitAndFollow(path, { expiry: "13 / 34" }, `${path}?error=invalid_expiry_month`);
    expectFieldInError(month.html, "expiry");
    expect(attributesOf(month.html, "expiry").value).toBeUndefined();
    const cvc = await submitAndFollow(path, { cvc: "12" }, `${path}?error=invalid_cvc`);
    expectFieldInError(cvc.html, "cvc");
    expect(cvc.html).toContain("Enter the 3 or 4 digit CVC.");
    expect(attributesOf(cvc.html, "cvc").value).toBeUndefined();
  });

  it("a card number typed into the expiry field is never echoed, in the redirect or the page", async () => {
    const path = await sessionPath();
    const { location, html } = await submitAndFollow(path, { expiry: "4242424242424242" }, `${path}?error=invalid_expiry`);
    expect(location).not.toContain("4242");
    expectFieldInError(html, "expiry");
    expect(attributesOf(html, "expiry").value).toBeUndefined();
    expect(html).not.toContain("42424242");
  });

  it("the /pay page redirects to its GET page (with the client secret it already had) and marks the field the same way", async () => {
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 990, currency: "usd" })).body;
    const page = new URL(hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret));
    const { html } = await submitAndFollow(page.pathname, { client_secret: pi.client_secret, card_number: "4000 0000 0000 0003", expiry: "12/34", cvc: "777" }, `${page.pathname}${page.search}&error=incorrect_number`);
    expectFieldInError(html, "card-number");
    expect(attributesOf(html, "expiry").value).toBeUndefined();
    expect(html).not.toMatch(/0000 0003|0000000000000003|777/);
  });

  it("a fresh form marks nothing and focuses nothing", async () => {
    const html = await (await exports.default.fetch(`http://gateway.test${await sessionPath()}`)).text();
    for (const field of ["card-number", "expiry", "cvc"]) {
      expect(attributesOf(html, field)["aria-invalid"], field).toBeUndefined();
      expect(attributesOf(html, field).value, field).toBeUndefined();
    }
    expect(html).not.toContain("autofocus");
    expect(html).not.toContain('role="alert"');
  });
});

describe("the card form after a declined attempt", () => {
  it("a decline answers with a redirect to the form's page (redirect-after-POST) carrying only its code; that page marks no field (the number was not wrong) and focuses the alert", async () => {
    const path = await sessionPath();
    const res = await submit(path, { card_number: "4000 0000 0000 0002", expiry: "12 / 34", cvc: "918" });
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    expect(location).toBe(`${path}?error=card_declined`);
    const page = await exports.default.fetch(`http://gateway.test${location}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    const html = await page.text();
    expectAlertFocused(html);
    expect(html).toMatch(/role="alert"[^>]*>Your card was declined\. Try another card\.</);
    // Nothing typed travels through the redirect: not even the expiry (it would be in the URL).
    expect(attributesOf(html, "expiry").value).toBeUndefined();
    expect(html).not.toMatch(/0000 0002|4000000000000002|918/);
  });

  it("reloading the page a decline redirected to attempts nothing (a GET), and shows the same error", async () => {
    const path = await sessionPath();
    const location = (await submit(path, { card_number: "4000000000000002" })).headers.get("location") ?? "";
    const sessionId = path.split("/").pop() ?? "";
    const intentId = (await get<{ payment_intent: string }>(`/v1/checkout/sessions/${sessionId}`)).body.payment_intent;
    const attempts = async () => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${intentId}/transactions`)).body.data.length;
    const before = await attempts();
    expect(before).toBe(1);
    for (let i = 0; i < 3; i++) expect(await (await exports.default.fetch(`http://gateway.test${location}`)).text()).toContain("Your card was declined.");
    expect(await attempts()).toBe(before);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${intentId}`)).body.status).toBe("requires_payment_method");
  });

  it("the page shows only its own words for ?error: an unknown code is a generic message, anything else is ignored, never echoed", async () => {
    const path = await sessionPath();
    const unknown = await (await exports.default.fetch(`http://gateway.test${path}?error=card_declined`)).text();
    // The intent holds no such error: our own generic words, about no field.
    expect(unknown).toMatch(/role="alert"[^>]*>The payment did not go through\. Try another card\.</);
    expectAlertFocused(unknown);
    const odd = await (await exports.default.fetch(`http://gateway.test${path}?error=${encodeURIComponent("<b>Call 555-0100</b>")}`)).text();
    expect(odd).not.toContain("555-0100");
    expect(odd).not.toContain('role="alert"');
    // A list of codes is several fields refused at once; one that mixes in a code naming no field is no
    // redirect of ours, and never counts "1 card details" (or 0).
    const mixed = await (await exports.default.fetch(`http://gateway.test${path}?error=invalid_number,livemode_card_form`)).text();
    expect(mixed).not.toMatch(/\d card details need correcting/);
  });

  it("a decline on the /pay page redirects to its GET page with the code (the client secret it already had), which shows it", async () => {
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 990, currency: "usd" })).body;
    const page = new URL(hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret));
    const res = await submit(page.pathname, { client_secret: pi.client_secret, card_number: "4000000000000002", cvc: "918" });
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    expect(location).toBe(`${page.pathname}${page.search}&error=card_declined`);
    const html = await (await exports.default.fetch(`http://gateway.test${location}`)).text();
    expectAlertFocused(html);
    expect(html).toContain("Your card was declined. Try another card.");
    expect(html).not.toMatch(/4000000000000002|918/);
  });

  it("a failed 3D Secure challenge brings the shopper back to the form with the alert focused and no field marked", async () => {
    const path = await sessionPath();
    const challenge = (await submit(path, { card_number: "4000002760003184" })).headers.get("location") ?? "";
    expect(new URL(challenge).pathname).toMatch(/^\/sandbox\/3ds\/pi_/);
    const secret = new URL(challenge).searchParams.get("client_secret") ?? "";
    const answered = await exports.default.fetch(
      new Request(challenge, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(secret)}&outcome=fail`, redirect: "manual" }),
    );
    const back = answered.headers.get("location") ?? "";
    expect(new URL(back).pathname).toBe(`${path}/return`);
    const html = await (await exports.default.fetch(back)).text();
    expectAlertFocused(html);
    expect(html).toContain("3D Secure failed");
  });
});
