// End to end: a loopback HTTP server registered as a webhook endpoint receives every event of a full
// payment flow (create, confirm, capture, refund) from a running `wrangler dev`, each signature
// verified with the `standardwebhooks` package.
import { createServer, type Server } from "node:http";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const url = new URL(inject("gatewayUrl"));
const stripe = new Stripe("sk_test_merchant_b", { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });

interface Delivery {
  headers: Record<string, string>;
  body: string;
}

const received: Delivery[] = [];
let server: Server;
let receiverUrl = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      received.push({ headers, body });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  receiverUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/webhooks`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("merchant webhooks end to end", () => {
  it("delivers every event of create, confirm, capture and refund, signed", async () => {
    const endpoint = await stripe.webhookEndpoints.create({ url: receiverUrl, enabled_events: ["*"] });
    expect(endpoint.secret).toMatch(/^whsec_/);
    const secret = endpoint.secret ?? "";

    const pi = await stripe.paymentIntents.create({ amount: 4200, currency: "usd", capture_method: "manual" });
    await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" });
    await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 4000 });
    await stripe.refunds.create({ payment_intent: pi.id, amount: 1000 });

    const expected = [
      "payment_intent.created",
      "charge.succeeded",
      "payment_intent.amount_capturable_updated",
      "charge.captured",
      "payment_intent.succeeded",
      "refund.created",
      "charge.refunded",
    ];
    const deadline = Date.now() + 30_000;
    const mine = () =>
      received
        .map((d) => ({ d, event: new Webhook(secret).verify(d.body, d.headers) as { id: string; type: string; data: { object: { id: string; payment_intent?: string } } } }))
        .filter(({ event }) => event.data.object.id === pi.id || event.data.object.payment_intent === pi.id);
    while (mine().length < expected.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const events = mine().map(({ event }) => event);
    expect(events.map((e) => e.type).sort()).toEqual([...expected].sort());
    expect(new Set(events.map((e) => e.id)).size).toBe(expected.length);
    for (const { d, event } of mine()) {
      expect(d.headers["webhook-id"]).toBe(event.id);
      const viaStripe = await Stripe.webhooks.constructEventAsync(d.body, d.headers["stripe-signature"] ?? "", secret);
      expect(viaStripe.id).toBe(event.id);
    }
    const listed = await stripe.events.list({ type: "charge.refunded" });
    expect(listed.data.some((e) => (e.data.object as { payment_intent?: string }).payment_intent === pi.id)).toBe(true);
    await stripe.webhookEndpoints.del(endpoint.id);
  });
});
