// The CLI against a running gateway (`wrangler dev`, global-setup): `listen --forward-to` registers
// a temporary endpoint, forwards each signed delivery to the local app (the signature verifies with
// the secret it prints), prints one line per event and deletes the endpoint on exit; `trigger`,
// `events resend`, `token --secret`, `merchants create` and `keys create`.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import path from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
// @ts-expect-error: a plain .mjs module without types
import { DEV_JWT_SECRET as DEV_SECRET } from "../../scripts/dev-secrets.mjs";

const DEV_JWT_SECRET = DEV_SECRET as string;

const gateway = inject("gatewayUrl");
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const CLI = path.join(ROOT, "scripts", "cli.mjs");
const KEY = "sk_test_merchant_a";

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args, "--api-base", gateway], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
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

async function until<T>(check: () => T | undefined, label: string, ms = 45_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
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

  it("refuses bad usage with a message and exit code 2", () => {
    const bad = cli("trigger", "nothing.happened", "--api-key", KEY);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("trigger one of");
    const noCredential = cli("keys", "create");
    expect(noCredential.status).toBe(2);
    expect(noCredential.stderr).toContain("--api-key");
  });
});
