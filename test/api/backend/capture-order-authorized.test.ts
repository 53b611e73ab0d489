// Seed 004: capture-order on a PayPal order whose intent is an authorization (capture_method manual,
// PayPal's intent AUTHORIZE). It answered `200 {captured: true, status: COMPLETED, capture_id: ch_...}`
// while nothing was captured: the intent stayed requires_capture with amount_received 0, get-order said
// COMPLETED with no captures, and refund-payment refused the capture_id it had been given. capture-order
// now captures the authorization through the intent's object (full amount, once, even when two
// capture-orders arrive together), and get-order reads APPROVED until then.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decidePayPal, get, newMerchant, post, type CallOptions, type PaymentIntentJson } from "../../helpers";

const P = "/api/v1/payments";
type J = Record<string, unknown>;

/**
 * A PayPal payment with manual capture, the payer having approved on the sandbox's PayPal page.
 * `comeBack`: the payer also came back through the return page (the intent is then authorized,
 * requires_capture); otherwise capture-order completes the approval itself (requires_action until then).
 */
async function authorizedPayPal(opts: CallOptions, comeBack = true): Promise<string> {
  const created = await post<PaymentIntentJson>(
    "/v1/payment_intents",
    { amount: 2000, currency: "usd", capture_method: "manual", payment_method: { type: "paypal" }, confirm: true, return_url: "https://shop.example/r" },
    opts,
  );
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  const approval = (created.body as unknown as { next_action?: { redirect_to_url?: { url?: string } } }).next_action?.redirect_to_url?.url;
  if (!approval) throw new Error(`no approval url: ${JSON.stringify(created.body)}`);
  const decided = await decidePayPal(approval);
  expect(decided.status).toBe(303);
  if (comeBack) {
    const location = decided.headers.get("location") ?? "";
    const secret = new URL(`http://x${location}`).searchParams.get("client_secret") ?? "";
    const back = await exports.default.fetch(new Request(`http://gateway.test${location}`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(secret)}` }));
    // On to the merchant's return_url, the order completed (authorized).
    expect(back.status).toBe(303);
    expect(back.headers.get("location")).toMatch(/^https:\/\/shop\.example\/r/);
  }
  const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${created.body.id}`, opts)).body;
  expect(pi.status).toBe(comeBack ? "requires_capture" : "requires_action");
  return created.body.id;
}

async function intentOf(id: string, opts: CallOptions): Promise<PaymentIntentJson> {
  return (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body;
}

describe("seed 004 capture-order on an authorized PayPal order (intent AUTHORIZE)", () => {
  it("captures the authorization, and the capture_id it answers is refundable", async () => {
    const { opts } = await newMerchant("s4-capture-authorized");
    const orderId = await authorizedPayPal(opts);

    // Authorized, not captured: APPROVED, no capture shown.
    const before = (await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body;
    expect(before).toMatchObject({ status: "APPROVED", intent: "AUTHORIZE" });
    expect((before.purchase_units as J[])[0]?.payments).toBeUndefined();

    const captured = await post<J>(`${P}/paypal/capture-order/`, { order_id: orderId }, opts);
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body).toEqual({ order_id: orderId, captured: true, status: "COMPLETED", capture_id: `ch_${orderId.slice(3)}` });
    const pi = await intentOf(orderId, opts);
    expect(pi.status).toBe("succeeded");
    expect(pi.amount_received).toBe(2000);

    const got = (await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body;
    expect(got.status).toBe("COMPLETED");
    expect((got.purchase_units as J[])[0]?.payments).toMatchObject({ captures: [{ id: captured.body.capture_id, status: "COMPLETED", amount: { currency_code: "USD", value: "20.00" } }] });

    // Asked again: the same completed order, nothing captured twice.
    expect((await post<J>(`${P}/paypal/capture-order/`, { order_id: orderId }, opts)).body).toEqual(captured.body);
    expect((await intentOf(orderId, opts)).amount_received).toBe(2000);

    const refund = await post<J>(`${P}/paypal/refund-payment/`, { capture_id: captured.body.capture_id, amount: 5 }, opts);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body).toMatchObject({ status: "COMPLETED", capture_id: captured.body.capture_id, amount: { value: "5.00" } });
  });

  it("captures an approved order the payer did not come back from (capture-order completes the approval, then captures)", async () => {
    const { opts } = await newMerchant("s4-capture-authorized-direct");
    const orderId = await authorizedPayPal(opts, false);
    expect((await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body.status).toBe("APPROVED");
    const captured = await post<J>(`${P}/paypal/capture-order/`, { order_id: orderId }, opts);
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body).toEqual({ order_id: orderId, captured: true, status: "COMPLETED", capture_id: `ch_${orderId.slice(3)}` });
    const pi = await intentOf(orderId, opts);
    expect(pi.status).toBe("succeeded");
    expect(pi.amount_received).toBe(2000);
    const refund = await post<J>(`${P}/paypal/refund-payment/`, { capture_id: captured.body.capture_id }, opts);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body).toMatchObject({ status: "COMPLETED", amount: { value: "20.00" } });
  });

  it("two capture-orders at once make one capture, both answering the same completed order", async () => {
    const { opts } = await newMerchant("s4-capture-authorized-race");
    const orderId = await authorizedPayPal(opts);
    const [a, b] = await Promise.all([post<J>(`${P}/paypal/capture-order/`, { order_id: orderId }, opts), post<J>(`${P}/paypal/capture-order/`, { order_id: orderId }, opts)]);
    const expected = { order_id: orderId, captured: true, status: "COMPLETED", capture_id: `ch_${orderId.slice(3)}` };
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(b.status, JSON.stringify(b.body)).toBe(200);
    expect(a.body).toEqual(expected);
    expect(b.body).toEqual(expected);
    const pi = await intentOf(orderId, opts);
    expect(pi.status).toBe("succeeded");
    expect(pi.amount_received).toBe(2000);
    const transactions = (await get<{ data: { type: string; status: string }[] }>(`/v1/payment_intents/${orderId}/transactions`, opts)).body.data;
    expect(transactions.filter((t) => t.type === "capture" && t.status === "succeeded")).toHaveLength(1);
  });

  it("a refund before the capture names the order APPROVED and asks for capture-order", async () => {
    const { opts } = await newMerchant("s4-capture-authorized-refund-first");
    const orderId = await authorizedPayPal(opts);
    const early = await post<J>(`${P}/paypal/refund-payment/`, { capture_id: `ch_${orderId.slice(3)}` }, opts);
    expect(early.status).toBe(400);
    expect(early.body).toEqual({ error: `Order ${orderId} has no completed capture to refund: its status is APPROVED. Capture it first (capture-order).` });
    expect((await intentOf(orderId, opts)).amount_received).toBe(0);
  });
});
