// Direction controls in a merchant's text (a product name, a description) are dropped from the
// shopper's pages: an override left open reordered the page's own words after it ("Gift card
// \u202E01 x" with quantity 2 read as "Gift card 2 × x 10"). Right-to-left text itself is kept.
import { describe, expect, it } from "vitest";
import { hostedPaymentPageUrl } from "../../src/pages/urls";
import { createIntent } from "../helpers";
import { open, sessionPath } from "./card-form";

const CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;

describe("direction controls in a merchant's text", () => {
  it("are dropped from the checkout page (a line item's name) and from /pay (a description); Hebrew stays", async () => {
    const html = await (await open(await sessionPath({ name: "Gift card \u202E01 x", unitAmount: 500 }))).text();
    expect(html).toContain("Gift card 01 x");
    expect(html).not.toMatch(CONTROLS);
    const pi = (await createIntent({ amount: 700, description: "\u2067שלום\u202B order \u202D7" })).body;
    const pay = await (await open(hostedPaymentPageUrl("", pi.id, pi.client_secret))).text();
    expect(pay).toContain("שלום order 7");
    expect(pay).not.toMatch(CONTROLS);
  });
});
