// Seed 004's get-order for a merchant's own PayPal account: an order whose payer approved at PayPal
// (in PayPal's popup, the JS SDK's flow, which never comes back through a return page) reads APPROVED,
// as PayPal's own GET order says, not CREATED; the read moves nothing, and capture-order then captures it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addConnector, get, newMerchant, post, uniqueKey, type ListJson, type TransactionJson } from "../../helpers";
import { paypalLedger } from "../../chaos/harness";

type J = Record<string, unknown>;
const P = "/api/v1/payments";

describe("seed 004 get-order on a merchant's PayPal account", () => {
  it("reads the payer's approval from PayPal (APPROVED, not CREATED), changes nothing, and capture-order completes it", async () => {
    const { opts } = await newMerchant("s4-paypal-at-paypal");
    const clientId = uniqueKey("client-s4-at-paypal").replace(/[^A-Za-z0-9-]/g, "");
    await addConnector(opts, { connector: "paypal", credentials: { client_id: clientId, client_secret: "paypal-secret-9876" } });
    const order = await post<J>(`${P}/paypal/create-order/`, { amount: 12.5, currency: "USD" }, opts);
    expect(order.status, JSON.stringify(order.body)).toBe(200);
    const orderId = String(order.body.order_id);
    const approvalUrl = String(order.body.approval_url);
    expect(approvalUrl).toContain(`${env.PAYPAL_API_BASE}/checkoutnow?token=`);
    const read = async () => (await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body;
    expect((await read()).status).toBe("CREATED");

    // The payer approves at PayPal and closes the popup: the return page is never visited.
    expect((await fetch(approvalUrl, { redirect: "manual" })).status).toBe(302);
    const approved = await read();
    expect(approved.status).toBe("APPROVED");
    // Read twice: still only a read (the payment waits, nothing was captured at PayPal).
    expect((await read()).status).toBe("APPROVED");
    const history = async () => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${orderId}/transactions`, opts)).body.data.map((t) => `${t.type}:${t.status}`);
    expect(await history()).toEqual(["authorize:requires_action"]);
    expect((await paypalLedger(orderId)).orders.flatMap((o) => o.captures)).toEqual([]);

    const captured = await post<J>(`${P}/paypal/capture-order/`, { order_id: orderId }, opts);
    expect(captured.body).toMatchObject({ captured: true, status: "COMPLETED" });
    expect((await read()).status).toBe("COMPLETED");
    expect(await history()).toEqual(["authorize:requires_action", "authorize:succeeded"]);
  });
});
