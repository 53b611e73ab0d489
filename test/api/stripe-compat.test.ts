// Stripe compatibility in depth (issue 13): what official clients send and expect beyond the happy path.
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { GATEWAY_API_VERSION, isKnownApiVersion, RELEASE_NAMES } from "../../src/core/api-version";
import { bearer, call, createIntent, stripeClient, expectError, get, hsToken, KEY_A, KEY_B, MERCHANT_A, newMerchant, ok, post, seedMerchant, waitFor, type CallResult, type ChargeJson, type ListJson, type PaymentIntentJson, type RefundJson } from "../helpers";

interface EventJson {
  id: string;
  type: string;
  api_version: string | null;
  data: { object: Record<string, unknown>; payment_intent_id: string | null; order_id: string | null };
}

describe("booleans as both official clients send them", () => {
  it("takes true/false (stripe-node) and True/False (python stripe) in form bodies", async () => {
    for (const [word, status] of [
      ["true", "succeeded"],
      ["True", "succeeded"],
      ["false", "requires_confirmation"],
      ["False", "requires_confirmation"],
    ] as const) {
      const res = await call<PaymentIntentJson>("POST", "/v1/payment_intents", { form: `amount=100&currency=usd&payment_method=pm_card_visa&confirm=${word}` });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.status).toBe(status);
    }
  });

  it("refuses anything else with a clear 400 naming the parameter", async () => {
    const err = expectError(await call("POST", "/v1/payment_intents", { form: "amount=100&currency=usd&payment_method=pm_card_visa&confirm=yes" }), 400, "parameter_invalid");
    expect(err.param).toBe("confirm");
    expect(err.message).toMatch(/boolean/);
  });
});

describe("error wording", () => {
  it("says 'captured', not 'captureed'", async () => {
    const pi = (await call<PaymentIntentJson>("POST", "/v1/payment_intents", { body: { amount: 100, currency: "usd" } })).body;
    const err = expectError(await call("POST", `/v1/payment_intents/${pi.id}/capture`, { body: {} }), 400, "payment_intent_unexpected_state");
    expect(err.message).toContain("may be captured");
    expect(err.message).not.toMatch(/captureed|confirmed?ed/);
  });
});

describe("Stripe-Version", () => {
  it("is echoed on every /v1 response: success, error, unknown path", async () => {
    const v = "2024-06-20";
    const ok = await createIntent({}, { headers: { "Stripe-Version": v } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("stripe-version")).toBe(v);
    const bad = await post("/v1/payment_intents", { amount: -1, currency: "usd" }, { headers: { "Stripe-Version": "2025-03-31.basil" } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("stripe-version")).toBe("2025-03-31.basil");
    const unauth = await get("/v1/payment_intents", { key: null });
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get("stripe-version")).toBe(GATEWAY_API_VERSION);
    const missing = await get("/v1/no_such_thing");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("stripe-version")).toBe(GATEWAY_API_VERSION);
  });

  it("an unknown version is a 400, as at Stripe", async () => {
    for (const v of ["1999-01-01.garbage", "2026-02-30", "2025-03-31", "2020-08-27.basil", "latest", "9999-01-01.endive"]) {
      const err = expectError(await createIntent({}, { headers: { "Stripe-Version": v } }), 400, "api_version_invalid");
      expect(err.message).toContain("Invalid Stripe API version");
    }
  });

  it("a dated version carries its own release's name: another release's is a 400 (2024-09-30.basil), as is a name for a date before the first release", async () => {
    // Stripe's named versions (the stripe package's WebhookEndpointCreateParams.ApiVersion and CHANGELOG.md).
    const released: Record<string, string[]> = {
      acacia: ["2024-09-30", "2024-10-28", "2024-11-20", "2024-12-18", "2025-01-27", "2025-02-24"],
      basil: ["2025-03-31", "2025-04-30", "2025-05-28", "2025-06-30", "2025-07-30", "2025-08-27"],
      clover: ["2025-09-30", "2025-10-29", "2025-11-17", "2025-12-15", "2026-01-28", "2026-02-25"],
      dahlia: ["2026-03-25", "2026-04-22", "2026-05-27", "2026-06-24", "2026-07-29", "2026-08-26"],
      endive: ["2026-09-30", "2026-10-28"],
    };
    const now = Date.parse("2026-12-01T00:00:00Z");
    for (const [name, dates] of Object.entries(released)) {
      for (const date of dates) {
        expect({ v: `${date}.${name}`, known: isKnownApiVersion(`${date}.${name}`, now) }).toEqual({ v: `${date}.${name}`, known: true });
        for (const other of RELEASE_NAMES.filter((n) => n !== name)) expect({ v: `${date}.${other}`, known: isKnownApiVersion(`${date}.${other}`, now) }).toEqual({ v: `${date}.${other}`, known: false });
      }
    }
    // Between two releases' versions, a date is its release's (the last day before the next one's first too).
    expect([isKnownApiVersion("2025-03-30.acacia", now), isKnownApiVersion("2025-03-30.basil", now), isKnownApiVersion("2026-11-15.endive", now)]).toEqual([true, false, true]);
    // Before the first release, no name; the unnamed versions are as they were.
    expect([isKnownApiVersion("2024-08-01.acacia", now), isKnownApiVersion("2023-10-16", now), isKnownApiVersion("2024-06-20", now)]).toEqual([false, true, true]);
    for (const v of ["2024-09-30.basil", "2025-04-30.acacia", "2026-03-25.clover", "2025-09-30.dahlia"]) {
      const err = expectError(await createIntent({}, { headers: { "Stripe-Version": v } }), 400, "api_version_invalid");
      expect(err).toMatchObject({ type: "invalid_request_error", message: expect.stringContaining(`Invalid Stripe API version: ${v}.`) });
    }
    for (const v of ["2024-09-30.acacia", "2025-04-30.basil", "2023-10-16"]) {
      const res = await createIntent({}, { headers: { "Stripe-Version": v } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers.get("stripe-version")).toBe(v);
    }
    // A merchant's default version is checked the same way.
    expectError(await post("/v1/account", { settings: { api_version: "2024-09-30.basil" } }, { key: (await newMerchant("version-release")).key }), 400);
  });

  it("a beta's flags after the version (stripe-node's beta apiVersion) are read past: the version before them decides", async () => {
    const res = await createIntent({}, { headers: { "Stripe-Version": "2025-03-31.basil; custom_checkout_beta=v1" } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.get("stripe-version")).toBe("2025-03-31.basil");
    expectError(await createIntent({}, { headers: { "Stripe-Version": "1999-01-01.garbage; some_beta=v1" } }), 400, "api_version_invalid");
  });

  it("a merchant's default version (its settings) applies when the header is absent, and events carry it", async () => {
    const merchant = "acct_version_default";
    const key = "sk_test_version_default";
    await seedMerchant(merchant, "Versioned", "key_version_default", key, false);
    expect((await get("/v1/payment_intents", { key })).headers.get("stripe-version")).toBe(GATEWAY_API_VERSION);
    expectError(await post("/v1/account", { settings: { api_version: "1999-01-01.garbage" } }, { key }), 400);
    const set = await post<{ settings: { api_version: string | null } }>("/v1/account", { settings: { api_version: "2025-03-31.basil" } }, { key });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.settings.api_version).toBe("2025-03-31.basil");
    const pi = await createIntent({ payment_method: "pm_card_visa", confirm: true }, { key });
    expect(pi.headers.get("stripe-version")).toBe("2025-03-31.basil");
    // The header wins over the default.
    expect((await get(`/v1/payment_intents/${pi.body.id}`, { key, headers: { "Stripe-Version": "2024-06-20" } })).headers.get("stripe-version")).toBe("2024-06-20");
    const events = await waitFor(async () => {
      const res = await get<ListJson<EventJson>>(`/v1/events?payment_intent=${pi.body.id}`, { key });
      return res.body.data.length >= 2 ? res : undefined;
    }, 15_000, "the intent's events");
    for (const e of events.body.data) expect(e.api_version).toBe("2025-03-31.basil");
    const one = await get<EventJson>(`/v1/events/${events.body.data[0]?.id}`, { key, headers: { "Stripe-Version": "2024-06-20" } });
    expect(one.body.api_version).toBe("2024-06-20");
    // "" returns to the gateway's default.
    expect((await post<{ settings: { api_version: string | null } }>("/v1/account", { settings: { api_version: "" } }, { key })).body.settings.api_version).toBeNull();
  });
});

describe("Stripe-Version before 2022-11-15: a payment intent's charges list", () => {
  type LegacyIntent = PaymentIntentJson & { charges?: { object: string; data: ChargeJson[]; has_more: boolean; total_count: number; url: string } };
  const OLD = { "Stripe-Version": "2022-08-01" };

  it("lists every charge, newest first, on every answer that renders the intent; 2022-11-15 and later have latest_charge only", async () => {
    // A decline (a failed charge), then a success on the same intent.
    const created = await createIntent({ amount: 2600 });
    const id = created.body.id;
    const declined = await post<{ error: { payment_intent: LegacyIntent } }>(`/v1/payment_intents/${id}/confirm`, { payment_method: "pm_card_chargeDeclined" }, { headers: OLD });
    expect(declined.status).toBe(402);
    expect(declined.body.error.payment_intent.charges?.data.map((c) => c.status)).toEqual(["failed"]);
    const paid = await post<LegacyIntent>(`/v1/payment_intents/${id}/confirm`, { payment_method: "pm_card_visa" }, { headers: OLD });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    const charges = paid.body.charges;
    expect(charges).toMatchObject({ object: "list", has_more: false, total_count: 2, url: `/v1/charges?payment_intent=${id}` });
    expect(charges?.data.map((c) => c.status)).toEqual(["succeeded", "failed"]);
    expect(charges?.data[0]?.id).toBe(paid.body.latest_charge);
    // Each is the charge /v1/charges answers at the same version (its refunds list included).
    for (const charge of charges?.data ?? []) expect((await get<ChargeJson>(`/v1/charges/${charge.id}`, { headers: OLD })).body).toEqual(charge);
    const failed = charges?.data[1];
    expect(failed?.failure_code).toBe("card_declined");
    expect(failed?.paid).toBe(false);

    // Retrieve, list and search at the old version carry it; the current shape and 2022-11-15 do not.
    expect((await get<LegacyIntent>(`/v1/payment_intents/${id}`, { headers: OLD })).body.charges?.total_count).toBe(2);
    const listed = await get<ListJson<LegacyIntent>>(`/v1/payment_intents?limit=3`, { headers: OLD });
    expect(listed.body.data.find((pi) => pi.id === id)?.charges?.total_count).toBe(2);
    for (const pi of listed.body.data) expect(pi.charges?.object).toBe("list");
    expect((await get<ChargeJson & { payment_intent: LegacyIntent }>(`/v1/charges/${paid.body.latest_charge}?expand[]=payment_intent`, { headers: OLD })).body.payment_intent.charges?.total_count).toBe(2);
    for (const headers of [{}, { "Stripe-Version": "2022-11-15" }, { "Stripe-Version": "2025-03-31.basil" }] as Record<string, string>[]) {
      const now = await get<LegacyIntent>(`/v1/payment_intents/${id}`, { headers });
      expect(now.body.latest_charge).toBe(paid.body.latest_charge);
      expect("charges" in now.body).toBe(false);
    }
  });

  it("an intent without a charge has an empty list; a merchant whose default version is older gets it without the header", async () => {
    const merchant = "acct_version_charges_list";
    const key = "sk_test_version_charges_list";
    await seedMerchant(merchant, "Versioned, older", "key_version_charges_list", key, false);
    expect((await post("/v1/account", { settings: { api_version: "2020-08-27" } }, { key })).status).toBe(200);
    const fresh = await createIntent({ amount: 1200 }, { key });
    expect(fresh.headers.get("stripe-version")).toBe("2020-08-27");
    expect((fresh.body as LegacyIntent).charges).toEqual({ object: "list", data: [], has_more: false, total_count: 0, url: `/v1/charges?payment_intent=${fresh.body.id}` });
    const paid = await createIntent({ amount: 1200, payment_method: "pm_card_visa", confirm: true }, { key });
    expect((paid.body as LegacyIntent).charges?.data.map((c) => c.id)).toEqual([paid.body.latest_charge]);
    // The header still wins over the default.
    expect("charges" in (await get<LegacyIntent>(`/v1/payment_intents/${paid.body.id}`, { key, headers: { "Stripe-Version": GATEWAY_API_VERSION } })).body).toBe(false);
  });
});

describe("Stripe-Version before 2022-11-15: a charge's refunds list", () => {
  type Refunds = { object: string; data: RefundJson[]; has_more: boolean; total_count: number; url: string };
  type LegacyCharge = ChargeJson & { refunds?: Refunds };
  type LegacyIntent = PaymentIntentJson & { charges?: { data: LegacyCharge[] } };
  const OLD = { "Stripe-Version": "2020-08-27" };

  it("the list holds the first 10 refunds (has_more, total_count); its url, GET /v1/charges/{id}/refunds, pages through them all; one refund by its charge's path", async () => {
    const pi = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true })).body;
    const chargeId = typeof pi.latest_charge === "string" ? pi.latest_charge : "";
    const made: string[] = [];
    for (let i = 1; i <= 12; i++) made.push((await post<RefundJson>("/v1/refunds", { charge: chargeId, amount: 100 + i })).body.id);
    const newestFirst = [...made].reverse();
    const old = (await get<LegacyCharge>(`/v1/charges/${chargeId}`, { headers: OLD })).body.refunds;
    expect(old).toMatchObject({ has_more: true, total_count: 12, url: `/v1/charges/${chargeId}/refunds` });
    expect(old?.data.map((r) => r.id)).toEqual(newestFirst.slice(0, 10));
    expect((await get<LegacyCharge>(`/v1/charges/${chargeId}?expand[]=refunds`)).body.refunds?.data).toHaveLength(10);

    // Following the url, in pages of 5, as a client pages a list.
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await get<{ object: string; data: RefundJson[]; has_more: boolean; url: string }>(`/v1/charges/${chargeId}/refunds?limit=5${after ? `&starting_after=${after}` : ""}`);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      expect(page.body).toMatchObject({ object: "list", url: `/v1/charges/${chargeId}/refunds` });
      seen.push(...page.body.data.map((r) => r.id));
      if (!page.body.has_more) break;
      after = page.body.data.at(-1)?.id;
    }
    expect(seen).toEqual(newestFirst);
    const one = await get<RefundJson>(`/v1/charges/${chargeId}/refunds/${made[0]}?expand[]=charge`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: made[0], amount: 101, charge: { id: chargeId } });

    // An unknown charge, another charge's refund, another merchant's charge: 404.
    expectError(await get("/v1/charges/ch_nope/refunds"), 404, "resource_missing");
    const other = (await createIntent({ amount: 800, payment_method: "pm_card_visa", confirm: true })).body;
    const otherCharge = typeof other.latest_charge === "string" ? other.latest_charge : "";
    expectError(await get(`/v1/charges/${otherCharge}/refunds/${made[0]}`), 404, "resource_missing");
    expect((await get<{ data: unknown[] }>(`/v1/charges/${otherCharge}/refunds`)).body.data).toEqual([]);
    expectError(await get(`/v1/charges/${chargeId}/refunds`, { key: KEY_B }), 404, "resource_missing");
  });

  it("every charge carries its refunds, newest first, at an older version; 2022-11-15 and later only with expand[]=refunds", async () => {
    const pi = (await createIntent({ amount: 3000, payment_method: "pm_card_visa", confirm: true })).body;
    const chargeId = typeof pi.latest_charge === "string" ? pi.latest_charge : "";
    expect(chargeId).toMatch(/^ch_/);
    const first = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 500 });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const second = await post<RefundJson>("/v1/refunds", { charge: chargeId, amount: 700 });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    const url = `/v1/charges/${chargeId}/refunds`;

    // Retrieve: the list, each refund as /v1/refunds answers it.
    const old = await get<LegacyCharge>(`/v1/charges/${chargeId}`, { headers: OLD });
    expect(old.status, JSON.stringify(old.body)).toBe(200);
    expect(old.headers.get("stripe-version")).toBe("2020-08-27");
    expect(old.body.refunds).toEqual({
      object: "list",
      data: [(await get<RefundJson>(`/v1/refunds/${second.body.id}`)).body, (await get<RefundJson>(`/v1/refunds/${first.body.id}`)).body],
      has_more: false,
      total_count: 2,
      url,
    });
    expect(old.body.refunds?.data.map((r) => r.amount)).toEqual([700, 500]);
    expect(old.body.amount_refunded).toBe(1200);

    // The current shape, and 2022-11-15 on: no refunds unless expanded (then the same list).
    for (const headers of [{}, { "Stripe-Version": "2022-11-15" }, { "Stripe-Version": "2025-03-31.basil" }] as Record<string, string>[]) {
      const now = await get<LegacyCharge>(`/v1/charges/${chargeId}`, { headers });
      expect(now.status).toBe(200);
      expect("refunds" in now.body, JSON.stringify(headers)).toBe(false);
      expect((await get<LegacyCharge>(`/v1/charges/${chargeId}?expand[]=refunds`, { headers })).body.refunds).toEqual(old.body.refunds);
    }
    // At the older version, expand[]=refunds changes nothing.
    expect((await get<LegacyCharge>(`/v1/charges/${chargeId}?expand[]=refunds`, { headers: OLD })).body).toEqual(old.body);

    // The charge list, an update, an intent's charges list and its expanded latest_charge, a refund's expanded charge.
    const listed = await get<ListJson<LegacyCharge>>(`/v1/charges?payment_intent=${pi.id}`, { headers: OLD });
    expect(listed.body.data.map((c) => c.refunds?.total_count)).toEqual([2]);
    expect("refunds" in ((await get<ListJson<LegacyCharge>>(`/v1/charges?payment_intent=${pi.id}`)).body.data[0] ?? {})).toBe(false);
    const updated = await post<LegacyCharge>(`/v1/charges/${chargeId}`, { description: "with refunds" }, { headers: OLD });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.refunds).toEqual(old.body.refunds);
    const intent = await get<LegacyIntent>(`/v1/payment_intents/${pi.id}?expand[]=latest_charge`, { headers: OLD });
    expect(intent.body.charges?.data[0]?.refunds).toEqual(old.body.refunds);
    expect((intent.body.latest_charge as LegacyCharge).refunds).toEqual(old.body.refunds);
    expect("refunds" in ((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}?expand[]=latest_charge`)).body.latest_charge as LegacyCharge)).toBe(false);
    const refund = await get<RefundJson & { charge: LegacyCharge }>(`/v1/refunds/${first.body.id}?expand[]=charge`, { headers: OLD });
    expect(refund.body.charge.refunds).toEqual(old.body.refunds);
    expect("refunds" in (await get<RefundJson & { charge: LegacyCharge }>(`/v1/refunds/${first.body.id}?expand[]=charge`)).body.charge).toBe(false);
  });

  it("a failed charge's list is empty; a merchant whose default version is older gets it without the header, and events keep the current shape", async () => {
    const merchant = await newMerchant("version-charge-refunds");
    expect((await post("/v1/account", { settings: { api_version: "2022-08-01" } }, merchant.opts)).status).toBe(200);
    const created = await createIntent({ amount: 1500 }, merchant.opts);
    const declined = await post<{ error: { charge: string; payment_intent: LegacyIntent } }>(`/v1/payment_intents/${created.body.id}/confirm`, { payment_method: "pm_card_chargeDeclined" }, merchant.opts);
    expect(declined.status).toBe(402);
    const failedId = declined.body.error.charge;
    expect(declined.body.error.payment_intent.charges?.data[0]?.refunds).toEqual({ object: "list", data: [], has_more: false, total_count: 0, url: `/v1/charges/${failedId}/refunds` });
    const failed = await get<LegacyCharge>(`/v1/charges/${failedId}`, merchant.opts);
    expect(failed.body.status).toBe("failed");
    expect(failed.body.refunds).toEqual({ object: "list", data: [], has_more: false, total_count: 0, url: `/v1/charges/${failedId}/refunds` });

    const paid = await createIntent({ amount: 1500, payment_method: "pm_card_visa", confirm: true }, merchant.opts);
    const chargeId = String(paid.body.latest_charge);
    const refund = await post<RefundJson>("/v1/refunds", { payment_intent: paid.body.id }, merchant.opts);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    const charge = await get<LegacyCharge>(`/v1/charges/${chargeId}`, merchant.opts);
    expect(charge.headers.get("stripe-version")).toBe("2022-08-01");
    expect(charge.body.refunds?.data.map((r) => r.id)).toEqual([refund.body.id]);
    expect(charge.body.refunded).toBe(true);
    // The header still wins over the default.
    expect("refunds" in (await get<LegacyCharge>(`/v1/charges/${chargeId}`, { ...merchant.opts, headers: { "Stripe-Version": GATEWAY_API_VERSION } })).body).toBe(false);

    // Events' data.object is the snapshot stored when the event was made, in the current shape (as an intent's charges list is).
    const events = await waitFor(async () => {
      const data = (await get<ListJson<EventJson>>(`/v1/events?payment_intent=${paid.body.id}&limit=100`, merchant.opts)).body.data;
      return data.some((e) => e.type === "charge.refunded") ? data : undefined;
    }, 15_000, "the charge.refunded event");
    const chargeEvents = events.filter((e) => e.type.startsWith("charge."));
    expect(chargeEvents.length).toBeGreaterThan(0);
    for (const e of chargeEvents) {
      expect(e.api_version).toBe("2022-08-01");
      expect(e.data.object.object).toBe("charge");
      expect("refunds" in e.data.object, e.type).toBe(false);
    }
  });
});

describe("seed 001 beside Stripe's shapes", () => {
  it("events' data carry payment_intent_id and order_id next to data.object", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_visa", confirm: true, capture_method: "manual", order_id: "order-13-events" })).body;
    await post(`/v1/payment_intents/${pi.id}/capture`, {});
    await post("/v1/refunds", { payment_intent: pi.id, amount: 100 });
    const events = await waitFor(async () => {
      const data = (await get<ListJson<EventJson>>(`/v1/events?payment_intent=${pi.id}&limit=100`)).body.data;
      return data.some((e) => e.type === "refund.created") && data.some((e) => e.type === "payment_intent.succeeded") ? data : undefined;
    }, 15_000, "the intent's events");
    const types = events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "refund.created"]));
    for (const e of events) {
      expect(e.data.payment_intent_id, e.type).toBe(pi.id);
      expect(e.data.order_id, e.type).toBe("order-13-events");
      expect(e.data.object.object).toBeTypeOf("string");
    }
  });

  it("GET /v1/admin/psp_health answers an admin or support token without Merchant-Id: every merchant's connectors, the built-in sandbox included", async () => {
    const account = (await post<{ id: string }>("/v1/connector_accounts", { connector: "sandbox", priority: 900 })).body;
    // A merchant without connector accounts pays through the built-in sandbox: the operator sees its calls too.
    const plain = await newMerchant("psp-health-plain");
    expect((await post("/v1/payment_intents", { amount: 1000, currency: "usd", confirm: true, payment_method: "pm_card_visa" }, plain.opts)).status).toBe(200);
    type Row = { merchant_id: string; connector: string; connector_account: string | null; health: { state: string; calls: number } };
    // The call's sample is recorded after the answer.
    await waitFor(async () => ((await get<ListJson<Row>>("/v1/admin/psp_health", plain.opts)).body.data[0]?.health.calls === 1 ? true : undefined), 15_000, "the health sample");
    for (const role of ["admin", "support"]) {
      const token = await hsToken({ roles: [role], merchant: null });
      // Every page, a merchant at most once across them, pages ordered by merchant id.
      const rows: Row[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 200; pages++) {
        const res: CallResult<ListJson<Row>> = await get<ListJson<Row>>(`/v1/admin/psp_health?limit=50${after ? `&starting_after=${after}` : ""}`, bearer(token));
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const merchantsOfPage = [...new Set(res.body.data.map((r) => r.merchant_id))];
        expect(merchantsOfPage.length).toBeLessThanOrEqual(50);
        if (after) expect(merchantsOfPage.every((m) => m > (after ?? ""))).toBe(true);
        rows.push(...res.body.data);
        if (!res.body.has_more) break;
        after = merchantsOfPage[merchantsOfPage.length - 1] ?? null;
      }
      expect(rows.find((r) => r.connector_account === account.id)).toMatchObject({ merchant_id: MERCHANT_A, health: { state: "closed" } });
      expect(rows.filter((r) => r.merchant_id === plain.id)).toEqual([expect.objectContaining({ connector: "sandbox", connector_account: null, health: expect.objectContaining({ calls: 1 }) })]);
      // With Merchant-Id: that merchant's accounts only.
      const one = await get<ListJson<{ merchant_id: string }>>("/v1/admin/psp_health", { ...bearer(token), headers: { "Merchant-Id": MERCHANT_A } });
      expect(one.status).toBe(200);
      expect(one.body.data.every((r) => r.merchant_id === MERCHANT_A)).toBe(true);
    }
    // A merchant's own token without a merchant is not an operator.
    const merchantToken = await hsToken({ roles: ["merchant"], merchant: null });
    expect((await get("/v1/admin/psp_health", bearer(merchantToken))).status).toBeGreaterThanOrEqual(400);
    expect((await get("/v1/admin/psp_health", { key: KEY_A })).status).toBe(200);
  });
});

describe("object shapes", () => {
  it("a decline names its failed charge, in the error and in last_payment_error.charge, and the charge reads back as failed", async () => {
    const pi = (await createIntent()).body;
    const res = await post<{ error: { charge?: string; payment_intent?: PaymentIntentJson } }>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_chargeDeclinedInsufficientFunds" });
    expect(res.status).toBe(402);
    const chargeId = res.body.error.charge;
    expect(chargeId).toMatch(/^ch_[A-Za-z0-9]{48}$/);
    expect(res.body.error.payment_intent?.last_payment_error?.charge).toBe(chargeId);
    const declined = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(declined.last_payment_error?.charge).toBe(chargeId);
    // As at Stripe, the failed charge is the intent's latest charge until another is made.
    expect(declined.latest_charge).toBe(chargeId);
    expect(res.body.error.payment_intent?.latest_charge).toBe(chargeId);
    const expanded = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}?expand[]=latest_charge`)).body;
    expect(expanded.latest_charge).toMatchObject({ object: "charge", id: chargeId, status: "failed", paid: false });
    const charge = await get<ChargeJson>(`/v1/charges/${chargeId}`);
    expect(charge.status, JSON.stringify(charge.body)).toBe(200);
    expect(charge.body).toMatchObject({ id: chargeId, status: "failed", paid: false, captured: false, failure_code: "card_declined", payment_intent: pi.id, outcome: { type: "issuer_declined", reason: "insufficient_funds" } });
    // A later success is the intent's charge; the failed one stays readable.
    const ok = (await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" })).body;
    expect(ok.latest_charge).not.toBe(chargeId);
    expect(ok.latest_charge).toBe(`ch_${pi.id.slice(3)}`);
    expect((await get<ChargeJson>(`/v1/charges/${chargeId}`)).body.status).toBe("failed");
    expect((await get<ChargeJson>(`/v1/charges/${String(ok.latest_charge)}`)).body.status).toBe("succeeded");
    // Both are listed, newest first, as Stripe lists an intent's charges.
    const listed = (await get<ListJson<ChargeJson>>(`/v1/charges?payment_intent=${pi.id}`)).body.data;
    expect(listed.map((c) => [c.id, c.status])).toEqual([
      [String(ok.latest_charge), "succeeded"],
      [chargeId, "failed"],
    ]);
    const page = (await get<ListJson<ChargeJson>>(`/v1/charges?payment_intent=${pi.id}&limit=1&starting_after=${String(ok.latest_charge)}`)).body;
    expect(page.data.map((c) => c.id)).toEqual([chargeId]);
    // A refund cannot name the failed charge.
    expect((await post("/v1/refunds", { charge: chargeId })).status).toBeGreaterThanOrEqual(400);
  });

  it("refunds expand charge and payment_intent, and carry failure_reason only when failed", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_visa", confirm: true })).body;
    const created = await post<{ id: string; charge: ChargeJson; payment_intent: PaymentIntentJson; failure_reason?: string }>("/v1/refunds", { payment_intent: pi.id, amount: 500, expand: ["charge", "payment_intent"] });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.charge).toMatchObject({ object: "charge", id: pi.latest_charge });
    expect(created.body.payment_intent).toMatchObject({ object: "payment_intent", id: pi.id });
    expect("failure_reason" in created.body).toBe(false);
    const got = await get<{ charge: ChargeJson }>(`/v1/refunds/${created.body.id}?expand[]=charge`);
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    expect(got.body.charge.object).toBe("charge");
    // Stripe's balance_transaction expands, to null here (no balance transactions); a field that is not expandable is a 400.
    expect((await get<{ balance_transaction: unknown }>(`/v1/refunds/${created.body.id}?expand[]=balance_transaction`)).body.balance_transaction).toBeNull();
    expectError(await get(`/v1/refunds/${created.body.id}?expand[]=amount`), 400);
  });

  it("intents expand customer, also nested in lists (data.customer)", async () => {
    const customer = (await post<{ id: string }>("/v1/customers", { name: "Expand Me", email: "expand@example.com" })).body;
    const pi = (await createIntent({ customer: customer.id, expand: ["customer"] })).body;
    expect(pi.customer).toMatchObject({ id: customer.id, object: "customer", name: "Expand Me" });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}?expand[]=customer`)).body.customer).toMatchObject({ id: customer.id, object: "customer" });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.customer).toBe(customer.id);
    const list = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents?customer=${customer.id}&expand[]=data.customer`);
    expect(list.body.data[0]?.customer).toMatchObject({ id: customer.id, object: "customer" });
  });
});

describe("search with OR", () => {
  it("payment intents: clauses joined by OR; mixing AND and OR is a 400 as at Stripe", async () => {
    const tag = `or-${Date.now()}`;
    const a = (await createIntent({ order_id: `${tag}-a` })).body;
    const b = (await createIntent({ order_id: `${tag}-b` })).body;
    await createIntent({ order_id: `${tag}-c` });
    const q = encodeURIComponent(`order_id:"${tag}-a" OR order_id:"${tag}-b"`);
    const res = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents/search?query=${q}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.map((p) => p.id).sort()).toEqual([a.id, b.id].sort());
    const mixed = expectError(await get(`/v1/payment_intents/search?query=${encodeURIComponent(`order_id:"${tag}-a" OR order_id:"${tag}-b" AND amount>0`)}`), 400, "search_query_invalid");
    expect(mixed.message).toMatch(/mix AND and OR/);
  });

  it("customers: OR too", async () => {
    const tag = `or${Date.now()}`;
    const x = (await post<{ id: string }>("/v1/customers", { email: `${tag}-x@example.com` })).body;
    const y = (await post<{ id: string }>("/v1/customers", { email: `${tag}-y@example.com` })).body;
    const res = await get<ListJson<{ id: string }>>(`/v1/customers/search?query=${encodeURIComponent(`email:'${tag}-x@example.com' OR email:'${tag}-y@example.com'`)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.map((c) => c.id).sort()).toEqual([x.id, y.id].sort());
  });
});

describe("billing object shapes", () => {
  it("subscription items carry id, object, created, metadata, subscription and a price object; invoices carry totals and line ids", async () => {
    const customer = (await post<{ id: string }>("/v1/customers", { email: "items@example.com" })).body;
    await post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true });
    const price = (await post<{ id: string }>("/v1/prices", { unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Shapes" } })).body;
    const sub = await call<{
      id: string;
      items: { object: string; has_more: boolean; url: string; data: { id: string; object: string; created: number; metadata: object; subscription: string; quantity: number; price: { id: string; object: string; unit_amount: number } }[] };
      latest_invoice: { id: string; total: number; subtotal: number; amount_remaining: number; amount_paid: number; lines: { has_more: boolean; url: string; data: { id: string; currency: string; amount: number }[] } };
    }>("POST", "/v1/subscriptions", { form: `customer=${customer.id}&items[0][price]=${price.id}&expand[]=latest_invoice&collection_method=charge_automatically&description=x&off_session=True&proration_behavior=none` });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const item = sub.body.items.data[0];
    expect(sub.body.items).toMatchObject({ object: "list", has_more: false, url: `/v1/subscription_items?subscription=${sub.body.id}` });
    expect(item).toMatchObject({ object: "subscription_item", metadata: {}, subscription: sub.body.id, quantity: 1, price: { id: price.id, object: "price", unit_amount: 1500 } });
    expect(item?.id).toMatch(/^si_/);
    expect(item?.created).toBeTypeOf("number");
    const invoice = sub.body.latest_invoice;
    expect(invoice).toMatchObject({ total: 1500, subtotal: 1500, amount_paid: 1500, amount_remaining: 0 });
    expect(invoice.lines).toMatchObject({ has_more: false, url: `/v1/invoices/${invoice.id}/lines` });
    expect(invoice.lines.data[0]).toMatchObject({ currency: "usd", amount: 1500 });
    expect(invoice.lines.data[0]?.id).toMatch(/^il_/);
    // The list URLs answer.
    expect((await get<ListJson<{ id: string }>>(sub.body.items.url)).body.data.map((i) => i.id)).toEqual([item?.id]);
    expect((await get<{ id: string }>(`/v1/subscription_items/${item?.id}`)).body.id).toBe(item?.id);
    expect((await get<ListJson<{ id: string }>>(invoice.lines.url)).body.data[0]?.id).toBe(invoice.lines.data[0]?.id);
    expectError(await get("/v1/subscription_items/si_doesnotexist1234"), 404);
    // The behaviours not served are refused clearly (default_incomplete: test/billing/subscriptions.test.ts).
    expect(expectError(await call("POST", "/v1/subscriptions", { form: `customer=${customer.id}&items[0][price]=${price.id}&payment_behavior=error_if_incomplete` }), 400, "parameter_not_supported").param).toBe("payment_behavior");
    expect((await call("POST", "/v1/subscriptions", { form: `customer=${customer.id}&items[0][price]=${price.id}&payment_behavior=allow_incomplete` })).status).toBe(200);
  });
});

describe("/v1/products", () => {
  it("creates, reads, updates and lists products; prices point at them (product=, or product_data makes one)", async () => {
    const product = await call<{ id: string; object: string; name: string; active: boolean; images: string[] }>("POST", "/v1/products", { form: "name=Gold plan&description=The best&images[]=https://example.com/a.png&metadata[tier]=gold" });
    expect(product.status, JSON.stringify(product.body)).toBe(200);
    expect(product.body).toMatchObject({ object: "product", name: "Gold plan", active: true, images: [] });
    expect(product.body.id).toMatch(/^prod_/);
    const price = await post<{ id: string; product: string; product_name: string }>("/v1/prices", { unit_amount: 900, currency: "usd", recurring: { interval: "month" }, product: product.body.id });
    expect(price.status, JSON.stringify(price.body)).toBe(200);
    expect(price.body).toMatchObject({ product: product.body.id, product_name: "Gold plan" });
    const inline = (await post<{ product: string }>("/v1/prices", { unit_amount: 500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Inline" } })).body;
    expect((await get<{ name: string }>(`/v1/products/${inline.product}`)).body.name).toBe("Inline");
    expect((await get<ListJson<{ id: string }>>(`/v1/prices?product=${product.body.id}`)).body.data.map((p) => p.id)).toEqual([price.body.id]);
    // expand: the product as an object (create, retrieve, and data.product on a list), as at Stripe.
    const made = await post<{ product: { id: string; object: string; name: string } }>("/v1/prices", { unit_amount: 700, currency: "usd", product: product.body.id, expand: ["product"] });
    expect(made.body.product).toMatchObject({ id: product.body.id, object: "product", name: "Gold plan" });
    expect((await get<{ product: { object: string } }>(`/v1/prices/${price.body.id}?expand[]=product`)).body.product.object).toBe("product");
    expect((await get<{ product: string }>(`/v1/prices/${price.body.id}`)).body.product).toBe(product.body.id);
    const listed = (await get<ListJson<{ product: { id: string } }>>(`/v1/prices?product=${product.body.id}&expand[]=data.product`)).body.data;
    expect(listed.map((p) => p.product.id)).toEqual([product.body.id, product.body.id]);
    expectError(await get(`/v1/prices/${price.body.id}?expand[]=currency_options`), 400);
    const updated = await post<{ name: string; active: boolean; metadata: Record<string, string> }>(`/v1/products/${product.body.id}`, { name: "Gold", active: false, metadata: { tier: "", x: "1" } });
    expect(updated.body).toMatchObject({ name: "Gold", active: false, metadata: { x: "1" } });
    // metadata="" unsets every key, as at Stripe (stripe-node sends it for metadata: ''), form-encoded or JSON.
    const cleared = await call<{ metadata: Record<string, string> }>("POST", `/v1/products/${product.body.id}`, { form: "metadata=" });
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200);
    expect(cleared.body.metadata).toEqual({});
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 700, currency: "usd", metadata: { a: "1", b: "2" } })).body;
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, { metadata: "" })).body.metadata).toEqual({});
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, { metadata: { c: "3" } })).body.metadata).toEqual({ c: "3" });
    expectError(await post(`/v1/payment_intents/${pi.id}`, { metadata: { "\u0000all": "" } }), 400);
    expectError(await post(`/v1/payment_intents/${pi.id}`, { metadata: "x" }), 400);
    expect((await get<ListJson<{ id: string }>>("/v1/products?limit=100")).body.data.map((p) => p.id)).toContain(product.body.id);
    expectError(await post("/v1/prices", { unit_amount: 900, currency: "usd", recurring: { interval: "month" }, product: "prod_doesnotexist123" }), 400, "resource_missing");
    expectError(await post("/v1/products", { name: "x", id: "my_product" }), 400, "parameter_not_supported");
    expectError(await get("/v1/products/prod_doesnotexist123"), 404);
    const doc = await get<{ paths: Record<string, unknown> }>("/openapi.json");
    expect(doc.status).toBe(200);
    for (const path of ["/v1/products", "/v1/products/{id}", "/v1/subscription_items", "/v1/invoices/{id}/lines"]) expect(doc.body.paths[path], path).toBeDefined();
  });
});

describe("Stripe-Account (Connect)", () => {
  it("naming another account is a 400 that changes nothing, never the caller's own data; the caller's own account id is accepted", async () => {
    const before = (await get<ListJson<{ id: string }>>("/v1/customers?limit=1")).body.data.map((c) => c.id);
    const read = expectError(await get("/v1/customers", { headers: { "stripe-account": "acct_connected123" } }), 400, "stripe_account_not_supported");
    expect(read.message).toContain("Stripe-Account");
    expectError(await post("/v1/customers", { email: "connect@example.com" }, { headers: { "stripe-account": "acct_connected123" } }), 400, "stripe_account_not_supported");
    expect((await get<ListJson<{ id: string }>>("/v1/customers?limit=1")).body.data.map((c) => c.id)).toEqual(before);
    expect((await get("/v1/customers?limit=1", { headers: { "stripe-account": MERCHANT_A } })).status).toBe(200);
  });
});

describe("card errors as stripe-node reads them", () => {
  it("a decline carries the declined payment method (err.payment_method), beside the intent and the failed charge", async () => {
    const error = await stripeClient()
      .paymentIntents.create({ amount: 2000, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    const card = error as Stripe.errors.StripeCardError;
    expect(card.payment_method).toMatchObject({ object: "payment_method", type: "card", card: { last4: "0002" } });
    expect(card.payment_intent?.last_payment_error?.payment_method?.id).toBe(card.payment_method?.id);
    expect(card.charge).toMatch(/^ch_/);
  });
});

describe("error types as Stripe's API has them", () => {
  it("a 401, 403 and 429 say invalid_request_error (Stripe's enum has four types); stripe-node still raises its class by the status", async () => {
    const unauthenticated = expectError(await get("/v1/payment_intents", { key: "sk_test_doesnotexist" }), 401);
    expect(unauthenticated.type).toBe("invalid_request_error");
    const error = await stripeClient("sk_test_doesnotexist")
      .paymentIntents.list()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const viewer = bearer(await hsToken({ permissions: ["payments.transactions.view"] }));
    const forbidden = await stripeClient(viewer.key ?? "")
      .customers.create({ email: "x@example.com" })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(forbidden).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect((forbidden as Stripe.errors.StripePermissionError).type).toBe("StripePermissionError");
  });
});

describe("capture_method=automatic_async", () => {
  it("captures as automatic does and is echoed as given (create, confirm, update back to automatic)", async () => {
    const paid = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1200, currency: "usd", capture_method: "automatic_async", payment_method: "pm_card_visa", confirm: true });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: "succeeded", capture_method: "automatic_async", amount_received: 1200 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${paid.body.id}`)).body.capture_method).toBe("automatic_async");

    const open = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 900, currency: "usd", capture_method: "automatic_async" })).body;
    expect(open.capture_method).toBe("automatic_async");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${open.id}`, { capture_method: "automatic" })).body.capture_method).toBe("automatic");
    const confirmed = await post<PaymentIntentJson>(`/v1/payment_intents/${open.id}/confirm`, { payment_method: "pm_card_visa", capture_method: "automatic_async" });
    expect(confirmed.body).toMatchObject({ status: "succeeded", capture_method: "automatic_async" });
    // Without it, automatic as before.
    expect((await post<PaymentIntentJson>("/v1/payment_intents", { amount: 900, currency: "usd" })).body.capture_method).toBe("automatic");
  });
});

describe("retries as stripe-node makes them", () => {
  it("a 429 lock_timeout says Stripe-Should-Retry: true, so a client with maxNetworkRetries retries it (it retries a 429 only when told)", async () => {
    const m = await newMerchant("lock-timeout-retry");
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "lock-timeout@example.com" }, m.opts));
    await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Lock" } }, m.opts));
    const sub = await ok(post<{ id: string }>("/v1/subscriptions", { customer: customer.id, items: [{ price: price.id }] }, m.opts));
    // Updates racing on one subscription: some lose every compare and are answered 429, each telling the client to retry.
    const raw = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`/v1/subscriptions/${sub.id}`, { metadata: { [`raw${i}`]: "v" } }, m.opts)));
    expect(raw.map((a) => a.status).filter((status) => status !== 200 && status !== 429)).toEqual([]);
    for (const a of raw.filter((a) => a.status === 429)) expect(a.headers.get("stripe-should-retry")).toBe("true");
    // The same race through stripe-node with retries on: every update ends applied, none reaches the caller as an error.
    const stripe = stripeClient(m.key, { maxNetworkRetries: 3 });
    const answers = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => stripe.subscriptions.update(sub.id, { metadata: { [`k${i}`]: "v" } })));
    expect(answers.filter((a) => a.status === "rejected").map((a) => String((a as PromiseRejectedResult).reason))).toEqual([]);
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(Object.keys(after.metadata).filter((k) => k.startsWith("k"))).toHaveLength(20);
  });
});

describe("stripe.charges.capture (POST /v1/charges/{id}/capture)", () => {
  it("captures the charge's payment intent, all or `amount` of it, once, and answers the charge; refusals in the charge's words", async () => {
    const stripe = stripeClient();
    const held = await stripe.paymentIntents.create({ amount: 1000, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    const chargeId = String(held.latest_charge);
    const fail = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as Stripe.errors.StripeError);
    const tooMuch = await fail(stripe.charges.capture(chargeId, { amount: 5000 }));
    expect(tooMuch).toMatchObject({ statusCode: 400, code: "amount_too_large", param: "amount" });
    const charge = await stripe.charges.capture(chargeId, { amount: 700, expand: ["payment_intent"] });
    expect(charge).toMatchObject({ object: "charge", id: chargeId, captured: true, amount: 1000, amount_captured: 700, amount_refunded: 300, status: "succeeded" });
    expect(charge.payment_intent).toMatchObject({ id: held.id, status: "succeeded", amount_received: 700 });
    expect(await fail(stripe.charges.capture(chargeId))).toMatchObject({ statusCode: 400, code: "charge_already_captured", message: `Charge ${chargeId} has already been captured.` });
    // A voided authorization's charge was given back whole.
    const voided = await stripe.paymentIntents.create({ amount: 800, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    await stripe.paymentIntents.cancel(voided.id);
    expect(await fail(stripe.charges.capture(String(voided.latest_charge)))).toMatchObject({ statusCode: 400, code: "charge_already_refunded" });
    // Unknown, and another merchant's: the charge is missing; nothing moved.
    expect(await fail(stripe.charges.capture("ch_nope"))).toMatchObject({ statusCode: 404, code: "resource_missing" });
    const other = await stripe.paymentIntents.create({ amount: 600, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    expect(await fail(stripeClient(KEY_B).charges.capture(String(other.latest_charge)))).toMatchObject({ statusCode: 404, code: "resource_missing" });
    expect((await stripe.paymentIntents.retrieve(other.id)).status).toBe("requires_capture");
    // A declined authorization's failed charge holds nothing to capture.
    const declined = await fail(stripe.paymentIntents.create({ amount: 500, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true, capture_method: "manual" }));
    expect(await fail(stripe.charges.capture(String(declined?.charge)))).toMatchObject({ statusCode: 400, type: "StripeInvalidRequestError" });
  });
});

describe("search results' total_count (expand[]=total_count)", () => {
  it("counts every match, not the page (an OR's union once each), only when expanded, beside data.<field> expansions", async () => {
    const m = await newMerchant("search-total-count");
    const stripe = stripeClient(m.key);
    const customer = await stripe.customers.create({ email: "total@example.com", metadata: { cohort: "t1" } });
    await stripe.customers.create({ email: "total2@example.com", metadata: { cohort: "t1" } });
    await stripe.customers.create({ email: "total3@example.com", metadata: { cohort: "t2" } });
    for (let i = 0; i < 5; i++) await stripe.paymentIntents.create({ amount: 100 + i, currency: "usd", customer: customer.id, metadata: { batch: i < 3 ? "x" : "y" } });
    await stripe.paymentIntents.create({ amount: 900, currency: "usd", metadata: { batch: "x" } });

    const page = await stripe.paymentIntents.search({ query: `customer:'${customer.id}'`, limit: 2, expand: ["total_count", "data.customer"] });
    expect(page).toMatchObject({ object: "search_result", total_count: 5, has_more: true });
    expect(page.data).toHaveLength(2);
    expect(page.data[0]?.customer).toMatchObject({ id: customer.id, object: "customer" });
    // Three of the customer's and one without a customer carry batch x: the OR's union holds 6, each once.
    expect((await stripe.paymentIntents.search({ query: `customer:'${customer.id}' OR metadata['batch']:'x'`, limit: 1, expand: ["total_count"] })).total_count).toBe(6);
    expect((await stripe.paymentIntents.search({ query: `metadata['batch']:'y'`, expand: ["total_count"] })).total_count).toBe(2);
    expect("total_count" in (await stripe.paymentIntents.search({ query: `customer:'${customer.id}'`, limit: 2 }))).toBe(false);

    expect((await stripe.customers.search({ query: `metadata['cohort']:'t1'`, limit: 1, expand: ["total_count"] })).total_count).toBe(2);
    expect((await stripe.customers.search({ query: `email:'total@example.com' OR email:'total3@example.com'`, expand: ["total_count"] })).total_count).toBe(2);
    expect((await stripe.customers.search({ query: `email:'nobody@example.com'`, expand: ["total_count"] })).total_count).toBe(0);
    // A list has no total_count (Stripe's lists do not): still a 400 there.
    const raw = await get(`/v1/payment_intents?expand[]=total_count`, m.opts);
    expectError(raw, 400);
  });
});

describe("includable lists expanded where they are nested", () => {
  it("a refund's charge.refunds and payment_intent.latest_charge.refunds, an intent's or a charge's customer.subscriptions: rendered, never dropped from a 200", async () => {
    const m = await newMerchant("nested-includes");
    const stripe = stripeClient(m.key);
    const customer = await stripe.customers.create({ email: "nested@example.com", payment_method: "pm_card_visa" });
    const [card] = (await stripe.customers.listPaymentMethods(customer.id)).data;
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: card?.id } });
    const price = await stripe.prices.create({ unit_amount: 700, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Nested" } });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const paid = await stripe.paymentIntents.create({ amount: 900, currency: "usd", customer: customer.id, payment_method: "pm_card_visa", confirm: true });
    const refund = await stripe.refunds.create({ payment_intent: paid.id, amount: 100 });

    const read = await stripe.refunds.retrieve(refund.id, { expand: ["charge.refunds", "payment_intent.latest_charge.refunds", "charge.customer.subscriptions"] });
    const charge = read.charge as Stripe.Charge;
    expect(charge.refunds).toMatchObject({ object: "list", total_count: 1, url: `/v1/charges/${charge.id}/refunds` });
    expect(charge.refunds?.data.map((r) => r.id)).toEqual([refund.id]);
    const latest = (read.payment_intent as Stripe.PaymentIntent).latest_charge as Stripe.Charge;
    expect(latest.refunds?.data.map((r) => r.id)).toEqual([refund.id]);
    expect((charge.customer as Stripe.Customer).subscriptions?.data.map((s) => s.id)).toEqual([sub.id]);

    const intent = await stripe.paymentIntents.retrieve(paid.id, { expand: ["customer.subscriptions"] });
    expect((intent.customer as Stripe.Customer).subscriptions).toMatchObject({ object: "list", url: `/v1/customers/${customer.id}/subscriptions` });
    const listed = await stripe.paymentIntents.list({ customer: customer.id, expand: ["data.customer.subscriptions"] });
    expect((listed.data[0]?.customer as Stripe.Customer).subscriptions?.data.map((s) => s.id)).toEqual([sub.id]);
    // A route's own rendering stays: the charge's refunds expanded at the top.
    expect((await stripe.charges.retrieve(charge.id, { expand: ["refunds"] })).refunds?.data.map((r) => r.id)).toEqual([refund.id]);
  });
});
