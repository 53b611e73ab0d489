// Seed 000: a confirm or cancel refused under an Idempotency-Key is that key's answer for 24 hours, as
// on /v1: sent again after the payment's state came to allow it, it is answered the first refusal
// (problem details, Idempotent-Replayed: true) and never runs.
import { describe, expect, it } from "vitest";
import { get, hsToken, MERCHANT_A, rawCall, waitFor, type ListJson, type RawAnswer, type TransactionJson } from "../../helpers";

const BASE = "/api/v1/PaymentIntents";

type Raw = RawAnswer;

interface Intent {
  id: number;
  status: string;
  gatewayIntentId: string;
}

interface Problem {
  status: number;
  title: string;
  detail: string;
}

function send(method: string, path: string, token: string, body?: string, key?: string): Promise<Raw> {
  return rawCall(method, path, { authorization: `Bearer ${token}` }, body, key);
}

const merchantUser = () => hsToken({ roles: ["merchant"], sub: "456", merchant: MERCHANT_A });
const admin = () => hsToken({ roles: ["admin"], merchant: null, sub: "admin-1" });
const key = (what: string) => `seed000-refused-${what}-${Date.now()}-${Math.random()}`;

function expectReplayedRefusal(first: Raw, again: Raw): void {
  expect(first.status, first.text).toBe(400);
  expect(first.headers.get("Idempotent-Replayed")).toBeNull();
  expect(again.status, again.text).toBe(400);
  expect(again.headers.get("content-type")).toContain("application/problem+json");
  expect(again.headers.get("Idempotent-Replayed")).toBe("true");
  expect((again.json as Problem).detail).toBe((first.json as Problem).detail);
  // Byte for byte the first answer, its traceId included (the first request's).
  expect(again.text).toBe(first.text);
}

describe("seed 000: a refusal under an Idempotency-Key is the key's answer, never run later", () => {
  it("a confirm and a cancel refused while the payment is Processing, sent again with their keys once it may be paid or canceled: the 400s replayed, nothing charged or canceled", async () => {
    const token = await merchantUser();
    const created = await send("POST", BASE, token, '{"amount": 12.00, "currency": "EUR"}');
    expect(created.status, created.text).toBe(201);
    const payment = created.json as Intent;
    const confirmPath = `${BASE}/${payment.id}/confirm`;
    const cancelPath = `${BASE}/${payment.id}/cancel`;
    const processing = await send("POST", confirmPath, token, '"pm_card_sandboxTimeoutThenDecline"');
    expect((processing.json as Intent).status, processing.text).toBe("Processing");

    const confirmKey = key("confirm");
    const cancelKey = key("cancel");
    const firstConfirm = await send("POST", confirmPath, token, '"pm_card_visa"', confirmKey);
    const firstCancel = await send("POST", cancelPath, token, undefined, cancelKey);
    expect(firstConfirm.status, firstConfirm.text).toBe(400);
    expect(firstCancel.status, firstCancel.text).toBe(400);
    // Reconciliation learns the payment was declined: it may be paid again, or canceled.
    await waitFor(async () => ((await send("GET", `${BASE}/${payment.id}`, await admin())).json as Intent).status === "RequiresPaymentMethod", 20_000, "the reconciled decline");

    expectReplayedRefusal(firstConfirm, await send("POST", confirmPath, token, '"pm_card_visa"', confirmKey));
    expectReplayedRefusal(firstCancel, await send("POST", cancelPath, token, undefined, cancelKey));
    expect(((await send("GET", `${BASE}/${payment.id}`, await admin())).json as Intent).status).toBe("RequiresPaymentMethod");
    const transactions = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${payment.gatewayIntentId}/transactions`)).body.data;
    expect(transactions.filter((t) => t.status === "succeeded")).toHaveLength(0);

    // A success replayed says so too.
    const paidKey = key("confirm-new");
    const paid = await send("POST", confirmPath, token, '"pm_card_visa"', paidKey);
    expect((paid.json as Intent).status, paid.text).toBe("Succeeded");
    expect(paid.headers.get("Idempotent-Replayed")).toBeNull();
    const paidAgain = await send("POST", confirmPath, token, '"pm_card_visa"', paidKey);
    expect(paidAgain.status).toBe(200);
    expect(paidAgain.headers.get("Idempotent-Replayed")).toBe("true");
    expect(paidAgain.json).toEqual(paid.json);
  });
});
