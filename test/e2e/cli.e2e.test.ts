// The CLI against a running gateway (`wrangler dev`, global-setup): `listen --forward-to` registers
// a temporary endpoint, forwards each signed delivery to the local app (the signature verifies with
// the secret it prints), prints one line per event and deletes the endpoint on exit; `trigger`,
// `events resend`, `token --secret`, `merchants create` and `keys create`; what `trigger` says when
// its event did not happen (a refund held for approval); `help`, `--version`; the roles `token`
// accepts; the operators' `failed` and `refunds` commands, the operator a minted token names (--sub,
// GATEWAY_OPERATOR) and amounts in the currency's decimals; `npm run token`'s options.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import path from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
// @ts-expect-error: a plain .mjs module without types
import { DEV_JWT_SECRET as DEV_SECRET } from "../../scripts/dev-secrets.mjs";
// @ts-expect-error: a plain .mjs module without types
import { ROLES as CLI_ROLES } from "../../scripts/roles.mjs";
// @ts-expect-error: a plain .mjs module without types
import { currencyDecimals } from "../../scripts/cli-shared.mjs";
// @ts-expect-error: a plain .mjs module without types
import { parseDuration as cliParseDuration } from "../../scripts/cli-shared.mjs";
import { ROLES } from "../../src/auth/permissions";
import { currencyExponents } from "../../src/core/money";
import { parseDuration } from "../../src/env";

const DEV_JWT_SECRET = DEV_SECRET as string;

const gateway = inject("gatewayUrl");
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const CLI = path.join(ROOT, "scripts", "cli.mjs");
const TOKEN = path.join(ROOT, "scripts", "token.mjs");
const KEY = "sk_test_merchant_a";

/** The environment of the scripts: no operator unless a test names one (the developer's own would hide a refusal). */
function scriptEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!("GATEWAY_OPERATOR" in extra)) delete env.GATEWAY_OPERATOR;
  return env;
}

/** The CLI with extra environment variables (GATEWAY_OPERATOR). */
function cliWith(env: Record<string, string>, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args, "--api-base", gateway], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: scriptEnv(env) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return cliWith({}, ...args);
}

/** The CLI exactly as given (no --api-base added), with extra environment variables. */
function cliExactly(env: Record<string, string>, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: scriptEnv(env) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI exactly as given, without blocking this process (whose proxy must answer meanwhile). */
function cliAsync(env: Record<string, string>, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return shellAsync(process.execPath, [CLI, ...args], env);
}

function shellAsync(file: string, args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: ROOT, env: scriptEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/**
 * A proxy in front of the gateway that forwards every request and records its method, path and
 * Idempotency-Key; while `drop` says so, it lets the gateway answer and then cuts the connection
 * without passing the answer on (a lost answer, after the work was done).
 */
async function lossyProxy(drop: (method: string, url: string) => boolean): Promise<{ url: string; seen: { method: string; url: string; key: string | undefined }[]; close: () => Promise<void> }> {
  const seen: { method: string; url: string; key: string | undefined }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const method = req.method ?? "GET";
      const url = req.url ?? "/";
      const key = req.headers["idempotency-key"];
      seen.push({ method, url, key: typeof key === "string" ? key : undefined });
      const up = request(`${gateway}${url}`, { method, agent: false, headers: { ...req.headers, host: new URL(gateway).host } }, (answer) => {
        const body: Buffer[] = [];
        answer.on("data", (c: Buffer) => body.push(c));
        answer.on("end", () => {
          if (drop(method, url)) {
            req.socket.destroy();
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(body));
        });
      });
      up.on("error", () => req.socket.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 0;
}

/** `npm run token -- ...` */
function devToken(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return devTokenWith({}, ...args);
}

/** `npm run token -- ...` with these environment variables. */
function devTokenWith(env: Record<string, string>, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TOKEN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: scriptEnv(env) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A JWT's claims (read, not verified: the gateway verifies). */
function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

/** A merchant of its own (its settings change here), its first secret key and a merchant token (JWT). */
async function freshMerchant(name: string): Promise<{ id: string; key: string; jwt: string }> {
  const created = cli("merchants", "create", "--name", name, "--jwt-secret", DEV_JWT_SECRET);
  expect(created.status, created.stderr).toBe(0);
  const id = /merchant: (acct_\w+)/.exec(created.stdout)?.[1] ?? "";
  const key = /secret key \(shown once\): (sk_test_\w+)/.exec(created.stdout)?.[1] ?? "";
  const token = cli("token", "--secret", DEV_JWT_SECRET, "--role", "merchant", "--merchant", id);
  expect(token.status, token.stderr).toBe(0);
  return { id, key, jwt: token.stdout.trim() };
}

/** A call to the gateway on a connection of its own (no keep-alive socket the server may have closed meanwhile). */
async function api<T>(credential: string, method: string, route: string, body?: unknown): Promise<T> {
  const { status, text } = await apiAnswer(credential, method, route, body);
  expect(status, `${method} ${route}: ${text}`).toBeLessThan(300);
  return JSON.parse(text) as T;
}

/** The gateway's answer, whatever its status (a declined confirm answers 402). */
async function apiAnswer(credential: string, method: string, route: string, body?: unknown): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(`${gateway}${route}`, { method, agent: false, headers: { authorization: `Bearer ${credential}`, ...(payload === undefined ? {} : { "content-type": "application/json" }) } }, (res) => {
      let data = "";
      res.on("data", (c: Buffer) => (data += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: data }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}
const received: Received[] = [];
let app: Server;
let appUrl = "";

beforeAll(async () => {
  // The developer's local app, where `listen` forwards.
  app = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  const address = app.address();
  appUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/hooks`;
});
afterAll(async () => {
  await new Promise((resolve) => app?.close(resolve));
});

async function until<T>(check: () => T | undefined | Promise<T | undefined>, label: string, ms = 45_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("gateway CLI", () => {
  it("listen forwards signed deliveries of a triggered event, one line each, and deletes its endpoint on exit", async () => {
    let output = "";
    const listen: ChildProcess = spawn(process.execPath, [CLI, "listen", "--forward-to", appUrl, "--events", "payment_intent.succeeded", "--api-key", KEY, "--api-base", gateway], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    listen.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    listen.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    try {
      const secret = await until(() => /signing secret is (whsec_\S+)/.exec(output)?.[1], `listen to be ready:\n${output}`);
      const endpointId = /endpoint (we_\w+)/.exec(output)?.[1] ?? "";
      expect(endpointId).toMatch(/^we_/);

      const trigger = cli("trigger", "payment_intent.succeeded", "--api-key", KEY);
      expect(trigger.status, trigger.stderr).toBe(0);
      const intentId = /payment_intent: (pi_\w+) succeeded/.exec(trigger.stdout)?.[1];
      expect(intentId, trigger.stdout).toBeDefined();

      const delivery = await until(() => received.find((r) => r.body.includes(intentId ?? "-")), "the forwarded delivery");
      const verified = new Webhook(secret).verify(delivery.body, {
        "webhook-id": String(delivery.headers["webhook-id"]),
        "webhook-timestamp": String(delivery.headers["webhook-timestamp"]),
        "webhook-signature": String(delivery.headers["webhook-signature"]),
      }) as { type: string; id: string };
      expect(verified.type).toBe("payment_intent.succeeded");
      expect(delivery.headers["stripe-signature"]).toBeDefined();
      await until(() => (output.split("\n").some((l) => l.includes(`payment_intent.succeeded [${verified.id}]`) && l.includes("<-- 200")) ? true : undefined), `the event's line:\n${output}`);

      // events resend: the same event again, forwarded again.
      const before = received.filter((r) => r.body.includes(verified.id)).length;
      const resend = cli("events", "resend", verified.id, "--api-key", KEY);
      expect(resend.status, resend.stderr).toBe(0);
      expect(resend.stdout).toContain(`Resent ${verified.id}`);
      await until(() => (received.filter((r) => r.body.includes(verified.id)).length > before ? true : undefined), "the resent delivery");

      listen.kill("SIGINT");
      await until(() => (listen.exitCode !== null ? true : undefined), "listen to exit");
      expect(output).toContain(`Deleted endpoint ${endpointId}`);
      const gone = await fetch(`${gateway}/v1/webhook_endpoints/${endpointId}`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(gone.status).toBe(404);
    } finally {
      if (listen.exitCode === null) listen.kill("SIGKILL");
    }
  });

  it("token --secret, merchants create and keys create work with the operator's JWT secret", async () => {
    const token = cli("token", "--secret", DEV_JWT_SECRET, "--role", "admin");
    expect(token.status, token.stderr).toBe(0);
    const jwt = token.stdout.trim();
    const merchants = await fetch(`${gateway}/v1/admin/merchants?limit=1`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(merchants.status).toBe(200);

    const created = cli("merchants", "create", "--name", "CLI shop", "--jwt-secret", DEV_JWT_SECRET);
    expect(created.status, created.stderr).toBe(0);
    const merchantId = /merchant: (acct_\w+)/.exec(created.stdout)?.[1] ?? "";
    const firstKey = /secret key \(shown once\): (sk_test_\w+)/.exec(created.stdout)?.[1] ?? "";
    expect(merchantId).toMatch(/^acct_/);
    expect(firstKey).toMatch(/^sk_test_/);

    const key = cli("keys", "create", "--name", "second", "--api-key", firstKey);
    expect(key.status, key.stderr).toBe(0);
    const secondKey = /secret \(shown once\): (sk_test_\w+)/.exec(key.stdout)?.[1] ?? "";
    const account = await fetch(`${gateway}/v1/account`, { headers: { authorization: `Bearer ${secondKey}` } });
    expect(account.status).toBe(200);
    expect(((await account.json()) as { id: string }).id).toBe(merchantId);

    const viaSecret = cli("keys", "create", "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchantId);
    expect(viaSecret.status, viaSecret.stderr).toBe(0);
    expect(viaSecret.stdout).toMatch(/secret \(shown once\): sk_test_/);

    // keys roll: a new secret; the old one works through the overlap, or stops at once without one.
    const secondId = /key: (key_\w+)/.exec(key.stdout)?.[1] ?? "";
    expect(cli("keys", "roll", secondId, "--overlap", "soon", "--api-key", firstKey).status).toBe(2);
    const rolled = cli("keys", "roll", secondId, "--overlap", "3600", "--api-key", firstKey);
    expect(rolled.status, rolled.stderr).toBe(0);
    expect(rolled.stdout).toMatch(new RegExp(`${secondId} works until \\d{4}-`));
    const thirdKey = /secret \(shown once\): (sk_test_\w+)/.exec(rolled.stdout)?.[1] ?? "";
    const thirdId = /key: (key_\w+)/.exec(rolled.stdout)?.[1] ?? "";
    for (const k of [secondKey, thirdKey]) expect((await fetch(`${gateway}/v1/account`, { headers: { authorization: `Bearer ${k}` } })).status).toBe(200);
    expect(cli("keys", "roll", secondId, "--api-key", firstKey).status).toBe(3); // rolled once already
    const now = cli("keys", "roll", thirdId, "--api-key", firstKey);
    expect(now.status, now.stderr).toBe(0);
    expect(now.stdout).toContain(`${thirdId} no longer works`);
    expect((await fetch(`${gateway}/v1/account`, { headers: { authorization: `Bearer ${thirdKey}` } })).status).toBe(401);
  });

  it("trigger charge.refunded refunds at most the approval threshold, so that charge.refunded happens, and says so", async () => {
    const merchant = await freshMerchant("CLI thresholds");
    // Refunds above 500 cents wait for a person's approval (set with a person's token, as the gateway asks).
    await api(merchant.jwt, "POST", "/v1/account", { settings: { refund_approval_thresholds: { usd: 500 } } });

    // A key that may read the account: the CLI refunds 500 of the 2000, so charge.refunded happens.
    const under = cli("trigger", "charge.refunded", "--api-key", merchant.key);
    expect(under.status, under.stderr).toBe(0);
    const intentId = /payment_intent: (pi_\w+) succeeded/.exec(under.stdout)?.[1] ?? "";
    expect(under.stdout).toMatch(/refund: re_\w+ succeeded \(500 of 2000 usd: the account's refund approval threshold for usd is 500/);
    expect(under.stdout).toContain("Triggered charge.refunded");
    const events = await api<{ data: { data: { object: { payment_intent: string; amount_refunded: number } } }[] }>(merchant.key, "GET", "/v1/events?type=charge.refunded&limit=10");
    expect(events.data.find((e) => e.data.object.payment_intent === intentId)?.data.object.amount_refunded).toBe(500);
  });

  it("trigger charge.refunded claims no success when the refund waits for approval, and names the way to approve it", async () => {
    const merchant = await freshMerchant("CLI held refund");
    await api(merchant.jwt, "POST", "/v1/account", { settings: { refund_approval_thresholds: { usd: 500 } } });
    // A key that cannot read the thresholds: the whole amount is refunded, held for approval.
    const restricted = cli("keys", "create", "--type", "restricted", "--permissions", "payments.transactions.create,payments.transactions.void", "--api-key", merchant.key);
    expect(restricted.status, restricted.stderr).toBe(0);
    const rk = /secret \(shown once\): (\w+)/.exec(restricted.stdout)?.[1] ?? "";
    const held = cli("trigger", "charge.refunded", "--api-key", rk);
    expect(held.status).toBe(1);
    const refundId = /refund: (re_\w+) pending/.exec(held.stdout)?.[1] ?? "";
    expect(refundId, held.stdout).toMatch(/^re_/);
    expect(held.stdout).not.toContain("Triggered");
    expect(held.stderr).toContain(`charge.refunded was not sent: refund ${refundId} (2000 of 2000 usd) is waiting for approval`);
    expect(held.stderr).toContain(`POST /v1/admin/refunds/${refundId}:approve`);
    expect(held.stderr).toContain("Approving it sends charge.refunded");
  });

  it("trigger payment_intent.payment_failed says plainly that the card was declined, as asked", () => {
    const failed = cli("trigger", "payment_intent.payment_failed", "--api-key", KEY);
    expect(failed.status, failed.stderr).toBe(0);
    expect(failed.stdout).toMatch(/^payment_intent: pi_\w+ requires_payment_method \(declined: card_declined/m);
    expect(failed.stdout).toMatch(/^Triggered payment_intent\.payment_failed: pi_\w+ declined \(card_declined\), as asked$/m);
    expect(failed.stdout).not.toContain("402");
    expect(failed.stdout).not.toContain('"declined"');
    expect(failed.stdout).not.toMatch(/: {2}/);
  });

  it("token refuses an unknown role, naming the gateway's roles", () => {
    const roles = "admin, support, merchant, customer";
    const wizard = cli("token", "--secret", DEV_JWT_SECRET, "--role", "wizard");
    expect(wizard.status).toBe(2);
    expect(wizard.stdout).toBe("");
    expect(wizard.stderr).toContain(`unknown role 'wizard': the gateway's roles are ${roles}`);
    const mixed = cli("token", "--secret", DEV_JWT_SECRET, "--role", "admin,wizard");
    expect(mixed.status).toBe(2);
  });

  it("npm run token refuses an unknown role, naming the gateway's roles", () => {
    const roles = "admin, support, merchant, customer";
    const dev = spawnSync(process.execPath, [path.join(ROOT, "scripts", "token.mjs"), "--role", "wizard"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    expect(dev.status).toBe(2);
    expect(dev.stdout).toBe("");
    expect(dev.stderr).toContain(`unknown role 'wizard': the gateway's roles are ${roles}`);
    const good = spawnSync(process.execPath, [path.join(ROOT, "scripts", "token.mjs"), "--role", "admin,support"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout.trim().split(".")).toHaveLength(3);
  });

  it("the scripts' roles are the gateway's ROLES", () => {
    expect(CLI_ROLES).toEqual([...ROLES]);
  });

  it("help, help <command> and --version", () => {
    const help = cli("help");
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^usage: gateway <command>/);
    expect(help.stdout).toContain("  trigger ");
    expect(help.stdout).toContain("  token ");
    const one = cli("help", "trigger");
    expect(one.status, one.stderr).toBe(0);
    expect(one.stdout).toContain("trigger payment_intent.succeeded");
    expect(one.stdout).not.toContain("merchants create");
    const version = cli("--version");
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version);
  });

  it("trigger's usage and its unknown-event error list the same events", () => {
    const usage = cli("--help");
    const listed = /^ {2}trigger (.+)$/m.exec(usage.stdout)?.[1]?.split(" | ") ?? [];
    const bad = cli("trigger", "nothing.happened", "--api-key", KEY);
    const accepted = /trigger one of: (.+)$/m.exec(bad.stderr)?.[1]?.split(", ") ?? [];
    expect(listed.length).toBeGreaterThan(4);
    expect(listed).toEqual(accepted);
  });

  it("failed list, retry and resolve: an operator's failed payments", async () => {
    const merchant = await freshMerchant("CLI failed payments");
    const declined = () => /Triggered payment_intent\.payment_failed: (pi_\w+)/.exec(cli("trigger", "payment_intent.payment_failed", "--api-key", merchant.key).stdout)?.[1] ?? "";
    const first = declined();
    const second = declined();
    // The provider itself failing (no card refused) is named as the counts name it, not "unknown".
    const providerFailed = await apiAnswer(merchant.key, "POST", "/v1/payment_intents", { amount: 1234, currency: "usd", payment_method: "pm_card_sandboxProviderError", confirm: true });
    expect(providerFailed.status, providerFailed.text).toBe(502);
    const third = (JSON.parse(providerFailed.text) as { error: { payment_intent: { id: string } } }).error.payment_intent.id;
    const list = cli("failed", "list", "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^Failed payments \(open\): showing 3, the newest first, all there are$/m);
    expect(list.stdout).toMatch(new RegExp(`^${first} {2}20\\.00 USD {2}card_declined`, "m"));
    expect(list.stdout).toContain(second);
    expect(list.stdout).toMatch(new RegExp(`^${third} {2}12\\.34 USD {2}provider_error`, "m"));

    // A retry with a card that pays; sent again with its Idempotency-Key, it is the same retry.
    const retry = cli("failed", "retry", first, "--payment-method", "pm_card_visa", "--idempotency-key", `cli-retry-${first}`, "--jwt-secret", DEV_JWT_SECRET, "--sub", "olga");
    expect(retry.status, retry.stderr).toBe(0);
    const retryId = /retry: (pi_\w+) succeeded/.exec(retry.stdout)?.[1] ?? "";
    expect(retry.stdout).toContain(`original: ${first} resolved (retried by ${retryId})`);
    const again = cli("failed", "retry", first, "--payment-method", "pm_card_visa", "--idempotency-key", `cli-retry-${first}`, "--jwt-secret", DEV_JWT_SECRET, "--sub", "olga");
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(`retry: ${retryId} succeeded`);

    const noReason = cli("failed", "resolve", second, "--jwt-secret", DEV_JWT_SECRET);
    expect(noReason.status).toBe(2);
    expect(noReason.stderr).toContain("--reason is required");
    const resolved = cli("failed", "resolve", second, "--reason", "paid by bank transfer", "--paid-by-other-means", "--jwt-secret", DEV_JWT_SECRET, "--sub", "olga");
    expect(resolved.status, resolved.stderr).toBe(0);
    expect(resolved.stdout).toContain(`${second} resolved: paid by bank transfer (paid by other means)`);
    const open = cli("failed", "list", "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id);
    expect(open.stdout).not.toContain(first);
    expect(open.stdout).not.toContain(second);
  });

  it("refunds pending, approve and reject: refunds held for approval", async () => {
    const merchant = await freshMerchant("CLI refund approvals");
    await api(merchant.jwt, "POST", "/v1/account", { settings: { refund_approval_thresholds: { usd: 100 } } });
    const held = async () => {
      const intent = await api<{ id: string }>(merchant.key, "POST", "/v1/payment_intents", { amount: 2000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
      return (await api<{ id: string; status: string }>(merchant.key, "POST", "/v1/refunds", { payment_intent: intent.id })).id;
    };
    const toApprove = await held();
    const toReject = await held();
    const pending = cli("refunds", "pending", "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id);
    expect(pending.status, pending.stderr).toBe(0);
    expect(pending.stdout).toMatch(/^2 refunds waiting for approval/);
    expect(pending.stdout).toMatch(new RegExp(`^${toApprove} {2}20\\.00 USD {2}pi_\\w+ {2}requested by api_key:`, "m"));

    // An API key may not approve (a person does); a person's token may, and its Idempotency-Key replays.
    const byKey = cli("refunds", "approve", toApprove, "--api-key", merchant.key);
    expect(byKey.status).toBe(4);
    expect(byKey.stderr).toContain("403");
    const approve = ["refunds", "approve", toApprove, "--reason", "checked", "--idempotency-key", `cli-approve-${toApprove}`, "--jwt-secret", DEV_JWT_SECRET, "--sub", "olga"];
    const approved = cli(...approve);
    expect(approved.status, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`Approved ${toApprove}: 20.00 USD of pi_`);
    expect(approved.stdout).toContain("now succeeded (charge.refunded sent)");
    expect(cli(...approve).status).toBe(0);

    const rejected = cli("refunds", "reject", toReject, "--reason", "not ours", "--jwt-secret", DEV_JWT_SECRET, "--sub", "olga");
    expect(rejected.status, rejected.stderr).toBe(0);
    expect(rejected.stdout).toContain(`Rejected ${toReject}: 20.00 USD of pi_`);
    expect(rejected.stdout).toContain("now canceled");
    expect(cli("refunds", "pending", "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id).stdout).toMatch(/^0 refunds waiting for approval/);
  });

  it("settings approve, reject and withdraw: a held weakening of the refund approval thresholds, decided by a second person", async () => {
    const merchant = await freshMerchant("CLI settings four eyes");
    const alice = cli("token", "--secret", DEV_JWT_SECRET, "--role", "merchant", "--merchant", merchant.id, "--sub", "alice").stdout.trim();
    await api(alice, "POST", "/v1/account", { settings: { refund_approval_thresholds: { usd: 100 } } });
    const ask = async (usd: number) => (await api<{ pending_settings_change: { id: string } | null }>(alice, "POST", "/v1/account", { settings: { refund_approval_thresholds: { usd } } })).pending_settings_change?.id ?? "";
    const raised = await ask(500_000);
    expect(raised).toMatch(/^msc_/);
    expect(cli("settings", "approve", "re_nope", "--jwt-secret", DEV_JWT_SECRET, "--sub", "bob").status).toBe(2);
    // Alice may not approve her own change, nor may an API key.
    const own = cli("settings", "approve", raised, "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id, "--sub", "alice");
    expect(own.status).toBe(4);
    expect(cli("settings", "approve", raised, "--api-key", merchant.key).status).toBe(4);
    const bob = cli("settings", "approve", raised, "--reason", "seasonal", "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id, "--sub", "bob");
    expect(bob.status, bob.stderr).toBe(0);
    expect(bob.stdout).toContain(`Approved ${raised} (asked by jwt:alice): refund approval thresholds 5,000.00 USD now in force`);
    expect((await api<{ settings: { refund_approval_thresholds: Record<string, number> } }>(merchant.key, "GET", "/v1/account")).settings.refund_approval_thresholds).toEqual({ usd: 500_000 });
    // Rejected by another, withdrawn by herself: neither applies.
    const rejected = cli("settings", "reject", await ask(900_000), "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id, "--sub", "bob");
    expect(rejected.status, rejected.stderr).toBe(0);
    expect(rejected.stdout).toMatch(/^Rejected msc_\w+ \(asked by jwt:alice\): refund approval thresholds 9,000.00 USD not applied/);
    const withdrawn = cli("settings", "withdraw", await ask(800_000), "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id, "--sub", "alice");
    expect(withdrawn.status, withdrawn.stderr).toBe(0);
    expect(withdrawn.stdout).toMatch(/^Withdrew msc_\w+/);
    expect((await api<{ settings: { refund_approval_thresholds: Record<string, number> } }>(merchant.key, "GET", "/v1/account")).settings.refund_approval_thresholds).toEqual({ usd: 500_000 });
  });

  it("a refund approved with --jwt-secret is recorded as its named operator (--sub or GATEWAY_OPERATOR), and its requester cannot approve it", async () => {
    const merchant = await freshMerchant("CLI four eyes");
    await api(merchant.jwt, "POST", "/v1/account", { settings: { refund_approval_thresholds: { usd: 100 } } });
    // Alice asks for the refund with a token of her own; it waits for a second person.
    const alice = cli("token", "--secret", DEV_JWT_SECRET, "--role", "merchant", "--merchant", merchant.id, "--sub", "alice");
    expect(alice.status, alice.stderr).toBe(0);
    expect(claimsOf(alice.stdout.trim()).sub).toBe("alice");
    const intent = await api<{ id: string }>(merchant.key, "POST", "/v1/payment_intents", { amount: 2000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const refund = await api<{ id: string; status: string; requires_approval: boolean }>(alice.stdout.trim(), "POST", "/v1/refunds", { payment_intent: intent.id });
    expect(refund.requires_approval).toBe(true);

    // Nobody named: refused before anything is sent, asking for the name.
    const nobody = cli("refunds", "approve", refund.id, "--jwt-secret", DEV_JWT_SECRET);
    expect(nobody.status).toBe(2);
    expect(nobody.stdout).toBe("");
    expect(nobody.stderr).toContain("name the operator: --sub NAME (or GATEWAY_OPERATOR=NAME)");
    // Alice herself: the gateway tells her apart from other CLI users, and refuses.
    const own = cli("refunds", "approve", refund.id, "--jwt-secret", DEV_JWT_SECRET, "--sub", "alice");
    expect(own.status).toBe(4);
    expect(own.stderr).toContain(`Refund ${refund.id} was requested by jwt:alice: another person must approve it`);
    // Bob, named by GATEWAY_OPERATOR: approved, and the refund and the audit log say he did.
    const bob = cliWith({ GATEWAY_OPERATOR: "bob" }, "refunds", "approve", refund.id, "--reason", "checked", "--jwt-secret", DEV_JWT_SECRET);
    expect(bob.status, bob.stderr).toBe(0);
    expect(bob.stdout).toContain(`Approved ${refund.id}`);
    expect((await api<{ approval: { actor: string } | null }>(merchant.key, "GET", `/v1/refunds/${refund.id}`)).approval?.actor).toBe("jwt:bob");
    const auditor = cli("token", "--secret", DEV_JWT_SECRET, "--role", "support", "--sub", "auditor").stdout.trim();
    const entries = await until(async () => {
      const log = await api<{ data: { actor: string; action: string; http_status: number }[] }>(auditor, "GET", `/v1/admin/audit_log?object_id=${refund.id}`);
      return log.data.some((e) => e.actor === "jwt:bob") ? log.data : undefined;
    }, "bob's approval in the audit log");
    expect(entries.find((e) => e.actor === "jwt:bob")).toMatchObject({ action: "refunds.approve", http_status: 200 });
    expect(entries.map((e) => e.actor)).not.toContain("jwt:cli-admin");
  });

  it("every decision made with --jwt-secret needs a named operator (exit 2), reads do not, and --sub beside --api-key is refused", () => {
    const decisions = [
      ["refunds", "approve", "re_none"],
      ["refunds", "reject", "re_none"],
      ["failed", "retry", "pi_none"],
      ["failed", "resolve", "pi_none", "--reason", "paid by bank transfer"],
      ["failed", "dismiss", "pi_none", "--reason", "duplicate"],
    ];
    for (const decision of decisions) {
      const refused = cli(...decision, "--jwt-secret", DEV_JWT_SECRET);
      expect(refused.status, decision.join(" ")).toBe(2);
      expect(refused.stderr, decision.join(" ")).toContain("name the operator: --sub NAME (or GATEWAY_OPERATOR=NAME)");
      // Named, the same command reaches the gateway (which knows no such object).
      const named = cli(...decision, "--jwt-secret", DEV_JWT_SECRET, "--sub", "olga");
      expect(named.status, decision.join(" ")).toBe(3);
      expect(named.stderr, decision.join(" ")).toContain("404");
    }
    const blank = cli("refunds", "approve", "re_none", "--jwt-secret", DEV_JWT_SECRET, "--sub", " ");
    expect(blank.status).toBe(2);
    expect(blank.stderr).toContain("--sub is empty");
    expect(cli("refunds", "pending", "--jwt-secret", DEV_JWT_SECRET).status).toBe(0);
    const withKey = cli("keys", "create", "--api-key", KEY, "--sub", "olga");
    expect(withKey.status).toBe(2);
    expect(withKey.stderr).toContain("--sub names the operator of a token minted from --jwt-secret");
    // `token` names its operator too; without one it still mints, and says whose name it carries.
    const named = cliWith({ GATEWAY_OPERATOR: "dora" }, "token", "--secret", DEV_JWT_SECRET, "--role", "support");
    expect(claimsOf(named.stdout.trim()).sub).toBe("dora");
    const unnamed = cli("token", "--secret", DEV_JWT_SECRET, "--role", "support");
    expect(unnamed.status, unnamed.stderr).toBe(0);
    expect(unnamed.stderr).toContain("this token names no operator");
  });

  it("failed list, refunds pending and refunds approve show amounts in the currency's decimals, as the dashboard does", async () => {
    const merchant = await freshMerchant("CLI currencies");
    await api(merchant.jwt, "POST", "/v1/account", { settings: { refund_approval_thresholds: { usd: 100, jpy: 100, kwd: 100 } } });
    const amounts = [
      { amount: 123456, currency: "usd", shown: "1,234.56 USD" },
      { amount: 500, currency: "jpy", shown: "500 JPY" },
      { amount: 12345, currency: "kwd", shown: "12.345 KWD" },
    ];
    const declined = new Map<string, string>();
    const held = new Map<string, string>();
    for (const { amount, currency, shown } of amounts) {
      const answer = await apiAnswer(merchant.key, "POST", "/v1/payment_intents", { amount, currency, payment_method: "pm_card_chargeDeclined", confirm: true });
      expect(answer.status, answer.text).toBe(402);
      declined.set(shown, (JSON.parse(answer.text) as { error: { payment_intent: { id: string } } }).error.payment_intent.id);
      const paid = await api<{ id: string }>(merchant.key, "POST", "/v1/payment_intents", { amount, currency, payment_method: "pm_card_visa", confirm: true });
      held.set(shown, (await api<{ id: string }>(merchant.key, "POST", "/v1/refunds", { payment_intent: paid.id })).id);
    }
    const failed = cli("failed", "list", "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id);
    expect(failed.status, failed.stderr).toBe(0);
    const pending = cli("refunds", "pending", "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id);
    expect(pending.status, pending.stderr).toBe(0);
    for (const { shown } of amounts) {
      expect(failed.stdout).toContain(`${declined.get(shown)}  ${shown}  card_declined`);
      expect(pending.stdout).toContain(`${held.get(shown)}  ${shown}  pi_`);
    }
    const approved = cli("refunds", "approve", held.get("12.345 KWD") ?? "", "--jwt-secret", DEV_JWT_SECRET, "--sub", "olga");
    expect(approved.status, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`Approved ${held.get("12.345 KWD")}: 12.345 KWD of pi_`);
  });

  it("the CLI counts every currency's decimals as the gateway does", () => {
    const gatewayDecimals = currencyExponents();
    expect(Object.keys(gatewayDecimals).length).toBeGreaterThan(100);
    const cliDecimals = currencyDecimals as (currency: string) => number;
    expect(Object.fromEntries(Object.keys(gatewayDecimals).map((c) => [c, cliDecimals(c)]))).toEqual(gatewayDecimals);
    expect(cliDecimals("JPY")).toBe(0);
  });

  it("listen --forward-to that is not an http(s) URL names the option and an example, exit 2", () => {
    const notUrl = cli("listen", "--forward-to", "notaurl", "--api-key", KEY);
    expect(notUrl.status).toBe(2);
    expect(notUrl.stdout).toBe("");
    expect(notUrl.stderr).toContain('--forward-to: "notaurl" is not a URL (e.g. http://localhost:4242/webhooks)');
    const ftp = cli("listen", "--forward-to", "ftp://localhost/hooks", "--api-key", KEY);
    expect(ftp.status).toBe(2);
    expect(ftp.stderr).toContain('--forward-to: "ftp://localhost/hooks" is not an http(s) URL');
  });

  it("npm run token -- --help prints its usage and mints nothing; an unknown option is an error naming it", () => {
    const help = devToken("--help");
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run token -- /);
    expect(help.stdout).toContain("--sub");
    expect(help.stdout).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    const unknown = devToken("--role", "admin", "--frobnicate");
    expect(unknown.status).toBe(2);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toContain("'--frobnicate'");
    const missing = devToken("--role");
    expect(missing.status).toBe(2);
    expect(missing.stdout).toBe("");
    const named = devToken("--role", "admin", "--sub", "erin");
    expect(named.status, named.stderr).toBe(0);
    expect(claimsOf(named.stdout.trim())).toMatchObject({ sub: "erin", roles: ["admin"] });
  });

  it("refuses bad usage with a message and exit code 2", () => {
    const bad = cli("trigger", "nothing.happened", "--api-key", KEY);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("trigger one of");
    const noCredential = cli("keys", "create");
    expect(noCredential.status).toBe(2);
    expect(noCredential.stderr).toContain("--api-key");
  });

  it("a token minted from the JWT secret has the --role asked for: failed dismiss as support is refused by the gateway (403, exit 4), and an option a command does not take is refused (exit 2)", async () => {
    const merchant = await freshMerchant("CLI roles");
    const declined = /Triggered payment_intent\.payment_failed: (pi_\w+)/.exec(cli("trigger", "payment_intent.payment_failed", "--api-key", merchant.key).stdout)?.[1] ?? "";
    expect(declined).toMatch(/^pi_/);
    const env = { GATEWAY_JWT_SECRET: DEV_JWT_SECRET };
    const support = cliWith(env, "failed", "dismiss", declined, "--reason", "duplicate", "--role", "support", "--sub", "sam");
    expect(support.status, support.stderr).toBe(4);
    expect(support.stderr).toContain("403");
    expect(support.stderr).toContain("payments.transactions.create");
    // Nothing was dismissed: the payment is still open, and support may still read it.
    const open = cliWith(env, "failed", "list", "--role", "support", "--merchant", merchant.id, "--sub", "sam");
    expect(open.status, open.stderr).toBe(0);
    expect(open.stdout).toContain(declined);
    // Options that do not apply are refused before anything is sent, never ignored.
    for (const args of [
      ["failed", "list", "--expires", "60"],
      ["failed", "dismiss", declined, "--reason", "x", "--sub", "sam", "--permissions", "payments.transactions.view"],
      ["refunds", "pending", "--idempotency-key", "k1"],
      ["trigger", "payment_intent.created", "--json"],
      ["token", "--api-key", KEY],
      ["merchants", "create", "--name", "X", "--merchant", merchant.id],
    ]) {
      const refused = cliExactly(env, ...args);
      expect(refused.status, args.join(" ")).toBe(2);
      expect(refused.stderr, args.join(" ")).toMatch(/--[\w-]+ does not apply to `gateway /);
      expect(refused.stdout, args.join(" ")).toBe("");
    }
    // --role, --issuer and --audience shape a minted token: beside a key of its own, refused.
    for (const option of ["--role", "--issuer", "--audience"]) {
      const withKey = cli("failed", "list", "--api-key", KEY, option, "admin");
      expect(withKey.status, option).toBe(2);
      expect(withKey.stderr, option).toContain(`${option} is the`);
    }
    expect(cliWith(env, "failed", "dismiss", declined, "--reason", "duplicate", "--sub", "olga").status).toBe(0);
  });

  it("every change sends an Idempotency-Key, the one given on every command: trigger, keys create, merchants create and events resend sent again with it replay their first answer", async () => {
    const merchant = await freshMerchant("CLI idempotency keys");
    const tag = Date.now().toString(36);
    const trigger = () => cli("trigger", "payment_intent.created", "--idempotency-key", `trig-${tag}`, "--api-key", merchant.key);
    const first = /payment_intent: (pi_\w+)/.exec(trigger().stdout)?.[1];
    expect(first).toMatch(/^pi_/);
    expect(/payment_intent: (pi_\w+)/.exec(trigger().stdout)?.[1]).toBe(first);

    const keys = () => cli("keys", "create", "--name", "twice", "--idempotency-key", `key-${tag}`, "--api-key", merchant.key);
    const key1 = keys();
    const key2 = keys();
    expect(key1.status, key1.stderr).toBe(0);
    expect(/key: (\w+)/.exec(key2.stdout)?.[1]).toBe(/key: (\w+)/.exec(key1.stdout)?.[1]);
    expect(key2.stdout).toContain("(already created: this Idempotency-Key's first request was done");

    const merchants = () => cli("merchants", "create", "--name", "Once", "--idempotency-key", `merchant-${tag}`, "--jwt-secret", DEV_JWT_SECRET);
    const m1 = merchants();
    expect(m1.status, m1.stderr).toBe(0);
    expect(/merchant: (acct_\w+)/.exec(merchants().stdout)?.[1]).toBe(/merchant: (acct_\w+)/.exec(m1.stdout)?.[1]);

    const events = await api<{ data: { id: string }[] }>(merchant.key, "GET", "/v1/events?limit=1");
    const eventId = events.data[0]?.id ?? "";
    const endpoint = await api<{ id: string }>(merchant.key, "POST", "/v1/webhook_endpoints", { url: appUrl, enabled_events: ["*"] });
    const resend = () => cli("events", "resend", eventId, "--endpoint", endpoint.id, "--idempotency-key", `resend-${tag}`, "--api-key", merchant.key);
    expect(resend().status).toBe(0);
    expect(resend().stdout).toContain("(already resent");

    // Without --idempotency-key a new key goes with every POST and DELETE (through a proxy that records them).
    const proxy = await lossyProxy(() => false);
    try {
      expect((await cliAsync({}, "keys", "create", "--api-key", merchant.key, "--api-base", proxy.url)).status).toBe(0);
      expect((await cliAsync({}, "trigger", "payment_intent.canceled", "--api-key", merchant.key, "--api-base", proxy.url)).status).toBe(0);
      const changes = proxy.seen.filter((r) => r.method !== "GET");
      expect(changes.length).toBe(3);
      for (const change of changes) expect(change.key, `${change.method} ${change.url}`).toMatch(/^cli-/);
      // A command of several changes derives one key per change from its own.
      expect(changes[2]?.key).toBe(`${changes[1]?.key}.2`);
    } finally {
      await proxy.close();
    }
  });

  it("a lost answer: the CLI says the outcome is unknown, names the key and the command line that finishes it with secrets left out (exit 5); that line replays the first answer and says so", async () => {
    const merchant = await freshMerchant("CLI lost answers");
    const declined = /Triggered payment_intent\.payment_failed: (pi_\w+)/.exec(cli("trigger", "payment_intent.payment_failed", "--api-key", merchant.key).stdout)?.[1] ?? "";
    let drops = 1;
    const proxy = await lossyProxy((method) => method === "POST" && drops-- > 0);
    try {
      const lost = await cliAsync({}, "failed", "dismiss", declined, "--reason", "duplicate order", "--jwt-secret", DEV_JWT_SECRET, "--sub", "olga", "--api-base", proxy.url);
      expect(lost.status, lost.stderr).toBe(5);
      expect(lost.stdout).toBe("");
      const key = proxy.seen.find((r) => r.method === "POST")?.key ?? "";
      expect(key).toMatch(/^cli-/);
      expect(lost.stderr).toContain("The outcome is unknown");
      expect(lost.stderr).toContain(`The command's Idempotency-Key was ${key}.`);
      expect(lost.stderr).not.toContain(DEV_JWT_SECRET);
      expect(lost.stderr).toContain("(--jwt-secret is left out: set GATEWAY_JWT_SECRET in the environment)");
      const line = /^ {2}(node .+)$/m.exec(lost.stderr)?.[1] ?? "";
      expect(line).toBe(`node scripts/cli.mjs failed dismiss ${declined} --reason 'duplicate order' --sub olga --api-base ${proxy.url} --idempotency-key ${key}`);
      // It was done: the answer alone was lost.
      const intent = await api<{ failure_resolution: { status: string } | null }>(merchant.key, "GET", `/v1/payment_intents/${declined}`);
      expect(intent.failure_resolution?.status).toBe("dismissed");
      // The printed line, run as printed with the secret in the environment: the first answer, said plainly.
      const again = await shellAsync("bash", ["-c", line], { GATEWAY_JWT_SECRET: DEV_JWT_SECRET });
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toContain(`${declined} dismissed: duplicate order`);
      expect(again.stdout).toContain("(already dismissed: this Idempotency-Key's first request was done, and the gateway answered as it did then; nothing was done twice)");
      expect(again.stderr).toBe("");
    } finally {
      await proxy.close();
    }
    // A gateway that cannot be reached: nothing was sent (exit 5 too), and it says so.
    const unreachable = cliExactly({}, "failed", "list", "--api-key", KEY, "--api-base", `http://127.0.0.1:${await closedPort()}`);
    expect(unreachable.status).toBe(5);
    expect(unreachable.stderr).toContain("nothing was sent");
  });

  it("trigger, a lost answer on its second change: the printed line carries the command's own key (naming the change's), and run as printed it replays the first change and finishes the second, once", async () => {
    const merchant = await freshMerchant("CLI lost trigger");
    let posts = 0;
    // The create goes through; the cancel is done, and its answer lost.
    const proxy = await lossyProxy((method) => method === "POST" && ++posts === 2);
    try {
      const lost = await cliAsync({}, "trigger", "payment_intent.canceled", "--api-key", merchant.key, "--api-base", proxy.url);
      expect(lost.status, lost.stderr).toBe(5);
      const [create, cancel] = proxy.seen.filter((r) => r.method === "POST");
      const key = create?.key ?? "";
      expect(cancel?.key).toBe(`${key}.2`);
      expect(lost.stderr).toContain(`The command's Idempotency-Key was ${key} (this change's, ${key}.2).`);
      const line = /^ {2}(node .+)$/m.exec(lost.stderr)?.[1] ?? "";
      expect(line).toMatch(new RegExp(`--idempotency-key ${key.replace(/[-.]/g, "\\$&")}$`));
      const again = await shellAsync("bash", ["-c", line], { GATEWAY_API_KEY: merchant.key });
      expect(again.status, again.stderr).toBe(0);
      const intent = /Triggered payment_intent\.canceled: (pi_\w+)/.exec(again.stdout)?.[1] ?? "";
      expect(intent).toMatch(/^pi_/);
      // One intent made and canceled: the rerun replayed both changes.
      const list = await api<{ data: { id: string; status: string }[] }>(merchant.key, "GET", "/v1/payment_intents?limit=10");
      expect(list.data.map((i) => [i.id, i.status])).toEqual([[intent, "canceled"]]);
    } finally {
      await proxy.close();
    }
  });

  it("a retry the payment provider failed: exit 1 (not an unknown outcome), saying no money moved and that a new key tries again", async () => {
    const merchant = await freshMerchant("CLI provider failed");
    const stopped = await apiAnswer(merchant.key, "POST", "/v1/payment_intents", { amount: 1234, currency: "usd", payment_method: "pm_card_sandboxProviderError", confirm: true });
    expect(stopped.status, stopped.text).toBe(502);
    const id = (JSON.parse(stopped.text) as { error: { payment_intent: { id: string } } }).error.payment_intent.id;
    const retry = cliWith({ GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "failed", "retry", id, "--sub", "olga");
    expect(retry.status, retry.stderr).toBe(1);
    expect(retry.stdout).toMatch(/^retry: pi_\w+ \w+ \(provider_error: /m);
    expect(retry.stdout).toContain("The payment provider failed: no money moved.");
    expect(retry.stdout).toContain("without --idempotency-key");
    expect(retry.stdout).toContain(`${id} stays open.`);
    expect(retry.stdout).not.toContain("declined");
    expect(retry.stderr).not.toContain("The outcome is unknown");
  });

  it("token and npm run token default to an hour, or JWT_MAX_LIFETIME when that is shorter", () => {
    for (const run of [() => cliExactly({ JWT_MAX_LIFETIME: "30m", GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "token", "--role", "admin", "--sub", "ann"), () => devTokenWith({ JWT_MAX_LIFETIME: "30m", JWT_SECRET: DEV_JWT_SECRET }, "--role", "admin", "--sub", "ann")]) {
      const minted = run();
      expect(minted.status, minted.stderr).toBe(0);
      const jwt = /eyJ[\w-]+\.[\w-]+\.[\w-]+/.exec(minted.stdout)?.[0] ?? "";
      const claims = claimsOf(jwt);
      expect(Number(claims.exp) - Number(claims.iat)).toBe(1800);
    }
    const hour = cliExactly({ GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "token", "--role", "admin", "--sub", "ann");
    const claims = claimsOf(/eyJ[\w-]+\.[\w-]+\.[\w-]+/.exec(hour.stdout)?.[0] ?? "");
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
  });

  it("secrets: help documents GATEWAY_JWT_SECRET and GATEWAY_API_KEY (the JWT secret for development and bootstrapping only), a secret on the command line is warned of and one in the environment is not, and the README's CLI examples put none in argv", () => {
    const help = cli("help");
    expect(help.stdout).toContain("GATEWAY_API_KEY=");
    expect(help.stdout).toContain("GATEWAY_JWT_SECRET=");
    expect(help.stdout).toContain("for development and bootstrapping only");
    const inArgv = cli("refunds", "pending", "--jwt-secret", DEV_JWT_SECRET);
    expect(inArgv.status, inArgv.stderr).toBe(0);
    expect(inArgv.stderr).toContain("warning: --jwt-secret on the command line is visible to other users of this machine (ps) and kept in your shell history: set GATEWAY_JWT_SECRET instead");
    expect(cli("failed", "list", "--api-key", KEY).stderr).toContain("set GATEWAY_API_KEY instead");
    expect(cli("token", "--secret", DEV_JWT_SECRET, "--sub", "x").stderr).toContain("set GATEWAY_JWT_SECRET instead");
    const inEnv = cliWith({ GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "refunds", "pending");
    expect(inEnv.status, inEnv.stderr).toBe(0);
    expect(inEnv.stderr).toBe("");
    expect(cliWith({ GATEWAY_API_KEY: KEY }, "failed", "list").stderr).toBe("");

    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf("**CLI.**");
    const cliSection = readme.slice(start, readme.indexOf("**Logs.**", start));
    const examples = [...cliSection.matchAll(/```bash\n([\s\S]*?)```/g)].flatMap((m) => (m[1] ?? "").split("\n")).filter((l) => /^\s*(npm|npx)\s/.test(l));
    expect(examples.length).toBeGreaterThan(5);
    for (const l of examples) {
      expect(l).not.toMatch(/--(jwt-secret|api-key|secret)\b/);
      expect(l).toMatch(/npm run -s cli --|npx gateway/);
    }
    expect(cliSection).toContain("GATEWAY_JWT_SECRET");
    expect(cliSection).toContain("GATEWAY_API_KEY");
    expect(cliSection).toContain("for development and bootstrapping only");
    expect(cliSection).toContain("npm run -s");
  });

  it("listen deletes its endpoint on SIGHUP too, and its description names the session, host and pid", async () => {
    let output = "";
    const listen: ChildProcess = spawn(process.execPath, [CLI, "listen", "--forward-to", appUrl, "--api-base", gateway], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: scriptEnv({ GATEWAY_API_KEY: KEY }) });
    listen.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    listen.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    try {
      await until(() => /signing secret is (whsec_\S+)/.exec(output)?.[1], `listen to be ready:\n${output}`);
      const endpointId = /endpoint (we_\w+)/.exec(output)?.[1] ?? "";
      const endpoint = await api<{ description: string }>(KEY, "GET", `/v1/webhook_endpoints/${endpointId}`);
      expect(endpoint.description).toContain("gateway listen session");
      expect(endpoint.description).toContain(`on ${os.hostname()} pid ${listen.pid}`);
      listen.kill("SIGHUP");
      await until(() => (listen.exitCode !== null ? true : undefined), "listen to exit");
      expect(output).toContain(`Deleted endpoint ${endpointId}`);
      expect(listen.exitCode).toBe(0);
      expect((await apiAnswer(KEY, "GET", `/v1/webhook_endpoints/${endpointId}`)).status).toBe(404);
    } finally {
      if (listen.exitCode === null) listen.kill("SIGKILL");
    }
  });

  it("--merchant beside an API key, which acts for its own merchant only, is refused (exit 2)", () => {
    for (const args of [
      ["failed", "list", "--api-key", KEY, "--merchant", "acct_merchant_b"],
      ["keys", "create", "--api-key", KEY, "--merchant", "acct_merchant_b"],
    ]) {
      const refused = cli(...args);
      expect(refused.status, args.join(" ")).toBe(2);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toContain("--merchant acct_merchant_b: an API key acts for its own merchant only and cannot act for another");
    }
    // An admin's own JWT picks a merchant with it (Merchant-Id).
    const admin = cli("token", "--secret", DEV_JWT_SECRET, "--sub", "ops").stdout.trim();
    const listed = cliWith({ GATEWAY_API_KEY: admin }, "refunds", "pending", "--merchant", "acct_merchant_b");
    expect(listed.status, listed.stderr).toBe(0);
  });

  it("--json prints the API's JSON and nothing else on stdout; the exit codes tell a refusal (3), a refused credential (4) and usage (2) apart", async () => {
    const merchant = await freshMerchant("CLI json");
    cli("trigger", "payment_intent.payment_failed", "--api-key", merchant.key);
    const env = { GATEWAY_JWT_SECRET: DEV_JWT_SECRET };
    const list = cliWith(env, "failed", "list", "--merchant", merchant.id, "--json");
    expect(list.status, list.stderr).toBe(0);
    const parsed = JSON.parse(list.stdout) as { object: string; data: { id: string; retries: unknown[] }[]; counts_by_reason: Record<string, number> };
    expect(parsed.object).toBe("list");
    expect(parsed.data).toHaveLength(1);
    expect(parsed.data[0]?.retries).toEqual([]);
    const pending = cliWith(env, "refunds", "pending", "--merchant", merchant.id, "--json");
    expect((JSON.parse(pending.stdout) as { data: unknown[] }).data).toEqual([]);
    const key = cli("keys", "create", "--api-key", merchant.key, "--json");
    expect((JSON.parse(key.stdout) as { object: string; secret: string }).secret).toMatch(/^sk_test_/);
    expect(cliWith(env, "refunds", "approve", "re_none", "--sub", "olga").status).toBe(3);
    expect(cli("failed", "list", "--api-key", "sk_test_not_a_key").status).toBe(4);
    expect(cli("failed", "list", "--frobnicate").status).toBe(2);
    const help = cli("help");
    expect(help.stdout).toMatch(/exit codes: 0 done; 1 done but not as asked/);
    expect(help.stdout).toContain("3 the gateway refused the request");
    expect(help.stdout).toContain("permissions (401, 403); 5 no answer");
  });

  it("failed list says what it shows (a page, and the counts by reason over the last 30 days) and each payment's decline message, card, retries and whether it can be retried", async () => {
    const merchant = await freshMerchant("CLI failed list details");
    const decline = () => /Triggered payment_intent\.payment_failed: (pi_\w+)/.exec(cli("trigger", "payment_intent.payment_failed", "--api-key", merchant.key).stdout)?.[1] ?? "";
    decline();
    decline();
    const newest = decline();
    const retried = cli("failed", "retry", newest, "--payment-method", "pm_card_chargeDeclined", "--jwt-secret", DEV_JWT_SECRET, "--sub", "olga");
    expect(retried.status, retried.stdout + retried.stderr).toBe(1);
    const retryId = /retry: (pi_\w+)/.exec(retried.stdout)?.[1] ?? "";
    const page = cliWith({ GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "failed", "list", "--merchant", merchant.id, "--limit", "2");
    expect(page.status, page.stderr).toBe(0);
    const lines = page.stdout.split("\n");
    const cursor = /more: --cursor (\S+)/.exec(page.stdout)?.[1] ?? "";
    expect(lines[0]).toBe(`Failed payments (open): showing 2, the newest first; more: --cursor ${cursor}`);
    expect(lines[1]).toBe("By reason (open, created in the last 30 days): generic_decline 3");
    expect(page.stdout).not.toMatch(/^\d+ failed payments/m);
    expect(page.stdout).toMatch(new RegExp(`^${newest} {2}20\\.00 USD {2}card_declined/generic_decline {2}visa ending 0002 {2}${merchant.id} {2}`, "m"));
    const details = lines[lines.findIndex((l) => l.startsWith(newest)) + 1] ?? "";
    expect(details).toBe(`    "Your card was declined."; retries: 1, the latest ${retryId} requires_payment_method`);
    expect(page.stdout).toContain("; no retries");
    expect(page.stdout).not.toContain("cannot be retried");
    const rest = cliWith({ GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "failed", "list", "--merchant", merchant.id, "--limit", "2", "--cursor", cursor);
    expect(rest.stdout.split("\n")[0]).toBe("Failed payments (open): showing 1, the newest first, the last page");
  });

  it("token's longest lifetime is the gateway's JWT_MAX_LIFETIME, read as the gateway reads it; help names every option of token", () => {
    const long = cliWith({ JWT_MAX_LIFETIME: "3d", GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "token", "--sub", "ops", "--expires", "172800");
    expect(long.status, long.stderr).toBe(0);
    const claims = claimsOf(long.stdout.trim());
    expect(Number(claims.exp) - Number(claims.iat)).toBe(172_800);
    const refused = cliWith({ GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "token", "--sub", "ops", "--expires", "172800");
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("--expires must be 1 to 86400 seconds: the gateway refuses tokens living longer than JWT_MAX_LIFETIME=24h, from wrangler.toml [vars]");
    expect(cliWith({ JWT_MAX_LIFETIME: "1h", GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "token", "--sub", "ops", "--expires", "7200").status).toBe(2);
    expect(cliWith({ JWT_MAX_LIFETIME: "45d", GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "token", "--sub", "ops").stderr).toContain("JWT_MAX_LIFETIME=45d (from the environment) cannot be read");
    // The same reading of a duration as the gateway's.
    for (const text of ["24h", "90m", "60s", "59s", "30d", "31d", " 2h ", "1h30m", "1.5h", "", "3600", "5000ms"]) {
      let gatewayMs: number | null;
      try {
        gatewayMs = parseDuration(text, "JWT_MAX_LIFETIME", 60_000, 30 * 86_400_000);
      } catch {
        gatewayMs = null;
      }
      expect((cliParseDuration as (t: string, min: number, max: number) => number | null)(text, 60_000, 30 * 86_400_000), JSON.stringify(text)).toBe(gatewayMs);
    }
    const permissions = cliWith({ GATEWAY_JWT_SECRET: DEV_JWT_SECRET }, "token", "--sub", "ops", "--role", "support", "--permissions", "payments.transactions.view", "--issuer", "edge-gateway", "--audience", "edge-gateway-api");
    expect(claimsOf(permissions.stdout.trim())).toMatchObject({ permissions: ["payments.transactions.view"], iss: "edge-gateway", aud: "edge-gateway-api" });
    const help = cli("help", "token");
    for (const option of ["--sub", "--role", "--merchant", "--permissions", "--expires", "--issuer", "--audience"]) expect(help.stdout, option).toContain(option);
  });
});
