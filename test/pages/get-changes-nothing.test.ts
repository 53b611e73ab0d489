// A GET never changes an intent: every GET route of the OpenAPI document (with each intent's id put
// in its path) and every page a browser opens by GET (the 3DS challenge and its result page, the
// provider return and its result page, the hosted payment page) leave intents in every waiting
// status exactly as they were (status, version, attempts).
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { IntentRecord } from "../../src/core/types";
import { createIntent, KEY_A, type PaymentIntentJson } from "../helpers";

async function stored(id: string): Promise<{ status: string; version: number; attempts: string }> {
  const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));
  const record = await runInDurableObject(stub, async (_instance, state) => state.storage.get<IntentRecord>("intent"));
  if (!record) throw new Error(`no stored intent ${id}`);
  return { status: record.status, version: record.version, attempts: JSON.stringify(record.attempts) };
}

async function open(url: string, key: string | null = KEY_A): Promise<number> {
  const res = await exports.default.fetch(new Request(url, { headers: key ? { authorization: `Bearer ${key}` } : {}, redirect: "manual" }));
  await res.arrayBuffer();
  return res.status;
}

describe("GET changes nothing", () => {
  it("no GET route or page moves an intent in any waiting status", async () => {
    const intents: PaymentIntentJson[] = [];
    const make = async (body: Record<string, unknown>, status: string) => {
      const res = await createIntent({ return_url: "https://shop.example/back", ...body });
      expect(res.body.status, JSON.stringify(res.body)).toBe(status);
      intents.push(res.body);
    };
    await make({ payment_method: "pm_card_threeDSecure2Required", confirm: true }, "requires_action");
    await make({ payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, "requires_capture");
    await make({ payment_method: "pm_card_visa" }, "requires_confirmation");
    await make({}, "requires_payment_method");
    const before = await Promise.all(intents.map((pi) => stored(pi.id)));

    const doc = (await (await exports.default.fetch("http://gateway.test/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
    const getPaths = Object.entries(doc.paths)
      .filter(([, methods]) => "get" in methods)
      .map(([path]) => path);
    expect(getPaths).toEqual(expect.arrayContaining(["/v1/payment_intents/{id}", "/v1/payment_intents/{id}/transactions"]));
    let calls = 0;
    // Lists and searches once; routes naming an object once per intent.
    for (const path of getPaths.filter((p) => !p.includes("{"))) {
      const url = `http://gateway.test${path}`;
      expect(await open(url), url).toBeLessThan(500);
      calls += 1;
    }
    for (const pi of intents) {
      for (const path of getPaths.filter((p) => p.includes("{"))) {
        const url = `http://gateway.test${path.replace(/\{[^}]+\}/g, pi.id)}`;
        const status = await open(url);
        expect(status, url).toBeLessThan(500);
        calls += 1;
      }
      const secret = encodeURIComponent(pi.client_secret);
      for (const page of [`/sandbox/3ds/${pi.id}?client_secret=${secret}`, `/sandbox/3ds/${pi.id}?client_secret=${secret}&result=1`, `/connectors/return/${pi.id}?client_secret=${secret}`, `/connectors/return/${pi.id}?client_secret=${secret}&result=1`, `/connectors/return/${pi.id}?client_secret=${secret}&canceled=true`, `/pay/${pi.id}?client_secret=${secret}`, `/pay/${pi.id}?client_secret=${secret}&error=card_declined`]) {
        const status = await open(`http://gateway.test${page}`, null);
        expect(status, page).toBeLessThan(500);
        calls += 1;
      }
    }
    expect(calls).toBeGreaterThan(intents.length * 10);
    const after = await Promise.all(intents.map((pi) => stored(pi.id)));
    expect(after).toEqual(before);
  });
});
