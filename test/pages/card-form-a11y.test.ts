// The card form's accessibility: the browser checks each field before anything is sent (pattern,
// title, required, taking what the server takes), the server reports every field it refuses at once
// (each field with a message of its own, never the number or the CVC echoed), the expiry says how to
// type it, the order summary's rows are named by their headers, and the text follows the browser's
// font size.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FIELD_PATTERNS, PAGE_STYLE } from "../../src/pages/checkout";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { post, type PaymentIntentJson } from "../helpers";
import { attributesOf, sessionPath, submit, submitAndFollow } from "./card-form";

/** A pattern attribute as the browser applies it: the whole value, with the v flag. */
const matches = (pattern: string, value: string) => new RegExp(`^(?:${pattern})$`, "v").test(value);

describe("the browser's own checks of the card form", () => {
  it("each field is required and has a pattern and a title; the expiry is described by a visible hint", async () => {
    const html = await (await exports.default.fetch(`http://gateway.test${await sessionPath()}`)).text();
    for (const field of ["card-number", "expiry", "cvc"] as const) {
      const attrs = attributesOf(html, field);
      expect(attrs, field).toHaveProperty("required");
      expect(attrs.pattern?.replaceAll("&#92;", "\\"), field).toBe(FIELD_PATTERNS[field].pattern);
      expect(attrs.title, field).toBe(FIELD_PATTERNS[field].title);
    }
    expect(attributesOf(html, "expiry")["aria-describedby"]).toBe("expiry-hint");
    expect(html).toContain('<label for="expiry">Expiry (MM/YY)</label><p id="expiry-hint" class="hint">MM/YY, for example 04/28; the slash is optional.</p>');
  });

  it("the patterns take what the server takes (with the v flag browsers use), and refuse what it refuses", async () => {
    const { "card-number": number, expiry, cvc } = FIELD_PATTERNS;
    for (const ok of ["4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "3782 822463 10005", "424242424242", " 4242 4242 4242 4242 "]) expect(matches(number.pattern, ok), ok).toBe(true);
    for (const bad of ["4242", "4242 4242 4242 424x", "42424242424242424242", ""]) expect(matches(number.pattern, bad), bad).toBe(false);
    for (const ok of ["04/28", "0428", "4/28", "04 / 28", "12 / 2034", "12/2034", "1/2034"]) expect(matches(expiry.pattern, ok), ok).toBe(true);
    for (const bad of ["13/28", "00/28", "04/2", "04-28", "4/283", "0428x"]) expect(matches(expiry.pattern, bad), bad).toBe(false);
    for (const ok of ["123", "1234"]) expect(matches(cvc.pattern, ok), ok).toBe(true);
    for (const bad of ["12", "12345", "12a"]) expect(matches(cvc.pattern, bad), bad).toBe(false);
    // Every expiry the hint and the pattern offer, the server pays with.
    for (const ok of ["04/28", "0428", "4/28", "12 / 2034"]) {
      const path = await sessionPath();
      expect((await submit(path, { expiry: ok })).headers.get("location"), ok).toBe("https://shop.example/thanks");
    }
  });
});

describe("every field the server refuses, at once", () => {
  it("a bad number, an expired card and a short CVC: one redirect naming the three codes, a message of its own on each field, the first focused, nothing typed echoed", async () => {
    const path = await sessionPath();
    const { location, html } = await submitAndFollow(path, { card_number: "4242 42", expiry: "01/20", cvc: "91" }, `${path}?error=invalid_number,expired_card,invalid_cvc`);
    expect(location).not.toMatch(/424242|91\b|01\/20/);
    const alert = attributesOf(html, "form-error");
    expect(alert.role).toBe("alert");
    expect(alert.autofocus).toBeUndefined();
    expect(html).toContain(
      '<div id="form-error" role="alert" class="alert"><p>3 card details need correcting:</p><ul><li><a href="#card-number">Enter the card number (12 to 19 digits).</a></li><li><a href="#expiry">Your card has expired.</a></li><li><a href="#cvc">Enter the 3 or 4 digit CVC.</a></li></ul></div>',
    );
    expect(attributesOf(html, "card-number")).toMatchObject({ "aria-invalid": "true", "aria-describedby": "card-number-error", autofocus: "" });
    expect(attributesOf(html, "expiry")).toMatchObject({ "aria-invalid": "true", "aria-describedby": "expiry-error expiry-hint" });
    expect(attributesOf(html, "cvc")).toMatchObject({ "aria-invalid": "true", "aria-describedby": "cvc-error" });
    expect(html).toContain('<p id="card-number-error" class="field-error">Enter the card number (12 to 19 digits).</p>');
    expect(html).toContain('<p id="expiry-error" class="field-error">Your card has expired.</p>');
    expect(html).toContain('<p id="cvc-error" class="field-error">Enter the 3 or 4 digit CVC.</p>');
    expect(html.match(/\bautofocus\b/g)).toHaveLength(1);
    for (const field of ["card-number", "expiry", "cvc"]) expect(attributesOf(html, field).value, field).toBeUndefined();
    expect(html).toMatch(/<title>Error: /);
  });

  it("two fields on /pay (an Amex with a 3-digit CVC and a bad month): both said, the number left valid", async () => {
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 990, currency: "usd" })).body;
    const page = new URL(hostedPaymentPageUrl("http://gateway.test", pi.id, pi.client_secret));
    const { html } = await submitAndFollow(page.pathname, { client_secret: pi.client_secret, card_number: "3782 822463 10005", expiry: "13/34", cvc: "918" }, `${page.pathname}${page.search}&error=invalid_expiry_month,invalid_cvc_amex`);
    expect(attributesOf(html, "card-number")["aria-invalid"]).toBeUndefined();
    expect(attributesOf(html, "expiry")).toMatchObject({ "aria-invalid": "true", autofocus: "" });
    expect(attributesOf(html, "cvc")["aria-invalid"]).toBe("true");
    expect(html).toContain("Enter the 4-digit CVC printed on the front of your American Express card.");
    // Neither the card's digits nor its CVC come back; the page's own random ids (the intent's, its
    // client secret) are left out of the search, as they may hold "918" by chance.
    expect(html.replaceAll(pi.client_secret ?? "", "").replaceAll(pi.id, "")).not.toMatch(/822463|918/);
  });

  it("a list in ?error is shown only when every code is a check's: anything else is ignored", async () => {
    const path = await sessionPath();
    for (const odd of ["invalid_number,card_declined", "invalid_number,invalid_cvc,expired_card,invalid_expiry", "invalid_number,,invalid_cvc"]) {
      const html = await (await exports.default.fetch(`http://gateway.test${path}?error=${odd}`)).text();
      expect(html, odd).not.toContain('role="alert"');
      expect(html, odd).not.toMatch(/<input[^>]*aria-invalid/);
    }
  });
});

describe("the order summary and the page's text", () => {
  it("each item and the total are the headers of their rows", async () => {
    const html = await (await exports.default.fetch(`http://gateway.test${await sessionPath({ name: "Tea", unitAmount: 1800 })}`)).text();
    expect(html).toContain('<tr><th scope="row">Tea</th><td class="amt">$18.00</td></tr><tr class="total"><th scope="row">Total</th><td class="amt">$18.00</td></tr>');
  });

  it("the text follows the browser's font size (no size in px), and the links on the 3DS and result pages are at least 24 px tall", () => {
    expect(PAGE_STYLE).toMatch(/body\{font:100%\/1\.45 /);
    expect(PAGE_STYLE).not.toMatch(/font(-size)?:\s*\d+px/);
    // .onward is a one-line link (about 23 px): its padding makes the target at least 24 px.
    expect(PAGE_STYLE).toMatch(/\.onward\{display:inline-block;[^}]*padding:\.25rem 0\}/);
  });
});
