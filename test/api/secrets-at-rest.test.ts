// No secret rests in plaintext: every kind the gateway issues or receives in a run (secret and
// restricted keys, application tokens, a merchant's first key, webhook signing secrets, rolled ones:
// a key, an application, an endpoint; connector credentials and their webhook secrets) is searched
// for in every column of every row of every D1 table and in every Durable Object's storage, and
// found nowhere. Replays with the same Idempotency-Key still give the secret back (the stored answer
// is sealed), and nothing logs one.
import { createExecutionContext, listDurableObjectIds, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { bearer, hsToken, newMerchant, receiverHook, uniqueKey, type CallOptions } from "../helpers";

interface Answer {
  status: number;
  body: Record<string, unknown>;
  replayed: boolean;
}

/** The Worker's fetch with logs at debug level, so that the scan sees every line it would write. */
async function send(method: string, path: string, options: CallOptions & { body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://gateway.test${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) }),
    { ...env, LOG_LEVEL: "debug" },
    ctx,
  );
  const body = (await res.json()) as Record<string, unknown>;
  await waitOnExecutionContext(ctx);
  return { status: res.status, body, replayed: res.headers.get("idempotent-replayed") === "true" };
}

/** POSTs twice with one Idempotency-Key: the replay must give the very same answer. */
async function issue(path: string, body: unknown, key: string): Promise<Record<string, unknown>> {
  const idempotencyKey = uniqueKey("secret-scan");
  const first = await send("POST", path, { key, body, idempotencyKey });
  expect(first.status, JSON.stringify(first.body)).toBe(200);
  const again = await send("POST", path, { key, body, idempotencyKey });
  expect(again.replayed).toBe(true);
  expect(again.body).toEqual(first.body);
  return first.body;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Every D1 table (from sqlite_master), every row, every column: the secrets found, with where. */
async function scanD1(secrets: string[]): Promise<string[]> {
  const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' ORDER BY name").all<{ name: string }>();
  expect(tables.results.map((t) => t.name)).toEqual(expect.arrayContaining(["api_keys", "idempotency_keys", "webhook_endpoints", "connector_accounts", "audit_log", "events"]));
  const found: string[] = [];
  for (const { name } of tables.results) {
    const rows = await env.DB.prepare(`SELECT * FROM ${quote(name)}`).all<Record<string, unknown>>();
    for (const row of rows.results) {
      for (const [column, value] of Object.entries(row)) {
        const text = typeof value === "string" ? value : value instanceof ArrayBuffer ? new TextDecoder().decode(value) : JSON.stringify(value);
        for (const secret of secrets) if (text?.includes(secret)) found.push(`D1 ${name}.${column}: ${secret.slice(0, 8)}...`);
      }
    }
  }
  return found;
}

/** Every object of one Durable Object namespace: its key-value storage and its SQL tables. */
async function scanNamespace<T extends Rpc.DurableObjectBranded | undefined>(label: string, namespace: DurableObjectNamespace<T>, secrets: string[]): Promise<{ found: string[]; objects: number }> {
  const found: string[] = [];
  const ids = await listDurableObjectIds(namespace);
  for (const id of ids) {
    const texts = await runInDurableObject(namespace.get(id), async (_instance: unknown, state: DurableObjectState) => {
      const out: string[] = [];
      for (const [key, value] of await state.storage.list()) out.push(`${key}=${JSON.stringify(value)}`);
      const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'").toArray();
      for (const { name } of tables) {
        for (const row of state.storage.sql.exec(`SELECT * FROM ${quote(name)}`).toArray()) out.push(`${name}:${JSON.stringify(row)}`);
      }
      return out;
    });
    for (const text of texts) for (const secret of secrets) if (text.includes(secret)) found.push(`DO ${label} ${id.toString().slice(0, 12)}: ${secret.slice(0, 8)}...`);
  }
  return { found, objects: ids.length };
}

// Service bindings (Fetchers) answer every property name, so look at the binding's own type.
const isNamespace = (value: unknown): value is DurableObjectNamespace => Object.prototype.toString.call(value) === "[object DurableObjectNamespace]";

/** Every Durable Object namespace bound to the Worker (the intents' objects hold idempotent outcomes). */
async function scanDurableObjects(secrets: string[]): Promise<{ found: string[]; objects: number; namespaces: string[] }> {
  const bindings = env as unknown as Record<string, unknown>;
  const namespaces = Object.keys(bindings)
    .map((name): [string, unknown] => [name, bindings[name]])
    .filter((entry): entry is [string, DurableObjectNamespace] => isNamespace(entry[1]));
  const results = [];
  for (const [label, namespace] of namespaces) results.push(await scanNamespace(label, namespace, secrets));
  return { found: results.flatMap((r) => r.found), objects: results.reduce((n, r) => n + r.objects, 0), namespaces: namespaces.map(([label]) => label) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("secrets at rest", () => {
  it("no issued or received secret is found in any D1 table, Durable Object or log line; replays still return them", async () => {
    const logged: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
    const { key } = await newMerchant("secret-scan");
    const secrets: string[] = [];
    const keep = (value: unknown, label: string): string => {
      expect(typeof value, label).toBe("string");
      secrets.push(value as string);
      return value as string;
    };

    // API keys: a secret key, a restricted key, an application's access token.
    const sk = keep((await issue("/v1/api_keys", { name: "full" }, key)).secret, "sk");
    expect(sk).toMatch(/^sk_test_/);
    const rk = keep((await issue("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.create", "payments.transactions.view"] }, key)).secret, "rk");
    expect(rk).toMatch(/^rk_test_/);
    const app = await issue("/v1/api_keys", { type: "application", permissions: ["payments.transactions.view"] }, key);
    const token = keep(app.access_token, "access token");
    // Rolled: a key's new secret and an application's new token (the answers replayed by their Idempotency-Key too).
    const rolledKey = await issue("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.view"] }, key);
    keep(rolledKey.secret, "rk to roll");
    keep((await issue(`/v1/api_keys/${String(rolledKey.id)}/roll`, { expires_in: 60 }, key)).secret, "rolled rk");
    const rolledApp = await issue(`/v1/api_keys/${String(app.id)}/roll`, { expires_in: 60 }, key);
    keep(rolledApp.access_token, "rolled access token");
    // A merchant's first key, created by an admin.
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null })).key ?? "";
    const created = await issue("/v1/admin/merchants", { name: "Scanned Shop" }, admin);
    keep((created.api_key as Record<string, unknown>).secret, "first key");

    // Webhook endpoints: a signing secret at creation, then a rolled one.
    const endpoint = await issue("/v1/webhook_endpoints", { url: receiverHook("secret-scan").url, enabled_events: ["*"] }, key);
    keep(endpoint.secret, "whsec");
    const rolled = await issue(`/v1/webhook_endpoints/${String(endpoint.id)}/roll_secret`, { expires_in: 3600 }, key);
    expect(rolled.secret).not.toBe(endpoint.secret);
    keep(rolled.secret, "rolled whsec");

    // Connector accounts: credentials and webhook secrets we receive, on create and on update.
    const stripeKey = keep(`sk_test_${uniqueKey("stripe").replace(/[^A-Za-z0-9]/g, "")}`, "stripe key");
    const stripeHook = keep(`whsec_${uniqueKey("stripehook").replace(/[^A-Za-z0-9]/g, "")}`, "stripe whsec");
    const stripe = await issue("/v1/connector_accounts", { connector: "stripe", credentials: { secret_key: stripeKey }, webhook_secret: stripeHook, priority: 5 }, key);
    const paypalSecret = keep(`paypal-client-secret-${uniqueKey("pp")}`, "paypal secret");
    await issue("/v1/connector_accounts", { connector: "paypal", credentials: { client_id: `client-${uniqueKey("pp")}`, client_secret: paypalSecret }, webhook_secret: "WH-SCAN-1", priority: 6 }, key);
    const sandboxHook = keep(`sandbox-hook-secret-${uniqueKey("sb")}`, "sandbox hook secret");
    await issue("/v1/connector_accounts", { connector: "sandbox", webhook_secret: sandboxHook, priority: 1 }, key);
    const newStripeKey = keep(`sk_test_${uniqueKey("stripe2").replace(/[^A-Za-z0-9]/g, "")}`, "rotated stripe key");
    const newStripeHook = keep(`whsec_${uniqueKey("stripehook2").replace(/[^A-Za-z0-9]/g, "")}`, "rotated stripe whsec");
    await issue(`/v1/connector_accounts/${String(stripe.id)}`, { credentials: { secret_key: newStripeKey }, webhook_secret: newStripeHook }, key);

    // The credentials at work: payments (stored in their intents' objects) and reads, each key.
    const paid = await send("POST", "/v1/payment_intents", { key: sk, idempotencyKey: uniqueKey("scan-pi"), body: { amount: 1500, currency: "usd", payment_method: "pm_card_visa", confirm: true } });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    const byRestricted = await send("POST", "/v1/payment_intents", { key: rk, idempotencyKey: uniqueKey("scan-pi"), body: { amount: 900, currency: "usd" } });
    expect(byRestricted.status).toBe(200);
    expect((await send("GET", `/v1/payment_intents/${String(paid.body.id)}`, { key: rk })).status).toBe(200);
    expect((await send("GET", "/v1/api_keys", { key })).status).toBe(200);
    const ctx = createExecutionContext();
    const appRead = await worker.fetch(
      new Request(`http://gateway.test/v1/payment_intents/${String(paid.body.id)}`, { headers: { "x-application-id": String(app.application_id), "x-access-token": token } }),
      { ...env, LOG_LEVEL: "debug" },
      ctx,
    );
    expect(appRead.status).toBe(200);
    await appRead.text();
    await waitOnExecutionContext(ctx);

    expect(secrets.length).toBe(15);
    expect(new Set(secrets).size).toBe(secrets.length);
    expect(await scanD1(secrets)).toEqual([]);
    const objects = await scanDurableObjects(secrets);
    expect(objects.namespaces).toEqual(expect.arrayContaining(["PAYMENT_INTENTS", "RATE_LIMITER", "CONNECTOR_HEALTH"]));
    expect(objects.objects).toBeGreaterThan(0);
    expect(objects.found).toEqual([]);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.filter((line) => secrets.some((s) => line.includes(s)))).toEqual([]);

    // API keys are stored as their hashes; webhook secrets and credentials are sealed.
    const keyRows = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE merchant_id = (SELECT merchant_id FROM api_keys WHERE redacted LIKE ? LIMIT 1)").bind(`${rk.slice(0, 8)}%`).all<{ key_hash: string }>();
    for (const row of keyRows.results) expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    const endpointRow = await env.DB.prepare("SELECT secret, previous_secret FROM webhook_endpoints WHERE id = ?").bind(endpoint.id).first<{ secret: string; previous_secret: string }>();
    expect(endpointRow?.secret).toMatch(/^v1\./);
    expect(endpointRow?.previous_secret).toMatch(/^v1\./);
    const stored = await env.DB.prepare("SELECT response_body FROM idempotency_keys WHERE response_body IS NOT NULL").all<{ response_body: string }>();
    expect(stored.results.length).toBeGreaterThan(0);
    for (const row of stored.results) expect(row.response_body).toMatch(/^v1\./);
  });
});
