// The card form's own checks, before anything is attempted: the expiry field takes the full
// "MM / YYYY" the server accepts, a date in the past is an expired card (in those words), and the CVC
// has the length of the card's brand (4 digits on American Express, 3 on the others). A refusal
// answers with a 303 to the form's GET page carrying only a code (?error=<code>), which says what to
// correct and marks the field: a code of its own for each message, never what was typed.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { formExpiry } from "../../src/pages/checkout";
import { attributesOf, sessionPath, submit, submitAndFollow } from "./card-form";

describe("the expiry field", () => {
  it("takes 'MM / YYYY' whole (a browser keeps only maxlength characters), and the server pays with it", async () => {
    const path = await sessionPath({ name: "Teapot", unitAmount: 1200 });
    const html = await (await exports.default.fetch(`http://gateway.test${path}`)).text();
    const maxLength = Number(attributesOf(html, "expiry").maxlength);
    expect(maxLength).toBeGreaterThanOrEqual("12 / 2034".length);
    const paid = await submit(path, { expiry: "12 / 2034" });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe("https://shop.example/thanks");
  });

  it("a past expiry (01/20, 12 / 1999, last month) says the card has expired, not that its year is invalid; the expiry is marked and nothing typed is kept", async () => {
    const now = new Date();
    const lastMonth = now.getUTCMonth() === 0 ? `12 / ${String(now.getUTCFullYear() - 1).slice(2)}` : `${String(now.getUTCMonth()).padStart(2, "0")} / ${String(now.getUTCFullYear()).slice(2)}`;
    for (const expiry of ["01/20", "12 / 1999", lastMonth]) {
      const path = await sessionPath({ name: "Teapot", unitAmount: 1200 });
      const { html, page } = await submitAndFollow(path, { expiry }, `${path}?error=expired_card`);
      expect(page.status).toBe(200);
      expect(html, expiry).toMatch(/<div id="form-error" role="alert" class="alert">Your card has expired\.<\/div>/);
      expect(html).not.toContain("expiration year is invalid");
      const field = attributesOf(html, "expiry");
      expect(field).toMatchObject({ "aria-invalid": "true", "aria-describedby": "expiry-error expiry-hint", autofocus: "" });
      expect(field.value).toBeUndefined();
    }
    // A year too far ahead is still an invalid year.
    const path = await sessionPath();
    const far = await submitAndFollow(path, { expiry: "12 / 2099" }, `${path}?error=invalid_expiry_year`);
    expect(far.html).toContain("Your card&#39;s expiration year is invalid.");
  });
});

describe("an expiry field no browser would send", () => {
  it("is read in one pass: a run of spaces is never split two ways, and more than a date's length is no date", () => {
    // Before, "1", a long run of spaces and "x" backtracked quadratically: 60,000 spaces (a POST's worth) took 7.5 s.
    for (const typed of [`1${" ".repeat(1_000_000)}x`, `12${" ".repeat(1_000_000)}/`, `1 ${"/ ".repeat(500_000)}2`]) expect(formExpiry(typed)).toBeNull();
    for (const [typed, month, year] of [["04/28", "04", "28"], ["0428", "04", "28"], ["4/28", "4", "28"], ["  04 / 28 ", "04", "28"], ["12/2034", "12", "2034"], ["1 2034", "1", "2034"]] as const) {
      expect(formExpiry(typed)?.slice(1, 3), typed).toEqual([month, year]);
    }
    for (const typed of ["04-28", "4/283", "0428x", "04//28", "04/2", ""]) expect(formExpiry(typed), typed).toBeNull();
  });

  it("a POST of 60,000 spaces between month and year is an invalid expiry, said by its code, and nothing is attempted", async () => {
    const path = await sessionPath({ name: "Teapot", unitAmount: 1200 });
    const { page } = await submitAndFollow(path, { expiry: `1${" ".repeat(60_000)}x` }, `${path}?error=invalid_expiry`);
    expect(page.status).toBe(200);
  });
});

describe("the CVC's length by the card's brand", () => {
  for (const [brand, number, cvc, code, words] of [
    ["Visa", "4242 4242 4242 4242", "1234", "invalid_cvc_3_digits", "3-digit"],
    ["Mastercard", "5555 5555 5555 4444", "1234", "invalid_cvc_3_digits", "3-digit"],
    ["American Express", "3782 822463 10005", "123", "invalid_cvc_amex", "4-digit"],
  ] as const) {
    it(`${brand} with a ${cvc.length}-digit CVC is refused before anything is attempted: a 303 to the form with a code of its own, whose page marks the CVC and names the right length`, async () => {
      const path = await sessionPath({ name: "Teapot", unitAmount: 1200 });
      const { html } = await submitAndFollow(path, { card_number: number, cvc }, `${path}?error=${code}`);
      expect(attributesOf(html, "cvc")).toMatchObject({ "aria-invalid": "true", "aria-describedby": "cvc-error", autofocus: "" });
      expect(html).toMatch(new RegExp(`<div id="form-error" role="alert" class="alert">Enter the ${words} CVC[^<]*</div>`));
      expect(html).not.toContain(`value="${cvc}"`);
    });
  }

  it("4 digits on American Express and 3 on Visa pay", async () => {
    expect((await submit(await sessionPath({ name: "Teapot", unitAmount: 1200 }), { card_number: "3782 822463 10005", cvc: "1234" })).status).toBe(303);
    expect((await submit(await sessionPath({ name: "Teapot", unitAmount: 1200 }), { card_number: "4242424242424242", cvc: "123" })).status).toBe(303);
  });
});
