// /v1's writes whose answers D1 keeps (customers, subscriptions, webhook endpoints, ...): requests sent
// at once with the same Idempotency-Key and body are answered alike. The first runs; the others wait
// for it (up to IDEMPOTENCY_WAIT_MS) and replay its answer (Idempotent-Replayed: true), as the intent's
// object does on the payment routes; only a request still running after the wait gets 409
// idempotency_key_in_use. The waits are given here (IDEMPOTENCY_WAIT_MS of the request's env), so no
// outcome depends on how fast the machine is: a long one where the first request must be waited for,
// a short one where the key is held by a request that never finishes.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectOneRunAndReplays, get, newMerchant, post, sendWithWait, type ListJson } from "../helpers";

type J = Record<string, unknown>;

/** A /v1 form POST through the Worker, its env's IDEMPOTENCY_WAIT_MS set to `waitMs`. */
const send = (path: string, form: Record<string, string>, apiKey: string, idempotencyKey: string, waitMs: number) => sendWithWait(path, { form }, apiKey, idempotencyKey, waitMs);

/** Longer than a request here ever takes: the first request with a key is always waited for. */
const LONG = 120_000;

describe("/v1: the same Idempotency-Key at once on a write whose answer D1 keeps", () => {
  it("eight customer creations at once: all 200 with one customer (seven replayed), never 409", async () => {
    const m = await newMerchant("v1-wait-cus");
    const answers = await Promise.all(Array.from({ length: 8 }, () => send("/v1/customers", { email: "wait@example.com" }, m.key, "v1-wait-cus", LONG)));
    const first = expectOneRunAndReplays(answers);
    expect(String(first.id)).toMatch(/^cus_/);
    expect((await get<ListJson<unknown>>("/v1/customers", m.opts)).body.data).toHaveLength(1);
  });

  it("eight subscription creations at once: one subscription and one invoice charged, the same answer eight times", async () => {
    const m = await newMerchant("v1-wait-sub");
    const customer = await post<{ id: string }>("/v1/customers", { payment_method: "pm_card_visa", invoice_settings: { default_payment_method: "pm_card_visa" } }, m.opts);
    expect(customer.status, JSON.stringify(customer.body)).toBe(200);
    const price = await post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro" } }, m.opts);
    expect(price.status, JSON.stringify(price.body)).toBe(200);
    const form = { customer: customer.body.id, "items[0][price]": price.body.id };
    const answers = await Promise.all(Array.from({ length: 8 }, () => send("/v1/subscriptions", form, m.key, "v1-wait-sub", LONG)));
    const first = expectOneRunAndReplays(answers);
    expect(first).toMatchObject({ object: "subscription", status: "active" });
    expect((await get<ListJson<unknown>>(`/v1/subscriptions?customer=${customer.body.id}`, m.opts)).body.data).toHaveLength(1);
    expect((await get<ListJson<unknown>>(`/v1/invoices?customer=${customer.body.id}`, m.opts)).body.data).toHaveLength(1);
  });

  it("a key held by a request that never finishes: 409 idempotency_key_in_use once the wait is over; another body: 400 at once", async () => {
    const m = await newMerchant("v1-wait-held");
    const done = await send("/v1/customers", { email: "held@example.com" }, m.key, "v1-wait-held", LONG);
    expect(done.status).toBe(200);
    // Put back in flight, as a request that is still running leaves it.
    await env.DB.prepare("UPDATE idempotency_keys SET state = 'in_flight', response_status = NULL, response_body = NULL WHERE merchant_id = ?").bind(m.id).run();
    const held = await send("/v1/customers", { email: "held@example.com" }, m.key, "v1-wait-held", 50);
    expect(held.status, JSON.stringify(held.body)).toBe(409);
    expect((held.body.error as J).code).toBe("idempotency_key_in_use");
    // The one 409 a retry resolves: not told otherwise (stripe-node retries 409s by itself).
    expect(held.shouldRetry).toBeNull();
    const other = await send("/v1/customers", { email: "other@example.com" }, m.key, "v1-wait-held", LONG);
    expect(other.status, JSON.stringify(other.body)).toBe(400);
    expect((other.body.error as J).code).toBe("idempotency_key_reused");
    expect((await get<ListJson<unknown>>("/v1/customers", m.opts)).body.data).toHaveLength(1);
  });
});
