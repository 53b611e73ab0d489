// Accessibility of every page a shopper sees, checked by axe-core (the engine behind Lighthouse's and
// the browser extensions' audits) in Debian's Chromium: each page in each state it can be in, on a
// 375 px phone and a 1280 px screen, in the light and the dark scheme. No violation of any impact is
// allowed: the pages are small, so each finding is a real defect, not noise to triage.
//
// axe is put into the page by the test (a context that bypasses the pages' Content-Security-Policy,
// which allows no script but their own); the pages themselves are served as to any shopper.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const gateway = new URL(inject("gatewayUrl"));
const stripe = new Stripe("sk_test_merchant_a", { host: gateway.hostname, port: Number(gateway.port), protocol: "http", maxNetworkRetries: 0 });
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const SHOP = "http://localhost:9/shop";

const VIEWS = [
  { name: "375 px, light", viewport: { width: 375, height: 740 }, colorScheme: "light" as const },
  { name: "375 px, dark", viewport: { width: 375, height: 740 }, colorScheme: "dark" as const },
  { name: "1280 px, light", viewport: { width: 1280, height: 800 }, colorScheme: "light" as const },
  { name: "1280 px, dark", viewport: { width: 1280, height: 800 }, colorScheme: "dark" as const },
];

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});

afterAll(async () => {
  await browser?.close();
});

async function context(view: (typeof VIEWS)[number]): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: view.viewport, colorScheme: view.colorScheme, bypassCSP: true });
  // A loaded machine can take over Playwright's default 30 s to draw a page: waits stop at 90 s.
  ctx.setDefaultTimeout(90_000);
  return ctx;
}

/** axe's violations on the page as it is now, each as "rule (impact): help, at selectors". */
async function violations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const found = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)")) as Violation[];
  return found.map((v) => `${v.id} (${v.impact ?? "?"}): ${v.help}, at ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
}

async function fillCard(page: Page, number: string): Promise<void> {
  await page.getByLabel(/card number/i).fill(number);
  await page.getByLabel(/expiry/i).fill("12 / 34");
  await page.getByLabel(/cvc/i).fill("123");
}

const session = () =>
  stripe.checkout.sessions.create({
    mode: "payment",
    line_items: [{ price_data: { currency: "usd", unit_amount: 1500, product_data: { name: "Espresso beans" } }, quantity: 2 }],
    success_url: `${SHOP}/thanks`,
    cancel_url: `${SHOP}/cart`,
  });

const payPage = (pi: Stripe.PaymentIntent) => `${gateway.origin}/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret ?? "")}`;

describe("the shopper's pages pass axe at 375 and 1280 px, light and dark", () => {
  /** Pages whose address shows the same state every time it is opened (a GET changes nothing). */
  const stable: { name: string; url: string; heading: RegExp }[] = [];

  beforeAll(async () => {
    const open = await session();
    stable.push({ name: "checkout", url: open.url ?? "", heading: /./ });

    const expired = await session();
    await stripe.checkout.sessions.expire(expired.id);
    stable.push({ name: "checkout, expired", url: expired.url ?? "", heading: /expired/i });

    const bare = await stripe.paymentIntents.create({ amount: 990, currency: "jpy", description: "Gift card" });
    stable.push({ name: "/pay", url: payPage(bare), heading: /./ });

    const kwd = await stripe.paymentIntents.create({ amount: 1999, currency: "kwd" });
    stable.push({ name: "/pay, three decimals", url: payPage(kwd), heading: /./ });

    const challenged = await stripe.paymentIntents.create({ amount: 4200, currency: "eur", payment_method: "pm_card_threeDSecure2Required", confirm: true });
    stable.push({ name: "3DS challenge", url: challenged.next_action?.redirect_to_url?.url ?? "", heading: /./ });

    const paypal = await stripe.paymentIntents.create({ amount: 2999, currency: "usd", description: "Course", payment_method_data: { type: "paypal" }, confirm: true });
    stable.push({ name: "PayPal (sandbox) approval", url: paypal.next_action?.redirect_to_url?.url ?? "", heading: /./ });

    const paid = await stripe.paymentIntents.create({ amount: 1200, currency: "usd", payment_method: "pm_card_visa", confirm: true, return_url: `${SHOP}/done` });
    expect(paid.status).toBe("succeeded");
    stable.push({ name: "/pay, paid", url: payPage(paid), heading: /./ });

    const customer = await stripe.customers.create({ email: "a11y@example.com", name: "Ada" });
    const price = await stripe.prices.create({ currency: "usd", unit_amount: 2500, recurring: { interval: "month" }, product_data: { name: "Plan" } });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], payment_behavior: "default_incomplete", expand: ["latest_invoice"] });
    const invoice = sub.latest_invoice as Stripe.Invoice;
    stable.push({ name: "hosted invoice, open", url: `${gateway.origin}${new URL(invoice.hosted_invoice_url ?? "").pathname}`, heading: /./ });

    stable.push({ name: "not found", url: `${gateway.origin}/pay/pi_doesnotexist?client_secret=pi_doesnotexist_secret_x`, heading: /not found/i });
  });

  for (const view of VIEWS) {
    it(`every page in a state of its own: ${view.name}`, { timeout: 300_000 }, async () => {
      const ctx = await context(view);
      const page = await ctx.newPage();
      const found: string[] = [];
      const check = async (name: string) => {
        for (const v of await violations(page)) found.push(`${name}: ${v}`);
      };
      for (const s of stable) {
        await page.goto(s.url);
        expect(await page.textContent("h1"), s.name).toMatch(s.heading);
        await check(s.name);
      }

      // A decline, said in the form's alert; then a number that fails its check, marked on its field.
      const declined = await session();
      await page.goto(declined.url ?? "");
      await fillCard(page, "4000 0000 0000 0002");
      await page.getByRole("button", { name: /^pay/i }).click();
      await page.getByRole("alert").first().waitFor();
      await check("checkout, declined");
      await fillCard(page, "4242 4242 4242 4241");
      await page.getByRole("button", { name: /^pay/i }).click();
      await page.waitForURL(/error=/);
      await check("checkout, incorrect number");

      // The challenge answered: its result page (no return_url).
      const challenged = await stripe.paymentIntents.create({ amount: 4200, currency: "eur", payment_method: "pm_card_threeDSecure2Required", confirm: true });
      await page.goto(challenged.next_action?.redirect_to_url?.url ?? "");
      await page.getByRole("button", { name: "Complete authentication" }).click();
      await page.getByRole("heading", { name: "Payment complete" }).waitFor();
      await check("3DS result");

      // PayPal approved: the page the payer comes back to.
      const paypal = await stripe.paymentIntents.create({ amount: 2999, currency: "usd", payment_method_data: { type: "paypal" }, confirm: true });
      await page.goto(paypal.next_action?.redirect_to_url?.url ?? "");
      await page.getByRole("button", { name: "Approve payment" }).click();
      await page.getByRole("heading", { name: /Your payment to/ }).waitFor();
      await check("provider return");

      // A payment being confirmed (the provider timed out; reconciliation's first look is 30 s away): the
      // page that looks again by itself, read while it still waits.
      const slow = await stripe.paymentIntents.create({ amount: 700, currency: "usd", payment_method: "pm_card_sandboxTimeoutThenSuccess", confirm: true, return_url: `${SHOP}/done` });
      expect(slow.status).toBe("processing");
      await page.goto(payPage(slow));
      expect(await page.textContent("h1")).toMatch(/being confirmed|processing/i);
      await check("/pay, being confirmed");

      await ctx.close();
      expect(found).toEqual([]);
    });
  }
});

describe("the dashboard's pages pass axe", () => {
  for (const view of [VIEWS[0], VIEWS[3]]) {
    it(`sign-in and every page of a merchant's key: ${view?.name}`, { timeout: 300_000 }, async () => {
      if (!view) return;
      const paid = await stripe.paymentIntents.create({ amount: 4200, currency: "usd", payment_method: "pm_card_visa", confirm: true });
      const ctx = await context(view);
      const page = await ctx.newPage();
      const found: string[] = [];
      const check = async (name: string) => {
        for (const v of await violations(page)) found.push(`${name}: ${v}`);
      };
      await page.goto(`${gateway.origin}/dashboard`);
      await page.getByLabel("API key or token").waitFor();
      await check("sign-in");
      await page.getByLabel("API key or token").fill("sk_test_merchant_a");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Payments" }).waitFor();
      for (const route of ["payments", `payments/${paid.id}`, "failed", "approvals", "customers", "subscriptions", "webhooks", "events", "health", "keys", "nothing-here"]) {
        await page.goto(`${gateway.origin}/dashboard#/${route}`);
        // The page has drawn when its heading replaced "Loading…".
        await expect.poll(async () => (await page.locator("main h1").count()) > 0 && !/^Loading/.test(await page.locator("#main").innerText()), { timeout: 90_000 }).toBe(true);
        await check(route);
      }
      await ctx.close();
      expect(found).toEqual([]);
    });
  }
});
