// Hosted checkout in a real browser: Debian's Chromium driven by playwright-core against `wrangler dev`
// (global-setup), with the merchant's shop on another origin (a loopback server on `localhost`, the
// gateway being on 127.0.0.1). Fields are found as a person finds them: by their labels and roles.
// Screenshots of each end state go to test-artifacts/checkout/ (git-ignored).
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
// @ts-expect-error: a plain .mjs module without types
import { DEV_JWT_SECRET } from "../../scripts/dev-secrets.mjs";

const gateway = new URL(inject("gatewayUrl"));
const stripe = new Stripe("sk_test_merchant_a", { host: gateway.hostname, port: Number(gateway.port), protocol: "http", maxNetworkRetries: 0 });
const ARTIFACTS = path.resolve(import.meta.dirname, "..", "..", "test-artifacts", "checkout");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let browser: Browser;
let shop: Server;
let shopOrigin = "";

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // The merchant's site: a page that shows where the shopper landed.
  shop = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    const url = new URL(req.url ?? "/", "http://shop");
    // Another site's page whose form POSTs a card to a gateway page (?to=): what a cross-site attack does.
    if (url.pathname === "/evil-form") {
      const to = (url.searchParams.get("to") ?? "").replace(/"/g, "&quot;");
      res.end(`<!doctype html><title>Win a prize</title><form method="post" action="${to}"><input type="hidden" name="card_number" value="4242424242424242"><input type="hidden" name="expiry" value="12/34"><input type="hidden" name="cvc" value="123"><button>Claim your prize</button></form>`);
      return;
    }
    res.end(`<!doctype html><title>Shop</title><h1>Shop: ${url.pathname}</h1>`);
  });
  await new Promise<void>((resolve) => shop.listen(0, "127.0.0.1", resolve));
  const address = shop.address();
  shopOrigin = `http://localhost:${typeof address === "object" && address ? address.port : 0}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => shop?.close(resolve));
});

async function newSession(extra: Partial<Stripe.Checkout.SessionCreateParams> = {}) {
  return stripe.checkout.sessions.create({
    mode: "payment",
    line_items: [
      { price_data: { currency: "usd", unit_amount: 1500, product_data: { name: "Espresso beans" } }, quantity: 1 },
      { price_data: { currency: "usd", unit_amount: 500, product_data: { name: "Paper filters" } }, quantity: 2 },
    ],
    success_url: `${shopOrigin}/thanks?session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${shopOrigin}/cart`,
    ...extra,
  });
}

interface Tab {
  context: BrowserContext;
  page: Page;
  /** Console messages, to catch Content-Security-Policy violations. */
  console: string[];
}

async function tab(viewport = { width: 1024, height: 800 }): Promise<Tab> {
  const context = await browser.newContext({ viewport });
  // A loaded machine can take over Playwright's default 30 s to draw a page: waits stop at 90 s.
  context.setDefaultTimeout(90_000);
  const page = await context.newPage();
  const console: string[] = [];
  page.on("console", (m) => console.push(m.text()));
  return { context, page, console };
}

async function fillCard(page: Page, number: string): Promise<void> {
  await page.getByLabel(/card number/i).fill(number);
  await page.getByLabel(/expiry/i).fill("12 / 34");
  await page.getByLabel(/cvc/i).fill("123");
}

/** The id of the element that has the focus. */
/**
 * The id of the element with the focus once the page has applied its autofocus: Chromium applies it
 * after the load event, at its next rendering update, so the focus is waited for (a state, not a
 * time), up to `id` or 5 s, then read.
 */
const focusedId = async (page: Page, id = "card-number") => {
  // Polled with page.evaluate: page.waitForFunction's later polls run the page's eval, which the
  // pages' CSP (script-src 'self') refuses, so a focus that came late was never waited for.
  await expect.poll(() => page.evaluate<boolean>(`document.activeElement?.id === ${JSON.stringify(id)}`), { timeout: 5_000 }).toBe(true).catch(() => undefined);
  return String(await page.evaluate("document.activeElement ? document.activeElement.id : ''"));
};

/** The text of what a field's aria-describedby names, as a screen reader reads it after the label. */
const descriptionOf = async (page: Page, id: string) =>
  String(await page.evaluate(`(() => { const ids = (document.getElementById(${JSON.stringify(id)}).getAttribute("aria-describedby") || "").split(" "); return ids.map((i) => document.getElementById(i)?.textContent ?? "").join(" ").trim(); })()`));

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
const noCspViolation = (t: Tab) => expect(t.console.filter((m) => /Content Security Policy|violates/i.test(m))).toEqual([]);

async function intentAuthorizations(id: string): Promise<number> {
  const res = await fetch(`${gateway.origin}/v1/payment_intents/${id}/transactions`, { headers: { authorization: "Bearer sk_test_merchant_a" } });
  const body = (await res.json()) as { data: { type: string; status: string }[] };
  return body.data.filter((t) => t.type === "authorize" && t.status === "succeeded").length;
}

describe("hosted checkout in Chromium", () => {
  it("pays with 4242 and lands on success_url (another origin) with the session id", async () => {
    const s = await newSession();
    const t = await tab();
    await t.page.goto(s.url ?? "");
    await expect(t.page.getByText("Demo Merchant A")).toBeTruthy();
    expect(await t.page.textContent("body")).toContain("$25.00");
    await fillCard(t.page, "4242 4242 4242 4242");
    const pay = t.page.getByRole("button", { name: /^pay/i });
    expect(await pay.textContent()).toBe("Pay $25.00");
    await pay.click();
    await t.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`);
    await shot(t.page, "01-paid-success-url");
    noCspViolation(t);
    const after = await stripe.checkout.sessions.retrieve(s.id);
    expect(after.status).toBe("complete");
    expect(after.payment_status).toBe("paid");
    await t.context.close();
  });

  it("shows a decline in role=alert, then the shopper pays with another card; Back then shows the page afresh, never Chrome's 'Confirm Form Resubmission'", async () => {
    const s = await newSession();
    const t = await tab();
    await t.page.goto(s.url ?? "");
    await fillCard(t.page, "4000 0000 0000 0002");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    const alert = t.page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/declined/i);
    // Redirect-after-POST: the decline is shown by the form's GET page, named by its code alone; nothing
    // typed is put back into the page (the expiry would have had to travel in the URL).
    expect(t.page.url()).toBe(`${gateway.origin}/checkout/${s.id}?error=card_declined`);
    for (const field of [/card number/i, /expiry/i, /cvc/i]) expect(await t.page.getByLabel(field).inputValue()).toBe("");
    // Nothing typed was wrong: no field is marked invalid; the alert takes the focus (read out first).
    for (const field of [/card number/i, /expiry/i, /cvc/i]) expect(await t.page.getByLabel(field).getAttribute("aria-invalid")).toBeNull();
    expect(await focusedId(t.page, "form-error")).toBe("form-error");
    await shot(t.page, "02-declined");
    await fillCard(t.page, "4242424242424242");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`);
    await shot(t.page, "03-retry-paid");
    expect((await stripe.checkout.sessions.retrieve(s.id)).status).toBe("complete");
    // Back from the shop: the page of the declined attempt is a GET, loaded afresh: it says the session is paid.
    await t.page.goBack();
    expect(t.page.url()).toBe(`${gateway.origin}/checkout/${s.id}?error=card_declined`);
    expect(await t.page.textContent("h1")).toBe("Payment complete");
    expect(await t.page.getByLabel(/card number/i).count()).toBe(0);
    await shot(t.page, "03b-back-after-paying");
    expect(await intentAuthorizations(String(s.payment_intent))).toBe(1);
    noCspViolation(t);
    await t.context.close();
  });

  it("a card number that fails its check: a 303 to the form's page (?error=incorrect_number), where the number is marked, described by the alert and focused, so the shopper types it again at once; nothing typed is kept", async () => {
    const s = await newSession();
    const t = await tab();
    await t.page.goto(s.url ?? "");
    await t.page.getByLabel(/card number/i).fill("4242 4242 4242 4241");
    await t.page.getByLabel(/expiry/i).fill("11/34");
    await t.page.getByLabel(/cvc/i).fill("123");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.getByRole("alert").waitFor();
    expect(t.page.url()).toBe(`${gateway.origin}/checkout/${s.id}?error=incorrect_number`);
    expect(await focusedId(t.page)).toBe("card-number");
    expect(await t.page.getByLabel(/card number/i).getAttribute("aria-invalid")).toBe("true");
    expect(await descriptionOf(t.page, "card-number")).toBe("Your card number is incorrect.");
    // Nothing typed comes back (it would have had to travel in the URL).
    for (const field of [/card number/i, /expiry/i, /cvc/i]) expect(await t.page.getByLabel(field).inputValue()).toBe("");
    expect(await t.page.getByLabel(/expiry/i).getAttribute("aria-invalid")).toBeNull();
    // The refused number is not echoed back, in any grouping (a bare "4241" could be a random port in a link).
    expect(await t.page.content()).not.toMatch(/4242\D{0,3}4242\D{0,3}4242\D{0,3}4241/);
    await shot(t.page, "02b-check-failed-focus");
    // Typed where the focus is: the number field.
    await t.page.keyboard.type("4242424242424242");
    await t.page.getByLabel(/expiry/i).fill("11 / 34");
    await t.page.getByLabel(/cvc/i).fill("123");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`);
    noCspViolation(t);
    await t.context.close();
  });

  it("Reload, Back and Forward after a refused card, an Amex CVC or an expired session never send the card again (no 'Confirm Form Resubmission'): every POST answered with a 303", async () => {
    const t = await tab();
    const posts: string[] = [];
    t.page.on("request", (r) => {
      if (r.method() === "POST") posts.push(r.url());
    });
    const dialogs: string[] = [];
    t.page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const cases: [string, string, string, RegExp][] = [
      ["4242 4242 4242 4241", "12 / 34", "123", /Your card number is incorrect\./],
      ["4242 4242 4242 4242", "01 / 20", "123", /Your card has expired\./],
      ["3782 822463 10005", "12 / 34", "123", /4-digit CVC printed on the front of your American Express card/],
    ];
    for (const [number, expiry, cvc, words] of cases) {
      const s = await newSession();
      await t.page.goto(s.url ?? "");
      await t.page.getByLabel(/card number/i).fill(number);
      await t.page.getByLabel(/expiry/i).fill(expiry);
      await t.page.getByLabel(/cvc/i).fill(cvc);
      await t.page.getByRole("button", { name: /^pay/i }).click();
      await t.page.getByRole("alert").waitFor();
      expect(await t.page.getByRole("alert").textContent()).toMatch(words);
      const landed = new URL(t.page.url());
      expect(landed.pathname).toBe(`/checkout/${s.id}`);
      expect(landed.search).toMatch(/^\?error=[a-z0-9_]+$/);
      const sent = posts.length;
      await t.page.reload();
      expect(await t.page.getByRole("alert").textContent()).toMatch(words);
      await t.page.goBack();
      await t.page.goForward();
      expect(t.page.url()).toBe(landed.toString());
      expect(posts.length, `POSTs after reload/back/forward (${number})`).toBe(sent);
      expect(await intentAuthorizations(String(s.payment_intent))).toBe(0);
    }
    // An expired session: the POST's 303 leads to the session's page, the 410 page.
    const s = await newSession();
    await t.page.goto(s.url ?? "");
    await stripe.checkout.sessions.expire(s.id);
    await fillCard(t.page, "4242 4242 4242 4242");
    const [expired] = await Promise.all([t.page.waitForNavigation(), t.page.getByRole("button", { name: /^pay/i }).click()]);
    expect(expired?.status()).toBe(410);
    expect(t.page.url()).toBe(`${gateway.origin}/checkout/${s.id}`);
    expect(await t.page.textContent("h1")).toBe("Checkout expired");
    const sent = posts.length;
    const reloaded = await t.page.reload();
    expect(reloaded?.request().method()).toBe("GET");
    expect(posts.length).toBe(sent);
    expect(dialogs).toEqual([]);
    await shot(t.page, "02c-expired-after-post");
    await t.context.close();
  });

  it("a card POSTed by another site's page (the shop's origin here) is refused with a 403 and charges nothing; the gateway's own form POSTs say Sec-Fetch-Site: same-origin", async () => {
    const s = await newSession();
    const t = await tab();
    await t.page.goto(`${shopOrigin}/evil-form?to=${encodeURIComponent(s.url ?? "")}`);
    const [refused] = await Promise.all([t.page.waitForNavigation(), t.page.getByRole("button", { name: "Claim your prize" }).click()]);
    expect(refused?.status()).toBe(403);
    expect(await t.page.textContent("h1")).toBe("Request refused");
    expect((await stripe.checkout.sessions.retrieve(s.id)).status).toBe("open");
    expect(await intentAuthorizations(String(s.payment_intent))).toBe(0);
    // The same card on the gateway's own page pays: its POST is same-origin, its Origin null (no-referrer).
    const headers: Record<string, string>[] = [];
    t.page.on("request", (r) => {
      if (r.method() === "POST") void r.allHeaders().then((h) => headers.push(h));
    });
    await t.page.goto(s.url ?? "");
    await fillCard(t.page, "4242 4242 4242 4242");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`);
    expect(headers.map((h) => [h["sec-fetch-site"], h.origin])).toEqual([["same-origin", "null"]]);
    await t.context.close();
  });

  it("3DS approved: the challenge, then success_url on another origin", async () => {
    const s = await newSession();
    const t = await tab();
    await t.page.goto(s.url ?? "");
    await fillCard(t.page, "4000 0027 6000 3184");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.getByRole("button", { name: "Complete authentication" }).waitFor();
    expect(await t.page.textContent("body")).toContain("Demo Merchant A");
    await shot(t.page, "04-3ds-challenge");
    await t.page.getByRole("button", { name: "Complete authentication" }).click();
    await t.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`);
    await shot(t.page, "05-3ds-approved-success-url");
    noCspViolation(t);
    expect((await stripe.checkout.sessions.retrieve(s.id)).status).toBe("complete");
    await t.context.close();
  });

  it("3DS failed: back on the session's page with the reason; another card then pays", async () => {
    const s = await newSession();
    const t = await tab();
    await t.page.goto(s.url ?? "");
    await fillCard(t.page, "4000002760003184");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.getByRole("button", { name: "Fail authentication" }).click();
    const alert = t.page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/authenticat/i);
    expect(new URL(t.page.url()).pathname).toBe(`/checkout/${s.id}/return`);
    // The card was not typed wrong: no field marked, the alert focused.
    expect(await focusedId(t.page, "form-error")).toBe("form-error");
    expect(await t.page.getByLabel(/card number/i).getAttribute("aria-invalid")).toBeNull();
    await shot(t.page, "06-3ds-failed");
    await fillCard(t.page, "4242424242424242");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`);
    noCspViolation(t);
    await t.context.close();
  });

  it("Cancel goes back to cancel_url and pays nothing", async () => {
    const s = await newSession();
    const t = await tab();
    await t.page.goto(s.url ?? "");
    await t.page.getByRole("link", { name: "Cancel" }).click();
    await t.page.waitForURL(`${shopOrigin}/cart`);
    await shot(t.page, "07-canceled");
    expect((await stripe.checkout.sessions.retrieve(s.id)).status).toBe("open");
    await t.context.close();
  });

  it("an expired session says so and offers no form", async () => {
    const s = await newSession();
    await stripe.checkout.sessions.expire(s.id);
    const t = await tab();
    await t.page.goto(s.url ?? "");
    expect(await t.page.textContent("h1")).toMatch(/expired/i);
    expect(await t.page.getByLabel(/card number/i).count()).toBe(0);
    expect(await t.page.getByRole("button", { name: /^pay/i }).count()).toBe(0);
    await shot(t.page, "08-expired");
    await t.context.close();
  });

  it("two tabs paying the same session at once charge once", async () => {
    const s = await newSession();
    const one = await tab();
    const two = await tab();
    for (const t of [one, two]) {
      await t.page.goto(s.url ?? "");
      await fillCard(t.page, "4242424242424242");
    }
    await Promise.all([one.page.getByRole("button", { name: /^pay/i }).click(), two.page.getByRole("button", { name: /^pay/i }).click()]);
    await Promise.all([one.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`), two.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`)]);
    expect(await intentAuthorizations(String(s.payment_intent))).toBe(1);
    const pi = await stripe.paymentIntents.retrieve(String(s.payment_intent));
    expect(pi.amount_received).toBe(2500);
    await one.context.close();
    await two.context.close();
  });

  it("follows the shopper's dark scheme: dark page, light text, the form's fields readable", async () => {
    const s = await newSession();
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, colorScheme: "dark" });
    context.setDefaultTimeout(90_000);
    const page = await context.newPage();
    await page.goto(s.url ?? "");
    const colours = (selector: string) => page.evaluate(`(() => { const st = getComputedStyle(document.querySelector(${JSON.stringify(selector)})); return [st.backgroundColor, st.color]; })()`) as Promise<[string, string]>;
    // Relative luminance from "rgb(r, g, b)".
    const lum = (rgb: string) => {
      const [r = 0, g = 0, b = 0] = (rgb.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
        const c = Number(v) / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const contrast = (a: string, b: string) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
    const [mainBg, mainText] = await colours("main");
    expect(lum(mainBg)).toBeLessThan(0.05);
    expect(contrast(mainBg, mainText)).toBeGreaterThanOrEqual(7);
    const [inputBg, inputText] = await colours("#card-number");
    expect(contrast(inputBg, inputText)).toBeGreaterThanOrEqual(7);
    await shot(page, "09c-phone-375-dark");
    await context.close();
  });

  it("is usable on a 375 px wide phone screen", async () => {
    const s = await newSession();
    const t = await tab({ width: 375, height: 740 });
    await t.page.goto(s.url ?? "");
    const width = Number(await t.page.evaluate("document.documentElement.scrollWidth"));
    expect(width).toBeLessThanOrEqual(375);
    // The Cancel link too: a text link one line high (23 px) was under the 24 px minimum target.
    for (const locator of [t.page.getByLabel(/card number/i), t.page.getByLabel(/expiry/i), t.page.getByLabel(/cvc/i), t.page.getByRole("button", { name: /^pay/i }), t.page.getByRole("link", { name: "Cancel" })]) {
      const box = await locator.boundingBox();
      expect(box).not.toBeNull();
      expect((box?.x ?? -1) >= 0 && (box?.x ?? 0) + (box?.width ?? 0) <= 375).toBe(true);
      expect(box?.height ?? 0).toBeGreaterThanOrEqual(36);
    }
    await shot(t.page, "09-phone-375");
    // A long product name beside a large amount wraps; the page never scrolls sideways (it did: 428 px).
    const long = await newSession({
      line_items: [{ price_data: { currency: "usd", unit_amount: 99_999_999, product_data: { name: "A very long product name Supercalifragilisticexpialidocious-Deluxe-Edition-With-Extra-Long-Unbroken-Identifier-0123456789" } }, quantity: 1 }],
    });
    const wide = await tab({ width: 375, height: 740 });
    await wide.page.goto(long.url ?? "");
    expect(Number(await wide.page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(375);
    await shot(wide.page, "09b-phone-375-long-name");
    await wide.context.close();
    await fillCard(t.page, "4242424242424242");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`);
    await t.context.close();
  });
});

describe("a payment being confirmed, in Chromium", () => {
  it("4000 0000 0000 7007 (the provider times out; reconciliation learns it succeeded): the session's page says it is being confirmed, with no form, and leads on to success_url by itself", { timeout: 240_000 }, async () => {
    const s = await newSession();
    const t = await tab();
    await t.page.goto(s.url ?? "");
    await fillCard(t.page, "4000 0000 0000 7007");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.getByRole("heading", { name: "Payment processing" }).waitFor();
    // Redirect-after-POST: straight to the one address of the processing page (a GET, which reloads
    // itself in place), which offers no form and no Cancel.
    expect(t.page.url()).toBe(`${gateway.origin}/checkout/${s.id}/return`);
    // No reload on a timer (WCAG 2.2.1): its script looks in the background, and says what it adds
    // (hidden without script); the way to stop it comes before its message (reading order).
    expect(await t.page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
    await t.page.getByText(/also checks by itself every \d+ seconds/).waitFor();
    const order = await t.page.evaluate<string[]>(`[...document.querySelectorAll("main a, main [role=status]")].map((e) => e.getAttribute("role") === "status" ? "status" : e.textContent)`);
    expect(order).toEqual(["Stop checking by itself", "Check again", "status"]);
    expect(await t.page.getByRole("status").textContent()).toMatch(/being confirmed/);
    expect(await t.page.getByLabel(/card number/i).count()).toBe(0);
    expect(await t.page.getByRole("link", { name: "Cancel" }).count()).toBe(0);
    expect(await t.page.getByRole("link", { name: "Check again" }).count()).toBe(1);
    await shot(t.page, "13-processing");
    // A fresh GET of the session's page in another tab shows the same, not the form.
    const other = await tab();
    await other.page.goto(s.url ?? "");
    await other.page.getByRole("heading", { name: "Payment processing" }).waitFor();
    expect(other.page.url()).toBe(`${gateway.origin}/checkout/${s.id}/return`);
    expect(await other.page.getByRole("button", { name: /^pay/i }).count()).toBe(0);
    await other.context.close();
    // The page looks again by itself (its script fetches its own address) until the payment is
    // confirmed (RECONCILE_SCHEDULE's first delay, 30 s in `npm run dev`), then goes on to success_url.
    await t.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`, { timeout: 200_000 });
    expect((await stripe.checkout.sessions.retrieve(s.id)).status).toBe("complete");
    expect(await intentAuthorizations(String(s.payment_intent))).toBe(1);
    // The looks added no history entry (the page is replaced in place once the payment moved on), and
    // the way on replaced the last: the form, the session's page, success_url; not one entry per look.
    expect(await t.page.evaluate("history.length")).toBeLessThanOrEqual(4);
    // Back from success_url is the session's page, which says it is paid and stays (no trap sending
    // the shopper forward again).
    await t.page.goBack();
    await t.page.getByRole("heading", { name: "Payment complete" }).waitFor();
    expect(t.page.url()).toBe(`${gateway.origin}/checkout/${s.id}`);
    await t.page.waitForTimeout(1_500);
    expect(t.page.url()).toBe(`${gateway.origin}/checkout/${s.id}`);
    noCspViolation(t);
    await t.context.close();
  });
});

describe("long unbroken words on a 375 px wide phone", () => {
  it("a 112-character merchant name and a 102-character description never make the shopper's pages scroll sideways", async () => {
    // A merchant of its own, named with one long word (names may have up to 200 characters).
    const name = "LongMerchantName".repeat(7);
    expect(name).toHaveLength(112);
    const admin = spawnSync(process.execPath, [path.resolve(import.meta.dirname, "..", "..", "scripts", "cli.mjs"), "token", "--secret", DEV_JWT_SECRET as string, "--role", "admin"], { encoding: "utf8" }).stdout.trim();
    const made = await fetch(`${gateway.origin}/v1/admin/merchants`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify({ name }) });
    expect(made.status).toBe(200);
    const key = ((await made.json()) as { api_key: { secret: string } }).api_key.secret;
    const shop = new Stripe(key, { host: gateway.hostname, port: Number(gateway.port), protocol: "http", maxNetworkRetries: 0 });
    const t = await tab({ width: 375, height: 740 });
    const fitsThePhone = async (what: string) => {
      expect(await t.page.getByText(name).count(), `${what}: the merchant's name is shown`).toBeGreaterThan(0);
      expect(Number(await t.page.evaluate("document.documentElement.scrollWidth")), what).toBeLessThanOrEqual(375);
    };

    const session = await shop.checkout.sessions.create({
      mode: "payment",
      line_items: [{ price_data: { currency: "usd", unit_amount: 1500, product_data: { name: "Beans" } }, quantity: 1 }],
      success_url: `${shopOrigin}/thanks`,
    });
    await t.page.goto(session.url ?? "");
    await fitsThePhone("checkout");
    await shot(t.page, "14-long-merchant-checkout");

    const bare = await shop.paymentIntents.create({ amount: 990, currency: "usd", description: "Gift card" });
    await t.page.goto(`${gateway.origin}/pay/${bare.id}?client_secret=${encodeURIComponent(bare.client_secret ?? "")}`);
    await fitsThePhone("/pay");

    // The 3D Secure challenge, and its result page (no return_url: the page says how it went).
    const challenged = await shop.paymentIntents.create({ amount: 4200, currency: "eur", payment_method: "pm_card_threeDSecure2Required", confirm: true });
    await t.page.goto(challenged.next_action?.redirect_to_url?.url ?? "");
    await t.page.getByRole("button", { name: "Complete authentication" }).waitFor();
    await fitsThePhone("3DS challenge");
    await t.page.getByRole("button", { name: "Complete authentication" }).click();
    await t.page.getByRole("heading", { name: "Payment complete" }).waitFor();
    await fitsThePhone("3DS result");
    await shot(t.page, "15-long-merchant-3ds-result");

    // The sandbox's PayPal page, with a description of one long word, and the page the payer comes back to.
    const description = "PayPalDescription".repeat(6);
    expect(description).toHaveLength(102);
    const paypal = await shop.paymentIntents.create({ amount: 2999, currency: "usd", description, payment_method_data: { type: "paypal" }, confirm: true });
    expect(paypal.status).toBe("requires_action");
    await t.page.goto(paypal.next_action?.redirect_to_url?.url ?? "");
    await t.page.getByRole("button", { name: "Approve payment" }).waitFor();
    expect(await t.page.getByText(description).count()).toBeGreaterThan(0);
    expect(Number(await t.page.evaluate("document.documentElement.scrollWidth")), "PayPal page").toBeLessThanOrEqual(375);
    await shot(t.page, "16-long-description-paypal");
    await t.page.getByRole("button", { name: "Approve payment" }).click();
    await t.page.getByRole("heading", { name: `Your payment to ${name}` }).waitFor();
    await fitsThePhone("provider return");
    noCspViolation(t);
    await t.context.close();
  });
});

describe("a /v1 payment intent's pages in Chromium", () => {
  it("next_action's 3DS page, completed in the browser, returns to a cross-origin return_url (no form-action stranding)", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 4200, currency: "eur", payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: `${shopOrigin}/return` });
    expect(pi.status).toBe("requires_action");
    const t = await tab();
    await t.page.goto(pi.next_action?.redirect_to_url?.url ?? "");
    expect(await t.page.textContent("body")).toContain("Demo Merchant A");
    await t.page.getByRole("button", { name: "Complete authentication" }).click();
    await t.page.waitForURL((url) => url.origin === shopOrigin && url.pathname === "/return");
    const landed = new URL(t.page.url());
    expect(landed.searchParams.get("payment_intent")).toBe(pi.id);
    expect(landed.searchParams.get("redirect_status")).toBe("succeeded");
    await shot(t.page, "10-v1-3ds-return-url");
    noCspViolation(t);
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe("succeeded");
    await t.context.close();
  });

  it("/pay without a return_url: a failed 3DS challenge says so and links back to the payment page, where another card pays", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1250, currency: "eur", description: "Concert ticket" });
    const t = await tab();
    await t.page.goto(`${gateway.origin}/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret ?? "")}`);
    await fillCard(t.page, "4000 0027 6000 3184");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.getByRole("button", { name: "Fail authentication" }).click();
    await t.page.getByRole("heading", { name: "Payment not completed" }).waitFor();
    expect(await t.page.getByRole("alert").textContent()).toMatch(/3D Secure failed.*Nothing was charged/);
    await shot(t.page, "12-pay-3ds-failed-no-return-url");
    await t.page.getByRole("link", { name: "Pay with another card" }).click();
    await t.page.waitForURL((url) => url.pathname === `/pay/${pi.id}`);
    // The card was not typed wrong: the alert has the focus, no field is marked.
    expect(await focusedId(t.page, "form-error")).toBe("form-error");
    expect(await t.page.getByRole("alert").textContent()).toMatch(/3D Secure failed/);
    expect(await t.page.getByLabel(/card number/i).getAttribute("aria-invalid")).toBeNull();
    await fillCard(t.page, "4000 0027 6000 3184");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.getByRole("button", { name: "Complete authentication" }).click();
    await t.page.getByRole("heading", { name: "Payment complete" }).waitFor();
    expect(await t.page.textContent("body")).toContain("Your payment of €12.50 has been made.");
    await t.page.getByRole("link", { name: "View your payment" }).click();
    await t.page.waitForURL((url) => url.pathname === `/pay/${pi.id}`);
    expect(await t.page.textContent("body")).toContain("Your payment of €12.50 has been made.");
    noCspViolation(t);
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe("succeeded");
    await t.context.close();
  });

  it("the hosted page of a bare intent (/pay) takes the card and returns to return_url", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 990, currency: "usd", return_url: `${shopOrigin}/return`, description: "Gift card" });
    const t = await tab();
    await t.page.goto(`${gateway.origin}/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret ?? "")}`);
    expect(await t.page.getByRole("button", { name: /^pay/i }).textContent()).toBe("Pay $9.90");
    await fillCard(t.page, "4242424242424242");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.waitForURL((url) => url.origin === shopOrigin && url.pathname === "/return");
    expect(new URL(t.page.url()).searchParams.get("redirect_status")).toBe("succeeded");
    await shot(t.page, "11-pay-page-return-url");
    noCspViolation(t);
    await t.context.close();
  });
});

describe("PayPal (the sandbox's page) in Chromium", () => {
  it("approve: the page names the merchant; its POST and the return page's auto-submitted form are same-origin (not refused); Back to the PayPal page links onward", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2599, currency: "usd", payment_method_data: { type: "paypal" }, confirm: true, return_url: `${shopOrigin}/paypal-back` } as Stripe.PaymentIntentCreateParams);
    expect(pi.status).toBe("requires_action");
    const t = await tab();
    const posts: { url: string; site: string | undefined }[] = [];
    t.page.on("request", (r) => {
      if (r.method() === "POST") void r.allHeaders().then((h) => posts.push({ url: new URL(r.url()).pathname, site: h["sec-fetch-site"] }));
    });
    await t.page.goto(pi.next_action?.redirect_to_url?.url ?? "");
    expect(await t.page.textContent("body")).toContain("Pay $25.99 to Demo Merchant A");
    await t.page.getByRole("button", { name: "Approve payment" }).click();
    await t.page.waitForURL((url) => url.origin === shopOrigin && url.pathname === "/paypal-back");
    expect(new URL(t.page.url()).searchParams.get("redirect_status")).toBe("succeeded");
    expect(posts).toEqual([
      { url: "/sandbox/paypal/checkoutnow", site: "same-origin" },
      { url: `/connectors/return/${pi.id}`, site: "same-origin" },
    ]);
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe("succeeded");
    // Back to the PayPal page (past the return page, which a GET only shows): already approved, and the way on.
    await t.page.goto(pi.next_action?.redirect_to_url?.url ?? "");
    expect(await t.page.textContent("body")).toContain("was already approved");
    await shot(t.page, "17-paypal-already-approved");
    await t.page.getByRole("link", { name: "Continue" }).click();
    await t.page.waitForURL((url) => url.origin === shopOrigin && url.pathname === "/paypal-back");
    noCspViolation(t);
    await t.context.close();
  });

  it("cancel on /pay: back on the payment page with a neutral notice, no field marked, and a card then pays", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1800, currency: "usd", description: "Tea", payment_method_data: { type: "paypal" }, confirm: true } as Stripe.PaymentIntentCreateParams);
    const t = await tab();
    await t.page.goto(pi.next_action?.redirect_to_url?.url ?? "");
    await t.page.getByRole("button", { name: "Cancel" }).click();
    await t.page.getByRole("link", { name: "Pay with another card" }).click();
    await t.page.waitForURL((url) => url.pathname === `/pay/${pi.id}`);
    expect(await t.page.getByRole("status").textContent()).toBe("You canceled the PayPal payment, so nothing was charged. You can pay with a card instead.");
    expect(await t.page.getByRole("alert").count()).toBe(0);
    expect(await t.page.getByLabel(/card number/i).getAttribute("aria-invalid")).toBeNull();
    // Nothing takes the focus on load: no field (nor the notice) is autofocused.
    expect(await t.page.locator("[autofocus]").count()).toBe(0);
    await shot(t.page, "18-paypal-canceled-pay-page");
    await fillCard(t.page, "4242424242424242");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.getByRole("heading", { name: "Payment complete" }).waitFor();
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe("succeeded");
    noCspViolation(t);
    await t.context.close();
  });
});

describe("the 3DS challenge's way out, in Chromium", () => {
  it("the challenge names the card 'Visa •••• 3184'; Cancel goes back to the session's page, where another card pays; Back to the answered challenge is labelled truthfully", async () => {
    const s = await newSession();
    const t = await tab();
    await t.page.goto(s.url ?? "");
    await fillCard(t.page, "4000 0027 6000 3184");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.getByRole("button", { name: "Fail authentication" }).waitFor();
    const challenge = t.page.url();
    expect(await t.page.textContent("body")).toContain("Visa •••• 3184");
    // A one-line link, at least 24 px tall (WCAG 2.5.8; it was 23).
    expect((await t.page.getByRole("link", { name: "Cancel and go back to the payment page" }).boundingBox())?.height ?? 0).toBeGreaterThanOrEqual(24);
    await t.page.getByRole("link", { name: "Cancel and go back to the payment page" }).click();
    await t.page.waitForURL(`${gateway.origin}/checkout/${s.id}`);
    expect(await t.page.getByRole("link", { name: "Continue with your bank" }).count()).toBe(1);
    // Back to the challenge, failed this time: its page, once answered, says where its link leads.
    await t.page.goto(challenge);
    await t.page.getByRole("button", { name: "Fail authentication" }).click();
    await t.page.getByRole("alert").waitFor();
    await t.page.goto(challenge);
    expect(await t.page.textContent("h1")).toBe("Nothing to confirm");
    await t.page.getByRole("link", { name: "Back to the payment page" }).click();
    await t.page.waitForURL((url) => url.pathname === `/checkout/${s.id}/return`);
    await fillCard(t.page, "4242424242424242");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`);
    expect(await intentAuthorizations(String(s.payment_intent))).toBe(1);
    noCspViolation(t);
    await t.context.close();
  });
});

describe("seed 004's frontend examples in Chromium", () => {
  it("the document's fetch from the merchant's page (another origin) creates a payment intent and reads its client_secret", async () => {
    const t = await tab();
    await t.page.goto(`${shopOrigin}/course`);
    // The document's "Frontend JavaScript (Stripe)" example, with the gateway's absolute URL.
    const answer = await t.page.evaluate(async (base) => {
      const response = await fetch(`${base}/api/v1/payments/stripe/create-payment-intent/`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + "sk_test_merchant_a" },
        body: JSON.stringify({ amount: 29.99, currency: "usd", metadata: { course_id: "123" } }),
      });
      const { client_secret, amount } = (await response.json()) as { client_secret?: string; amount?: number };
      return { status: response.status, client_secret, amount };
    }, gateway.origin);
    expect(answer.status).toBe(200);
    expect(answer.amount).toBe(2999);
    expect(answer.client_secret).toMatch(/^pi_.+_secret_/);
    // An error is readable too: the shop's script can show it.
    const refused = await t.page.evaluate(async (base) => {
      const response = await fetch(`${base}/api/v1/payments/paypal/create-order/`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer not_a_token" },
        body: JSON.stringify({ amount: 29.99, currency: "USD", description: "Course enrollment" }),
      });
      return { status: response.status, body: (await response.json()) as { error?: string } };
    }, gateway.origin);
    expect(refused.status).toBe(401);
    expect(typeof refused.body.error).toBe("string");
    await t.context.close();
  });
});

describe("the card form's own checks, in Chromium", () => {
  it("the browser refuses a short number, a month 13 and a 2-digit CVC before anything is sent, keeping what was typed; the expiry's hint is its description", async () => {
    const s = await newSession();
    const t = await tab({ width: 375, height: 740 });
    const posts: string[] = [];
    t.page.on("request", (r) => {
      if (r.method() === "POST") posts.push(r.url());
    });
    await t.page.goto(s.url ?? "");
    expect(await descriptionOf(t.page, "expiry")).toBe("MM/YY, for example 04/28; the slash is optional.");
    await t.page.getByLabel(/card number/i).fill("4242 4242");
    await t.page.getByLabel(/expiry/i).fill("13/34");
    await t.page.getByLabel(/cvc/i).fill("12");
    // The browser's own validation stops the submission: its first `invalid` field is the number.
    const invalid = t.page.evaluate<string>(
      `new Promise((resolve) => document.getElementById("card-number").form.addEventListener("invalid", (e) => resolve(e.target.id), { capture: true, once: true }))`,
    );
    await t.page.getByRole("button", { name: /^pay/i }).click();
    expect(await invalid).toBe("card-number");
    expect(await t.page.evaluate<boolean>(`document.getElementById("card-number").form.checkValidity()`)).toBe(false);
    expect(posts).toEqual([]);
    expect(t.page.url()).toBe(s.url);
    for (const id of ["card-number", "expiry", "cvc"]) expect(await t.page.evaluate<boolean>(`document.getElementById(${JSON.stringify(id)}).validity.patternMismatch`), id).toBe(true);
    expect(await t.page.getByLabel(/card number/i).inputValue()).toBe("4242 4242");
    await shot(t.page, "20-native-checks-375");
    // Corrected, with the expiry typed without its slash (a numeric keypad has none): it pays.
    await t.page.getByLabel(/card number/i).fill("4242 4242 4242 4242");
    await t.page.getByLabel(/expiry/i).fill("1234");
    await t.page.getByLabel(/cvc/i).fill("123");
    await t.page.getByRole("button", { name: /^pay/i }).click();
    await t.page.waitForURL(`${shopOrigin}/thanks?session_id=${s.id}`);
    expect(posts).toHaveLength(1);
    noCspViolation(t);
    await t.context.close();
  });
});
