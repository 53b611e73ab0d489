// Seed 003's descriptive fields (productId, productType, company, microsite, country) are the
// payment's own, written by seed 003's create alone. They used to be read from the intent's metadata,
// which /v1 writes too: metadata[country]=ZZZ through /v1 made seed 003 answer a country its own
// validation (ISO 3166-1 alpha-2) would have refused, and any /v1 metadata edit rewrote them.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { IntentRecord } from "../../../src/core/types";
import { createIntent, newApplication, newMerchant, post, rawCall, readModelIntent, storedEventRecords, waitFor, type AppCredentials, type PaymentIntentJson, type RawAnswer } from "../../helpers";

interface Dto {
  id: number;
  paymentIntentId: string;
  productId: string | null;
  productType: string | null;
  company: string | null;
  microsite: string | null;
  country: string | null;
}

const send = (app: AppCredentials, method: string, path: string, body?: string): Promise<RawAnswer> =>
  rawCall(method, path, { "X-Application-Id": app.appId, "X-Access-Token": app.token }, body);

const ORDER = { userId: "user_1234", productId: "product_1234", productType: "BOOKING", company: "icligo.pt", currency: "EUR", microsite: "icligo.pt", country: "PT", amount: 25.0, manualCapture: false };
const FIELDS = { productId: "product_1234", productType: "BOOKING", company: "icligo.pt", microsite: "icligo.pt", country: "PT" };
const FORGED = { productId: "forged", productType: "FORGED", company: "evil.example", microsite: "evil.example", country: "ZZZ" };

async function created(app: AppCredentials): Promise<Dto> {
  const res = await send(app, "POST", "/payments/create-payment-intent", JSON.stringify(ORDER));
  expect(res.status, res.text).toBe(200);
  return res.json as Dto;
}

async function read(app: AppCredentials, id: number | string): Promise<Dto> {
  const res = await send(app, "GET", `/payments/${id}`);
  expect(res.status, res.text).toBe(200);
  return res.json as Dto;
}

const stubOf = (id: string) => env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));

describe("seed 003: its fields are the payment's own, out of /v1's metadata reach", () => {
  it("a /v1 metadata update changes /v1's metadata, never what seed 003 answers", async () => {
    const { opts } = await newMerchant("icligo-own-fields");
    const app = await newApplication(opts);
    const payment = await created(app);
    expect(payment).toMatchObject(FIELDS);
    const updated = await post<PaymentIntentJson>(`/v1/payment_intents/${payment.paymentIntentId}`, { metadata: FORGED }, opts);
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.metadata).toMatchObject(FORGED);
    expect(await read(app, payment.id)).toMatchObject(FIELDS);
    expect(await read(app, payment.paymentIntentId)).toMatchObject(FIELDS);
    // Unset through /v1: still there.
    await post(`/v1/payment_intents/${payment.paymentIntentId}`, { metadata: { productId: "", country: "" } }, opts);
    expect(await read(app, payment.id)).toMatchObject(FIELDS);
    expect((await readModelIntent(payment.paymentIntentId))?.icligo).toEqual(FIELDS);
    // Its webhooks say the same.
    expect((await send(app, "PUT", `/payments/${payment.id}/cancel`)).status).toBe(200);
    const canceled = await waitFor(async () => (await storedEventRecords({ paymentIntent: payment.paymentIntentId })).find((e) => e.type === "icligo.payment.canceled"), 10_000, "icligo.payment.canceled");
    expect(canceled.object.productId).toBe("product_1234");
  });

  it("a payment made through /v1 with those metadata keys answers none of them on seed 003", async () => {
    const { opts } = await newMerchant("icligo-v1-metadata");
    const app = await newApplication(opts);
    const made = await createIntent({ amount: 2500, currency: "eur", metadata: FORGED }, opts);
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect(await read(app, made.body.id)).toMatchObject({ productId: null, productType: null, company: null, microsite: null, country: null });
  });

  it("a payment made before the fields had storage of their own reads them from its metadata as it was, and keeps them through a later /v1 update", async () => {
    const { opts } = await newMerchant("icligo-older-record");
    const app = await newApplication(opts);
    const payment = await created(app);
    // As the code before left it: the fields in the metadata only.
    await runInDurableObject(stubOf(payment.paymentIntentId), async (instance, state) => {
      const record = await state.storage.get<IntentRecord>("intent");
      if (!record) throw new Error(`no intent ${payment.paymentIntentId}`);
      const { icligo, ...older } = record;
      expect(icligo).toEqual(FIELDS);
      expect(older.metadata).toMatchObject(FIELDS);
      await state.storage.put("intent", older);
      Reflect.set(instance, "intent", undefined);
    });
    expect(await read(app, payment.id)).toMatchObject(FIELDS);
    await post(`/v1/payment_intents/${payment.paymentIntentId}`, { metadata: FORGED }, opts);
    expect(await read(app, payment.id)).toMatchObject(FIELDS);
    const stored = await runInDurableObject(stubOf(payment.paymentIntentId), (_instance, state) => state.storage.get<IntentRecord>("intent"));
    expect(stored?.icligo).toEqual(FIELDS);
    expect(stored?.metadata).toMatchObject(FORGED);
  });

  it("migration 0071 gives an older seed 003 row its fields from its metadata, and leaves other rows alone", async () => {
    const { id: merchant, opts } = await newMerchant("icligo-migration-0071");
    const app = await newApplication(opts);
    const payment = await created(app);
    const other = await createIntent({ amount: 900, currency: "eur", metadata: { country: "ZZZ" } }, opts);
    const row = await env.DB.prepare("SELECT data FROM payment_intents WHERE id = ?").bind(payment.paymentIntentId).first<{ data: string }>();
    const { icligo, ...older } = JSON.parse(row?.data ?? "{}") as Partial<IntentRecord>;
    expect(icligo).toEqual(FIELDS);
    // One field the create did not send: null, as the surface answers it.
    older.metadata = { ...older.metadata };
    delete older.metadata.microsite;
    await env.DB.prepare("UPDATE payment_intents SET data = ? WHERE id = ?").bind(JSON.stringify(older), payment.paymentIntentId).run();
    // A row a writer from before left reads the same before the migration ran.
    expect((await readModelIntent(payment.paymentIntentId))?.icligo).toEqual({ ...FIELDS, microsite: null });
    const statement = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0071_"))?.queries.find((q) => q.includes("UPDATE payment_intents"));
    if (!statement) throw new Error("migration 0071 has no UPDATE payment_intents");
    await env.DB.prepare(`${statement.trim().replace(/;$/, "")} AND merchant_id = ?`).bind(merchant).run();
    const after = await env.DB.prepare("SELECT id, data FROM payment_intents WHERE id IN (?, ?)").bind(payment.paymentIntentId, other.body.id).all<{ id: string; data: string }>();
    const data = new Map(after.results.map((r) => [r.id, JSON.parse(r.data) as Partial<IntentRecord>]));
    expect(data.get(payment.paymentIntentId)?.icligo).toEqual({ ...FIELDS, microsite: null });
    expect(data.get(other.body.id)).not.toHaveProperty("icligo");
  });
});
