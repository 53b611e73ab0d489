// An update writes only what it changes, and merges metadata on the row as it is when written: 20
// concurrent updates each adding its own key keep all 20, and a name changed beside a metadata change
// survives. The updates read the row, merged in the Worker and wrote every column back: the last writer
// undid the others (found by fuzzing).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { unseal } from "../../src/core/sealed";
import { config } from "../../src/env";
import { createEndpoint, expectError, get, newMerchant, post, type CallOptions } from "../helpers";

interface Updatable {
  id: string;
  name?: string | null;
  description?: string | null;
  nickname?: string | null;
  metadata: Record<string, string>;
}

const CONCURRENT = 20;

/** A card saved to a new customer. */
async function savedCard(opts: CallOptions): Promise<Updatable> {
  const customer = (await post<{ id: string }>("/v1/customers", {}, opts)).body;
  return (await post<Updatable>(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa" }, opts)).body;
}

/** Each resource's update route, what creates one, and one field to change beside the metadata. */
const RESOURCES: { label: string; path: string; create: (opts: CallOptions) => Promise<Updatable>; field: "name" | "description" | "nickname" }[] = [
  { label: "customer", path: "/v1/customers", create: async (opts) => (await post<Updatable>("/v1/customers", { name: "Jenny Rosen" }, opts)).body, field: "name" },
  { label: "product", path: "/v1/products", create: async (opts) => (await post<Updatable>("/v1/products", { name: "Gold plan" }, opts)).body, field: "name" },
  {
    label: "webhook endpoint",
    path: "/v1/webhook_endpoints",
    create: async (opts) => (await createEndpoint("https://hooks.example.com/concurrent", ["payment_intent.succeeded"], opts)) as unknown as Updatable,
    field: "description",
  },
  { label: "price", path: "/v1/prices", create: async (opts) => (await post<Updatable>("/v1/prices", { unit_amount: 900, currency: "usd", product_data: { name: "Gold" } }, opts)).body, field: "nickname" },
  // Saved to a customer: only such a payment method may be updated, as at Stripe.
  { label: "payment method", path: "/v1/payment_methods", create: async (opts) => savedCard(opts), field: "nickname" },
  { label: "connector account", path: "/v1/connector_accounts", create: async (opts) => (await post<Updatable>("/v1/connector_accounts", { connector: "sandbox" }, opts)).body, field: "description" },
];

describe.each(RESOURCES)("concurrent updates of a $label", ({ label, path, create, field }) => {
  it(`${CONCURRENT} concurrent updates, each adding its own metadata key, keep all ${CONCURRENT} keys`, async () => {
    const { opts } = await newMerchant(`concurrent-${label}`);
    const made = await create(opts);
    const answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => post<Updatable>(`${path}/${made.id}`, { metadata: { [`k${i}`]: `v${i}` } }, opts)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    // Each answer is the row as its update wrote it: its own key, and every key written before it.
    for (const [i, a] of answers.entries()) expect(a.body.metadata[`k${i}`]).toBe(`v${i}`);
    const after = (await get<Updatable>(`${path}/${made.id}`, opts)).body;
    expect(Object.keys(after.metadata).sort()).toEqual(Array.from({ length: CONCURRENT }, (_, i) => `k${i}`).sort());
  });

  it("a field changed at the same time as the metadata: both survive, every time", async () => {
    const { opts } = await newMerchant(`concurrent-field-${label}`);
    const made = await create(opts);
    for (let i = 0; i < 10; i++) {
      const [renamed, tagged] = await Promise.all([post<Updatable>(`${path}/${made.id}`, { [field]: `Changed ${i}` }, opts), post<Updatable>(`${path}/${made.id}`, { metadata: { round: String(i) } }, opts)]);
      expect([renamed.status, tagged.status]).toEqual([200, 200]);
      const after = (await get<Updatable>(`${path}/${made.id}`, opts)).body;
      expect({ round: i, field: after[field], metadata: after.metadata }).toEqual({ round: i, field: `Changed ${i}`, metadata: { round: String(i) } });
    }
  });

  it("the 50-key limit holds on the merged metadata whatever runs beside it; \"\" deletes a key and metadata=\"\" clears them", async () => {
    const { opts } = await newMerchant(`concurrent-limit-${label}`);
    const made = await create(opts);
    const base = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`base${i}`, "x"]));
    expect((await post(`${path}/${made.id}`, { metadata: base }, opts)).status).toBe(200);
    // 10 updates of one new key each: 5 fit, the others are Stripe's 400, and the row never holds more than 50.
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(`${path}/${made.id}`, { metadata: { [`extra${i}`]: "y" } }, opts)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
    // The same answer as a create's 51 keys (test/api/card-options.test.ts).
    for (const a of answers.filter((a) => a.status !== 200)) expect(expectError(a, 400, "parameter_invalid")).toMatchObject({ param: "metadata", message: "Invalid metadata: must have at most 50 keys" });
    expect(Object.keys((await get<Updatable>(`${path}/${made.id}`, opts)).body.metadata)).toHaveLength(50);
    // Deleting keys and adding others in one update is measured on the result, as at Stripe.
    const swapped = await post<Updatable>(`${path}/${made.id}`, { metadata: { base0: "", base1: "", fresh: "z" } }, opts);
    expect(swapped.status).toBe(200);
    expect(Object.keys(swapped.body.metadata)).toHaveLength(49);
    expect(swapped.body.metadata).toMatchObject({ fresh: "z" });
    expect(swapped.body.metadata.base0).toBeUndefined();
    const cleared = await post<Updatable>(`${path}/${made.id}`, { metadata: "" }, opts);
    expect(cleared.body.metadata).toEqual({});
    expect((await post<Updatable>(`${path}/${made.id}`, { metadata: { again: "1" } }, opts)).body.metadata).toEqual({ again: "1" });
  });
});

describe("concurrent updates of a customer: what is written is what is told", () => {
  type CustomerJson = Updatable;
  interface EventJson {
    data: { object: CustomerJson };
  }

  it("each customer.updated is the customer as its update wrote it, with what the others wrote before", async () => {
    const { opts } = await newMerchant("concurrent-customer-events");
    const made = (await post<CustomerJson>("/v1/customers", { name: "Jenny Rosen" }, opts)).body;
    const answers = await Promise.all([
      post<CustomerJson>(`/v1/customers/${made.id}`, { name: "Jenny R." }, opts),
      ...Array.from({ length: 5 }, (_, i) => post<CustomerJson>(`/v1/customers/${made.id}`, { metadata: { [`k${i}`]: `v${i}` } }, opts)),
    ]);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const events = (await get<{ data: EventJson[] }>(`/v1/events?type=customer.updated&limit=100`, opts)).body.data.map((e) => e.data.object);
    expect(events).toHaveLength(6);
    // The events and the answers are the same snapshots, and one of them (the last written) holds every change.
    const snapshot = (c: CustomerJson) => JSON.stringify({ name: c.name, metadata: Object.keys(c.metadata).sort() });
    expect(events.map(snapshot).sort()).toEqual(answers.map((a) => snapshot(a.body)).sort());
    expect(events.map(snapshot)).toContain(snapshot({ ...made, name: "Jenny R.", metadata: { k0: "", k1: "", k2: "", k3: "", k4: "" } }));
    // An update that changes nothing writes nothing and tells nothing.
    expect((await post<CustomerJson>(`/v1/customers/${made.id}`, {}, opts)).body.name).toBe("Jenny R.");
    expect((await get<{ data: EventJson[] }>(`/v1/events?type=customer.updated&limit=100`, opts)).body.data).toHaveLength(6);
  });
});

describe("a webhook endpoint's secret rolled beside other changes", () => {
  const stored = async (id: string) => {
    const row = await env.DB.prepare("SELECT secret, previous_secret FROM webhook_endpoints WHERE id = ?").bind(id).first<{ secret: string; previous_secret: string | null }>();
    const key = config(env).encryptionKey;
    return { secret: await unseal(row?.secret ?? "", key), previous: row?.previous_secret ? await unseal(row.previous_secret, key) : null };
  };

  it("a roll and an update at once: the update's metadata and the new secret both survive", async () => {
    const { opts } = await newMerchant("concurrent-roll-update");
    const endpoint = await createEndpoint("https://hooks.example.com/roll", ["payment_intent.succeeded"], opts);
    for (let i = 0; i < 10; i++) {
      const [rolled, tagged] = await Promise.all([post<{ secret: string }>(`/v1/webhook_endpoints/${endpoint.id}/roll_secret`, {}, opts), post(`/v1/webhook_endpoints/${endpoint.id}`, { metadata: { round: String(i) } }, opts)]);
      expect([rolled.status, tagged.status]).toEqual([200, 200]);
      expect((await get<Updatable>(`/v1/webhook_endpoints/${endpoint.id}`, opts)).body.metadata).toEqual({ round: String(i) });
      expect((await stored(endpoint.id)).secret).toBe(rolled.body.secret);
    }
  });

  it("two rolls at once: the secret the first one answered keeps verifying for the overlap (it is the previous secret)", async () => {
    const { opts } = await newMerchant("concurrent-rolls");
    const endpoint = await createEndpoint("https://hooks.example.com/rolls", ["payment_intent.succeeded"], opts);
    for (let i = 0; i < 10; i++) {
      const answers = await Promise.all([0, 1].map(() => post<{ secret: string }>(`/v1/webhook_endpoints/${endpoint.id}/roll_secret`, { expires_in: 3600 }, opts)));
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      const now = await stored(endpoint.id);
      expect([now.secret, now.previous].sort()).toEqual(answers.map((a) => a.body.secret).sort());
    }
  });
});

// An update and its event are one transaction: the update is computed on the row as read and written
// only if the row is still that one (else read again), with customer.updated / payment_method.updated /
// product.updated / price.updated inserted in the same D1 batch. Stored after the update's own
// statement (as it was), a Worker stopped between the two kept the change and lost its webhook.
const EVENTED: { label: string; path: string; type: string; field: string; create: (opts: CallOptions) => Promise<Updatable> }[] = [
  { label: "customer", path: "/v1/customers", type: "customer.updated", field: "name", create: RESOURCES[0]!.create },
  { label: "payment method", path: "/v1/payment_methods", type: "payment_method.updated", field: "nickname", create: RESOURCES[4]!.create },
  { label: "product", path: "/v1/products", type: "product.updated", field: "name", create: RESOURCES[1]!.create },
  { label: "price", path: "/v1/prices", type: "price.updated", field: "nickname", create: RESOURCES[3]!.create },
];

async function updatedEvents(merchantId: string, type: string, objectId: string): Promise<Record<string, unknown>[]> {
  const { results } = await env.DB.prepare("SELECT data FROM events WHERE merchant_id = ? AND type = ? ORDER BY created, id").bind(merchantId, type).all<{ data: string }>();
  return results.map((r) => (JSON.parse(r.data) as { object: Record<string, unknown> }).object).filter((o) => o.id === objectId);
}

describe.each(EVENTED)("a $label update and its $type are one transaction", ({ label, path, type, field, create }) => {
  it("the event's insert failing leaves the row as it was (nothing changed without its event)", async () => {
    const { id: merchantId, opts } = await newMerchant(`atomic-${label}`);
    const made = await create(opts);
    expect((await post(`${path}/${made.id}`, { metadata: { kept: "1" } }, opts)).status).toBe(200);
    const before = (await get<Updatable>(`${path}/${made.id}`, opts)).body;
    const trigger = `fail_event_${made.id.replace(/\W/g, "_")}`;
    // The event of this object cannot be stored: its insert aborts inside the update's batch.
    await env.DB.prepare(`CREATE TRIGGER ${trigger} BEFORE INSERT ON events WHEN NEW.type = '${type}' AND instr(NEW.data, '${made.id}') > 0 BEGIN SELECT RAISE(ABORT, 'injected: event not stored'); END`).run();
    try {
      const failed = await post(`${path}/${made.id}`, { [field]: "Changed", metadata: { lost: "x", kept: "" } }, opts);
      expect(failed.status).toBeGreaterThanOrEqual(500);
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    expect((await get<Updatable>(`${path}/${made.id}`, opts)).body).toEqual(before);
    expect(await updatedEvents(merchantId, type, made.id)).toHaveLength(1);
  });

  it(`${CONCURRENT} concurrent updates: each has exactly one ${type}, equal to its answer`, async () => {
    const { id: merchantId, opts } = await newMerchant(`atomic-events-${label}`);
    const made = await create(opts);
    const answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => post<Updatable>(`${path}/${made.id}`, { metadata: { [`k${i}`]: `v${i}` } }, opts)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const events = await updatedEvents(merchantId, type, made.id);
    expect(events).toHaveLength(CONCURRENT);
    // Each answer has its event (the answers differ: each holds its own key and those written before it).
    for (const a of answers) expect(events).toContainEqual(a.body);
    // One event is the row as it is now: all the keys.
    const after = (await get<Updatable>(`${path}/${made.id}`, opts)).body;
    expect(Object.keys(after.metadata)).toHaveLength(CONCURRENT);
    expect(events).toContainEqual(after);
    // An update that changes nothing writes and tells nothing.
    expect((await post(`${path}/${made.id}`, {}, opts)).status).toBe(200);
    expect(await updatedEvents(merchantId, type, made.id)).toHaveLength(CONCURRENT);
  });

  it(`two concurrent updates (${field}, metadata): both survive, each with its own ${type}`, async () => {
    const { id: merchantId, opts } = await newMerchant(`atomic-pair-${label}`);
    const made = await create(opts);
    for (let i = 0; i < 5; i++) {
      const [renamed, tagged] = await Promise.all([post<Updatable>(`${path}/${made.id}`, { [field]: `Changed ${i}` }, opts), post<Updatable>(`${path}/${made.id}`, { metadata: { round: String(i) } }, opts)]);
      expect([renamed.status, tagged.status]).toEqual([200, 200]);
      const after = (await get<Updatable>(`${path}/${made.id}`, opts)).body;
      expect({ field: after[field as keyof Updatable], metadata: after.metadata }).toEqual({ field: `Changed ${i}`, metadata: { round: String(i) } });
      const events = await updatedEvents(merchantId, type, made.id);
      expect(events).toHaveLength(2 * (i + 1));
      expect(events).toContainEqual(renamed.body);
      expect(events).toContainEqual(tagged.body);
    }
  });
});

describe("a card detached while it is made the customer's default", () => {
  it("never leaves the default pointing at a detached card, however the two interleave", async () => {
    const { opts } = await newMerchant("detach-vs-default");
    const customer = (await post<{ id: string }>("/v1/customers", { name: "Race" }, opts)).body;
    for (let round = 0; round < 12; round++) {
      const card = (await post<{ id: string }>(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa" }, opts)).body;
      await Promise.all([
        post(`/v1/customers/${customer.id}`, { invoice_settings: { default_payment_method: card.id } }, opts),
        post(`/v1/payment_methods/${card.id}/detach`, {}, opts),
      ]);
      const after = (await get<{ invoice_settings: { default_payment_method: string | null } }>(`/v1/customers/${customer.id}`, opts)).body;
      const pm = (await get<{ customer: string | null }>(`/v1/payment_methods/${card.id}`, opts)).body;
      expect(pm.customer).toBeNull();
      expect(after.invoice_settings.default_payment_method, `round ${round}`).not.toBe(card.id);
    }
    // 12 rounds of 5 requests: after this file's earlier tests the Worker is still fanning out their
    // events, and a round takes up to 2-3 s on a busy machine (about 65 ms alone).
  }, 120_000);
});
