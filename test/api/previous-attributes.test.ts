// Stripe's data.previous_attributes on *.updated events: the values the changed fields had before the
// change. A nested object gives only its changed keys (a key added was null), an array is given whole.
import { describe, expect, it } from "vitest";
import { previousAttributes } from "../../src/core/events";
import { get, newMerchant, ok, post, succeededIntent, type ListJson } from "../helpers";

interface EventJson {
  type: string;
  data: { object: { id: string } & Record<string, unknown>; previous_attributes?: Record<string, unknown> };
}

describe("previousAttributes", () => {
  it("answers the old values of what changed, nested objects by key, arrays whole", () => {
    const before = { id: "x", name: "A", metadata: { kept: "1", changed: "old", removed: "gone" }, address: null, shipping: { name: "N", address: { city: "Paris", line1: "1" } }, tags: ["a", "b"], same: ["c"] };
    const after = { id: "x", name: "B", metadata: { kept: "1", changed: "new", added: "yes" }, address: { city: "Lyon" }, shipping: { name: "N", address: { city: "Nice", line1: "1" } }, tags: ["a"], same: ["c"] };
    expect(previousAttributes(before, after)).toEqual({
      name: "A",
      metadata: { changed: "old", removed: "gone", added: null },
      address: null,
      shipping: { address: { city: "Paris" } },
      tags: ["a", "b"],
    });
    expect(previousAttributes({ address: { city: "Paris" } }, { address: null })).toEqual({ address: { city: "Paris" } });
    expect(previousAttributes(before, before)).toEqual({});
  });

  it("reads only the objects' own keys: a metadata key named constructor or toString was added, it did not 'have' Object's function", () => {
    const previous = previousAttributes({ metadata: { a: "1" } }, { metadata: { a: "1", constructor: "y", toString: "z", hasOwnProperty: "w" } });
    expect(previous).toEqual({ metadata: { constructor: null, toString: null, hasOwnProperty: null } });
    expect(() => structuredClone(previous)).not.toThrow();
  });
});

describe("metadata keys named like Object's own (constructor, toString, hasOwnProperty)", () => {
  it("update a charge, a refund and an incremented authorization (they were 500s; the increment's after its PSP had approved it)", async () => {
    const { opts } = await newMerchant("previous-inherited-keys");
    const paid = await succeededIntent(3000, opts);
    const charge = await post<{ metadata: Record<string, string> }>(`/v1/charges/${paid.latest_charge}`, { metadata: { constructor: "y", toString: "z" } }, opts);
    expect(charge.status, JSON.stringify(charge.body)).toBe(200);
    expect(charge.body.metadata).toMatchObject({ constructor: "y", toString: "z" });
    const refund = await ok(post<{ id: string }>("/v1/refunds", { payment_intent: paid.id, amount: 100 }, opts));
    const updated = await post<{ metadata: Record<string, string> }>(`/v1/refunds/${refund.id}`, { metadata: { hasOwnProperty: "w" } }, opts);
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    const held = await ok(
      post<{ id: string }>("/v1/payment_intents", { amount: 1000, currency: "usd", capture_method: "manual", confirm: true, payment_method: "pm_card_visa", payment_method_options: { card: { request_incremental_authorization: "if_available" } } }, opts),
    );
    const incremented = await post<{ amount: number; metadata: Record<string, string> }>(`/v1/payment_intents/${held.id}/increment_authorization`, { amount: 2000, metadata: { constructor: "y" } }, opts);
    expect(incremented.status, JSON.stringify(incremented.body)).toBe(200);
    expect(incremented.body).toMatchObject({ amount: 2000, metadata: { constructor: "y" } });
  });
});

describe("customer.updated and payment_method.updated carry previous_attributes", () => {
  it("a customer's update: its old name, the metadata keys it changed, its old address", async () => {
    const { opts } = await newMerchant("previous-customer");
    const customer = await ok(post<{ id: string }>("/v1/customers", { name: "Jenny Rosen", metadata: { crm: "1" }, address: { city: "Paris", country: "FR" } }, opts));
    await ok(post(`/v1/customers/${customer.id}`, { name: "Jenny R.", metadata: { crm: "2", plan: "pro" }, address: { city: "Lyon", country: "FR" } }, opts));
    const events = (await ok(get<ListJson<EventJson>>("/v1/events?type=customer.updated", opts))).data.filter((e) => e.data.object.id === customer.id);
    expect(events.map((e) => e.data.previous_attributes)).toEqual([{ name: "Jenny Rosen", metadata: { crm: "1", plan: null }, address: { city: "Paris" } }]);
    // The same values again change nothing: nothing written, no event (as at Stripe).
    await ok(post(`/v1/customers/${customer.id}`, { name: "Jenny R.", metadata: { crm: "2" }, address: { city: "Lyon", country: "FR" } }, opts));
    expect((await ok(get<ListJson<EventJson>>("/v1/events?type=customer.updated", opts))).data.filter((e) => e.data.object.id === customer.id)).toHaveLength(1);
    // Other events have none.
    const created = (await ok(get<ListJson<EventJson>>("/v1/events?type=customer.created", opts))).data;
    expect(created.map((e) => "previous_attributes" in e.data)).toEqual([false]);
  });

  it("a payment method renamed: its old nickname", async () => {
    const { opts } = await newMerchant("previous-pm");
    // Saved to a customer: only such a payment method may be updated, as at Stripe.
    const customer = await ok(post<{ id: string }>("/v1/customers", {}, opts));
    const pm = await ok(post<{ id: string }>(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa" }, opts));
    await ok(post(`/v1/payment_methods/${pm.id}`, { nickname: "Work card" }, opts));
    const events = (await ok(get<ListJson<EventJson>>("/v1/events?type=payment_method.updated", opts))).data;
    expect(events.map((e) => e.data.previous_attributes)).toEqual([{ nickname: null }]);
  });

  it("a customer's default card detached: customer.updated says the default it had", async () => {
    const { opts } = await newMerchant("previous-default-detached");
    const customer = await ok(post<{ id: string }>("/v1/customers", {}, opts));
    const pm = await ok(post<{ id: string }>(`/v1/payment_methods/pm_card_visa/attach`, { customer: customer.id }, opts));
    await ok(post(`/v1/customers/${customer.id}`, { invoice_settings: { default_payment_method: pm.id } }, opts));
    await ok(post(`/v1/payment_methods/${pm.id}/detach`, {}, opts));
    const events = (await ok(get<ListJson<EventJson>>("/v1/events?type=customer.updated", opts))).data.filter((e) => e.data.object.id === customer.id);
    // Newest first: the detach's, then the update that set the default.
    expect(events.map((e) => e.data.previous_attributes)).toEqual([{ invoice_settings: { default_payment_method: pm.id } }, { invoice_settings: { default_payment_method: null } }]);
    expect(events[0]?.data.object).toMatchObject({ invoice_settings: { default_payment_method: null } });
  });
});
