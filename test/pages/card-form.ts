// The hosted card form as a test drives it: a Checkout Session's page, a card submitted to it (or to
// /pay), the GET page its 303 leads to, and the attributes of one of the page's elements.
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { post } from "../helpers";

/** A new Checkout Session of one item, and the path of its page. */
export async function sessionPath(item = { name: "Tea", unitAmount: 1800 }): Promise<string> {
  const res = await post<{ url: string }>("/v1/checkout/sessions", {
    mode: "payment",
    line_items: [{ price_data: { currency: "usd", unit_amount: item.unitAmount, product_data: { name: item.name } }, quantity: 1 }],
    success_url: "https://shop.example/thanks",
    cancel_url: "https://shop.example/cart",
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return new URL(res.body.url).pathname;
}

/** The form POSTed with a Visa that pays, and `fields` in place of its defaults. */
export function submit(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  const body = new URLSearchParams({ card_number: "4242 4242 4242 4242", expiry: "12 / 34", cvc: "123", ...fields });
  return exports.default.fetch(new Request(`http://gateway.test${path}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body, redirect: "manual" }));
}

/** A GET of a gateway path (or absolute URL), as the browser makes after a 303. */
export function open(location: string): Promise<Response> {
  return exports.default.fetch(new Request(new URL(location, "http://gateway.test"), { redirect: "manual" }));
}

/**
 * The form POSTed (as submit), which must answer with a 303 (redirect-after-POST) to `expected` when
 * given; then the GET page it leads to, and its HTML.
 */
export async function submitAndFollow(path: string, fields: Record<string, string>, expected?: string): Promise<{ location: string; page: Response; html: string }> {
  const res = await submit(path, fields);
  expect(res.status, "every POST answers with a 303").toBe(303);
  await res.arrayBuffer();
  const location = res.headers.get("location") ?? "";
  if (expected !== undefined) expect(location).toBe(expected);
  const page = await open(location);
  return { location, page, html: await page.text() };
}

/** The attributes of the element (an input or a div) with this id, by name (a name alone has the value ""). */
export function attributesOf(html: string, id: string): Record<string, string> {
  const tag = new RegExp(`<(?:input|div)\\b[^>]*\\bid="${id}"[^>]*>`).exec(html)?.[0];
  expect(tag, `no element #${id}`).toBeDefined();
  const attrs: Record<string, string> = {};
  for (const m of (tag ?? "").matchAll(/([a-z-]+)(?:="([^"]*)")?/g)) if (m[1]) attrs[m[1]] = m[2] ?? "";
  return attrs;
}
