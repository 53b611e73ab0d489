import { describe, expect, it } from "vitest";
import { createIntent, get, post, type PaymentIntentJson } from "../helpers";

describe("smoke", () => {
  it("creates and confirms", async () => {
    const created = await createIntent({ payment_method: "pm_card_visa" });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const confirmed = await post<PaymentIntentJson>(`/v1/payment_intents/${created.body.id}/confirm`, {});
    expect(confirmed.body.status).toBe("succeeded");
    const fetched = await get<PaymentIntentJson>(`/v1/payment_intents/${created.body.id}`);
    expect(fetched.body.amount_received).toBe(2000);
  });
});
