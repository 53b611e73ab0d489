// Outgoing webhook signatures verify with the `standardwebhooks` package and with stripe's
// constructEventAsync; a tampered body or a stale timestamp does not.
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { newSigningSecret, signPayload } from "../../src/webhooks/signing";

const cryptoProvider = Stripe.createSubtleCryptoProvider();
const body = JSON.stringify({ id: "evt_test123456789", object: "event", type: "payment_intent.succeeded", data: { object: { id: "pi_1" } } });
const now = () => Math.floor(Date.now() / 1000);

describe("webhook signatures", () => {
  it("secrets look like Standard Webhooks secrets", () => {
    expect(newSigningSecret()).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  });

  it("verify with standardwebhooks and with stripe", async () => {
    const secret = newSigningSecret();
    const headers = await signPayload("evt_test123456789", body, [secret], now());
    expect(new Webhook(secret).verify(body, { ...headers })).toMatchObject({ type: "payment_intent.succeeded" });
    const event = await Stripe.webhooks.constructEventAsync(body, headers["stripe-signature"], secret, undefined, cryptoProvider);
    expect(event.id).toBe("evt_test123456789");
  });

  it("a tampered body fails both", async () => {
    const secret = newSigningSecret();
    const headers = await signPayload("evt_test123456789", body, [secret], now());
    const tampered = body.replace("succeeded", "canceled");
    expect(() => new Webhook(secret).verify(tampered, { ...headers })).toThrow();
    await expect(Stripe.webhooks.constructEventAsync(tampered, headers["stripe-signature"], secret, undefined, cryptoProvider)).rejects.toThrow();
  });

  it("a stale timestamp fails both", async () => {
    const secret = newSigningSecret();
    const headers = await signPayload("evt_test123456789", body, [secret], now() - 3600);
    expect(() => new Webhook(secret).verify(body, { ...headers })).toThrow();
    await expect(Stripe.webhooks.constructEventAsync(body, headers["stripe-signature"], secret, 300, cryptoProvider)).rejects.toThrow();
  });

  it("another secret fails both", async () => {
    const headers = await signPayload("evt_test123456789", body, [newSigningSecret()], now());
    const other = newSigningSecret();
    expect(() => new Webhook(other).verify(body, { ...headers })).toThrow();
    await expect(Stripe.webhooks.constructEventAsync(body, headers["stripe-signature"], other, undefined, cryptoProvider)).rejects.toThrow();
  });

  it("during a secret roll both the new and the old secret verify", async () => {
    const fresh = newSigningSecret();
    const old = newSigningSecret();
    const headers = await signPayload("evt_test123456789", body, [fresh, old], now());
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    for (const secret of [fresh, old]) {
      expect(new Webhook(secret).verify(body, { ...headers })).toBeTruthy();
      expect((await Stripe.webhooks.constructEventAsync(body, headers["stripe-signature"], secret, undefined, cryptoProvider)).id).toBe("evt_test123456789");
    }
  });
});
