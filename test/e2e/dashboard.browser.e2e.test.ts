// The dashboard in a real browser (Debian's Chromium through playwright-core) against `wrangler dev`:
// sign in with a key, find a payment created through the API, refund part of it (after confirming the
// amount), see the refund and its event; a Support token sees the payment but no refund button, and a
// forged refund is refused; a key the API refuses is not signed in; a merchant's key has no audit log.
// Screenshots go to test-artifacts/dashboard/ (git-ignored).
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page, type Request } from "playwright-core";
import { SignJWT } from "jose";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from "vitest";
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

const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, "scripts", "cli.mjs"), ...args], { encoding: "utf8" }).stdout.trim();
const tokenFor = (role: string, ...more: string[]) => cli("token", "--secret", DEV_SECRET as string, "--role", role, ...more);

type Json = Record<string, any>;
async function call(method: string, route: string, credential: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${gateway}${route}`, {
    method,
    headers: { authorization: `Bearer ${credential}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as Json };
}
/** A merchant of its own (so that its settings and lists are this test's alone), with its secret key. */
async function newMerchant(settings?: Json): Promise<{ id: string; key: string }> {
  const made = await call("POST", "/v1/admin/merchants", tokenFor("admin"), { name: "Dashboard test", ...(settings ? { settings } : {}) });
  expect(made.status, JSON.stringify(made.json)).toBe(200);
  return { id: made.json.merchant.id as string, key: made.json.api_key.secret as string };
}
/** A declined payment (a failed payment for the dashboard's list): its intent's id. */
async function declined(key: string, amount: number): Promise<string> {
  const res = await call("POST", "/v1/payment_intents", key, { amount, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true });
  const id = res.json.error?.payment_intent?.id as string | undefined;
  expect(id, JSON.stringify(res.json)).toMatch(/^pi_/);
  return id as string;
}
/** `n` calls of `make`, ten at a time. */
async function many<T>(n: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += 10) out.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, j) => make(i + j)))));
  return out;
}
/** The page's routing ends with the page's heading or an alert in place of "Loading…". */
async function settled(page: Page): Promise<void> {
  await expect.poll(async () => !/^Loading/.test(await page.locator("#main").innerText()), { timeout: WAIT_MS }).toBe(true);
}
/** The page's heading, its flash (status line) and the page links as the browser lays them out (CSS px from the viewport's top). */
const layout = async (page: Page) => {
  // The page may be drawing again (its heading replaced) on a busy machine: read once all three are there.
  // Polled with page.evaluate, never page.waitForFunction: a string predicate's later polls run the
  // page's eval, which the dashboard's CSP (script-src 'self') refuses, so it threw whenever the first
  // check came too early.
  await expect.poll(() => page.evaluate<boolean>(`Boolean(document.querySelector("nav#nav") && document.querySelector("main h1") && document.querySelector("#flash"))`), { timeout: WAIT_MS }).toBe(true);
  return page.evaluate<{ navBottom: number; headingTop: number; flashHeight: number; flashBottom: number }>(`(() => {
    const box = (s) => document.querySelector(s).getBoundingClientRect();
    return { navBottom: box("nav#nav").bottom, headingTop: box("main h1").top, flashHeight: box("#flash").height, flashBottom: box("#flash").bottom };
  })()`);
};
/** At most this much space between the page links and the page's heading (main's padding and the heading's margin): no blank band. */
const HEADING_GAP = 40;
const focused = (page: Page) => page.evaluate<string>(`(() => { const a = document.activeElement; return a ? a.tagName + (a.id ? "#" + a.id : "") + " " + (a.textContent || "").trim().slice(0, 60) : ""; })()`);

/**
 * How long a wait may take: a loaded machine (the suite beside `npm run bench`, or CI's workers tests
 * sharing two cores with wrangler dev and Chromium) was seen to need over 30 s, Playwright's default,
 * for one page to draw. Tests are not timed; this only says when to stop waiting.
 */
const WAIT_MS = 90_000;
/** A browser context whose actions and waits wait up to WAIT_MS. */
async function newContext(options: Parameters<Browser["newContext"]>[0]): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(WAIT_MS);
  return context;
}

/**
 * What a failed test prints of a page it signed in (a CI run's only trace): the page's navigations,
 * its API answers that were not 2xx, requests that failed, console errors, and at the end its address
 * and what #main showed.
 */
function watch(page: Page): void {
  const started = Date.now();
  const seen: string[] = [];
  const note = (what: string) => seen.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${what}`);
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) note(`navigated ${frame.url().replace(gateway, "")}`);
  });
  page.on("response", (res) => {
    if (res.status() >= 300) note(`${res.status()} ${res.request().method()} ${res.url().replace(gateway, "")}`);
  });
  page.on("requestfailed", (req) => note(`failed ${req.method()} ${req.url().replace(gateway, "")}: ${req.failure()?.errorText ?? ""}`));
  page.on("console", (message) => {
    if (message.type() === "error") note(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => note(`page error: ${error.message}`));
  // Requests sent and not yet answered: what a page that never drew was waiting for.
  const pending = new Map<Request, number>();
  page.on("request", (req) => pending.set(req, Date.now()));
  page.on("requestfinished", (req) => pending.delete(req));
  page.on("requestfailed", (req) => pending.delete(req));
  onTestFailed(async () => {
    const main = page.isClosed() ? "(closed)" : await page.locator("#main").innerText({ timeout: 2_000 }).catch((e: Error) => `(unreadable: ${e.message})`);
    const waiting = [...pending].map(([req, at]) => `${req.method()} ${req.url().replace(gateway, "")} for ${((Date.now() - at) / 1000).toFixed(1)}s`);
    console.log(`dashboard page trace:\n${seen.join("\n")}\nunanswered: ${waiting.join("; ") || "none"}\nat ${page.isClosed() ? "?" : page.url().replace(gateway, "")}\n#main: ${main.slice(0, 1500)}`);
  });
}

async function signedIn(credential: string, viewport = { width: 1200, height: 900 }): Promise<Page> {
  const context = await newContext({ viewport });
  const page = await context.newPage();
  watch(page);
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
    await page.getByLabel("Refund amount (USD)").fill("10.00");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await page.getByRole("button", { name: "Confirm refund of 10.00 USD" }).click();
    await page.getByText(new RegExp(`^Refund of 10\\.00 USD on ${pi.id}: done \\(re_\\w+\\)$`)).waitFor();
    await page.getByText(/^refund re_\w+: succeeded$/).waitFor();
    expect(await page.locator("#payment-refunded").innerText()).toBe("10.00 USD");
    // Its event arrives through the events queue: reload until the timeline shows it.
    const deadline = Date.now() + WAIT_MS;
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
    await page.getByLabel("Refund amount (JPY)").fill("300");
    await page.getByRole("button", { name: "Refund", exact: true }).dblclick();
    await page.getByRole("button", { name: "Confirm refund of 300 JPY" }).dblclick();
    await page.getByText(/^Refund of 300 JPY on pi_\w+: done/).waitFor();
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
    // Support sees every merchant's payments; the row's link opens the payment with its merchant, from the
    // keyboard too (the link takes the focus and opens on Enter).
    const link = page.getByRole("link", { name: pi.id, exact: true });
    expect(await link.getAttribute("href")).toMatch(new RegExp(`^#/payments/${pi.id}\\?merchant=acct_`));
    await link.focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: `Payment ${pi.id}` }).waitFor();
    expect(await page.locator("#payment-status").innerText()).toBe("succeeded");
    expect(await page.getByRole("button", { name: "Refund" }).count()).toBe(0);
    expect(await page.getByLabel(/^Refund amount/).count()).toBe(0);
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
    const context = await newContext({ viewport: { width: 1200, height: 900 } });
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

  it("a customer's token (a shopper's, valid for the API's payment intent routes) is not signed in: the form says the dashboard is for staff, and nothing is kept", async () => {
    const customer = await call("POST", "/v1/customers", KEY, {});
    expect(customer.status).toBe(200);
    const token = await new SignJWT({ roles: ["customer"], merchant_id: "acct_merchant_a", customer_id: customer.json.id })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("shopper-1")
      .setIssuer("edge-gateway")
      .setAudience("edge-gateway-api")
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(DEV_SECRET as string));
    // The API accepts it (for its own payments): the dashboard, whose other pages it may not use, does not.
    expect((await call("GET", "/v1/payment_intents", token)).status).toBe(200);
    expect((await call("GET", "/v1/customers", token)).status).toBe(403);
    const context = await newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${gateway}/dashboard`);
    await page.getByLabel("API key or token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/^Not signed in: this is a customer's token \(cus_[A-Za-z0-9]+\): the dashboard is for a merchant's staff/);
    expect(await page.getByRole("heading", { name: "Sign in" }).count()).toBe(1);
    expect(await page.locator("#nav a").count()).toBe(0);
    expect(await page.evaluate<string[]>("Object.keys(sessionStorage)")).toEqual([]);
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
    // Taken back, the focus returns to the button that asked.
    expect(await focused(page)).toBe("BUTTON Cancel payment");
    expect((await statusOf(held.id)).status).toBe("requires_capture");
    await page.getByRole("button", { name: "Cancel payment" }).click();
    await page.getByRole("button", { name: "Yes, cancel payment" }).click();
    await page.getByText(`Cancel of ${held.id}: done`).waitFor();
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
    expect(await focused(page)).toBe("BUTTON Refund");
    expect((await statusOf(paid.id)).amount_refunded).toBe(0);
    // Another amount: the question names it; changing the amount takes an open question back.
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await question.waitFor();
    await page.getByLabel("Refund amount (USD)").fill("10");
    expect(await question.count()).toBe(0);
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    expect(await question.innerText()).toBe("Refund 10.00 USD of the 42.00 USD remaining to the customer?");
    await page.getByRole("button", { name: "Confirm refund of 10.00 USD" }).click();
    await page.getByText(new RegExp(`^Refund of 10\\.00 USD on ${paid.id}: done`)).waitFor();
    expect(await page.locator("#payment-refunded").innerText()).toBe("10.00 USD");
    expect((await statusOf(paid.id)).amount_refunded).toBe(1000);
    await page.context().close();
  });

  it("Capture and Roll secret act only once confirmed, the question naming the amount or the endpoint; taking it back sends nothing, and a double click acts once", async () => {
    const m = await newMerchant();
    const held = await call("POST", "/v1/payment_intents", m.key, { amount: 2500, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    expect(held.json.status, JSON.stringify(held.json)).toBe("requires_capture");
    const endpoint = await call("POST", "/v1/webhook_endpoints", m.key, { url: "http://127.0.0.1:9/hooks", enabled_events: ["payment_intent.succeeded"] });
    expect(endpoint.status, JSON.stringify(endpoint.json)).toBe(200);
    const page = await signedIn(m.key);
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push(new URL(r.url()).pathname);
    });
    const question = page.locator("#confirm-question");

    // Capture: the question names the amount authorized; taken back, nothing is captured.
    await page.goto(`${gateway}/dashboard#/payments/${held.json.id}`);
    await page.getByRole("heading", { name: `Payment ${held.json.id}` }).waitFor();
    await page.getByRole("button", { name: "Capture" }).click();
    await question.waitFor();
    expect(await question.innerText()).toBe("Capture the 25.00 USD authorized for this payment? The customer is charged 25.00 USD.");
    expect(await focused(page)).toMatch(/^P#confirm-question /);
    await page.screenshot({ path: path.join(ARTIFACTS, "capture-confirm.png"), fullPage: true });
    await page.getByRole("button", { name: "Do not capture" }).click();
    expect(await question.count()).toBe(0);
    expect(await focused(page)).toBe("BUTTON Capture");
    expect(posts).toEqual([]);
    expect((await call("GET", `/v1/payment_intents/${held.json.id}`, m.key)).json.status).toBe("requires_capture");
    await page.getByRole("button", { name: "Capture" }).click();
    await page.getByRole("button", { name: "Yes, capture 25.00 USD" }).dblclick();
    await page.getByText(`Capture of ${held.json.id}: done`).waitFor();
    expect(posts).toEqual([`/v1/payment_intents/${held.json.id}/capture`]);
    const captured = (await call("GET", `/v1/payment_intents/${held.json.id}`, m.key)).json;
    expect([captured.status, captured.amount_received]).toEqual(["succeeded", 2500]);

    // Roll secret: the question names the endpoint and says the old secret stops working.
    await page.getByRole("link", { name: "Webhooks", exact: true }).click();
    const row = page.locator("tr", { has: page.getByRole("cell", { name: endpoint.json.id, exact: true }) });
    await row.waitFor();
    await row.getByRole("button", { name: "Roll secret" }).click();
    await question.waitFor();
    expect(await question.innerText()).toBe(`Roll the signing secret of the endpoint ${endpoint.json.id} (http://127.0.0.1:9/hooks)? The old secret stops working in 24 hours: this cannot be undone.`);
    // Asking does not open the endpoint's row.
    expect(page.url()).toMatch(/#\/webhooks$/);
    expect(await focused(page)).toMatch(/^P#confirm-question /);
    await page.screenshot({ path: path.join(ARTIFACTS, "roll-secret-confirm.png"), fullPage: true });
    await page.getByRole("button", { name: "Keep the secret" }).click();
    expect(await question.count()).toBe(0);
    expect(await focused(page)).toBe("BUTTON Roll secret");
    expect(posts).toHaveLength(1);
    await row.getByRole("button", { name: "Roll secret" }).click();
    await page.getByRole("button", { name: "Yes, roll secret" }).dblclick();
    await page.getByText(`Roll secret of ${endpoint.json.id}: done`).waitFor();
    expect(posts).toEqual([`/v1/payment_intents/${held.json.id}/capture`, `/v1/webhook_endpoints/${endpoint.json.id}/roll_secret`]);
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

  it("direction controls in a customer's name are not shown (they reversed the rest of its cell); right-to-left text is", async () => {
    const m = await newMerchant();
    const made = await call("POST", "/v1/customers", m.key, { name: "Gift card \u202E01 x \u05E9\u05DC\u05D5\u05DD", email: "bidi@example.com" });
    expect(made.status).toBe(200);
    const page = await signedIn(m.key);
    await page.getByRole("link", { name: "Customers", exact: true }).click();
    const cell = page.getByRole("cell", { name: /^Gift card/ });
    await cell.waitFor();
    expect(await cell.innerText()).toBe("Gift card 01 x \u05E9\u05DC\u05D5\u05DD");
    expect(await page.locator("#main").innerText()).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
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
          .poll(async () => (await link.getAttribute("class")) === "current" && !/^Loading/.test(await page.locator("#main").innerText()), { timeout: WAIT_MS })
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
      }, { timeout: WAIT_MS, interval: 500 })
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
        .poll(async () => (await link.getAttribute("class")) === "current" && !/^Loading/.test(await page.locator("#main").innerText()), { timeout: WAIT_MS })
        .toBe(true);
      expect(await pageWidth(), name).toBeLessThanOrEqual(375);
      for (const t of await tables()) expect(t, name).toMatchObject({ wrapped: true, overflow: "auto", within: true });
      // No blank band between the page links (two or three lines here) and the heading.
      const { navBottom, headingTop } = await layout(page);
      expect(headingTop - navBottom, name).toBeLessThanOrEqual(HEADING_GAP);
    }
    await page.getByRole("link", { name: "Payments", exact: true }).click();
    await page.getByRole("cell", { name: pi.id, exact: true }).waitFor();
    expect(await pageWidth()).toBeLessThanOrEqual(375);
    const payments = await tables();
    expect(payments[0]).toMatchObject({ wrapped: true, scrolls: true, within: true });
    // The table's area scrolls; the page does not. With the keyboard too: the area that scrolls is a
    // named region and a tab stop, and the arrow keys scroll it.
    const region = page.getByRole("region", { name: "Table (scrolls sideways)" }).first();
    expect(await region.getAttribute("tabindex")).toBe("0");
    await region.focus();
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
    await expect.poll(async () => Number(await page.evaluate(`document.querySelector(".table-wrap").scrollLeft`))).toBeGreaterThan(0);
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

describe("dashboard: what a credential is offered, confirmations, paging, merchants and the keyboard", () => {
  it("a restricted key that may only view payments is offered only what it may use: no refund, retry, resolve, dismiss or resend, no links to pages it may not open", async () => {
    const paid = await stripe.paymentIntents.create({ amount: 2100, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const failedId = await declined(KEY, 1300);
    const minted = await call("POST", "/v1/api_keys", KEY, { type: "restricted", name: "dashboard view only", permissions: ["payments.transactions.view"] });
    const rk = minted.json.secret as string;
    expect(rk).toMatch(/^rk_test_/);
    const page = await signedIn(rk);
    expect(await page.locator("#who").innerText()).toContain("restricted key");
    expect(await page.locator("#nav a").allInnerTexts()).toEqual(["Payments", "Failed payments", "Refund approvals", "Events", "PSP health"]);
    await page.goto(`${gateway}/dashboard#/payments/${paid.id}`);
    await page.getByRole("heading", { name: `Payment ${paid.id}` }).waitFor();
    expect(await page.getByLabel(/^Refund amount/).count()).toBe(0);
    expect(await page.locator("main .actions button").count()).toBe(0);
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    await page.getByRole("cell", { name: failedId, exact: true }).waitFor();
    expect(await page.locator("main button").allInnerTexts()).toEqual([]);
    await page.getByRole("link", { name: "Events", exact: true }).click();
    await page.getByRole("heading", { name: "Events" }).waitFor();
    await settled(page);
    expect(await page.locator("main tbody tr").count()).toBeGreaterThan(0);
    expect(await page.getByRole("button", { name: "Resend" }).count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, "restricted-key-events.png"), fullPage: true });
    // Opened by its address, a page it may not use says so.
    await page.goto(`${gateway}/dashboard#/webhooks`);
    await page.getByRole("heading", { name: "Webhooks" }).waitFor();
    expect(await page.getByRole("alert").innerText()).toBe("Not allowed: this key or token lacks the permission webhooks.manage.");
    await page.context().close();
  });

  it("what a key may do is the API's answer at sign-in (GET /v1/credential): a restricted key that may view and refund is offered the refund, and nothing else", async () => {
    const permissions = ["payments.transactions.view", "payments.transactions.void"];
    const rk = (await call("POST", "/v1/api_keys", KEY, { type: "restricted", name: "dashboard refunds", permissions })).json.secret as string;
    const context = await newContext({ viewport: { width: 1200, height: 900 } });
    // The gateway's answer; where it does not serve the route yet, the answer it is to give.
    await context.route("**/v1/credential", async (route) => {
      const real = await route.fetch();
      if (real.status() !== 404) return route.fulfill({ response: real });
      return route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ object: "credential", kind: "api_key", roles: ["merchant"], permissions, merchant_id: "acct_merchant_a", cross_merchant: false, livemode: false }) });
    });
    const page = await context.newPage();
    await page.goto(`${gateway}/dashboard`);
    await page.getByLabel("API key or token").fill(rk);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Payments" }).waitFor();
    expect(await page.locator("#nav a").allInnerTexts()).toEqual(["Payments", "Failed payments", "Refund approvals", "Events", "PSP health"]);
    const pi = await stripe.paymentIntents.create({ amount: 2600, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    await page.goto(`${gateway}/dashboard#/payments/${pi.id}`);
    await page.getByRole("heading", { name: `Payment ${pi.id}` }).waitFor();
    await page.getByLabel("Refund amount (USD)").fill("6.00");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await page.getByRole("button", { name: "Confirm refund of 6.00 USD" }).click();
    await page.getByText(new RegExp(`^Refund of 6\\.00 USD on ${pi.id}: done`)).waitFor();
    expect(await page.locator("#payment-refunded").innerText()).toBe("6.00 USD");
    // It may not create payments: a failed payment is not offered a retry.
    await declined(KEY, 1100);
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    await page.getByRole("heading", { name: "Failed payments" }).waitFor();
    await settled(page);
    expect(await page.locator("main button").count()).toBe(0);
    await context.close();
  });

  it("Refund approvals: Approve is offered only to a person's token (the API refuses it from a key), Reject to a key too; each asks first, naming the amount, and a double click approves once", async () => {
    const m = await newMerchant({ refund_approval_thresholds: { usd: 1000 } });
    const held = async (amount: number) => {
      const pi = await call("POST", "/v1/payment_intents", m.key, { amount: 5000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
      const re = await call("POST", "/v1/refunds", m.key, { payment_intent: pi.json.id, amount });
      expect(re.json.requires_approval, JSON.stringify(re.json)).toBe(true);
      return re.json.id as string;
    };
    const toApprove = await held(3000);
    const toReject = await held(2500);
    const refundStatus = async (id: string) => (await call("GET", `/v1/refunds/${id}`, m.key)).json.status as string;
    const pending = await refundStatus(toApprove);

    // The merchant's key: it may withdraw (reject) a refund, asked first, never approve one.
    const keyPage = await signedIn(m.key);
    await keyPage.getByRole("link", { name: "Refund approvals", exact: true }).click();
    const keyRow = (id: string) => keyPage.locator("tr", { has: keyPage.getByRole("cell", { name: id, exact: true }) });
    await keyRow(toApprove).waitFor();
    expect(await keyRow(toApprove).getByRole("button").allInnerTexts()).toEqual(["Reject"]);
    expect(await keyRow(toReject).getByRole("button").allInnerTexts()).toEqual(["Reject"]);
    await keyRow(toReject).getByRole("button", { name: "Reject" }).click();
    expect(await keyPage.locator("#confirm-question").innerText()).toBe(`Reject the refund ${toReject} of 25.00 USD? It is not paid, and cannot be approved later.`);
    expect(await refundStatus(toReject)).toBe(pending);
    await keyPage.getByRole("button", { name: "Yes, reject refund" }).click();
    await keyPage.getByText(new RegExp(`^Reject ${toReject} \\(25\\.00 USD on pi_\\w+\\): done$`)).waitFor();
    expect(await refundStatus(toReject)).not.toBe(pending);
    expect(await keyRow(toReject).count()).toBe(0);
    await keyPage.context().close();

    // A person's token of the merchant: both, each asked first; on a refund it asked for itself, only
    // Reject (four eyes: the API would refuse its approval).
    const token = tokenFor("merchant", "--merchant", m.id, "--sub", "clerk.one");
    const ownPi = await call("POST", "/v1/payment_intents", m.key, { amount: 5000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const own = (await call("POST", "/v1/refunds", token, { payment_intent: ownPi.json.id, amount: 2000 })).json;
    expect(own.requested_by, JSON.stringify(own)).toBe("jwt:clerk.one");
    const page = await signedIn(token);
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push(new URL(r.url()).pathname);
    });
    await page.getByRole("link", { name: "Refund approvals", exact: true }).click();
    const row = (id: string) => page.locator("tr", { has: page.getByRole("cell", { name: id, exact: true }) });
    await row(toApprove).waitFor();
    expect(await row(own.id as string).getByRole("button").allInnerTexts()).toEqual(["Reject"]);
    expect(await row(own.id as string).innerText()).toContain("Requested by you: another person approves it");
    const question = page.locator("#confirm-question");
    await row(toApprove).getByRole("button", { name: "Approve" }).click();
    expect(await question.innerText()).toBe(`Approve the refund ${toApprove} of 30.00 USD? The 30.00 USD is sent back to the customer.`);
    await page.screenshot({ path: path.join(ARTIFACTS, "approve-confirm.png"), fullPage: true });
    await page.getByRole("button", { name: "Do not approve" }).click();
    expect(await question.count()).toBe(0);
    expect(posts).toEqual([]);
    expect(await refundStatus(toApprove)).toBe(pending);
    await row(toApprove).getByRole("button", { name: "Approve" }).click();
    await page.getByRole("button", { name: "Yes, approve refund of 30.00 USD" }).dblclick();
    await page.getByText(new RegExp(`^Approve ${toApprove} \\(30\\.00 USD on pi_\\w+\\): done$`)).waitFor();
    expect(posts).toEqual([`/v1/admin/refunds/${toApprove}/approve`]);
    expect(await refundStatus(toApprove)).toBe("succeeded");
    await expect.poll(() => row(toApprove).count()).toBe(0);
    await page.context().close();
  });

  it("a refund whose answer is lost says its outcome is unknown and that confirming again is safe; confirming again refunds once", async () => {
    const m = await newMerchant();
    const pi = await call("POST", "/v1/payment_intents", m.key, { amount: 2600, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const id = pi.json.id as string;
    const page = await signedIn(m.key);
    await page.goto(`${gateway}/dashboard#/payments/${id}`);
    await page.getByRole("heading", { name: `Payment ${id}` }).waitFor();
    let lose = true;
    await page.route("**/v1/refunds", async (route) => {
      if (route.request().method() !== "POST" || !lose) return route.fallback();
      lose = false;
      // The gateway makes the refund; its answer never reaches the page.
      await (await route.fetch()).body();
      await route.abort("connectionreset");
    });
    await page.getByLabel("Refund amount (USD)").fill("6.00");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await page.getByRole("button", { name: "Confirm refund of 6.00 USD" }).click();
    await page.getByText(/it is not known whether this was done\. Confirming again is safe/).waitFor();
    await page.getByRole("button", { name: "Confirm refund of 6.00 USD" }).click();
    await page.getByText(new RegExp(`^Refund of 6\\.00 USD on ${id}: done`)).waitFor();
    const refunds = await call("GET", `/v1/refunds?payment_intent=${id}`, m.key);
    expect(refunds.json.data).toHaveLength(1);
    await page.context().close();
  });

  it("a failed payment the API never retries as a new one (an invoice's) offers no Retry, only Resolve and Dismiss", async () => {
    const m = await newMerchant();
    const customer = await call("POST", "/v1/customers", m.key, { email: "no-retry@example.com" });
    const price = await call("POST", "/v1/prices", m.key, { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Plan" } });
    const sub = await call("POST", "/v1/subscriptions", m.key, { customer: customer.json.id, price: price.json.id, payment_behavior: "default_incomplete", expand: ["latest_invoice"] });
    const invoiceIntent = sub.json.latest_invoice?.payment_intent as string;
    expect((await call("POST", `/v1/payment_intents/${invoiceIntent}/confirm`, m.key, { payment_method: "pm_card_chargeDeclined" })).status).toBe(402);
    const plain = await declined(m.key, 700);
    const page = await signedIn(m.key);
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    const row = (id: string) => page.locator("tr", { has: page.getByRole("cell", { name: id, exact: true }) });
    await row(invoiceIntent).waitFor();
    await row(plain).waitFor();
    // Its actions drawn first (a CI run once counted none, mid-draw), then none of them is Retry.
    await expect.poll(() => row(invoiceIntent).getByRole("button", { name: "Resolve" }).count()).toBe(1);
    expect(await row(invoiceIntent).getByRole("button", { name: "Retry" }).count()).toBe(0);
    expect(await row(invoiceIntent).getByRole("button", { name: "Dismiss" }).count()).toBe(1);
    expect(await row(plain).getByRole("button", { name: "Retry" }).count()).toBe(1);
    await page.context().close();
  });

  it("Retry, Resolve and Dismiss of a failed payment ask first, naming the amount; taking the question back sends nothing, and a double click on the answer acts once", async () => {
    const m = await newMerchant();
    const toRetry = await declined(m.key, 4321);
    const toResolve = await declined(m.key, 1500);
    const toDismiss = await declined(m.key, 990);
    const page = await signedIn(m.key);
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push(new URL(r.url()).pathname);
    });
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    const row = (id: string) => page.locator("tr", { has: page.getByRole("cell", { name: id, exact: true }) });
    await row(toRetry).waitFor();
    // The empty status line (#flash, a live region) stays in the page but takes no space: the heading follows the page links.
    const empty = await layout(page);
    expect(empty.headingTop - empty.navBottom).toBeGreaterThanOrEqual(0);
    expect(empty.headingTop - empty.navBottom).toBeLessThanOrEqual(HEADING_GAP);
    expect(await page.locator("#flash[role=status]").count()).toBe(1);
    expect(empty.flashHeight).toBe(0);
    const question = page.locator("#confirm-question");

    await row(toRetry).getByRole("button", { name: "Retry" }).click();
    expect(await question.innerText()).toBe(`Retry the failed payment ${toRetry} of 43.21 USD? A new payment of 43.21 USD is made with the same payment method.`);
    expect(await focused(page)).toMatch(/^P#confirm-question /);
    await page.screenshot({ path: path.join(ARTIFACTS, "retry-confirm.png"), fullPage: true });
    await page.getByRole("button", { name: "Do not retry" }).click();
    expect(await question.count()).toBe(0);
    // Taken back, the focus returns to the button that asked.
    expect(await focused(page)).toBe("BUTTON Retry");
    expect(posts).toEqual([]);
    await row(toRetry).getByRole("button", { name: "Retry" }).click();
    await page.getByRole("button", { name: "Yes, retry 43.21 USD" }).dblclick();
    await expect.poll(() => page.locator("#flash").innerText()).toMatch(new RegExp(`^Retry of ${toRetry}: `));
    // With a message the status line takes its place between the page links and the heading.
    const told = await layout(page);
    expect(told.flashHeight).toBeGreaterThan(0);
    expect(told.headingTop).toBeGreaterThanOrEqual(told.flashBottom);
    expect(posts).toEqual([`/v1/admin/failed_payments/${toRetry}/retry`]);
    const intents = (await call("GET", "/v1/payment_intents?limit=100", m.key)).json.data as Json[];
    expect(intents.filter((p) => p.retry_of === toRetry)).toHaveLength(1);

    await row(toResolve).getByRole("button", { name: "Resolve" }).click();
    expect(await question.innerText()).toBe(`Mark the failed payment ${toResolve} of 15.00 USD as resolved? It leaves the open failed payments for good: this cannot be undone.`);
    await page.getByLabel("Reason", { exact: true }).fill("Paid at the counter");
    await page.getByRole("button", { name: "Yes, resolve" }).dblclick();
    await page.getByText(`Resolve ${toResolve}: done`).waitFor();
    await expect.poll(() => row(toResolve).count()).toBe(0);

    await row(toDismiss).getByRole("button", { name: "Dismiss" }).click();
    expect(await question.innerText()).toBe(`Dismiss the failed payment ${toDismiss} of 9.90 USD? It leaves the open failed payments for good: this cannot be undone.`);
    await page.getByRole("button", { name: "Keep it open" }).click();
    expect(await question.count()).toBe(0);
    expect(posts).toHaveLength(2);
    await row(toDismiss).getByRole("button", { name: "Dismiss" }).click();
    await page.getByLabel("Reason", { exact: true }).fill("A test order");
    await page.getByRole("button", { name: "Yes, dismiss" }).click();
    await page.getByText(`Dismiss ${toDismiss}: done`).waitFor();
    await expect.poll(() => row(toDismiss).count()).toBe(0);
    expect(posts).toEqual([`/v1/admin/failed_payments/${toRetry}/retry`, `/v1/admin/failed_payments/${toResolve}/resolve`, `/v1/admin/failed_payments/${toDismiss}/dismiss`]);
    const open = (await call("GET", "/v1/admin/failed_payments?limit=100", m.key)).json.data as Json[];
    expect(open.map((p) => p.id)).not.toEqual(expect.arrayContaining([toResolve]));
    expect(open.map((p) => p.id)).not.toEqual(expect.arrayContaining([toDismiss]));
    await page.context().close();
  });

  it("Payments, Failed payments, Customers and Events show 50 at a time, with Older to the next page (the API's cursor) and Newest back to the first", async () => {
    const m = await newMerchant();
    const failedIds = await many(51, () => declined(m.key, 700));
    const paidIds = await many(4, async () => (await call("POST", "/v1/payment_intents", m.key, { amount: 800, currency: "usd", payment_method: "pm_card_visa", confirm: true })).json.id as string);
    const customerIds = await many(52, async (i) => (await call("POST", "/v1/customers", m.key, { name: `Customer ${i}` })).json.id as string);
    // The events come through the queue: more than two pages of them.
    await expect.poll(async () => ((await call("GET", "/v1/events?limit=100", m.key)).json.has_more as boolean), { timeout: WAIT_MS, interval: 500 }).toBe(true);
    const page = await signedIn(m.key);
    const pager = page.getByRole("navigation", { name: "Pages of this list" });
    // A row's first cell but its buttons (Failed payments has its actions first).
    const ids = () => page.evaluate<string[]>(`[...document.querySelectorAll("main tbody tr")].map((tr) => tr.querySelector("td:not(.acts)").innerText)`);
    const on = async (n: number) => {
      await expect.poll(async () => !/^Loading/.test(await page.locator("#main").innerText()) && (await pager.count()) === 1 && (await pager.innerText()).includes(`Page ${n}`), { timeout: WAIT_MS }).toBe(true);
    };
    const pages = async (link: string, all: string[] | null, second: number) => {
      await page.getByRole("link", { name: link, exact: true }).click();
      await on(1);
      // The page's rows once it is drawn (its heading and pager can come first on a busy machine).
      await expect.poll(async () => (await ids()).length, { timeout: WAIT_MS }).toBe(50);
      const first = await ids();
      expect(first, link).toHaveLength(50);
      expect(await page.getByRole("link", { name: "← Newest" }).count()).toBe(0);
      await page.getByRole("link", { name: "Older →" }).click();
      await on(2);
      await expect.poll(async () => (await ids()).length, { timeout: WAIT_MS }).toBe(second);
      const next = await ids();
      expect(next, link).toHaveLength(second);
      expect(next.filter((id) => first.includes(id)), link).toEqual([]);
      if (all) {
        expect([...first, ...next].sort(), link).toEqual([...all].sort());
        expect(await pager.innerText()).toContain("No older entries");
      }
      await page.getByRole("link", { name: "← Newest" }).click();
      await on(1);
      expect(await ids(), link).toEqual(first);
    };
    await pages("Payments", [...failedIds, ...paidIds], 5);
    await page.screenshot({ path: path.join(ARTIFACTS, "payments-paged.png"), fullPage: true });
    await pages("Failed payments", failedIds, 1);
    await pages("Customers", customerIds, 2);
    await pages("Events", null, 50);
    await page.context().close();
  });

  it("an admin token opening a merchant's page before picking a merchant is pointed to the Merchant field, and nothing is asked of the API until one is picked", async () => {
    const admin = await signedIn(tokenFor("admin"));
    const asked: string[] = [];
    admin.on("request", (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith("/v1/")) asked.push(u.pathname);
    });
    const logged: string[] = [];
    admin.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") logged.push(m.text());
    });
    for (const name of ["Customers", "Subscriptions", "Webhooks", "Events", "API keys"]) {
      await admin.getByRole("link", { name, exact: true }).click();
      await admin.getByRole("heading", { name, exact: true }).waitFor();
      expect(await admin.locator("#choose-merchant").innerText(), name).toMatch(/^Choose a merchant first: .* in the Merchant field above and press Enter\.$/);
      expect(await admin.getByRole("alert").count(), name).toBe(0);
      expect(await admin.locator("main").innerText(), name).not.toContain("Merchant-Id");
    }
    await admin.screenshot({ path: path.join(ARTIFACTS, "admin-choose-merchant.png"), fullPage: true });
    expect(asked).toEqual([]);
    expect(logged).toEqual([]);
    // Its button takes the focus to the field; a merchant typed, the page loads.
    await admin.getByRole("button", { name: "Go to the Merchant field" }).click();
    expect(await focused(admin)).toMatch(/^INPUT#merchant/);
    await admin.keyboard.type("acct_merchant_a");
    await admin.keyboard.press("Enter");
    await admin.locator("main table").waitFor();
    expect(asked).toContain("/v1/api_keys");
    expect(await admin.getByRole("alert").count()).toBe(0);
    expect(logged).toEqual([]);
    await admin.context().close();
  });

  it("an admin token with no merchant picked filters payments by status over the last 30 days, says so, and gets a list rather than the API's refusal", async () => {
    await stripe.paymentIntents.create({ amount: 2100, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const admin = await signedIn(tokenFor("admin"));
    const asked: string[] = [];
    admin.on("request", (r) => {
      const u = new URL(r.url());
      if (u.pathname === "/v1/admin/payments/search") asked.push(u.search);
    });
    await admin.goto(`${gateway}/dashboard#/payments?status=succeeded&q=`);
    await admin.locator("main table").waitFor();
    expect(await admin.getByRole("alert").count()).toBe(0);
    expect(await admin.locator("#status-hint").innerText()).toContain("Across every merchant this shows the last 30 days");
    expect(await admin.locator("main table").innerText()).toContain("succeeded");
    expect(asked.some((q) => q.includes("status=succeeded") && q.includes("created_gte=") && q.includes("created_lte="))).toBe(true);
    await admin.context().close();
  });

  it("the keyboard: the sign-in field has the focus; after signing in Tab goes to Sign out and the page links before the page; a link or an action moves the focus to the new page's heading", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1800, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const context = await newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${gateway}/dashboard`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await focused(page)).toMatch(/^INPUT#credential/);
    await page.keyboard.type(KEY);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Payments" }).waitFor();
    await settled(page);
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("BUTTON Sign out");
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("A Payments");
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("A Failed payments");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Failed payments" }).waitFor();
    await expect.poll(() => focused(page)).toBe("H1 Failed payments");
    await page.goto(`${gateway}/dashboard#/payments/${pi.id}`);
    await expect.poll(() => focused(page)).toBe(`H1 Payment ${pi.id}`);
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await page.getByRole("button", { name: "Confirm refund of 18.00 USD" }).click();
    await page.getByText(new RegExp(`^Refund of 18\\.00 USD on ${pi.id}: done`)).waitFor();
    await expect.poll(() => focused(page)).toBe(`H1 Payment ${pi.id}`);
    await context.close();
  });
});

describe("dashboard: answered actions, Escape, errors in the page, failed payments and decimal amounts", () => {
  /** The POSTs the page sends, with their Idempotency-Key. */
  const postsOf = (page: Page) => {
    const posts: { path: string; key: string }[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push({ path: new URL(r.url()).pathname, key: r.headers()["idempotency-key"] ?? "" });
    });
    return posts;
  };
  const rowOf = (page: Page, id: string) => page.locator("tr", { has: page.getByRole("cell", { name: id, exact: true }) });
  /** A failed payment's row by its Payment cell (a retry's row names the payment it retries too). */
  const failedRow = (page: Page, id: string) => page.locator("main tbody tr", { has: page.locator("td.id").getByText(id, { exact: true }) });

  it("a second Yes after a declined retry is a new attempt (a new Idempotency-Key), a double click acts once; a key is kept only while no answer came; after a refusal the focus is on the question", async () => {
    const m = await newMerchant();
    const toRetry = await declined(m.key, 4321);
    const toResolve = await declined(m.key, 1500);
    const page = await signedIn(m.key);
    const posts = postsOf(page);
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    await rowOf(page, toRetry).waitFor();
    const flash = page.locator("#flash");
    const question = page.locator("#confirm-question");
    const retries = async () => ((await call("GET", "/v1/payment_intents?limit=100", m.key)).json.data as Json[]).filter((p) => p.retry_of === toRetry).map((p) => p.id as string);

    const answered = () => page.waitForResponse((r) => r.request().method() === "POST" && r.url().includes(`/${toRetry}/retry`));
    await rowOf(page, toRetry).getByRole("button", { name: "Retry" }).click();
    let answer = answered();
    await page.getByRole("button", { name: "Yes, retry 43.21 USD" }).dblclick();
    expect((await answer).status()).toBe(402);
    // The sandbox declines it again: one request for the double click, one retry made; the question stays.
    await expect.poll(() => flash.innerText()).not.toBe("");
    expect(posts).toHaveLength(1);
    expect(await retries()).toHaveLength(1);
    expect(await question.count()).toBe(1);
    // The row's Retries cell shows the declined retry at once (the list is not drawn again: the question stays).
    const madeFirst = (await retries())[0] ?? "";
    await expect.poll(() => rowOf(page, toRetry).innerText()).toContain(`${madeFirst} declined`);
    // Yes again: a new attempt with a new key, not the first decline replayed.
    answer = answered();
    await page.getByRole("button", { name: "Yes, retry 43.21 USD" }).click();
    expect.soft((await answer).headers()["idempotent-replayed"]).toBeUndefined();
    expect.soft(posts).toHaveLength(2);
    expect.soft(posts[1]?.key).not.toBe(posts[0]?.key);
    expect.soft(await retries()).toHaveLength(2);
    // The page is done with the answer once its buttons are enabled again.
    await expect.poll(() => page.getByRole("button", { name: "Yes, retry 43.21 USD" }).isEnabled()).toBe(true);
    // Refused, the focus is on the question (not lost to the page's body).
    expect.soft(await focused(page)).toMatch(/^P#confirm-question /);
    // The message names the failed payment and the new payment the retry made.
    const told = await flash.innerText();
    expect.soft(told).toMatch(new RegExp(`^Retry of ${toRetry}: declined, new payment pi_\\w+ \\(.+\\)$`));
    expect.soft((await retries()).some((id) => told.includes(id))).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, "retry-declined.png"), fullPage: true });

    // No answer (the network failed): the key is kept, so that confirming again replays the request
    // rather than acting twice; once the API answered (here a 409), the next confirmation has a new key.
    let mode: "abort" | "conflict" | "real" = "abort";
    await page.route(`**/v1/admin/failed_payments/${toResolve}/resolve`, (route) =>
      mode === "abort" ? route.abort("connectionfailed") : mode === "conflict" ? route.fulfill({ status: 409, contentType: "application/json", body: JSON.stringify({ error: { type: "invalid_request_error", message: "Another request is in progress." } }) }) : route.continue(),
    );
    await rowOf(page, toResolve).getByRole("button", { name: "Resolve" }).click();
    await page.getByLabel("Reason", { exact: true }).fill("Paid at the counter");
    await page.getByRole("button", { name: "Yes, resolve" }).click();
    await expect.poll(() => flash.innerText()).toMatch(new RegExp(`^Resolve ${toResolve}: `));
    await expect.poll(() => focused(page)).toMatch(/^P#confirm-question /);
    mode = "conflict";
    await page.getByRole("button", { name: "Yes, resolve" }).click();
    await expect.poll(() => flash.innerText()).toBe(`Resolve ${toResolve}: Another request is in progress.`);
    expect(await focused(page)).toMatch(/^P#confirm-question /);
    mode = "real";
    await page.getByRole("button", { name: "Yes, resolve" }).click();
    await page.getByText(`Resolve ${toResolve}: done`).waitFor();
    const resolves = posts.filter((p) => p.path.endsWith("/resolve")).map((p) => p.key);
    expect(resolves).toHaveLength(3);
    expect(resolves[1]).toBe(resolves[0]);
    expect(resolves[2]).not.toBe(resolves[1]);
    await page.context().close();
  });

  it("Escape on an open question takes it back (as its second button), the focus back on the button that asked; Enter on a row's button presses the button, not the row", async () => {
    const m = await newMerchant();
    const failedId = await declined(m.key, 2200);
    const paid = await call("POST", "/v1/payment_intents", m.key, { amount: 3000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const page = await signedIn(m.key);
    const posts = postsOf(page);
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    const question = page.locator("#confirm-question");
    const retry = rowOf(page, failedId).getByRole("button", { name: "Retry" });
    await retry.focus();
    await page.keyboard.press("Enter");
    await question.waitFor();
    expect(page.url()).toMatch(/#\/failed$/);
    expect(await focused(page)).toMatch(/^P#confirm-question /);
    await page.keyboard.press("Escape");
    expect(await question.count()).toBe(0);
    expect(await focused(page)).toBe("BUTTON Retry");
    // From the question's Yes button too.
    await page.keyboard.press("Enter");
    await question.waitFor();
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("BUTTON Yes, retry 22.00 USD");
    await page.keyboard.press("Escape");
    expect(await question.count()).toBe(0);
    expect(await focused(page)).toBe("BUTTON Retry");
    // A refund's question on the payment page.
    await page.goto(`${gateway}/dashboard#/payments/${paid.json.id}`);
    await page.getByRole("heading", { name: `Payment ${paid.json.id}` }).waitFor();
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await question.waitFor();
    await page.keyboard.press("Escape");
    expect(await question.count()).toBe(0);
    expect(await focused(page)).toBe("BUTTON Refund");
    // Still open once the focus has left it (past its buttons): Escape takes it back all the same.
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await question.waitFor();
    for (let i = 0; i < 3; i++) await page.keyboard.press("Tab");
    expect(await page.evaluate(`Boolean(document.querySelector(".confirm")?.contains(document.activeElement))`)).toBe(false);
    await page.keyboard.press("Escape");
    expect(await question.count()).toBe(0);
    expect(await focused(page)).toBe("BUTTON Refund");
    expect(posts).toEqual([]);
    await page.context().close();
  });

  it("an error from the API keeps the page's heading and search form, says a 5xx in words, and offers Try again or the first page; long ids in errors wrap at 375 px", async () => {
    const m = await newMerchant();
    const failedId = await declined(m.key, 1700);
    const page = await signedIn(m.key);
    const alert = page.getByRole("alert");
    // A 500 on the failed payments' list.
    await page.route("**/v1/admin/failed_payments?**", (route) => route.fulfill({ status: 500, contentType: "application/json", body: "{}" }));
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    await alert.waitFor();
    expect.soft(await page.getByRole("heading", { name: "Failed payments", level: 1 }).count()).toBe(1);
    expect.soft(await alert.innerText()).toMatch(/server error, HTTP 500.*Try again/);
    expect.soft(await alert.innerText()).not.toBe("HTTP 500");
    await page.screenshot({ path: path.join(ARTIFACTS, "error-500.png"), fullPage: true });
    await page.unroute("**/v1/admin/failed_payments?**");
    await page.getByRole("button", { name: "Try again" }).click();
    await rowOf(page, failedId).waitFor();
    expect(await alert.count()).toBe(0);
    // A bad cursor: the API's words, and a link back to the first page.
    await page.goto(`${gateway}/dashboard#/failed?after=bogus-cursor&page=2`);
    await alert.waitFor();
    expect.soft(await page.getByRole("heading", { name: "Failed payments", level: 1 }).count()).toBe(1);
    expect.soft(await page.getByRole("link", { name: "Back to the first page" }).count()).toBe(1);
    await page.getByRole("link", { name: "Back to the first page" }).click();
    await rowOf(page, failedId).waitFor();
    expect(page.url()).toMatch(/#\/failed$/);
    // A search the API refuses: the form stays, with what was typed, to be corrected.
    const long = "o".repeat(300);
    await page.goto(`${gateway}/dashboard#/payments?status=&q=${long}`);
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/order_id/);
    expect.soft(await page.getByRole("heading", { name: "Payments", level: 1 }).count()).toBe(1);
    expect.soft(await page.getByRole("search").count()).toBe(1);
    expect(await page.getByRole("search").getByLabel("Search").inputValue()).toBe(long);
    await page.getByRole("search").getByLabel("Search").fill("");
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(() => alert.count()).toBe(0);
    await page.getByRole("cell", { name: failedId, exact: true }).waitFor();
    await page.context().close();

    // 375 px: an unknown payment's very long id in the error wraps; the page keeps its back link and heading.
    const phone = await signedIn(m.key, { width: 375, height: 740 });
    const unknown = `pi_${"Q".repeat(200)}`;
    await phone.goto(`${gateway}/dashboard#/payments/${unknown}`);
    await phone.getByRole("alert").waitFor();
    expect(await phone.getByRole("link", { name: "← Payments" }).count()).toBe(1);
    expect(await phone.getByRole("heading", { level: 1 }).innerText()).toBe(`Payment ${unknown}`);
    expect(Number(await phone.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(375);
    await phone.screenshot({ path: path.join(ARTIFACTS, "error-long-id-375.png"), fullPage: true });
    await phone.context().close();

    // Long unbroken values in tables (a 200-character name, a 220-character URL) wrap in their cells: at 1280 px nothing scrolls sideways.
    await call("POST", "/v1/customers", m.key, { name: "N".repeat(200), email: "someone@example.com" });
    await call("POST", "/v1/webhook_endpoints", m.key, { url: `http://127.0.0.1:9/${"h".repeat(200)}`, enabled_events: ["payment_intent.succeeded"] });
    // A long order id wraps in its cell: the payments' Created column stays on the page.
    await call("POST", "/v1/payment_intents", m.key, { amount: 1500, currency: "usd", order_id: `order-${"o".repeat(120)}` });
    const wide = await signedIn(m.key, { width: 1280, height: 900 });
    for (const [name, heading] of [["Customers", "Customers"], ["Webhooks", "Webhook endpoints"], ["Payments", "Payments"]] as const) {
      await wide.getByRole("link", { name, exact: true }).click();
      // The page's own heading first: the previous page's long cell would do for the wait otherwise,
      // and be gone by the time it is measured.
      await wide.getByRole("heading", { name: heading, exact: true, level: 1 }).waitFor();
      await wide.locator("main tbody td .long").first().waitFor();
      // Measured once the table has settled (its rows render as the list arrives; a CI run once caught it 5 px wide mid-render).
      await expect.poll(async () => Number(await wide.evaluate(`(() => { const w = document.querySelector("main .table-wrap"); return w.scrollWidth - w.clientWidth; })()`)), { message: name }).toBeLessThanOrEqual(0);
      if (name === "Payments") {
        // Ids are random letters of varying widths (a CI run's ids overflowed by 6 px): the widest
        // possible ones (all W) fit too, whatever ids this run drew.
        const widest = await wide.evaluate(`(() => {
          const w = document.querySelector("main .table-wrap");
          const at = (title) => [...w.querySelectorAll("th")].findIndex((th) => th.textContent === title);
          for (const tr of w.querySelectorAll("tbody tr")) {
            const cells = tr.querySelectorAll("td");
            const id = cells[at("Payment")];
            (id.querySelector("a") || id).textContent = "pi_" + "W".repeat(24);
            cells[at("Merchant")].textContent = "acct_" + "W".repeat(20);
          }
          return w.scrollWidth - w.clientWidth;
        })()`);
        expect(Number(widest), "Payments with the widest ids").toBeLessThanOrEqual(0);
      }
      await wide.screenshot({ path: path.join(ARTIFACTS, `long-${name.toLowerCase()}-1280.png`), fullPage: true });
    }
    await wide.context().close();
  });

  it("Failed payments: a row opens the payment's page; a retry is listed with the payment it retries (its link opens the retry, which names the original); admin sees the Merchant and Created; refund approvals open their payment; the status line is cleared on another page", async () => {
    const m = await newMerchant({ refund_approval_thresholds: { usd: 1000 } });
    const original = await declined(m.key, 5100);
    const retried = await call("POST", `/v1/admin/failed_payments/${original}/retry`, m.key, {});
    const retryId = retried.json.retry?.id as string;
    expect(retryId, JSON.stringify(retried.json)).toMatch(/^pi_/);
    const toDismiss = await declined(m.key, 600);
    const paid = await call("POST", "/v1/payment_intents", m.key, { amount: 5000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const pending = await call("POST", "/v1/refunds", m.key, { payment_intent: paid.json.id, amount: 3000 });
    expect(pending.json.requires_approval, JSON.stringify(pending.json)).toBe(true);

    const page = await signedIn(m.key, { width: 1280, height: 900 });
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    await failedRow(page, original).waitFor();
    const headers = await page.locator("main thead th").allInnerTexts();
    expect.soft(headers).toEqual(["Actions", "Payment", "Amount", "Status", "Reason", "Retries", "Created"]);
    // The declined retry is not a failed payment of its own: it is in its original's row.
    expect.soft(await failedRow(page, retryId).count()).toBe(0);
    expect.soft(await failedRow(page, original).locator("td").nth(5).innerText()).toBe(`${retryId} declined`);
    expect.soft(await failedRow(page, original).locator("td").last().innerText()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await page.screenshot({ path: path.join(ARTIFACTS, "failed-1280.png"), fullPage: true });
    // The status line says what happened to which payment, until another page is opened.
    await rowOf(page, toDismiss).getByRole("button", { name: "Dismiss" }).click();
    await page.getByLabel("Reason", { exact: true }).fill("A test order");
    await page.getByRole("button", { name: "Yes, dismiss" }).click();
    await page.getByText(`Dismiss ${toDismiss}: done`).waitFor();
    // The row opens the payment's page, its attempts and the decline; back goes to the failed payments.
    await failedRow(page, original).locator("td.id").click();
    await page.getByRole("heading", { name: `Payment ${original}` }).waitFor();
    expect(await page.locator("#flash").innerText()).toBe("");
    expect(await page.locator("#payment-error").innerText()).toMatch(/declined/i);
    await page.getByText(/^attempt: /).first().waitFor();
    await page.getByRole("link", { name: "← Failed payments" }).click();
    await failedRow(page, original).waitFor();
    // From the keyboard too: the retry's link in its original's row, and its page names the payment it retries.
    await failedRow(page, original).getByRole("link", { name: retryId, exact: true }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: `Payment ${retryId}` }).waitFor();
    expect(await page.getByRole("link", { name: original, exact: true }).count()).toBe(1);
    await page.context().close();

    // Admin, across merchants: a Merchant column; refund approvals' rows open their payment.
    const admin = await signedIn(tokenFor("admin"), { width: 1280, height: 900 });
    await admin.getByRole("link", { name: "Failed payments", exact: true }).click();
    await failedRow(admin, original).waitFor();
    expect(await admin.locator("main thead th").allInnerTexts()).toEqual(["Actions", "Payment", "Amount", "Status", "Reason", "Retries", "Merchant", "Created"]);
    expect(await failedRow(admin, original).getByRole("cell", { name: m.id, exact: true }).count()).toBe(1);
    await admin.screenshot({ path: path.join(ARTIFACTS, "failed-admin-1280.png"), fullPage: true });
    // The retry's link opens the retry (not its row's payment), of the right merchant.
    await failedRow(admin, original).getByRole("link", { name: retryId, exact: true }).click();
    await admin.getByRole("heading", { name: `Payment ${retryId}` }).waitFor();
    expect(await admin.locator("#payment-status").innerText()).toBe("requires_payment_method");
    // (The API's refunds do not name their merchant: the admin picks it to open a refund's payment.)
    await admin.getByLabel("Merchant").fill(m.id);
    await admin.getByLabel("Merchant").press("Enter");
    await admin.getByRole("link", { name: "Refund approvals", exact: true }).click();
    const approval = rowOf(admin, pending.json.id as string);
    await approval.waitFor();
    await approval.getByRole("cell", { name: paid.json.id as string, exact: true }).click();
    await admin.getByRole("heading", { name: `Payment ${paid.json.id}` }).waitFor();
    expect(await admin.getByRole("link", { name: "← Refund approvals" }).count()).toBe(1);
    await admin.context().close();

    // 375 px: a failed payment's buttons and its id are both in view without scrolling sideways.
    const phone = await signedIn(m.key, { width: 375, height: 740 });
    await phone.getByRole("link", { name: "Failed payments", exact: true }).click();
    await failedRow(phone, original).waitFor();
    const box = async (l: ReturnType<Page["locator"]>) => (await l.boundingBox()) ?? { x: 0, y: 0, width: 0, height: 0 };
    for (const name of ["Retry", "Resolve", "Dismiss"]) {
      const b = await box(failedRow(phone, original).getByRole("button", { name }));
      expect(b.x + b.width, name).toBeLessThanOrEqual(375);
    }
    const idCell = await box(failedRow(phone, original).locator("td.id"));
    expect(idCell.x + idCell.width).toBeLessThanOrEqual(375);
    const retryButton = await box(failedRow(phone, original).getByRole("button", { name: "Retry" }));
    expect(retryButton.y).toBeGreaterThanOrEqual(idCell.y);
    expect(Number(await phone.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(375);
    await phone.screenshot({ path: path.join(ARTIFACTS, "failed-375.png"), fullPage: true });
    await phone.context().close();
  });

  it("a refund's amount is typed in the currency's decimals (KWD three, USD two, JPY none), sent in minor units exactly; more decimals are refused in words", async () => {
    const page = await signedIn(KEY);
    const refunded = async (id: string) => (await call("GET", `/v1/payment_intents/${id}`, KEY)).json.amount_refunded as number;
    const field = () => page.locator("#refund-amount");
    const wrong = page.locator("#refund-error");
    const question = page.locator("#confirm-question");

    const kwd = await call("POST", "/v1/payment_intents", KEY, { amount: 20000, currency: "kwd", payment_method: "pm_card_visa", confirm: true });
    expect(kwd.json.status, JSON.stringify(kwd.json)).toBe("succeeded");
    await page.goto(`${gateway}/dashboard#/payments/${kwd.json.id}`);
    await page.getByRole("heading", { name: `Payment ${kwd.json.id}` }).waitFor();
    // Prefilled with the whole remaining amount, in KWD.
    expect(await page.getByLabel("Refund amount (KWD)").inputValue()).toBe("20.000");
    for (const [typed, why] of [
      ["12.3456", "KWD has 3 decimals: 12.3456 has 4."],
      ["1e3", /^Type the amount as a number in KWD/],
      ["-1", /^Type the amount as a number in KWD/],
      ["0.000", /^The amount must be more than 0\.000 KWD/],
      ["20.001", /^At most 20\.000 KWD remains to be refunded/],
    ] as const) {
      await field().fill(typed);
      await page.getByRole("button", { name: "Refund", exact: true }).click();
      if (typeof why === "string") expect(await wrong.innerText(), typed).toBe(why);
      else expect(await wrong.innerText(), typed).toMatch(why);
      expect(await field().getAttribute("aria-invalid"), typed).toBe("true");
      expect(await focused(page), typed).toMatch(/^INPUT#refund-amount/);
      expect(await question.count(), typed).toBe(0);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, "refund-decimals-refused.png"), fullPage: true });
    await field().fill("12.345");
    expect(await wrong.innerText()).toBe("");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    expect(await question.innerText()).toBe("Refund 12.345 KWD of the 20.000 KWD remaining to the customer?");
    await page.getByRole("button", { name: "Confirm refund of 12.345 KWD" }).click();
    await page.getByText(new RegExp(`^Refund of 12\\.345 KWD on ${kwd.json.id}: done`)).waitFor();
    expect(await refunded(kwd.json.id)).toBe(12345);
    // What remains is prefilled again.
    expect(await page.getByLabel("Refund amount (KWD)").inputValue()).toBe("7.655");

    // USD: "0.1" is 10 cents (a float would make 0.1 * 100 = 10.000000000000002); 5 is 5.00.
    const usd = await call("POST", "/v1/payment_intents", KEY, { amount: 1000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    await page.goto(`${gateway}/dashboard#/payments/${usd.json.id}`);
    await page.getByRole("heading", { name: `Payment ${usd.json.id}` }).waitFor();
    expect(await page.getByLabel("Refund amount (USD)").inputValue()).toBe("10.00");
    await field().fill("0.1");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await page.getByRole("button", { name: "Confirm refund of 0.10 USD" }).click();
    await page.getByText(new RegExp(`^Refund of 0\\.10 USD on ${usd.json.id}: done`)).waitFor();
    expect(await refunded(usd.json.id)).toBe(10);
    await field().fill("0.291");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    expect(await wrong.innerText()).toBe("USD has 2 decimals: 0.291 has 3.");

    // JPY: no decimals.
    const jpy = await call("POST", "/v1/payment_intents", KEY, { amount: 1200, currency: "jpy", payment_method: "pm_card_visa", confirm: true });
    await page.goto(`${gateway}/dashboard#/payments/${jpy.json.id}`);
    await page.getByRole("heading", { name: `Payment ${jpy.json.id}` }).waitFor();
    expect(await page.getByLabel("Refund amount (JPY)").inputValue()).toBe("1200");
    await field().fill("5.5");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    expect(await wrong.innerText()).toMatch(/^JPY has no decimals/);
    await field().fill("500");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    await page.getByRole("button", { name: "Confirm refund of 500 JPY" }).click();
    await page.getByText(new RegExp(`^Refund of 500 JPY on ${jpy.json.id}: done`)).waitFor();
    expect(await refunded(jpy.json.id)).toBe(500);

    // Large amounts are shown with their thousands grouped (1,234,567.89 USD); the field is prefilled
    // without commas, and takes them typed as shown.
    const big = await call("POST", "/v1/payment_intents", KEY, { amount: 12345678, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    await page.goto(`${gateway}/dashboard#/payments/${big.json.id}`);
    await page.getByRole("heading", { name: `Payment ${big.json.id}` }).waitFor();
    expect(await page.getByText("123,456.78 USD", { exact: true }).count()).toBeGreaterThan(0);
    expect(await page.getByLabel("Refund amount (USD)").inputValue()).toBe("123456.78");
    await field().fill("1,000.50");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    expect(await question.innerText()).toBe("Refund 1,000.50 USD of the 123,456.78 USD remaining to the customer?");
    await page.getByRole("button", { name: "Confirm refund of 1,000.50 USD" }).click();
    await page.getByText(new RegExp(`^Refund of 1,000\\.50 USD on ${big.json.id}: done`)).waitFor();
    expect(await refunded(big.json.id)).toBe(100050);
    await field().fill("1,00.5");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    expect(await wrong.innerText()).toMatch(/^Type the amount as a number in USD/);
    await page.context().close();
  });

  it("an empty latency chart says it has no data; the heading focused after a click draws no ring, after the keyboard it does", async () => {
    const page = await signedIn(KEY);
    await page.route("**/v1/admin/psp_health", (route) =>
      route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ object: "list", data: [{ merchant_id: "acct_merchant_a", connector: "sandbox", connector_account: null, health: { state: "closed", calls: 0, success_rate: null, series: [] } }] }) }),
    );
    await page.getByRole("link", { name: "PSP health", exact: true }).click();
    await page.getByRole("heading", { name: "Payment provider health" }).waitFor();
    expect(await page.locator(".charts figcaption").allInnerTexts()).toEqual(["Success rate per minute", "p50 latency per minute (no data)"]);
    expect(await page.getByRole("img", { name: "p50 latency per minute (no data)" }).count()).toBe(1);
    const ring = () => page.evaluate<string>(`(() => { const h = document.querySelector("main h1"); return document.activeElement === h ? getComputedStyle(h).outlineStyle : "not focused"; })()`);
    await expect.poll(ring).toBe("none");
    await page.getByRole("link", { name: "Payments", exact: true }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Payments" }).waitFor();
    await expect.poll(ring).not.toBe("not focused");
    expect(await ring()).not.toBe("none");
    await page.context().close();
  });
});

describe("dashboard: secrets shown once, refunds held, partial captures, resolutions, sign-in answers, filters and order", () => {
  /** The POSTs the page sends, with their bodies. */
  const postsOf = (page: Page) => {
    const posts: { path: string; body: Json | null }[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push({ path: new URL(r.url()).pathname, body: (r.postDataJSON() as Json | null) ?? null });
    });
    return posts;
  };
  const rowOf = (page: Page, id: string) => page.locator("main tbody tr", { has: page.getByRole("cell", { name: id, exact: true }) });
  const pageWidth = async (page: Page) => Number(await page.evaluate("document.documentElement.scrollWidth"));
  /** Everything the tab keeps (session and local storage), as one string. */
  const stored = (page: Page) => page.evaluate<string>("JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])");

  it("Roll secret shows the new signing secret once, in a box that has the focus, saying it is shown only now and how long the old one works; it is kept nowhere and gone after navigation", async () => {
    const m = await newMerchant();
    const endpoint = await call("POST", "/v1/webhook_endpoints", m.key, { url: "http://127.0.0.1:9/hooks", enabled_events: ["payment_intent.succeeded"] });
    expect(endpoint.status, JSON.stringify(endpoint.json)).toBe(200);
    const id = endpoint.json.id as string;
    for (const viewport of [{ width: 1280, height: 900 }, { width: 375, height: 740 }]) {
      const page = await signedIn(m.key, viewport);
      await page.getByRole("link", { name: "Webhooks", exact: true }).click();
      await rowOf(page, id).waitFor();
      await rowOf(page, id).getByRole("button", { name: "Roll secret" }).click();
      const answered = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith(`/v1/webhook_endpoints/${id}/roll_secret`));
      await page.getByRole("button", { name: "Yes, roll secret" }).click();
      const answer = (await (await answered).json()) as Json;
      const secret = answer.secret as string;
      expect(secret).toMatch(/^whsec_/);
      const box = page.getByRole("region", { name: `New signing secret of ${id}` });
      await box.waitFor();
      expect(await page.getByLabel("Signing secret", { exact: true }).inputValue()).toBe(secret);
      // The focus is on the secret, selected for copying.
      await expect.poll(() => focused(page)).toMatch(/^TEXTAREA#new-secret-value/);
      expect(await page.evaluate<string>("window.getSelection().toString() || (document.activeElement.value.slice(document.activeElement.selectionStart, document.activeElement.selectionEnd))")).toBe(secret);
      const note = await box.innerText();
      expect(note).toContain("Shown only now");
      expect(note).toMatch(/The old secret keeps working until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(its grace period\)/);
      expect(await page.locator("#flash").innerText()).toMatch(new RegExp(`^Roll secret of ${id}: done`));
      expect(await page.locator("#flash").innerText()).not.toContain(secret);
      // Nothing of it is stored.
      expect(await stored(page)).not.toContain(secret);
      expect(await pageWidth(page)).toBeLessThanOrEqual(viewport.width);
      await page.screenshot({ path: path.join(ARTIFACTS, `roll-secret-shown-${viewport.width}.png`), fullPage: true });
      // Another page and back: gone, and not in the page at all.
      await page.getByRole("link", { name: "Payments", exact: true }).click();
      await page.getByRole("heading", { name: "Payments" }).waitFor();
      await page.getByRole("link", { name: "Webhooks", exact: true }).click();
      await rowOf(page, id).waitFor();
      expect(await page.locator("#new-secret").count()).toBe(0);
      expect(await page.content()).not.toContain(secret);
      expect(await stored(page)).not.toContain(secret);
      await page.context().close();
    }
  });

  it("a refund held for approval is shown and counted: Awaiting approval 15.00 USD, at most 5.00 USD; an amount the API refuses is said in the currency's decimals", async () => {
    // Refunds up to 30.00 in all need no approver; the second refund goes over and waits.
    const m = await newMerchant({ refund_approval_thresholds: { usd: 3000 } });
    const paid = await call("POST", "/v1/payment_intents", m.key, { amount: 5000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const first = await call("POST", "/v1/refunds", m.key, { payment_intent: paid.json.id, amount: 3000 });
    expect([first.json.status, first.json.requires_approval], JSON.stringify(first.json)).toEqual(["succeeded", false]);
    const second = await call("POST", "/v1/refunds", m.key, { payment_intent: paid.json.id, amount: 1500 });
    expect([second.json.status, second.json.requires_approval], JSON.stringify(second.json)).toEqual(["pending", true]);
    const page = await signedIn(m.key, { width: 1280, height: 900 });
    await page.goto(`${gateway}/dashboard#/payments/${paid.json.id}`);
    await page.getByRole("heading", { name: `Payment ${paid.json.id}` }).waitFor();
    expect(await page.locator("#payment-refunded").innerText()).toBe("30.00 USD");
    expect(await page.locator("#payment-awaiting-approval").innerText()).toMatch(/^15\.00 USD \(refund held for approval\)/);
    expect(await page.getByLabel("Refund amount (USD)").inputValue()).toBe("5.00");
    expect(await page.locator("#refund-hint").innerText()).toContain("at most 5.00 USD (15.00 USD awaiting approval counts against it)");
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    expect(await page.locator("#confirm-question").innerText()).toBe("Refund the full remaining 5.00 USD of this payment to the customer?");
    await page.getByText(/^refund re_\w+: pending \(awaiting approval\)$/).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, "refund-awaiting-approval.png"), fullPage: true });
    // Meanwhile another refund is asked for elsewhere (and held): the page's 5.00 is now too much, and the API's refusal is said in USD.
    const third = await call("POST", "/v1/refunds", m.key, { payment_intent: paid.json.id, amount: 400 });
    expect(third.json.requires_approval, JSON.stringify(third.json)).toBe(true);
    await page.getByRole("button", { name: "Confirm refund of 5.00 USD" }).click();
    await expect.poll(() => page.locator("#flash").innerText()).toMatch(/^Refund of 5\.00 USD on pi_\w+: refused: 5\.00 USD is more than the 1\.00 USD that can still be refunded/);
    expect(await page.locator("#flash").innerText()).not.toMatch(/\(\d{3,}\)/);
    // Shown again, the page counts both held refunds.
    await page.reload();
    await page.getByRole("heading", { name: `Payment ${paid.json.id}` }).waitFor();
    expect(await page.locator("#payment-awaiting-approval").innerText()).toMatch(/^19\.00 USD \(refunds held for approval\)/);
    expect(await page.getByLabel("Refund amount (USD)").inputValue()).toBe("1.00");
    // Nothing left while held: said so, no refund offered.
    await call("POST", "/v1/refunds", m.key, { payment_intent: paid.json.id, amount: 100 });
    await page.reload();
    await page.getByRole("heading", { name: `Payment ${paid.json.id}` }).waitFor();
    expect(await page.getByLabel(/^Refund amount/).count()).toBe(0);
    expect(await page.locator("#refund-none").innerText()).toBe("Nothing more can be refunded now: 20.00 USD awaits approval.");
    await page.context().close();
  });

  it("a partially captured payment shows what was captured: Captured 20.00 EUR of 25.99 EUR on its page, and in the list, with no sideways scroll at 375 px", async () => {
    const m = await newMerchant();
    const held = await call("POST", "/v1/payment_intents", m.key, { amount: 2599, currency: "eur", payment_method: "pm_card_visa", confirm: true, capture_method: "manual", order_id: "order-partial-capture" });
    expect(held.json.status, JSON.stringify(held.json)).toBe("requires_capture");
    const id = held.json.id as string;
    const captured = await call("POST", `/v1/payment_intents/${id}/capture`, m.key, { amount_to_capture: 2000 });
    expect([captured.json.status, captured.json.amount_received], JSON.stringify(captured.json)).toEqual(["succeeded", 2000]);
    for (const viewport of [{ width: 1280, height: 900 }, { width: 375, height: 740 }]) {
      const page = await signedIn(m.key, viewport);
      await rowOf(page, id).waitFor();
      expect(await rowOf(page, id).locator("td").nth(1).innerText()).toBe("25.99 EUR\ncaptured 20.00 EUR");
      expect(await pageWidth(page)).toBeLessThanOrEqual(viewport.width);
      await page.screenshot({ path: path.join(ARTIFACTS, `partial-capture-list-${viewport.width}.png`), fullPage: true });
      await rowOf(page, id).locator("td").first().click();
      await page.getByRole("heading", { name: `Payment ${id}` }).waitFor();
      expect(await page.locator("#payment-captured").innerText()).toBe("20.00 EUR (of 25.99 EUR authorized; 5.99 EUR released)");
      expect(await page.getByLabel("Refund amount (EUR)").inputValue()).toBe("20.00");
      expect(await pageWidth(page)).toBeLessThanOrEqual(viewport.width);
      await page.screenshot({ path: path.join(ARTIFACTS, `partial-capture-${viewport.width}.png`), fullPage: true });
      await page.context().close();
    }
  });

  it("Resolve and Dismiss take a typed reason (required, at most 500 characters) and Resolve 'paid by other means'; Failed payments filters by resolution, offering nothing on a resolved one; its page shows the resolution, a retry that paid it as a link", async () => {
    const m = await newMerchant();
    const toResolve = await declined(m.key, 1500);
    const toDismiss = await declined(m.key, 990);
    const toRetry = await declined(m.key, 700);
    const stillOpen = await declined(m.key, 600);
    const retried = await call("POST", `/v1/admin/failed_payments/${toRetry}/retry`, m.key, { payment_method: "pm_card_visa" });
    const retryId = retried.json.retry?.id as string;
    expect(retried.json.retry?.status, JSON.stringify(retried.json)).toBe("succeeded");
    const page = await signedIn(m.key, { width: 1280, height: 900 });
    const posts = postsOf(page);
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    await rowOf(page, toResolve).waitFor();
    const reason = page.getByLabel("Reason", { exact: true });
    const wrong = page.locator("#confirm-reason-error");

    await rowOf(page, toResolve).getByRole("button", { name: "Resolve" }).click();
    // The reason has the focus; it is required, and at most 500 characters (as the API keeps).
    expect(await focused(page)).toMatch(/^INPUT#confirm-reason/);
    expect(await reason.getAttribute("maxlength")).toBe("500");
    await page.getByRole("button", { name: "Yes, resolve" }).click();
    expect(await wrong.innerText()).toBe("Type the reason first: the gateway keeps it with the payment.");
    expect(await reason.getAttribute("aria-invalid")).toBe("true");
    await page.evaluate(`document.getElementById("confirm-reason").value = "x".repeat(501)`);
    await page.getByRole("button", { name: "Yes, resolve" }).click();
    expect(await wrong.innerText()).toBe("The reason has 501 characters; at most 500 are kept.");
    expect(posts).toEqual([]);
    await reason.fill("Paid by bank transfer");
    await page.getByLabel("Paid by other means (e.g. cash or bank transfer)").check();
    await page.screenshot({ path: path.join(ARTIFACTS, "resolve-reason.png"), fullPage: true });
    await page.getByRole("button", { name: "Yes, resolve" }).click();
    await page.getByText(`Resolve ${toResolve}: done`).waitFor();
    await rowOf(page, toDismiss).getByRole("button", { name: "Dismiss" }).click();
    // Dismiss has no "paid by other means"; Enter in the reason answers Yes.
    expect(await page.getByLabel(/Paid by other means/).count()).toBe(0);
    await reason.fill("Duplicate order");
    await reason.press("Enter");
    await page.getByText(`Dismiss ${toDismiss}: done`).waitFor();
    expect(posts).toEqual([
      { path: `/v1/admin/failed_payments/${toResolve}/resolve`, body: { reason: "Paid by bank transfer", paid_by_other_means: true } },
      { path: `/v1/admin/failed_payments/${toDismiss}/dismiss`, body: { reason: "Duplicate order" } },
    ]);

    // The filter: open (the default), resolved, dismissed, all.
    // (The list is drawn again after the action: what is read waits for it, on a busy machine too.)
    const filter = page.getByRole("navigation", { name: "Resolution" });
    await expect.poll(() => filter.getByRole("link").allInnerTexts()).toEqual(["Open", "Resolved", "Dismissed", "All"]);
    await expect.poll(() => rowOf(page, toResolve).count()).toBe(0);
    await filter.getByRole("link", { name: "Resolved" }).click();
    await rowOf(page, toResolve).waitFor();
    expect(page.url()).toMatch(/#\/failed\?resolution=resolved$/);
    expect(await rowOf(page, toDismiss).count()).toBe(0);
    expect(await rowOf(page, toRetry).getByRole("cell", { name: `resolved by the retry ${retryId}: paid by a retry` }).count()).toBe(1);
    expect(await rowOf(page, toResolve).getByRole("cell", { name: "resolved, paid by other means: Paid by bank transfer" }).count()).toBe(1);
    // The API takes no retry, resolve or dismiss of them: none is offered.
    expect(await page.locator("main tbody button").count()).toBe(0);
    await filter.getByRole("link", { name: "Dismissed" }).click();
    await rowOf(page, toDismiss).waitFor();
    expect(await rowOf(page, toResolve).count()).toBe(0);
    await filter.getByRole("link", { name: "All" }).click();
    await rowOf(page, stillOpen).waitFor();
    expect(await rowOf(page, toResolve).getByRole("button").count()).toBe(0);
    expect(await rowOf(page, stillOpen).getByRole("button").allInnerTexts()).toEqual(["Retry", "Resolve", "Dismiss"]);
    await page.screenshot({ path: path.join(ARTIFACTS, "failed-all-1280.png"), fullPage: true });

    // The payment's page: what was made of it, by whom and when.
    await rowOf(page, toResolve).locator("td.id").click();
    await page.getByRole("heading", { name: `Payment ${toResolve}` }).waitFor();
    expect(await page.locator("#payment-resolution").innerText()).toBe("resolved, paid by other means: Paid by bank transfer");
    expect(await page.locator("#payment-resolution-by").innerText()).toMatch(/\S+ at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await page.goto(`${gateway}/dashboard#/payments/${toDismiss}`);
    await page.getByRole("heading", { name: `Payment ${toDismiss}` }).waitFor();
    expect(await page.locator("#payment-resolution").innerText()).toBe("dismissed: Duplicate order");
    await page.goto(`${gateway}/dashboard#/payments/${toRetry}`);
    await page.getByRole("heading", { name: `Payment ${toRetry}` }).waitFor();
    await page.getByRole("link", { name: retryId, exact: true }).click();
    await page.getByRole("heading", { name: `Payment ${retryId}` }).waitFor();
    expect(await page.locator("#payment-status").innerText()).toBe("succeeded");
    await page.context().close();

    // 375 px: the filter and the question with its reason stay on the screen.
    const phone = await signedIn(m.key, { width: 375, height: 740 });
    await phone.getByRole("link", { name: "Failed payments", exact: true }).click();
    await rowOf(phone, stillOpen).getByRole("button", { name: "Resolve" }).click();
    await phone.getByLabel("Reason", { exact: true }).waitFor();
    expect(await pageWidth(phone)).toBeLessThanOrEqual(375);
    await phone.screenshot({ path: path.join(ARTIFACTS, "resolve-reason-375.png"), fullPage: true });
    await phone.context().close();
  });

  it("sign-in: only a 2xx signs in; a 429 says to try again in the Retry-After seconds and a 5xx that the credential could not be checked, and nothing is kept", async () => {
    const context = await newContext({ viewport: { width: 1200, height: 900 } });
    // The login rate limit reached: both routes the sign-in may ask answer 429.
    let answer: { status: number; headers?: Record<string, string> } | null = { status: 429, headers: { "Retry-After": "37" } };
    let account: number | null = 429;
    await context.route("**/v1/credential", (route) =>
      answer ? route.fulfill({ status: answer.status, headers: answer.headers ?? {}, contentType: "application/json", body: JSON.stringify({ error: { type: "api_error", message: "held" } }) }) : route.continue(),
    );
    await context.route("**/v1/account", (route) => (account ? route.fulfill({ status: account, contentType: "application/json", body: "{}" }) : route.continue()));
    const page = await context.newPage();
    await page.goto(`${gateway}/dashboard`);
    /** Signs in with `credential`; the form's answer once it came (the form is made again with it, its field empty). */
    const tryWith = async (credential: string) => {
      await page.getByLabel("API key or token").fill(credential);
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.getByLabel("API key or token").inputValue()).toBe("");
      return page.getByRole("alert").innerText();
    };
    const nothingKept = async () => {
      expect(await page.getByRole("heading", { name: "Sign in" }).count()).toBe(1);
      expect(await page.locator("#nav a").count()).toBe(0);
      expect(await page.locator("#who").innerText()).toBe("");
      expect(await page.evaluate<string[]>("Object.keys(sessionStorage)")).toEqual([]);
    };
    expect(await tryWith("any string at all")).toBe("Not signed in: Too many attempts, try again in 37 s.");
    await nothingKept();
    await page.screenshot({ path: path.join(ARTIFACTS, "sign-in-429.png"), fullPage: true });
    answer = { status: 503 };
    expect(await tryWith("sk_test_anything")).toMatch(/^Not signed in: the gateway could not check the credential \(a server error, HTTP 503\)/);
    await nothingKept();
    // A gateway without /v1/credential: /v1/account decides, and only its 2xx signs in.
    answer = { status: 404 };
    account = 429;
    expect(await tryWith("sk_test_anything")).toMatch(/^Not signed in: Too many attempts, try again in/);
    await nothingKept();
    account = 403;
    expect(await tryWith("sk_test_anything")).toMatch(/^Not signed in: the gateway did not accept the credential \(HTTP 403/);
    await nothingKept();
    answer = null;
    account = null;
    await page.getByLabel("API key or token").fill(KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Payments" }).waitFor();
    await context.close();
  });

  it("the payments' status filter offers what the API filters on, in words that match it: a declined payment is under requires_payment_method, and the page points to Failed payments", async () => {
    const m = await newMerchant();
    const declinedId = await declined(m.key, 1250);
    const page = await signedIn(m.key);
    const options = await page.getByRole("search").getByLabel("Status").locator("option").allInnerTexts();
    expect(options).toEqual(["any", "requires_payment_method (new or declined)", "requires_confirmation", "requires_action", "processing", "requires_capture", "succeeded", "canceled", "failed (for good)"]);
    expect(await page.locator("#status-hint").innerText()).toContain("A declined payment stays requires_payment_method");
    await page.getByRole("search").getByLabel("Status").selectOption("requires_payment_method");
    await page.getByRole("button", { name: "Search" }).click();
    await rowOf(page, declinedId).waitFor();
    await page.locator("#status-hint").getByRole("link", { name: "list of failed payments" }).click();
    await page.getByRole("heading", { name: "Failed payments" }).waitFor();
    await rowOf(page, declinedId).waitFor();
    await page.context().close();
    const phone = await signedIn(m.key, { width: 375, height: 740 });
    expect(await pageWidth(phone)).toBeLessThanOrEqual(375);
    await phone.screenshot({ path: path.join(ARTIFACTS, "payments-filter-375.png"), fullPage: true });
    await phone.context().close();
  });

  it("the timeline keeps the API's order within one second: payment_intent.created comes before payment_intent.succeeded", async () => {
    const m = await newMerchant();
    let id = "";
    // A payment whose two events fall in the same second (nearly always: one call makes both).
    for (let i = 0; i < 5 && !id; i++) {
      const pi = await call("POST", "/v1/payment_intents", m.key, { amount: 1800, currency: "usd", payment_method: "pm_card_visa", confirm: true });
      let events: Json[] = [];
      await expect
        .poll(async () => {
          events = (await call("GET", `/v1/events?payment_intent=${pi.json.id}`, m.key)).json.data as Json[];
          return ["payment_intent.created", "payment_intent.succeeded"].every((t) => events.some((e) => e.type === t));
        }, { timeout: WAIT_MS, interval: 300 })
        .toBe(true);
      const second = (type: string) => events.find((e) => e.type === type)?.created as number;
      if (second("payment_intent.created") === second("payment_intent.succeeded")) id = pi.json.id as string;
    }
    expect(id).not.toBe("");
    const page = await signedIn(m.key);
    await page.goto(`${gateway}/dashboard#/payments/${id}`);
    await page.getByRole("heading", { name: `Payment ${id}` }).waitFor();
    await page.getByText("event: payment_intent.succeeded").waitFor();
    const what = await page.locator("main table tbody tr td:nth-child(2)").allInnerTexts();
    expect(what.indexOf("event: payment_intent.created")).toBeGreaterThanOrEqual(0);
    expect(what.indexOf("event: payment_intent.created")).toBeLessThan(what.indexOf("event: payment_intent.succeeded"));
    await page.context().close();
  });

  it("the API keys' columns have distinct names", async () => {
    const m = await newMerchant();
    const page = await signedIn(m.key, { width: 1280, height: 900 });
    await page.getByRole("link", { name: "API keys", exact: true }).click();
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    await settled(page);
    const headers = (await page.locator("main thead th").allInnerTexts()).filter(Boolean);
    expect(headers).toEqual(["Key id", "Type", "Name", "Key (redacted)", "Last used", "Works until"]);
    await page.context().close();
  });

  /** The contrast of secondary text (hints, the facts' labels, captions) and of links on the page's grey against the background they are drawn on. */
  const contrasts = (page: Page) =>
    page.evaluate<{ text: string; ratio: number }[]>(`(() => {
      const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
      const background = (el) => { for (let n = el; n; n = n.parentElement) { const c = rgb(getComputedStyle(n).backgroundColor); if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; };
      return [...document.querySelectorAll(".hint, .facts dt, figcaption, .captured, .choices a, .pager a, .error-ways a")].filter((e) => e.offsetParent).map((e) => {
        const a = lum(rgb(getComputedStyle(e).color)), b = lum(background(e));
        return { text: e.textContent.slice(0, 40), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
      });
    })()`);

  it("hint text (and the facts' labels) has at least 4.5:1 contrast on its background: the page's, the sign-in form's, a question's", async () => {
    const m = await newMerchant();
    const page = await signedIn(m.key, { width: 1280, height: 900 });
    const paid = await call("POST", "/v1/payment_intents", m.key, { amount: 1000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    await page.goto(`${gateway}/dashboard#/payments/${paid.json.id}`);
    await page.locator("#refund-hint").waitFor();
    const onPayment = await contrasts(page);
    expect(onPayment.map((c) => c.text)).toContain("Status");
    expect(onPayment.some((c) => c.text.startsWith("In USD"))).toBe(true);
    for (const c of onPayment) expect(c.ratio, c.text).toBeGreaterThanOrEqual(4.5);
    // The payments' filter hint, a reason's hint inside a question, the sign-in form's hint.
    await declined(m.key, 800);
    await page.getByRole("link", { name: "Payments", exact: true }).click();
    await page.locator("#status-hint").waitFor();
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    await page.getByRole("button", { name: "Dismiss" }).click();
    await page.locator("#confirm-reason-hint").waitFor();
    const inQuestion = await contrasts(page);
    expect(inQuestion.some((c) => c.text.startsWith("Required"))).toBe(true);
    for (const c of inQuestion) expect(c.ratio, c.text).toBeGreaterThanOrEqual(4.5);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    for (const c of await contrasts(page)) expect(c.ratio, c.text).toBeGreaterThanOrEqual(4.5);
    await page.context().close();
  });

  it("Replay a range asks first, naming the range and how many deliveries at most; taking it back sends nothing, and a double click replays once", async () => {
    const m = await newMerchant();
    const page = await signedIn(m.key, { width: 1280, height: 900 });
    // One delivery of the endpoint (its receiver is not there), re-sent only once confirmed.
    const endpoint = await call("POST", "/v1/webhook_endpoints", m.key, { url: "http://127.0.0.1:9/hooks", enabled_events: ["payment_intent.succeeded"] });
    const id = endpoint.json.id as string;
    await call("POST", "/v1/payment_intents", m.key, { amount: 1100, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    await expect.poll(async () => ((await call("GET", `/v1/webhook_endpoints/${id}/deliveries`, m.key)).json.data as Json[]).length, { timeout: WAIT_MS, interval: 500 }).toBe(1);
    const posts = postsOf(page);
    await page.goto(`${gateway}/dashboard#/webhooks/${id}`);
    await page.getByRole("heading", { name: `Deliveries to ${id}` }).waitFor();
    await page.locator("main tbody tr").first().waitFor();
    for (const c of await contrasts(page)) expect(c.ratio, c.text).toBeGreaterThanOrEqual(4.5);
    await page.getByLabel("Deliveries", { exact: true }).selectOption("all");
    await page.getByRole("button", { name: "Replay", exact: true }).click();
    const question = page.locator("#confirm-question");
    await question.waitFor();
    expect(await question.innerText()).toMatch(new RegExp(`^Re-send the deliveries to ${id} created from \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:00 UTC to now\\? At most 1 delivery is sent again, each event once more to the receiver\\. This cannot be undone\\.$`));
    expect(await focused(page)).toMatch(/^P#confirm-question /);
    await page.screenshot({ path: path.join(ARTIFACTS, "replay-confirm.png"), fullPage: true });
    await page.getByRole("button", { name: "Do not replay" }).click();
    expect(await question.count()).toBe(0);
    expect(await focused(page)).toBe("BUTTON Replay");
    expect(posts).toEqual([]);
    await page.getByRole("button", { name: "Replay", exact: true }).click();
    await page.getByRole("button", { name: "Yes, replay at most 1" }).dblclick();
    await expect.poll(() => page.locator("#flash").innerText()).toMatch(new RegExp(`^Replay to ${id}: re-sent [01] deliver`));
    expect(posts.map((p) => p.path)).toEqual([`/v1/webhook_endpoints/${id}/replay`]);
    expect(posts[0]?.body).toMatchObject({ status: "all" });
    await page.context().close();
  });
});

describe("dashboard: rows are links, and dark mode", () => {
  const rowOf = (page: Page, id: string) => page.locator("main tbody tr", { has: page.getByRole("cell", { name: id, exact: true }) });
  const LUMINANCE = `const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);`;
  /** The relative luminance (0 black to 1 white) of the body's background and of its text. */
  const bodyLuminance = (page: Page) =>
    page.evaluate<{ background: number; text: number }>(`(() => { ${LUMINANCE}
      const s = getComputedStyle(document.body);
      return { background: lum(rgb(s.backgroundColor)), text: lum(rgb(s.color)) };
    })()`);
  /** The contrast of the first shown element each selector finds: its text colour against the first opaque background under it. */
  const contrastOf = (page: Page, selectors: string[]) =>
    page.evaluate<{ selector: string; found: boolean; color: string; background: string; ratio: number }[]>(`(() => { ${LUMINANCE}
      const background = (el) => { for (let n = el; n; n = n.parentElement) { const s = getComputedStyle(n).backgroundColor; const c = rgb(s); if (c.length === 3 || c[3] > 0) return s; } return "rgb(255, 255, 255)"; };
      return ${JSON.stringify(selectors)}.map((selector) => {
        const e = [...document.querySelectorAll(selector)].find((x) => x.getClientRects().length);
        if (!e) return { selector, found: false, color: "", background: "", ratio: 0 };
        const color = getComputedStyle(e).color, bg = background(e);
        const a = lum(rgb(color)), b = lum(rgb(bg));
        return { selector, found: true, color, background: bg, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
      });
    })()`);

  it("a list's rows are links: the first cell holds a real link to the row's page (a link to a screen reader, reached with Tab instead of the row, openable in a new tab); a click elsewhere in the row opens it too, its buttons do not", async () => {
    const m = await newMerchant();
    const paidOf = async (amount: number) => (await call("POST", "/v1/payment_intents", m.key, { amount, currency: "usd", payment_method: "pm_card_visa", confirm: true })).json.id as string;
    const older = await paidOf(1200);
    const newer = await paidOf(1300);
    const failedId = await declined(m.key, 900);
    const endpoint = await call("POST", "/v1/webhook_endpoints", m.key, { url: "http://127.0.0.1:9/hooks", enabled_events: ["payment_intent.succeeded"] });
    const page = await signedIn(m.key, { width: 1280, height: 900 });
    await page.getByRole("link", { name: older, exact: true }).waitFor();
    // Every row holds a link to its page in its first cell; no row takes the focus itself.
    const rows = await page.evaluate<{ href: string; inFirstCell: boolean; focusable: boolean }[]>(
      `[...document.querySelectorAll("main tbody tr")].map((tr) => { const a = tr.querySelector('a[href^="#/"]'); return { href: a ? a.getAttribute("href") : "", inFirstCell: !!a && tr.cells[0].contains(a), focusable: tr.hasAttribute("tabindex") }; })`,
    );
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r).toEqual({ href: expect.stringMatching(/^#\/payments\/pi_\w+$/), inFirstCell: true, focusable: false });
    expect(await page.getByRole("link", { name: older, exact: true }).getAttribute("href")).toBe(`#/payments/${older}`);
    // Tab from the search form: the hint's link, then the first row's link (not the row).
    const first = (rows[0]?.href ?? "").replace("#/payments/", "");
    await page.getByRole("button", { name: "Search", exact: true }).focus();
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("A list of failed payments");
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe(`A ${first}`);
    expect(await page.evaluate<string>(`document.activeElement.closest("tr") === document.querySelector("main tbody tr") ? "first row" : "elsewhere"`)).toBe("first row");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: `Payment ${first}` }).waitFor();
    // Followed by its role and name (as a screen reader finds it).
    await page.getByRole("link", { name: "Payments", exact: true }).click();
    await page.getByRole("link", { name: older, exact: true }).click();
    await page.getByRole("heading", { name: `Payment ${older}` }).waitFor();
    // A click elsewhere in the row (its amount) opens the page too.
    await page.getByRole("link", { name: "Payments", exact: true }).click();
    await rowOf(page, newer).getByRole("cell", { name: "13.00 USD", exact: true }).click();
    await page.getByRole("heading", { name: `Payment ${newer}` }).waitFor();
    // Ctrl+click on the link opens the payment in a new tab; this tab stays on the list.
    await page.getByRole("link", { name: "Payments", exact: true }).click();
    const [tab] = await Promise.all([page.context().waitForEvent("page"), page.getByRole("link", { name: older, exact: true }).click({ modifiers: ["Control"] })]);
    expect(tab.url()).toBe(`${gateway}/dashboard#/payments/${older}`);
    await tab.close();
    expect(page.url()).toMatch(/#\/payments$/);

    // Failed payments: the link is the payment's id (after the row's buttons); a button does not open the row.
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    const failedLink = page.locator("main tbody td.id").getByRole("link", { name: failedId, exact: true });
    expect(await failedLink.getAttribute("href")).toBe(`#/payments/${failedId}?from=failed`);
    await rowOf(page, failedId).getByRole("button", { name: "Retry" }).click();
    await page.locator("#confirm-question").waitFor();
    expect(page.url()).toMatch(/#\/failed$/);
    await page.getByRole("button", { name: "Do not retry" }).click();
    await rowOf(page, failedId).getByRole("cell", { name: "9.00 USD", exact: true }).click();
    await page.getByRole("heading", { name: `Payment ${failedId}` }).waitFor();

    // Webhook endpoints: the endpoint's id links to its deliveries.
    await page.getByRole("link", { name: "Webhooks", exact: true }).click();
    const endpointLink = page.getByRole("link", { name: endpoint.json.id as string, exact: true });
    expect(await endpointLink.getAttribute("href")).toBe(`#/webhooks/${endpoint.json.id}`);
    await endpointLink.click();
    await page.getByRole("heading", { name: `Deliveries to ${endpoint.json.id}` }).waitFor();
    await page.context().close();
  });

  it("follows prefers-color-scheme: dark draws light text on a dark page, light the reverse; body text, hints, links, fields, buttons and errors have at least 4.5:1 contrast in both", async () => {
    const m = await newMerchant();
    const paid = (await call("POST", "/v1/payment_intents", m.key, { amount: 2500, currency: "usd", payment_method: "pm_card_visa", confirm: true })).json.id as string;
    const page = await signedIn(m.key, { width: 1024, height: 800 });
    await page.getByRole("link", { name: paid, exact: true }).waitFor();
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await bodyLuminance(page);
    expect(dark.background).toBeLessThan(0.05);
    expect(dark.text).toBeGreaterThan(0.6);
    await page.emulateMedia({ colorScheme: "light" });
    const light = await bodyLuminance(page);
    expect(light.background).toBeGreaterThan(0.85);
    expect(light.text).toBeLessThan(0.05);

    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      await page.setViewportSize({ width: 1024, height: 800 });
      await page.goto(`${gateway}/dashboard#/payments`);
      await page.getByRole("link", { name: paid, exact: true }).waitFor();
      await page.getByRole("link", { name: paid, exact: true }).hover();
      const list = await contrastOf(page, ["body", "header", "nav a", "nav a.current", "#status-hint", "#status-hint a", "main tbody a.row-link", "main tbody td", "main button", "main select", "main input"]);
      if (colorScheme === "dark") await page.screenshot({ path: path.join(ARTIFACTS, "dark-payments-1024.png"), fullPage: true });
      await page.goto(`${gateway}/dashboard#/payments/${paid}`);
      await page.locator("#refund-hint").waitFor();
      const detail = await contrastOf(page, [".facts dt", ".facts dd", "#refund-hint", "main p a", "#refund-amount", "main button"]);
      if (colorScheme === "dark") {
        await page.screenshot({ path: path.join(ARTIFACTS, "dark-payment-1024.png"), fullPage: true });
        await page.setViewportSize({ width: 375, height: 740 });
        await page.screenshot({ path: path.join(ARTIFACTS, "dark-payment-375.png"), fullPage: true });
        await page.goto(`${gateway}/dashboard#/payments`);
        await page.getByRole("link", { name: paid, exact: true }).waitFor();
        await page.screenshot({ path: path.join(ARTIFACTS, "dark-payments-375.png"), fullPage: true });
      }
      // An error from the API, with its way out.
      await page.goto(`${gateway}/dashboard#/failed?after=bogus-cursor&page=2`);
      await page.getByRole("alert").waitFor();
      const error = await contrastOf(page, ["#page-error", ".error-ways a"]);
      for (const c of [...list, ...detail, ...error]) {
        expect(c.found, `${colorScheme}: ${c.selector}`).toBe(true);
        expect(c.ratio, `${colorScheme}: ${c.selector} ${c.color} on ${c.background}`).toBeGreaterThanOrEqual(4.5);
      }
    }
    await page.context().close();
  });
});

describe("dashboard: page titles, row actions named by their row, the PSP health page at 320 px, text at 200%, target sizes", () => {
  it("the tab's title is the page's heading and ' – Dashboard', with 'Error: ' first while the page shows an error", async () => {
    const page = await signedIn(KEY);
    await expect.poll(() => page.title()).toBe("Payments – Dashboard");
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    await page.getByRole("heading", { name: "Failed payments" }).waitFor();
    await settled(page);
    await expect.poll(() => page.title()).toBe("Failed payments – Dashboard");
    await page.route("**/v1/admin/psp_health", (route) => route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: { type: "api_error", message: "boom" } }) }));
    await page.getByRole("link", { name: "PSP health", exact: true }).click();
    await page.locator("#page-error").waitFor();
    await expect.poll(() => page.title()).toBe("Error: Payment provider health – Dashboard");
    // Another page, without an error: the prefix goes.
    await page.getByRole("link", { name: "Payments", exact: true }).click();
    await page.getByRole("heading", { name: "Payments" }).waitFor();
    await expect.poll(() => page.title()).toBe("Payments – Dashboard");
    await page.context().close();
  });

  it("Retry, Resolve and Dismiss name the payment and its amount (each row's buttons have names of their own), the name starting with the button's label", async () => {
    const m = await newMerchant();
    const one = await declined(m.key, 500);
    const two = await declined(m.key, 700);
    const page = await signedIn(m.key);
    await page.getByRole("link", { name: "Failed payments", exact: true }).click();
    const row = (id: string) => page.locator("main tbody tr", { has: page.getByRole("cell", { name: id, exact: true }) });
    await expect.poll(() => row(two).getByRole("button").count()).toBe(3);
    for (const [id, amount] of [[one, "5.00 USD"], [two, "7.00 USD"]] as const) {
      for (const label of ["Retry", "Resolve", "Dismiss"]) {
        expect(await row(id).getByRole("button", { name: `${label} ${id} (${amount})`, exact: true }).count(), `${label} ${id}`).toBe(1);
        expect(await row(id).getByRole("button", { name: `${label} ${id} (${amount})`, exact: true }).innerText()).toBe(label);
      }
    }
    const names = await page.locator("main tbody button").evaluateAll((buttons) => buttons.map((b) => b.getAttribute("aria-label")));
    expect(new Set(names).size).toBe(names.length);
    await page.context().close();
  });

  it("PSP health reflows at 320 px (the charts shrink, nothing scrolls sideways), offers the minutes' values as a table, and marks a failing minute by a cross, not by colour alone", async () => {
    const page = await signedIn(KEY, { width: 320, height: 800 });
    const start = Math.floor(Date.now() / 60_000) * 60 - 240;
    const series = [0, 1, 2, 3, 4].map((i) => ({ start: start + i * 60, calls: 10, success_rate: i === 2 ? 0.5 : 1, p50_latency_ms: 100 + i * 10 }));
    await page.route("**/v1/admin/psp_health", (route) =>
      route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ object: "list", data: [{ merchant_id: "acct_merchant_a", connector: "sandbox", connector_account: null, health: { state: "closed", calls: 50, success_rate: 0.9, p50_latency_ms: 120, p95_latency_ms: 140, series } }] }) }),
    );
    await page.getByRole("link", { name: "PSP health", exact: true }).click();
    await page.getByRole("heading", { name: "Payment provider health" }).waitFor();
    await settled(page);
    expect(Number(await page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(320);
    for (const box of await page.locator(".charts svg").evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect().right))) expect(box).toBeLessThanOrEqual(320);
    // One cross, over the failing minute's bar; the legend says what it means.
    expect(await page.locator(".charts .point-mark").count()).toBe(1);
    await page.getByText("A crossed red bar: a minute under 90% successful.").waitFor();
    // The values as text: a table in a details.
    await page.getByText("Values per minute (table)").click();
    const rows = await page.locator(".chart-values tbody tr").allInnerTexts();
    expect(rows).toHaveLength(5);
    expect(rows[2]).toMatch(/50% \(under 90%\)\s+10\s+120 ms/);
    await page.screenshot({ path: path.join(ARTIFACTS, "psp-health-320.png"), fullPage: true });
    await page.context().close();
  });

  it("text follows the browser's font size: at 200% on a 375 px phone the header and the page links wrap rather than overflow; the page links, a row's link and the filter's 'All' are at least 24 px", async () => {
    const admin = tokenFor("admin");
    const page = await signedIn(admin, { width: 375, height: 800 });
    // The browser's font size at 200% (what a reader's setting does to the root's size).
    await page.evaluate(`document.documentElement.style.fontSize = "200%"`);
    expect(await page.evaluate("getComputedStyle(document.body).fontSize")).toBe("30px");
    expect(Number(await page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(375);
    for (const selector of ["header", "#who-text", "#who button", "#merchant"]) {
      const right = await page.locator(selector).evaluate((e) => e.getBoundingClientRect().right);
      expect(right, selector).toBeLessThanOrEqual(375);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, "phone-375-text-200.png"), fullPage: true });
    await page.context().close();
    const wide = await signedIn(KEY, { width: 1280, height: 900 });
    await wide.getByRole("link", { name: "Failed payments", exact: true }).click();
    await wide.locator("main tbody a.row-link").first().waitFor();
    const heights = async (selector: string) => wide.locator(selector).evaluateAll((els) => els.map((e) => [e.getBoundingClientRect().width, e.getBoundingClientRect().height]));
    for (const [w, h] of [...(await heights("nav#nav a")), ...(await heights("main tbody a.row-link")), ...(await heights("#failed-resolution a"))]) {
      expect(w).toBeGreaterThanOrEqual(24);
      expect(h).toBeGreaterThanOrEqual(24);
    }
    await wide.context().close();
  });
});
