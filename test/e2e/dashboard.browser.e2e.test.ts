// The dashboard in a real browser (Debian's Chromium through playwright-core) against `wrangler dev`:
// sign in with a key, find a payment created through the API, refund part of it (after confirming the
// amount), see the refund and its event; a Support token sees the payment but no refund button, and a
// forged refund is refused; a key the API refuses is not signed in; a merchant's key has no audit log.
// Screenshots go to test-artifacts/dashboard/ (git-ignored).
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
// @ts-expect-error: a plain .mjs module without types
import { DEV_JWT_SECRET as DEV_SECRET } from "../../scripts/dev-secrets.mjs";

const gateway = inject("gatewayUrl");
const url = new URL(gateway);
const KEY = "sk_test_merchant_a";
const stripe = new Stripe(KEY, { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const ARTIFACTS = path.join(ROOT, "test-artifacts", "dashboard");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let browser: Browser;
beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
afterAll(async () => {
  await browser?.close();
});

async function signedIn(credential: string, viewport = { width: 1200, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${gateway}/dashboard`);
  await page.getByLabel("API key or token").fill(credential);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Payments" }).waitFor();
  return page;
}

describe("dashboard", () => {
  it("signs in with a key, finds a payment, refunds part of it and shows the refund and its event", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 4200, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    expect(pi.status).toBe("succeeded");
    const page = await signedIn(KEY);
    // The credential stays in this tab's session storage, never in a cookie.
    expect(await page.evaluate<string[]>("Object.keys(sessionStorage)")).toContain("gateway.dashboard.credential");
    expect(await page.context().cookies()).toEqual([]);
    // The new payment is in the list; its row opens it.
    await page.getByRole("cell", { name: pi.id, exact: true }).click();
    await page.getByRole("heading", { name: `Payment ${pi.id}` }).waitFor();
    await page.getByLabel("Refund amount (minor units)").fill("1000");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await page.getByRole("button", { name: "Confirm refund of 10.00 USD" }).click();
    await page.getByText("Refund: done").waitFor();
    await page.getByText(/^refund re_\w+: succeeded$/).waitFor();
    expect(await page.locator("#payment-refunded").innerText()).toBe("10.00 USD");
    // Its event arrives through the events queue: reload until the timeline shows it.
    const deadline = Date.now() + 30_000;
    while (!(await page.getByText("event: charge.refunded").count())) {
      if (Date.now() > deadline) throw new Error("the refund's event never showed");
      await new Promise((r) => setTimeout(r, 500));
      await page.reload();
      await page.getByRole("heading", { name: `Payment ${pi.id}` }).waitFor();
    }
    await page.screenshot({ path: path.join(ARTIFACTS, "payment-refunded.png"), fullPage: true });
    await page.context().close();
  });

  it("a double click on the refund's confirmation refunds once, and amounts show in their currency's decimals (JPY none)", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2500, currency: "jpy", payment_method: "pm_card_visa", confirm: true });
    const page = await signedIn(KEY);
    await page.goto(`${gateway}/dashboard#/payments/${pi.id}`);
    await page.getByRole("heading", { name: `Payment ${pi.id}` }).waitFor();
    expect(await page.locator("#payment-refunded").innerText()).toBe("0 JPY");
    await page.getByLabel("Refund amount (minor units)").fill("300");
    await page.getByRole("button", { name: "Refund", exact: true }).dblclick();
    await page.getByRole("button", { name: "Confirm refund of 300 JPY" }).dblclick();
    await page.getByText("Refund: done").waitFor();
    await page.getByText(/^refund re_\w+: succeeded$/).waitFor();
    expect(await page.locator("#payment-refunded").innerText()).toBe("300 JPY");
    const refunds = (await (await fetch(`${gateway}/v1/refunds?payment_intent=${pi.id}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { data: unknown[] };
    expect(refunds.data).toHaveLength(1);
    // HUF has two decimals as the gateway counts it (the browser's own data says none: 100 times too much was shown).
    const huf = await stripe.paymentIntents.create({ amount: 1234567, currency: "huf", payment_method: "pm_card_visa", confirm: true });
    await stripe.refunds.create({ payment_intent: huf.id, amount: 1050 });
    await page.goto(`${gateway}/dashboard#/payments/${huf.id}`);
    await page.getByRole("heading", { name: `Payment ${huf.id}` }).waitFor();
    expect(await page.locator("#payment-refunded").innerText()).toBe("10.50 HUF");
    await page.context().close();
  });

  it("a Support token sees the payment but no refund button, and a forged refund is refused", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 3100, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const token = spawnSync(process.execPath, [path.join(ROOT, "scripts", "cli.mjs"), "token", "--secret", DEV_SECRET as string, "--role", "support"], { encoding: "utf8" }).stdout.trim();
    const page = await signedIn(token);
    // Support sees every merchant's payments; the row opens the payment with its merchant, from the
    // keyboard too (it takes focus and opens on Enter).
    const row = page.locator("tr.link", { has: page.getByRole("cell", { name: pi.id, exact: true }) });
    await row.focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: `Payment ${pi.id}` }).waitFor();
    expect(await page.locator("#payment-status").innerText()).toBe("succeeded");
    expect(await page.getByRole("button", { name: "Refund" }).count()).toBe(0);
    expect(await page.getByLabel("Refund amount (minor units)").count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, "support-view.png"), fullPage: true });
    // The same POST the hidden button would send, forged from the page with the page's own credential.
    const forged = await page.evaluate<number>(
      `fetch("/v1/refunds", { method: "POST", headers: { Authorization: "Bearer " + sessionStorage.getItem("gateway.dashboard.credential"), "Merchant-Id": "acct_merchant_a", "Content-Type": "application/json" }, body: JSON.stringify({ payment_intent: ${JSON.stringify(pi.id)}, amount: 100 }) }).then((r) => r.status)`,
    );
    expect(forged).toBe(403);
    const after = (await (await fetch(`${gateway}/v1/payment_intents/${pi.id}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { amount_refunded: number };
    expect(after.amount_refunded).toBe(0);
    await page.context().close();
  });

  it("a key the API refuses is not signed in: the form says why, with no navigation, and the key is not kept; a stored key refused later signs out", async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${gateway}/dashboard`);
    await page.getByLabel("API key or token").fill("sk_test_wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/^Not signed in: Invalid API Key/);
    expect(await page.getByRole("heading", { name: "Sign in" }).count()).toBe(1);
    expect(await page.getByLabel("API key or token").getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator("#nav a").count()).toBe(0);
    expect(await page.locator("#who").innerText()).toBe("");
    expect(await page.evaluate<string[]>("Object.keys(sessionStorage)")).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, "sign-in-refused.png"), fullPage: true });
    // A key kept from before that the API no longer accepts (revoked): the first 401 forgets it and asks again.
    await page.evaluate(`sessionStorage.setItem("gateway.dashboard.credential", "sk_test_revoked_meanwhile")`);
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.getByRole("alert").innerText()).toMatch(/^Signed out: the API does not accept this key or token/);
    expect(await page.locator("#nav a").count()).toBe(0);
    expect(await page.evaluate<string[]>("Object.keys(sessionStorage)")).toEqual([]);
    // A good key then signs in.
    await page.getByLabel("API key or token").fill(KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Payments" }).waitFor();
    await context.close();
  });

  it("a merchant's key has no Audit log link (admin and support only), and the page opened by its address says it is not allowed", async () => {
    const page = await signedIn(KEY);
    expect(await page.getByRole("link", { name: "Payments", exact: true }).count()).toBe(1);
    expect(await page.getByRole("link", { name: "Audit log" }).count()).toBe(0);
    await page.goto(`${gateway}/dashboard#/audit`);
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    expect(await page.getByRole("alert").innerText()).toBe("Not allowed: only admin and support users may see the audit log.");
    expect(await page.locator("main table").count()).toBe(0);
    // Support may read it: the link is there.
    const support = await signedIn(spawnSync(process.execPath, [path.join(ROOT, "scripts", "cli.mjs"), "token", "--secret", DEV_SECRET as string, "--role", "support"], { encoding: "utf8" }).stdout.trim());
    expect(await support.getByRole("link", { name: "Audit log" }).count()).toBe(1);
    await page.context().close();
    await support.context().close();
  });

  it("Cancel payment and Refund act only once confirmed, the question naming the amount; taking it back sends nothing", async () => {
    const held = await stripe.paymentIntents.create({ amount: 4200, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    const page = await signedIn(KEY);
    const statusOf = async (id: string) => ((await (await fetch(`${gateway}/v1/payment_intents/${id}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { status: string; amount_refunded: number });
    await page.goto(`${gateway}/dashboard#/payments/${held.id}`);
    await page.getByRole("heading", { name: `Payment ${held.id}` }).waitFor();
    await page.getByRole("button", { name: "Cancel payment" }).click();
    const question = page.locator("#confirm-question");
    await question.waitFor();
    expect(await question.innerText()).toBe("Cancel this payment of 42.00 USD? The 42.00 USD authorized is released and can no longer be captured.");
    await page.screenshot({ path: path.join(ARTIFACTS, "cancel-confirm.png"), fullPage: true });
    await page.getByRole("button", { name: "Keep payment" }).click();
    expect(await question.count()).toBe(0);
    expect((await statusOf(held.id)).status).toBe("requires_capture");
    await page.getByRole("button", { name: "Cancel payment" }).click();
    await page.getByRole("button", { name: "Yes, cancel payment" }).click();
    await page.getByText("Cancel: done").waitFor();
    expect((await statusOf(held.id)).status).toBe("canceled");

    // Refund: the amount field starts at the whole remaining amount; the question says so.
    const paid = await stripe.paymentIntents.create({ amount: 4200, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    await page.goto(`${gateway}/dashboard#/payments/${paid.id}`);
    await page.getByRole("heading", { name: `Payment ${paid.id}` }).waitFor();
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await question.waitFor();
    expect(await question.innerText()).toBe("Refund the full remaining 42.00 USD of this payment to the customer?");
    await page.getByRole("button", { name: "Do not refund" }).click();
    expect(await question.count()).toBe(0);
    expect((await statusOf(paid.id)).amount_refunded).toBe(0);
    // Another amount: the question names it; changing the amount takes an open question back.
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await question.waitFor();
    await page.getByLabel("Refund amount (minor units)").fill("1000");
    expect(await question.count()).toBe(0);
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    expect(await question.innerText()).toBe("Refund 10.00 USD of the 42.00 USD remaining to the customer?");
    await page.getByRole("button", { name: "Confirm refund of 10.00 USD" }).click();
    await page.getByText("Refund: done").waitFor();
    expect(await page.locator("#payment-refunded").innerText()).toBe("10.00 USD");
    expect((await statusOf(paid.id)).amount_refunded).toBe(1000);
    await page.context().close();
  });

  it("a PayPal attempt's timeline entry speaks of the payer's approval at PayPal, not of a card issuer's 3D Secure", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2999, currency: "usd", payment_method_data: { type: "paypal" }, confirm: true, return_url: "https://shop.example/back" });
    expect(pi.status).toBe("requires_action");
    const page = await signedIn(KEY);
    await page.goto(`${gateway}/dashboard#/payments/${pi.id}`);
    await page.getByRole("heading", { name: `Payment ${pi.id}` }).waitFor();
    const entry = page.locator("tr", { hasText: "attempt: authorize requires_action" });
    await entry.waitFor();
    expect(await entry.innerText()).toMatch(/PayPal approval · Waiting for the payer to approve the payment on PayPal\./);
    expect(await entry.innerText()).not.toMatch(/card|3D Secure/i);
    await page.context().close();
  });

  it("every page loads for a merchant's key and for an admin acting for a merchant", async () => {
    const pages = ["Payments", "Failed payments", "Refund approvals", "Customers", "Subscriptions", "Webhooks", "Events", "PSP health", "API keys"];
    const merchant = await signedIn(KEY);
    const admin = await signedIn(spawnSync(process.execPath, [path.join(ROOT, "scripts", "cli.mjs"), "token", "--secret", DEV_SECRET as string, "--role", "admin"], { encoding: "utf8" }).stdout.trim());
    await admin.getByLabel("Merchant").fill("acct_merchant_a");
    await admin.getByLabel("Merchant").press("Enter");
    for (const [page, names] of [
      [merchant, pages],
      [admin, [...pages, "Audit log"]],
    ] as const) {
      for (const name of names) {
        const link = page.getByRole("link", { name, exact: true });
        await link.click();
        // The page is routed on hashchange, after the click returns: until its link is the current one
        // the main area may still hold the previous page. Routing marks the link and shows "Loading…"
        // in one step, so once the link is current and the loading text is gone, the page is there.
        await expect
          .poll(async () => (await link.getAttribute("class")) === "current" && !/^Loading/.test(await page.locator("#main").innerText()), { timeout: 30_000 })
          .toBe(true);
        const alerts = await page.getByRole("alert").allInnerTexts();
        expect(alerts, `${name}: ${alerts.join(" ")}`).toEqual([]);
        expect(await page.getByRole("heading", { level: 1 }).count(), name).toBe(1);
      }
    }
    // PSP health shows the sandbox's calls of the last 5 minutes, with its success-rate bar.
    await stripe.paymentIntents.create({ amount: 1200, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    await expect
      .poll(async () => {
        await admin.getByRole("link", { name: "Payments", exact: true }).click();
        await admin.getByRole("link", { name: "PSP health", exact: true }).click();
        await admin.getByRole("heading", { name: "Payment provider health" }).waitFor();
        return admin.locator(".card", { hasText: "acct_merchant_a · sandbox" }).first().innerText();
      }, { timeout: 30_000, interval: 500 })
      .toMatch(/calls [1-9]/);
    const bar = admin.locator(".card", { hasText: "acct_merchant_a · sandbox" }).first().locator(".bar span");
    expect(await bar.getAttribute("style")).toMatch(/width: [1-9]\d*%/);
    // Charts of the window minute by minute: the current minute has a success-rate bar.
    const card = admin.locator(".card", { hasText: "acct_merchant_a · sandbox" }).first();
    expect(await card.getByRole("img", { name: "success rate per minute" }).locator("rect.point").count()).toBeGreaterThan(0);
    expect(await card.getByRole("img", { name: /p50 latency per minute/ }).locator("polyline").count()).toBe(1);
    await admin.screenshot({ path: path.join(ARTIFACTS, "psp-health.png"), fullPage: true });
    await merchant.context().close();
    await admin.context().close();
  });

  it("on a 375 px wide phone only a table's own area scrolls sideways, never the page", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1990, currency: "usd", payment_method: "pm_card_visa", confirm: true, metadata: { order_id: "order-phone-375" } });
    const page = await signedIn(KEY, { width: 375, height: 740 });
    const pageWidth = async () => Number(await page.evaluate("document.documentElement.scrollWidth"));
    // Every table sits in a wrapper that scrolls it (overflow-x:auto); the first wider than the screen proves it.
    const tables = async () =>
      JSON.parse(
        String(
          await page.evaluate(
            `JSON.stringify([...document.querySelectorAll("main table")].map((t) => { const w = t.parentElement; return { wrapped: w.classList.contains("table-wrap"), overflow: getComputedStyle(w).overflowX, scrolls: w.scrollWidth > w.clientWidth, within: w.getBoundingClientRect().right <= 375 }; }))`,
          ),
        ),
      ) as { wrapped: boolean; overflow: string; scrolls: boolean; within: boolean }[];
    const pages = ["Payments", "Failed payments", "Refund approvals", "Customers", "Subscriptions", "Webhooks", "Events", "PSP health", "API keys"];
    for (const name of pages) {
      const link = page.getByRole("link", { name, exact: true });
      await link.click();
      await expect
        .poll(async () => (await link.getAttribute("class")) === "current" && !/^Loading/.test(await page.locator("#main").innerText()), { timeout: 30_000 })
        .toBe(true);
      expect(await pageWidth(), name).toBeLessThanOrEqual(375);
      for (const t of await tables()) expect(t, name).toMatchObject({ wrapped: true, overflow: "auto", within: true });
    }
    await page.getByRole("link", { name: "Payments", exact: true }).click();
    await page.getByRole("cell", { name: pi.id, exact: true }).waitFor();
    expect(await pageWidth()).toBeLessThanOrEqual(375);
    const payments = await tables();
    expect(payments[0]).toMatchObject({ wrapped: true, scrolls: true, within: true });
    // The table's area scrolls; the page does not.
    await page.evaluate(`document.querySelector(".table-wrap").scrollLeft = 200`);
    expect(Number(await page.evaluate(`document.querySelector(".table-wrap").scrollLeft`))).toBeGreaterThan(0);
    expect(Number(await page.evaluate("window.scrollX"))).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, "payments-375.png"), fullPage: true });
    await page.goto(`${gateway}/dashboard#/payments/${pi.id}`);
    await page.getByRole("heading", { name: `Payment ${pi.id}` }).waitFor();
    await page.getByText(/^attempt: authorize succeeded$/).waitFor();
    expect(await pageWidth()).toBeLessThanOrEqual(375);
    for (const t of await tables()) expect(t).toMatchObject({ wrapped: true, within: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "payment-375.png"), fullPage: true });
    await page.context().close();
  });
});
