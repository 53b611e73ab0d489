// A gateway without one of its secrets (JWT_SECRET or JWT_JWKS_URL, ENCRYPTION_KEY, FINGERPRINT_KEY,
// SANDBOX_WEBHOOK_SECRET), outside local development, never falls back to a development value: every
// request answers 503 naming the missing setting (never a value), one log line per isolate says so,
// queue batches are retried later and the cron sweep does nothing. Development (GATEWAY_ENV) is
// signalled only by `npm run dev` and this suite, never by wrangler.toml.
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { config, missingSecrets, type Env } from "../../src/env";
import type { EventRecord } from "../../src/core/types";
import { KEY_A } from "../helpers";

const SECRET_VALUES = [env.JWT_SECRET, env.ENCRYPTION_KEY, env.FINGERPRINT_KEY, env.SANDBOX_WEBHOOK_SECRET];
/** Deployed: no GATEWAY_ENV, every secret set to a value of its own. */
const deployed: Env = {
  ...env,
  GATEWAY_ENV: undefined,
  JWT_SECRET: "deployed-jwt-secret-0123456789abcdef",
  ENCRYPTION_KEY: "deployed-encryption-key-0123456789abcdef",
  FINGERPRINT_KEY: "deployed-fingerprint-key-0123456789abcdef",
  SANDBOX_WEBHOOK_SECRET: "deployed-sandbox-webhook-secret-0123456789",
};

async function fetchWith(overrides: Partial<Env>, path = "/v1/payment_intents?limit=1"): Promise<{ status: number; text: string; body: { error?: { code?: string; message?: string; missing_settings?: string[] } } }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://gateway.test${path}`, { headers: { authorization: `Bearer ${KEY_A}` } }), { ...deployed, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as { error?: { code?: string; message?: string; missing_settings?: string[] } } };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a gateway without its secrets", () => {
  it("logs one line per isolate naming the missing setting, however many requests it refuses", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    for (let i = 0; i < 3; i++) expect((await fetchWith({ ENCRYPTION_KEY: undefined })).status).toBe(503);
    const refusals = lines.filter((l) => l.includes("not configured"));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain("ENCRYPTION_KEY");
    for (const value of [...SECRET_VALUES, deployed.FINGERPRINT_KEY, deployed.JWT_SECRET]) expect(refusals[0]).not.toContain(value);
  });

  it("answers every request 503 naming the missing setting and no secret, for each required secret", async () => {
    const cases: [Partial<Env>, string][] = [
      [{ ENCRYPTION_KEY: undefined }, "ENCRYPTION_KEY"],
      [{ FINGERPRINT_KEY: "" }, "FINGERPRINT_KEY"],
      [{ SANDBOX_WEBHOOK_SECRET: "   " }, "SANDBOX_WEBHOOK_SECRET"],
      [{ JWT_SECRET: undefined, JWT_JWKS_URL: "" }, "JWT_SECRET"],
    ];
    for (const [overrides, name] of cases) {
      for (const path of ["/v1/payment_intents?limit=1", "/healthz", "/", "/sandbox/3ds/pi_x?client_secret=s"]) {
        const res = await fetchWith(overrides, path);
        expect(res.status, `${name} ${path}`).toBe(503);
        expect(res.body.error?.code).toBe("gateway_not_configured");
        expect(res.body.error?.missing_settings).toEqual([name]);
        expect(res.body.error?.message).toContain(name);
        for (const value of [...SECRET_VALUES, deployed.ENCRYPTION_KEY, deployed.FINGERPRINT_KEY, deployed.JWT_SECRET, deployed.SANDBOX_WEBHOOK_SECRET]) {
          expect(res.text).not.toContain(value);
        }
      }
    }
    const all = await fetchWith({ ENCRYPTION_KEY: undefined, FINGERPRINT_KEY: undefined, SANDBOX_WEBHOOK_SECRET: undefined, JWT_SECRET: undefined, JWT_JWKS_URL: undefined });
    expect(all.status).toBe(503);
    expect(all.body.error?.missing_settings).toEqual(["JWT_SECRET", "ENCRYPTION_KEY", "FINGERPRINT_KEY", "SANDBOX_WEBHOOK_SECRET"]);
  });

  it("serves with every secret set; JWT_SECRET may be left out when JWT_JWKS_URL names an identity provider", async () => {
    expect((await fetchWith({})).status).toBe(200);
    expect(missingSecrets(deployed)).toEqual([]);
    expect(env.JWT_JWKS_URL).toBeTruthy();
    expect((await fetchWith({ JWT_SECRET: undefined, JWT_JWKS_URL: env.JWT_JWKS_URL })).status).toBe(200);
  });

  it("refuses the repository's public development values outside development, and accepts them in development", async () => {
    const publicValues: Partial<Env> = {
      JWT_SECRET: "development-jwt-secret-do-not-deploy",
      ENCRYPTION_KEY: "development-encryption-key-not-for-live-use",
      FINGERPRINT_KEY: "development-fingerprint-key-not-for-live-use",
      SANDBOX_WEBHOOK_SECRET: "sandbox_webhook_secret_for_development",
    };
    const refused = await fetchWith(publicValues);
    expect(refused.status).toBe(503);
    expect(refused.body.error?.missing_settings).toEqual(["JWT_SECRET", "ENCRYPTION_KEY", "FINGERPRINT_KEY", "SANDBOX_WEBHOOK_SECRET"]);
    expect((await fetchWith({ ...publicValues, GATEWAY_ENV: "production" })).status).toBe(503);
    expect((await fetchWith({ ...publicValues, GATEWAY_ENV: "development" })).status).toBe(200);
    // Development needs the values too: nothing falls back.
    expect((await fetchWith({ GATEWAY_ENV: "development", ENCRYPTION_KEY: undefined })).status).toBe(503);
  });

  it("never derives keys from a missing secret: the configuration itself refuses (Durable Objects, alarms)", () => {
    expect(() => config({ ...deployed, ENCRYPTION_KEY: undefined })).toThrow(/ENCRYPTION_KEY/);
    expect(() => config({ ...deployed, FINGERPRINT_KEY: undefined })).toThrow(/FINGERPRINT_KEY/);
    expect(() => config({ ...deployed, SANDBOX_WEBHOOK_SECRET: undefined })).toThrow(/SANDBOX_WEBHOOK_SECRET/);
    expect(config(deployed).encryptionKey).toBe(deployed.ENCRYPTION_KEY);
  });

  it("queue consumers and the cron sweep refuse to run", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    const broken: Env = { ...deployed, FINGERPRINT_KEY: undefined };
    const batch = createMessageBatch<EventRecord>("gateway-events", [{ id: "msg-1", timestamp: new Date(), attempts: 1, body: { id: "evt_unconfigured" } as EventRecord }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, broken);
    await waitOnExecutionContext(ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryBatch.retry).toBe(true);
    expect(result.explicitAcks).toEqual([]);
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), broken);
    expect(lines.some((l) => l.includes("not configured") && l.includes("FINGERPRINT_KEY") && l.includes("queue"))).toBe(true);
    expect(lines.some((l) => l.includes("not configured") && l.includes("FINGERPRINT_KEY") && l.includes("scheduled"))).toBe(true);
  });
});
