// The read model stores each field once (issue 15): an intent's row keeps the fields that have columns
// only in those columns and the rest of its record in `data`; a refund's row is an index entry whose
// record is the entry of its intent's `refunds`. Reads put the record back together, so what a list
// answers (the read model) equals what a retrieve answers (the intent's object), field for field.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { INTENT_FIELDS_IN_COLUMNS, INTENT_FIELDS_IN_COLUMNS_0019, intentData, intentSummaryColumns } from "../../src/db/intent-row";
import { EVENT_FIELDS_IN_COLUMNS } from "../../src/db/event-row";
import type { EventJson } from "../../src/core/events";
import type { IntentRecord } from "../../src/core/types";
import { objectState } from "../chaos/harness";
import { get, post, readModelIntent, storedEventRecords, waitFor, type ListJson, type PaymentIntentJson, type RefundJson } from "../helpers";

const CUSTOMER_META = { order: "o-row-1", shelf: "a2" };

async function paidAndRefunded(): Promise<{ intent: PaymentIntentJson; refund: RefundJson }> {
  const created = await post<PaymentIntentJson>("/v1/payment_intents", {
    amount: 4321,
    currency: "usd",
    metadata: CUSTOMER_META,
    description: "fields once",
    payment_method: "pm_card_visa",
    confirm: true,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  expect(created.body.status).toBe("succeeded");
  const refund = await post<RefundJson>("/v1/refunds", { payment_intent: created.body.id, amount: 321, metadata: { why: "row test" } });
  expect(refund.status, JSON.stringify(refund.body)).toBe(200);
  const intent = await get<PaymentIntentJson>(`/v1/payment_intents/${created.body.id}`);
  expect(intent.status).toBe(200);
  return { intent: intent.body, refund: refund.body };
}

async function storedData(id: string): Promise<Record<string, unknown>> {
  const row = await env.DB.prepare("SELECT data FROM payment_intents WHERE id = ?").bind(id).first<{ data: string }>();
  if (!row) throw new Error(`no row for ${id}`);
  return JSON.parse(row.data) as Record<string, unknown>;
}

async function listed(id: string): Promise<PaymentIntentJson | undefined> {
  const page = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=100");
  expect(page.status).toBe(200);
  return page.body.data.find((p) => p.id === id);
}

describe("the read model stores each field once", () => {
  it("an intent's data leaves out its columns' fields, and the record read back equals the object's", async () => {
    const { intent } = await paidAndRefunded();
    const data = await storedData(intent.id);
    for (const field of INTENT_FIELDS_IN_COLUMNS) expect(Object.keys(data), field).not.toContain(field);
    // What stays in data is the rest of the record: the nested payment method, attempts, refunds.
    expect(data).toMatchObject({ metadata: CUSTOMER_META, amountReceived: 4321 });
    const { intent: stored } = await objectState(intent.id);
    expect(await readModelIntent(intent.id)).toEqual(stored);
    // The list (read model) answers what the retrieve (object) answers.
    expect(await listed(intent.id)).toEqual(intent);
    const search = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents/search?query=${encodeURIComponent("metadata['order']:'o-row-1'")}`);
    expect(search.body.data.find((p) => p.id === intent.id)).toEqual(intent);
  });

  it("a declined payment's error, description, invoice and connector account live in columns and read back equal", async () => {
    const created = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1234, currency: "usd", description: "to decline", payment_method: "pm_card_chargeDeclined", confirm: true });
    expect(created.status).toBe(402);
    const id = (created.body as unknown as { error: { payment_intent: { id: string } } }).error.payment_intent.id;
    const data = await storedData(id);
    for (const field of INTENT_FIELDS_IN_COLUMNS) expect(Object.keys(data), field).not.toContain(field);
    const columns = await env.DB.prepare("SELECT description, client_secret, connector_account, last_payment_error, failed_at FROM payment_intents WHERE id = ?")
      .bind(id)
      .first<{ description: string; client_secret: string; connector_account: string | null; last_payment_error: string; failed_at: number }>();
    const { intent: stored } = await objectState(id);
    expect(columns).toMatchObject({ description: "to decline", client_secret: stored.clientSecret, connector_account: stored.connectorAccount });
    expect(JSON.parse(columns?.last_payment_error ?? "null")).toEqual(stored.lastPaymentError);
    expect(columns?.failed_at).toBeGreaterThan(0);
    expect(await readModelIntent(id)).toEqual(stored);
  });

  it("a refund's row has no copy of the record: retrieve and list read its intent's entry", async () => {
    const { intent, refund } = await paidAndRefunded();
    const columns = await env.DB.prepare("SELECT name FROM pragma_table_info('refunds')").all<{ name: string }>();
    expect(columns.results.map((c) => c.name)).not.toContain("data");
    const one = await get<RefundJson>(`/v1/refunds/${refund.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(refund);
    const list = await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${intent.id}`);
    expect(list.body.data).toEqual([refund]);
    expect(refund).toMatchObject({ amount: 321, metadata: { why: "row test" }, payment_intent: intent.id, status: "succeeded" });
  });

  it("a row written before the split (every field in data) reads the same, and migration 0021 strips it", async () => {
    const { intent } = await paidAndRefunded();
    const record = await readModelIntent(intent.id);
    if (!record) throw new Error("no read model row");
    // As the row was before migration 0019 (stripped by 0021): the whole record in data.
    await env.DB.prepare("UPDATE payment_intents SET data = ? WHERE id = ?").bind(JSON.stringify(record), intent.id).run();
    expect(Object.keys(await storedData(intent.id))).toContain("status");
    expect(await readModelIntent(intent.id)).toEqual(record);
    expect(await listed(intent.id)).toEqual(intent);

    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0021_"));
    const strip = migration?.queries.find((q) => q.includes("UPDATE payment_intents"));
    if (!strip) throw new Error("migration 0021 has no UPDATE ... json_remove");
    await env.DB.prepare(`${strip.trim().replace(/;$/, "")} WHERE id = ?`).bind(intent.id).run();
    const data = await storedData(intent.id);
    for (const field of INTENT_FIELDS_IN_COLUMNS_0019) expect(Object.keys(data), field).not.toContain(field);
    expect(await readModelIntent(intent.id)).toEqual(record);
  });

  it("the columns win over a stale field an older row kept in data", async () => {
    const { intent } = await paidAndRefunded();
    const record = await readModelIntent(intent.id);
    if (!record) throw new Error("no read model row");
    const stale: IntentRecord = { ...record, status: "requires_payment_method", amountRefunded: 0, version: 1 };
    await env.DB.prepare("UPDATE payment_intents SET data = ? WHERE id = ?").bind(JSON.stringify(stale), intent.id).run();
    expect(await readModelIntent(intent.id)).toEqual(record);
  });

  it("an event's data leaves out its columns' fields; retrieve, list and an older full row answer the same", async () => {
    const { intent } = await paidAndRefunded();
    const listed = await waitFor(async () => {
      const page = await get<ListJson<EventJson>>(`/v1/events?payment_intent=${intent.id}&type=refund.created`);
      return page.body.data[0];
    }, 15_000, "the refund.created event");
    const row = await env.DB.prepare("SELECT data FROM events WHERE id = ?").bind(listed.id).first<{ data: string }>();
    const data = JSON.parse(row?.data ?? "{}") as Record<string, unknown>;
    for (const field of EVENT_FIELDS_IN_COLUMNS) expect(Object.keys(data), field).not.toContain(field);
    expect(data).toHaveProperty("object");
    const one = await get<EventJson>(`/v1/events/${listed.id}`);
    expect(one.body).toEqual(listed);
    expect(listed).toMatchObject({ type: "refund.created", livemode: false });

    // As the row was before migration 0019 (stripped by 0021), then as the migration leaves it.
    const [record] = await storedEventRecords({ id: listed.id });
    if (!record) throw new Error("event not stored");
    await env.DB.prepare("UPDATE events SET data = ? WHERE id = ?").bind(JSON.stringify(record), listed.id).run();
    expect((await get<EventJson>(`/v1/events/${listed.id}`)).body).toEqual(listed);
    const strip = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0021_"))?.queries.find((q) => q.includes("UPDATE events"));
    if (!strip) throw new Error("migration 0021 has no UPDATE events");
    await env.DB.prepare(`${strip.trim().replace(/;$/, "")} WHERE id = ?`).bind(listed.id).run();
    const stripped = JSON.parse((await env.DB.prepare("SELECT data FROM events WHERE id = ?").bind(listed.id).first<{ data: string }>())?.data ?? "{}") as Record<string, unknown>;
    for (const field of EVENT_FIELDS_IN_COLUMNS) expect(Object.keys(stripped), field).not.toContain(field);
    expect(await storedEventRecords({ id: listed.id })).toEqual([record]);
  });
});

describe("migration 0024: rows from before migration 0023 get the summary's columns", () => {
  const SUMMARY_COLUMNS =
    "invoice_id AS invoiceId, client_secret AS clientSecret, description, gateway_account AS gatewayAccount, connector_account AS connectorAccount, last_payment_error AS lastPaymentError, charge_authorized_at AS chargeAuthorizedAt, charge_captured_at AS chargeCapturedAt, failed_at AS failedAt, summary_version AS summaryVersion";

  async function intentOf(body: Record<string, unknown>): Promise<IntentRecord> {
    const res = await post<PaymentIntentJson>("/v1/payment_intents", body);
    const id = res.status === 200 ? res.body.id : (res.body as unknown as { error: { payment_intent: { id: string } } }).error.payment_intent.id;
    const record = await readModelIntent(id);
    if (!record) throw new Error(`no read model row for ${id}`);
    return record;
  }

  it("the statement derives each column as the code does, for every kind of intent, and strips data", async () => {
    const paid = await intentOf({ amount: 1500, currency: "usd", payment_method: "pm_card_visa", confirm: true, description: "paid" });
    const held = await intentOf({ amount: 1600, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    const captured = await intentOf({ amount: 1700, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    expect((await post(`/v1/payment_intents/${captured.id}/capture`, { amount_to_capture: 1200 })).status).toBe(200);
    const declined = await intentOf({ amount: 1800, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true, description: "declined" });
    const unpaid = await intentOf({ amount: 1900, currency: "usd" });
    const canceled = await intentOf({ amount: 2000, currency: "usd" });
    expect((await post(`/v1/payment_intents/${canceled.id}/cancel`, {})).status).toBe(200);
    const records = await Promise.all([paid, held, captured, declined, unpaid, canceled].map(async (r) => (await readModelIntent(r.id)) as IntentRecord));
    expect(records.map((r) => r.status)).toEqual(["succeeded", "requires_capture", "succeeded", "requires_payment_method", "requires_payment_method", "canceled"]);
    const [p, , c, d] = records as [IntentRecord, IntentRecord, IntentRecord, IntentRecord];
    // Kinds the sandbox does not make on its own: failed with and without an error, an invoice and a gateway account, an error whose attempt is gone.
    const variants: IntentRecord[] = [
      ...records,
      { ...d, status: "failed", updated: d.updated + 5 },
      { ...p, status: "failed", lastPaymentError: null, updated: p.updated + 7 },
      { ...p, invoiceId: "inv_77", gatewayAccount: "ca_test_gw", description: null },
      { ...d, lastPaymentError: d.lastPaymentError ? { ...d.lastPaymentError, attemptId: "att_gone" } : null },
      { ...c, captureMethod: "automatic" },
    ];
    for (const variant of variants) {
      const id = variant.id;
      const label = `${variant.status} ${variant.captureMethod} ${variant.lastPaymentError ? "error" : ""}`;
      // As a writer from before migration 0023 left the row: the fields of migration 0019's columns in
      // those columns, every other field in data, no summary columns.
      const older = Object.fromEntries(Object.entries(variant).filter(([key]) => !(INTENT_FIELDS_IN_COLUMNS_0019 as readonly string[]).includes(key)));
      expect(Object.keys(older), label).toContain("clientSecret");
      await env.DB.prepare(
        "UPDATE payment_intents SET data = ?, status = ?, updated = ?, invoice_id = NULL, client_secret = NULL, description = NULL, gateway_account = NULL, connector_account = NULL, last_payment_error = NULL, charge_authorized_at = NULL, charge_captured_at = NULL, failed_at = NULL, summary_version = NULL WHERE id = ?",
      )
        .bind(JSON.stringify(older), variant.status, variant.updated, id)
        .run();
      expect(await readModelIntent(id), label).toEqual(variant);
      const statement = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0024_"))?.queries.find((q) => q.includes("UPDATE payment_intents"));
      if (!statement) throw new Error("migration 0024 has no UPDATE payment_intents");
      await env.DB.prepare(`${statement.trim().replace(/;$/, "")} AND id = ?`).bind(id).run();
      const row = await env.DB.prepare(`SELECT ${SUMMARY_COLUMNS}, data FROM payment_intents WHERE id = ?`).bind(id).first<Record<string, string | number | null>>();
      const { lastPaymentError, ...expected } = intentSummaryColumns(variant);
      const { lastPaymentError: storedError, data, ...columns } = row ?? {};
      expect(columns, label).toEqual(expected);
      expect(JSON.parse(String(storedError ?? "null")), label).toEqual(JSON.parse(lastPaymentError ?? "null"));
      expect(JSON.parse(String(data)), label).toEqual(JSON.parse(intentData(variant)));
      expect(await readModelIntent(id), label).toEqual(variant);
    }
  });
});
