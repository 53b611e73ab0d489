// The CLI against a running gateway (`wrangler dev`, global-setup): `listen --forward-to` registers
// a temporary endpoint, forwards each signed delivery to the local app (the signature verifies with
// the secret it prints), prints one line per event and deletes the endpoint on exit; `trigger`,
// `events resend`, `token --secret`, `merchants create` and `keys create`; what `trigger` says when
// its event did not happen (a refund held for approval); `help`, `--version`; the roles `token`
// accepts; the operators' `failed` and `refunds` commands, the operator a minted token names (--sub,
// GATEWAY_OPERATOR) and amounts in the currency's decimals; `npm run token`'s options.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
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
import { ROLES } from "../../src/auth/permissions";
import { currencyExponents } from "../../src/core/money";

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

/** `npm run token -- ...` */
function devToken(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TOKEN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: scriptEnv() });
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
    const list = cli("failed", "list", "--jwt-secret", DEV_JWT_SECRET, "--merchant", merchant.id);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^2 failed payments \(open\)/);
    expect(list.stdout).toMatch(new RegExp(`^${first} {2}20\\.00 USD {2}card_declined`, "m"));
    expect(list.stdout).toContain(second);

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
    expect(pending.stdout).toMatch(new RegExp(`^${toApprove} {2}20\\.00 USD {2}pi_`, "m"));

    // An API key may not approve (a person does); a person's token may, and its Idempotency-Key replays.
    const byKey = cli("refunds", "approve", toApprove, "--api-key", merchant.key);
    expect(byKey.status).toBe(1);
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
    expect(own.status).toBe(1);
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
      expect(named.status, decision.join(" ")).toBe(1);
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
});
