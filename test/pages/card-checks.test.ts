// The card form's own checks, before anything is attempted: the expiry field takes the full
// "MM / YYYY" the server accepts (and shows a kept 4-digit year whole), and the CVC has the length of
// the card's brand (4 digits on American Express, 3 on the others), refused with a field error.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attributesOf, sessionPath, submit } from "./card-form";

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

  it("a refused 4-digit year is kept whole, and fits the field", async () => {
    const res = await submit(await sessionPath({ name: "Teapot", unitAmount: 1200 }), { expiry: "12 / 1999" });
    expect(res.status).toBe(402);
    const expiry = attributesOf(await res.text(), "expiry");
    expect(expiry["aria-invalid"]).toBe("true");
    expect(expiry.value).toBe("12 / 1999");
    expect((expiry.value ?? "").length).toBeLessThanOrEqual(Number(expiry.maxlength));
  });
});

describe("the CVC's length by the card's brand", () => {
  for (const [brand, number, cvc, words] of [
    ["Visa", "4242 4242 4242 4242", "1234", "3-digit"],
    ["Mastercard", "5555 5555 5555 4444", "1234", "3-digit"],
    ["American Express", "3782 822463 10005", "123", "4-digit"],
  ] as const) {
    it(`${brand} with a ${cvc.length}-digit CVC is refused before anything is attempted, with the CVC marked and the right length named`, async () => {
      const res = await submit(await sessionPath({ name: "Teapot", unitAmount: 1200 }), { card_number: number, cvc });
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(attributesOf(html, "cvc")).toMatchObject({ "aria-invalid": "true", "aria-describedby": "form-error", autofocus: "" });
      expect(html).toMatch(new RegExp(`<div id="form-error" role="alert" class="alert">Enter the ${words} CVC[^<]*</div>`));
      expect(html).not.toContain(`value="${cvc}"`);
    });
  }

  it("4 digits on American Express and 3 on Visa pay", async () => {
    expect((await submit(await sessionPath({ name: "Teapot", unitAmount: 1200 }), { card_number: "3782 822463 10005", cvc: "1234" })).status).toBe(303);
    expect((await submit(await sessionPath({ name: "Teapot", unitAmount: 1200 }), { card_number: "4242424242424242", cvc: "123" })).status).toBe(303);
  });
});
