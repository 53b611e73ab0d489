// Seed 004: requests sent at once with the same Idempotency-Key are answered alike on every route. On
// create-customer, create-subscription and cancel-subscription (their answers kept in D1) a request
// that finds its key held by the same request still running waits for it and answers its result as a
// replay (Idempotent-Replayed: true), as the intent's object does on the other routes; never the 409
// the seed does not have. Still running after IDEMPOTENCY_WAIT_MS: a 500 that says to send it again.
// The waits are given here (IDEMPOTENCY_WAIT_MS of the request's env), so no outcome depends on how
// fast the machine is: a long one where the first request must be waited for, a short one where the
// key is held (in D1) by a request that never finishes.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectOneRunAndReplays, get, newMerchant, post, sendWithWait, type CallOptions, type KeyedAnswer, type ListJson } from "../../helpers";

const P = "/api/v1/payments";
type J = Record<string, unknown>;

/** A seed 004 request through the Worker, its env's IDEMPOTENCY_WAIT_MS set to `waitMs`. */
const send = (path: string, body: unknown, apiKey: string, idempotencyKey: string, waitMs: number): Promise<KeyedAnswer> => sendWithWait(`${P}${path}`, { json: body }, apiKey, idempotencyKey, waitMs);

/** Longer than a request here ever takes: the first request with a key is always waited for. */
const LONG = 120_000;

async function setup(label: string): Promise<{ merchantId: string; apiKey: string; opts: CallOptions; customer: string; price: string }> {
  const { id, key, opts } = await newMerchant(label);
  const customer = await post<J>(`${P}/stripe/create-customer/`, { email: `${label}@example.com` }, opts);
  expect(customer.status).toBe(200);
  const price = await post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro" } }, opts);
  expect(price.status).toBe(200);
  return { merchantId: id, apiKey: key, opts, customer: String(customer.body.customer_id), price: price.body.id };
}

const idempotencyState = (merchantId: string, key: string, state: "in_flight" | "done") =>
  env.DB.prepare("UPDATE idempotency_keys SET state = ?1 WHERE merchant_id = ?2 AND key = ?3").bind(state, merchantId, key).run();

describe("seed 004: the same Idempotency-Key at once on the routes whose answers D1 keeps", () => {
  it("five create-subscription at once with one key: all 200 with the same subscription (four replayed), one subscription, one invoice", async () => {
    const s = await setup("s4-wait-sub");
    const body = { customer_id: s.customer, price_id: s.price, payment_method: "pm_card_visa" };
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => send("/stripe/create-subscription/", body, s.apiKey, "s4-wait-sub", LONG)));
    const first = expectOneRunAndReplays(answers);
    expect(first).toMatchObject({ status: "active" });
    expect(String(first.subscription_id)).toMatch(/^sub_/);
    expect((await get<ListJson<unknown>>(`/v1/subscriptions?customer=${s.customer}`, s.opts)).body.data).toHaveLength(1);
    expect((await get<ListJson<unknown>>(`/v1/invoices?customer=${s.customer}`, s.opts)).body.data).toHaveLength(1);

    // The key keeps its first request: another body with it has its existing answer.
    const other = await send("/stripe/create-subscription/", { ...body, metadata: { x: "y" } }, s.apiKey, "s4-wait-sub", LONG);
    expect(other.status, JSON.stringify(other.body)).toBe(409);
    expect(Object.keys(other.body)).toEqual(["error"]);

    // cancel-subscription alike: one cancellation, the same answer five times.
    const cancels = await Promise.all([1, 2, 3, 4, 5].map(() => send("/stripe/cancel-subscription/", { subscription_id: first.subscription_id }, s.apiKey, "s4-wait-cancel", LONG)));
    expect(expectOneRunAndReplays(cancels)).toMatchObject({ subscription_id: first.subscription_id, status: "canceled" });
  });

  it("five create-customer at once with one key: all 200 with the same customer, one customer", async () => {
    const { key, opts } = await newMerchant("s4-wait-cus");
    const body = { email: "together@example.com", name: "Together" };
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => send("/stripe/create-customer/", body, key, "s4-wait-cus", LONG)));
    expect(String(expectOneRunAndReplays(answers).customer_id)).toMatch(/^cus_/);
    expect((await get<ListJson<unknown>>("/v1/customers?email=together@example.com", opts)).body.data).toHaveLength(1);
  });

  it("a key held by a request that has not finished: waited for, then its answer replayed; never finished within the wait, a 500 saying to send it again", async () => {
    const s = await setup("s4-wait-held");
    const body = { customer_id: s.customer, price_id: s.price, payment_method: "pm_card_visa" };
    const done = await send("/stripe/create-subscription/", body, s.apiKey, "s4-held", LONG);
    expect(done.status, JSON.stringify(done.body)).toBe(200);

    // The key as a request still running holds it: the same request waits, and answers once it is done.
    await idempotencyState(s.merchantId, "s4-held", "in_flight");
    const waiting = send("/stripe/create-subscription/", body, s.apiKey, "s4-held", LONG);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await idempotencyState(s.merchantId, "s4-held", "done");
    const replayed = await waiting;
    expect(replayed.status, JSON.stringify(replayed.body)).toBe(200);
    expect(replayed.body).toEqual(done.body);
    expect(replayed.replayed).toBe("true");

    // Never done within the wait: the seed's 500, in its format, saying to send it again with the key.
    await idempotencyState(s.merchantId, "s4-held", "in_flight");
    const busy = await send("/stripe/create-subscription/", body, s.apiKey, "s4-held", 50);
    expect(busy.status, JSON.stringify(busy.body)).toBe(500);
    expect(Object.keys(busy.body)).toEqual(["error"]);
    expect(String(busy.body.error)).toContain("Another request with the Idempotency-Key 's4-held' is still in progress");
    expect(String(busy.body.error)).toContain("Retry with the same Idempotency-Key");
    expect((await get<ListJson<unknown>>(`/v1/subscriptions?customer=${s.customer}`, s.opts)).body.data).toHaveLength(1);
  });
});
