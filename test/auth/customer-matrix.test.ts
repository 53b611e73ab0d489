// The role x operation matrix of payment intents (README "Access control: the role matrix"), every cell.
// A customer (the shopper) creates a payment for itself, confirms it with its own payment method,
// cancels its own unconfirmed one and reads its own: nothing else.
import { describe, expect, it } from "vitest";
import { approverOf, bearer, expectError, get, hsToken, newMerchant, post, type CallOptions, type CallResult, type PaymentIntentJson } from "../helpers";

type Role = "admin" | "support" | "merchant" | "customer";
type Target = "own" | "other";

interface World {
  merchant: CallOptions;
  merchantId: string;
  alice: string;
  bob: string;
  as: Record<Role, CallOptions>;
}

async function world(): Promise<World> {
  const m = await newMerchant("matrix");
  const alice = (await post<{ id: string }>("/v1/customers", { email: "alice@example.com" }, m.opts)).body.id;
  const bob = (await post<{ id: string }>("/v1/customers", { email: "bob@example.com" }, m.opts)).body.id;
  const header = { headers: { "Merchant-Id": m.id } };
  return {
    merchant: m.opts,
    merchantId: m.id,
    alice,
    bob,
    as: {
      admin: { ...bearer(await hsToken({ roles: ["admin"], merchant: null, sub: "ops-admin" })), ...header },
      support: { ...bearer(await hsToken({ roles: ["support"], merchant: null, sub: "ops-support" })), ...header },
      merchant: bearer(await hsToken({ roles: ["merchant"], merchant: m.id, sub: "shop-owner" })),
      customer: bearer(await hsToken({ roles: ["customer"], merchant: m.id, customer: alice, sub: "alice" })),
    },
  };
}

/** A fresh intent of Alice's ("own") or Bob's ("other"), made by the merchant, in the state an operation needs. */
async function intentFor(w: World, target: Target, state: "new" | "authorized" | "succeeded"): Promise<PaymentIntentJson> {
  const customer = target === "own" ? w.alice : w.bob;
  const body: Record<string, unknown> = { amount: 10000, currency: "usd", customer };
  if (state === "authorized") Object.assign(body, { payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
  if (state === "succeeded") Object.assign(body, { payment_method: "pm_card_visa", confirm: true });
  const res = await post<PaymentIntentJson>("/v1/payment_intents", body, w.merchant);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

interface Operation {
  name: string;
  run: (w: World, as: CallOptions, target: Target) => Promise<{ res: CallResult<unknown>; moved: () => Promise<boolean> }>;
}

const statusOf = async (w: World, id: string) => (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, w.merchant)).body;

const OPERATIONS: Operation[] = [
  {
    name: "create a payment",
    run: async (w, as) => {
      const res = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 2500, currency: "usd" }, as);
      return { res, moved: async () => res.status === 200 };
    },
  },
  {
    name: "create and confirm with a test card",
    run: async (w, as) => {
      const res = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 2500, currency: "usd", payment_method: "pm_card_visa", confirm: true }, as);
      return { res, moved: async () => res.status === 200 };
    },
  },
  {
    name: "retrieve",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "new");
      return { res: await get(`/v1/payment_intents/${pi.id}`, as), moved: async () => false };
    },
  },
  {
    name: "list",
    run: async (w, as) => ({ res: await get("/v1/payment_intents?limit=3", as), moved: async () => false }),
  },
  {
    name: "change the amount",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "new");
      const res = await post(`/v1/payment_intents/${pi.id}`, { amount: 1 }, as);
      return { res, moved: async () => (await statusOf(w, pi.id)).amount !== 10000 };
    },
  },
  {
    name: "change the currency or capture method",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "new");
      const res = await post(`/v1/payment_intents/${pi.id}`, { currency: "eur", capture_method: "manual" }, as);
      return { res, moved: async () => (await statusOf(w, pi.id)).currency !== "usd" };
    },
  },
  {
    name: "set the payment method",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "new");
      const res = await post(`/v1/payment_intents/${pi.id}`, { payment_method: "pm_card_visa" }, as);
      return { res, moved: async () => (await statusOf(w, pi.id)).status === "requires_confirmation" };
    },
  },
  {
    name: "confirm",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "new");
      const res = await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" }, as);
      return { res, moved: async () => (await statusOf(w, pi.id)).status === "succeeded" };
    },
  },
  {
    name: "confirm with manual capture",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "new");
      const res = await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa", capture_method: "manual" }, as);
      return { res, moved: async () => (await statusOf(w, pi.id)).status !== "requires_payment_method" };
    },
  },
  {
    name: "capture",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "authorized");
      const res = await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 1 }, as);
      return { res, moved: async () => (await statusOf(w, pi.id)).status !== "requires_capture" };
    },
  },
  {
    name: "cancel an unconfirmed payment",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "new");
      const res = await post(`/v1/payment_intents/${pi.id}/cancel`, {}, as);
      return { res, moved: async () => (await statusOf(w, pi.id)).status === "canceled" };
    },
  },
  {
    name: "cancel (void) an authorization",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "authorized");
      const res = await post(`/v1/payment_intents/${pi.id}/cancel`, {}, as);
      return { res, moved: async () => (await statusOf(w, pi.id)).status === "canceled" };
    },
  },
  {
    name: "refund",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "succeeded");
      const res = await post("/v1/refunds", { payment_intent: pi.id, amount: 100 }, as);
      return { res, moved: async () => (await statusOf(w, pi.id)).amount_refunded !== 0 };
    },
  },
  {
    name: "update a refund's metadata",
    run: async (w, as, target) => {
      const pi = await intentFor(w, target, "succeeded");
      const refund = (await post<{ id: string }>("/v1/refunds", { payment_intent: pi.id, amount: 100 }, w.merchant)).body;
      const res = await post(`/v1/refunds/${refund.id}`, { metadata: { by: "someone" } }, as);
      return { res, moved: async () => (await get<{ metadata: Record<string, string> }>(`/v1/refunds/${refund.id}`, w.merchant)).body.metadata.by !== undefined };
    },
  },
  {
    name: "cancel a refund waiting for approval",
    run: async (w, as, target) => {
      // Refunds above 50.00 wait for approval (the other refund cells ask for 1.00: they go through).
      await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 5000 } } }, await approverOf(w.merchant));
      const pi = await intentFor(w, target, "succeeded");
      const refund = (await post<{ id: string; status: string }>("/v1/refunds", { payment_intent: pi.id, amount: 6000 }, w.merchant)).body;
      expect(refund.status).toBe("pending");
      const res = await post(`/v1/refunds/${refund.id}/cancel`, {}, as);
      return { res, moved: async () => (await get<{ status: string }>(`/v1/refunds/${refund.id}`, w.merchant)).body.status !== "pending" };
    },
  },
  {
    name: "list refunds",
    run: async (w, as) => ({ res: await get("/v1/refunds?limit=3", as), moved: async () => false }),
  },
  {
    name: "create a customer",
    run: async (w, as) => {
      const res = await post("/v1/customers", { email: "new@example.com" }, as);
      return { res, moved: async () => res.status === 200 };
    },
  },
  {
    name: "manage webhook endpoints",
    run: async (w, as) => ({ res: await get("/v1/webhook_endpoints", as), moved: async () => false }),
  },
  {
    name: "manage API keys",
    run: async (w, as) => ({ res: await get("/v1/api_keys", as), moved: async () => false }),
  },
];

/** Expected status per role; a customer's cell has one answer for its own intent and one for another customer's. */
type Cell = number | { own: number; other: number };
const MATRIX: Record<string, Record<Role, Cell>> = {
  "create a payment": { admin: 200, support: 403, merchant: 200, customer: 200 },
  "create and confirm with a test card": { admin: 200, support: 403, merchant: 200, customer: 200 },
  retrieve: { admin: 200, support: 200, merchant: 200, customer: { own: 200, other: 404 } },
  list: { admin: 200, support: 200, merchant: 200, customer: 200 },
  "change the amount": { admin: 200, support: 403, merchant: 200, customer: { own: 403, other: 403 } },
  "change the currency or capture method": { admin: 200, support: 403, merchant: 200, customer: { own: 403, other: 403 } },
  "set the payment method": { admin: 200, support: 403, merchant: 200, customer: { own: 200, other: 404 } },
  confirm: { admin: 200, support: 403, merchant: 200, customer: { own: 200, other: 404 } },
  "confirm with manual capture": { admin: 200, support: 403, merchant: 200, customer: { own: 403, other: 403 } },
  capture: { admin: 200, support: 403, merchant: 200, customer: { own: 403, other: 403 } },
  "cancel an unconfirmed payment": { admin: 200, support: 403, merchant: 200, customer: { own: 200, other: 404 } },
  "cancel (void) an authorization": { admin: 200, support: 403, merchant: 200, customer: { own: 403, other: 404 } },
  refund: { admin: 200, support: 403, merchant: 200, customer: { own: 403, other: 403 } },
  "update a refund's metadata": { admin: 200, support: 403, merchant: 200, customer: { own: 403, other: 403 } },
  "cancel a refund waiting for approval": { admin: 200, support: 403, merchant: 200, customer: { own: 403, other: 403 } },
  "list refunds": { admin: 200, support: 200, merchant: 200, customer: 403 },
  "create a customer": { admin: 200, support: 403, merchant: 200, customer: 403 },
  "manage webhook endpoints": { admin: 200, support: 403, merchant: 200, customer: 403 },
  "manage API keys": { admin: 200, support: 403, merchant: 200, customer: 403 },
};

const ROLES: Role[] = ["admin", "support", "merchant", "customer"];

describe("the role x operation matrix of payment intents", () => {
  let shared: Promise<World> | null = null;
  const w = () => (shared ??= world());

  for (const op of OPERATIONS) {
    for (const role of ROLES) {
      const cell = MATRIX[op.name]?.[role];
      if (cell === undefined) throw new Error(`no matrix cell for ${op.name} / ${role}`);
      const targets: [Target, number][] = typeof cell === "number" ? [["own", cell]] : [["own", cell.own], ["other", cell.other]];
      for (const [target, expected] of targets) {
        it(`${role} ${typeof cell === "number" ? "" : `on ${target === "own" ? "its own" : "another customer's"} intent: `}${op.name} -> ${expected}`, async () => {
          const world = await w();
          const { res, moved } = await op.run(world, world.as[role], target);
          if (expected === 200) expect(res.status, JSON.stringify(res.body)).toBe(200);
          else {
            expectError(res, expected);
            expect(await moved(), "a refused request moves nothing").toBe(false);
          }
        });
      }
    }
  }

  it("a customer's payment is created for that customer, whatever it asks", async () => {
    const world = await w();
    const res = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 700, currency: "usd" }, world.as.customer);
    expect(res.body.customer).toBe(world.alice);
    expectError(await post("/v1/payment_intents", { amount: 700, currency: "usd", customer: world.bob }, world.as.customer), 403);
    expectError(await post("/v1/payment_intents", { amount: 700, currency: "usd", payment_method: "pm_card_visa", confirm: true, off_session: true }, world.as.customer), 403);
  });

  it("a customer sees only its own intents in lists and search", async () => {
    const world = await w();
    await intentFor(world, "other", "new");
    const mine = await intentFor(world, "own", "new");
    const listed = await get<{ data: PaymentIntentJson[] }>("/v1/payment_intents?limit=100", world.as.customer);
    expect(listed.body.data.length).toBeGreaterThan(0);
    expect(listed.body.data.every((p) => p.customer === world.alice)).toBe(true);
    expect(listed.body.data.some((p) => p.id === mine.id)).toBe(true);
    const searched = await get<{ data: PaymentIntentJson[] }>(`/v1/payment_intents/search?query=${encodeURIComponent("status:'requires_payment_method'")}`, world.as.customer);
    expect(searched.body.data.every((p) => p.customer === world.alice)).toBe(true);
  });

  it("a customer confirms only with its own saved card, never another customer's or an unattached one", async () => {
    const world = await w();
    const bobsCard = (await post<{ id: string }>(`/v1/payment_methods`, { type: "card", card: { token: "tok_visa" } }, world.merchant)).body.id;
    expect((await post(`/v1/payment_methods/${bobsCard}/attach`, { customer: world.bob }, world.merchant)).status).toBe(200);
    const loose = (await post<{ id: string }>(`/v1/payment_methods`, { type: "card", card: { token: "tok_visa" } }, world.merchant)).body.id;
    const alicesCard = (await post<{ id: string }>(`/v1/payment_methods`, { type: "card", card: { token: "tok_visa" } }, world.merchant)).body.id;
    expect((await post(`/v1/payment_methods/${alicesCard}/attach`, { customer: world.alice }, world.merchant)).status).toBe(200);
    for (const pm of [bobsCard, loose]) {
      const pi = await intentFor(world, "own", "new");
      // Not its to use: as missing as an unknown one, a 400 resource_missing naming payment_method (as at Stripe).
      expect(expectError(await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: pm }, world.as.customer), 400, "resource_missing").param).toBe("payment_method");
      expect((await statusOf(world, pi.id)).status).toBe("requires_payment_method");
    }
    const pi = await intentFor(world, "own", "new");
    const ok = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: alicesCard }, world.as.customer);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.status).toBe("succeeded");
  });

  it("a customer token's named permissions never widen its role", async () => {
    const world = await w();
    const greedy = bearer(await hsToken({ roles: ["customer"], merchant: world.merchantId, customer: world.alice, permissions: ["payments.transactions.void", "keys.manage", "refunds.approve"] }));
    const pi = await intentFor(world, "own", "succeeded");
    expectError(await post("/v1/refunds", { payment_intent: pi.id }, greedy), 403);
    expectError(await get("/v1/api_keys", greedy), 403);
  });
});
