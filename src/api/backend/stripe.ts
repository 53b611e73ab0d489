// Seed 004's Stripe endpoints, on our core: payment intents through the intent's object (routed to
// the merchant's Stripe account when it has one, else the sandbox), customers and subscriptions
// through the billing engine. Amounts arrive as decimals in major units and convert exactly.
import type { Hono } from "hono";
import { z } from "zod";
import { storePaymentMethod } from "../../billing/payment-methods";
import { db, findRecurringPrice, findSubscription, invoiceById, liveCustomer, renderCustomer, type CustomerRow, type SubscriptionRow } from "../../billing/store";
import { cancelSubscription, createSubscription } from "../../billing/subscriptions";
import { Writes } from "../../billing/writes";
import { derivedId, randomId } from "../../core/ids";
import { assertOperationAllowed, isPaid, isPaidOrPaying } from "../../core/intent";
import { normalizeCurrency } from "../../core/money";
import { customers } from "../../db/schema";
import * as f from "../v1/fields";
import { assertHeldMethodUsable, resolvePaymentMethodFor, resolvePaymentMethodInput } from "../v1/payment_intents";
import { intentStub, publicBase } from "../v1/respond";
import type { App, AppEnv, Ctx } from "../v1/route";
import { idempotentD1 } from "../v1/idempotency";
import type { Principal } from "../../auth/permissions";
import { INTENT_STATUSES, type Scope } from "../../core/types";
import { backendRequest, outcomeIntent, visibleIntent } from "./common";
import { amountInMinor, bad, backendRoute, currencyCode, decimalAmount, stillInProgress } from "./surface";
import { ApiError } from "../../core/errors";
import { createParams } from "../../intents/params";
import { hostedPaymentPageUrl } from "../../pages/urls";

const id = z.string().min(1).max(255);
const seconds = (ms: number) => Math.floor(ms / 1000);

const CreateIntentBody = z.object({
  amount: decimalAmount,
  currency: currencyCode,
  metadata: f.createMetadata.optional(),
  description: z.string().max(1000).optional(),
  customer: id.optional(),
  payment_method: id.optional(),
});
const IntentIdBody = z.object({ payment_intent_id: id });
const ConfirmBody = z.object({ payment_intent_id: id, payment_method: id.optional() });
const CustomerBody = z.object({
  email: z.string().max(512).regex(/^[^\s@]+@[^\s@]+$/, "must be an email address").meta({ example: "jenny.rosen@example.com" }).optional(),
  name: z.string().max(256).optional(),
  metadata: f.createMetadata.optional(),
});
const SubscriptionBody = z.object({
  customer_id: id,
  price_id: id,
  metadata: f.createMetadata.optional(),
  payment_method: id.optional(),
  default_payment_method: id.optional(),
});
const CancelSubscriptionBody = z.object({ subscription_id: id });
// The answers, as the seed shows them (its example values), and what /openapi.json documents.
const PaymentIntentStatus = z.enum(INTENT_STATUSES);
const CreatedIntentAnswer = z
  .object({ payment_intent_id: z.string(), client_secret: z.string(), status: PaymentIntentStatus, amount: z.number().int().describe("Minor units (2999 for 29.99 USD)."), currency: z.string() })
  .meta({ id: "BackendPaymentIntent", example: { payment_intent_id: "pi_1234567890", client_secret: "pi_1234567890_secret_abc123", status: "requires_payment_method", amount: 2999, currency: "usd" } });
const ConfirmationAnswer = z
  .object({
    confirmed: z.boolean().describe("The money is taken or held (succeeded, requires_capture); false while the provider has not answered (processing) or 3D Secure waits (requires_action)."),
    payment_intent_id: z.string(),
    status: PaymentIntentStatus,
    next_action: z.object({ type: z.string(), redirect_to_url: z.object({ url: z.string() }) }).optional().describe("Only while requires_action: where the customer takes the 3D Secure step."),
  })
  .meta({ id: "BackendConfirmation", example: { confirmed: true, payment_intent_id: "pi_1234567890", status: "succeeded" } });
const RetrievedIntentAnswer = z
  .object({ payment_intent_id: z.string(), status: PaymentIntentStatus, amount: z.number().int().describe("Minor units."), currency: z.string(), created: z.number().int().describe("Unix seconds."), metadata: z.record(z.string(), z.string()) })
  .meta({ id: "BackendPayment", example: { payment_intent_id: "pi_1234567890", status: "succeeded", amount: 2999, currency: "usd", created: 1640995200, metadata: { course_id: "123" } } });
const CustomerAnswer = z
  .object({ customer_id: z.string(), email: z.string().nullable(), name: z.string().nullable() })
  .meta({ id: "BackendCustomer", example: { customer_id: "cus_1234567890", email: "user@example.com", name: "John Doe" } });
// Seed 004's answers about subscriptions are flat and name no items (the subscription's price, as an
// object, is in /v1/subscriptions/{id} and in the customer.subscription.* events).
const SubscriptionAnswer = z
  .object({
    subscription_id: z.string(),
    status: z.enum(["incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid"]),
    current_period_start: z.number().int(),
    current_period_end: z.number().int(),
    latest_invoice: z.string().nullable(),
    // Beyond the seed's fields, only while the subscription is incomplete: its first invoice's payment
    // intent, for the customer to pay (Stripe.js, or the hosted page /pay/{payment_intent_id}?client_secret=...).
    payment_intent_id: z.string().optional(),
    client_secret: z.string().optional(),
  })
  .meta({ id: "BackendSubscription" });
const CanceledSubscriptionAnswer = z
  .object({ subscription_id: z.string(), status: z.enum(["incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid"]), canceled_at: z.number().int().nullable() })
  .meta({ id: "BackendCanceledSubscription" });

/**
 * An incomplete subscription's first payment, for the customer to make: the payment intent of its
 * latest invoice (left unconfirmed, or declined or waiting for 3D Secure) and its client_secret.
 */
async function toPay(c: Ctx, scope: Scope, row: SubscriptionRow): Promise<{ payment_intent_id?: string; client_secret?: string }> {
  if (row.status !== "incomplete" || !row.latestInvoice) return {};
  const invoice = await invoiceById(c.env.DB, row.latestInvoice);
  if (!invoice?.paymentIntent || invoice.status !== "open") return {};
  const intent = await intentStub(c.env, invoice.paymentIntent).retrieve(scope, invoice.paymentIntent);
  return intent ? { payment_intent_id: intent.id, client_secret: intent.clientSecret } : {};
}

/** An error of a keyed write, carried through the stored-answer layer unkept (this surface's errors are not stored as /v1's). */
class Unkept extends Error {
  constructor(readonly inner: unknown) {
    super("unkept");
  }
}

/**
 * A write no payment intent's object serializes (a customer, a subscription, its cancellation): its
 * Idempotency-Key is bound merchant-wide as on every route, and its first answer kept in D1 and
 * replayed (`Idempotent-Replayed: true`), so a request sent again creates nothing twice (a second
 * subscription would charge its first invoice again). An error is answered, not kept: the request may
 * be sent again.
 *
 * A request that finds its key held by the same request still running waits for it, as the intent's
 * object makes the same request wait on the other routes (idempotentD1: up to IDEMPOTENCY_WAIT_MS,
 * looking again with backoff), then answers its stored answer as a replay; should the first have
 * failed (nothing kept), it runs the request itself. Still running after the wait: a 500 that says to send it again
 * (the seed has no 409).
 */
async function keyed(c: Ctx, principal: Principal, route: string, target: string, params: unknown, action: string, run: () => Promise<Record<string, unknown>>): Promise<Response> {
  const req = await backendRequest(c, principal, route, target, params, action);
  const once = async (): Promise<Response> => {
    try {
      return await idempotentD1(c, principal, route, target, params, async () => {
        try {
          return { status: 200, body: await run() };
        } catch (err) {
          throw new Unkept(err);
        }
      });
    } catch (err) {
      throw err instanceof Unkept ? err.inner : err;
    }
  };
  try {
    // idempotentD1 waits for the same request still running (IDEMPOTENCY_WAIT_MS), as /v1's routes do.
    return await once();
  } catch (err) {
    if (err instanceof ApiError && err.data.code === "idempotency_key_in_use") throw stillInProgress(req.idempotencyKey ?? "");
    throw err;
  }
}

export function registerBackendStripe(app: App, sub: Hono<AppEnv>): void {
  backendRoute(app, sub, { path: "/stripe/create-payment-intent", permission: "payments.transactions.create", customers: true, summary: "Create a payment intent (amount in major units)", body: CreateIntentBody, response: CreatedIntentAnswer }, async (c, { principal, body }) => {
    const currency = normalizeCurrency(body.currency);
    const amount = amountInMinor(body.amount, currency);
    if (principal.customerId && body.customer !== undefined && body.customer !== principal.customerId) throw bad("A customer's token can only create payments for that customer.");
    // As on /v1: a customer named by the merchant must be one of its own, still live (another
    // merchant's id, or an unknown one, is a 404 rather than stored on the payment).
    if (body.customer !== undefined && !principal.customerId) await liveCustomer(c.env.DB, principal, body.customer, "customer");
    const paymentMethod = body.payment_method ? await resolvePaymentMethodFor(c, principal, { payment_method: body.payment_method }, principal.customerId ?? body.customer ?? null) : undefined;
    const req = await backendRequest(c, principal, "POST /api/v1/payments/stripe/create-payment-intent", "", { ...body, amount, currency }, "seed004.stripe.create_payment_intent");
    const intentId = req.idempotencyKey ? await derivedId("pi", principal.merchantId, String(principal.livemode), req.idempotencyKey) : randomId("pi");
    const outcome = await intentStub(c.env, intentId).create(req, createParams({
      id: intentId,
      amount,
      currency,
      customer: principal.customerId ?? body.customer ?? null,
      description: body.description ?? null,
      metadata: body.metadata ?? {},
      paymentMethod: paymentMethod ?? null,
    }));
    const intent = outcomeIntent(c, outcome, intentId);
    return c.json({ payment_intent_id: intent.id, client_secret: intent.clientSecret, status: intent.status, amount: intent.amount, currency: intent.currency } satisfies z.output<typeof CreatedIntentAnswer>, 200, outcome.replayed ? { "Idempotent-Replayed": "true" } : {});
  });

  // `confirmed`: the money is taken (or held, for a manual capture), isPaid. A payment whose provider
  // has not answered yet (`processing`) is not: it may still be declined, and a client that fulfils on
  // `confirmed` would ship an unpaid order. Its `status` says to read it back later.

  backendRoute(app, sub, { path: "/stripe/confirm-payment", permission: "payments.transactions.create", customers: true, summary: "Confirm a payment intent (with its payment method, or payment_method)", body: ConfirmBody, response: ConfirmationAnswer }, async (c, { principal, body }) => {
    const current = await visibleIntent(c, principal, body.payment_intent_id);
    // The document's flow: the shopper paid with the client secret (on our hosted page, where Stripe.js
    // would have confirmed at Stripe), then the backend confirms. Already confirmed: it says so.
    if (!body.payment_method && isPaidOrPaying(current)) {
      return c.json({ confirmed: isPaid(current), payment_intent_id: current.id, status: current.status } satisfies z.output<typeof ConfirmationAnswer>);
    }
    if (!current.paymentMethod && !body.payment_method) {
      // A canceled (or failed) intent is not to be paid: its status says why, not the hosted page.
      assertOperationAllowed("confirm", current);
      const page = hostedPaymentPageUrl(publicBase(c), current.id, current.clientSecret);
      throw bad(`This payment intent has no payment method yet: pass payment_method (e.g. pm_card_visa), or let the customer pay with its client_secret on the hosted page ${page}, then confirm again.`);
    }
    // A new payment method is checked as /v1 checks it; the one already on the intent is checked again.
    if (!body.payment_method) await assertHeldMethodUsable(c, current, current.customer);
    const paymentMethod = body.payment_method ? await resolvePaymentMethodFor(c, principal, { payment_method: body.payment_method }, current.customer) : undefined;
    const req = await backendRequest(c, principal, "POST /api/v1/payments/stripe/confirm-payment", current.id, body, "seed004.stripe.confirm_payment");
    const outcome = await intentStub(c.env, current.id).confirm(req, current.id, { paymentMethod });
    const intent = outcomeIntent(c, outcome, current.id);
    const confirmed = isPaid(intent);
    return c.json(
      { confirmed, payment_intent_id: intent.id, status: intent.status, ...(intent.nextAction ? { next_action: { type: intent.nextAction.type, redirect_to_url: { url: intent.nextAction.url } } } : {}) } satisfies z.output<typeof ConfirmationAnswer>,
      200,
      outcome.replayed ? { "Idempotent-Replayed": "true" } : {},
    );
  });

  backendRoute(app, sub, { path: "/stripe/retrieve-payment", permission: "payments.transactions.view", customers: true, summary: "Retrieve a payment intent", body: IntentIdBody, response: RetrievedIntentAnswer }, async (c, { principal, body }) => {
    const intent = await visibleIntent(c, principal, body.payment_intent_id);
    return c.json({ payment_intent_id: intent.id, status: intent.status, amount: intent.amount, currency: intent.currency, created: seconds(intent.created), metadata: intent.metadata } satisfies z.output<typeof RetrievedIntentAnswer>);
  });

  backendRoute(app, sub, { path: "/stripe/create-customer", permission: "payments.methods.manage", summary: "Create a customer", body: CustomerBody, response: CustomerAnswer }, (c, { principal, body }) =>
    keyed(c, principal, "POST /api/v1/payments/stripe/create-customer", "", body, "seed004.stripe.create_customer", async () => {
      const row: CustomerRow = {
        id: randomId("cus"),
        merchantId: principal.merchantId,
        livemode: principal.livemode,
        email: body.email ?? null,
        name: body.name ?? null,
        phone: null,
        description: null,
        metadata: JSON.stringify(body.metadata ?? {}),
        defaultPaymentMethod: null,
        testClock: null,
        deleted: false,
        created: Date.now(),
        address: null,
        shipping: null,
      };
      const w = new Writes(c.env.DB, principal);
      const insert = db(c.env.DB).insert(customers).values(row).toSQL();
      w.add(insert.sql, insert.params);
      await w.event("customer.created", renderCustomer(row), [row.id], { requestId: c.get("requestId") });
      await w.commit(c.env);
      return { customer_id: row.id, email: row.email, name: row.name } satisfies z.output<typeof CustomerAnswer>;
  }));

  backendRoute(app, sub, { path: "/stripe/create-subscription", permission: "billing.manage", summary: "Create a subscription to a price: its first invoice charged now to the customer's default card (or payment_method, a card to save and use); without one, `incomplete`, with the invoice's payment intent (payment_intent_id, client_secret) for the customer to pay", body: SubscriptionBody, response: SubscriptionAnswer }, (c, { principal, body }) =>
    keyed(c, principal, "POST /api/v1/payments/stripe/create-subscription", "", body, "seed004.stripe.create_subscription", async () => {
      const customer = await liveCustomer(c.env.DB, principal, body.customer_id, "customer_id");
      const price = await findRecurringPrice(c.env.DB, principal, body.price_id, "price_id");
      let defaultPaymentMethod = body.default_payment_method ?? null;
      if (body.payment_method) {
        const details = await resolvePaymentMethodInput(c, principal, { payment_method: body.payment_method });
        if (!details) throw bad("payment_method is not a card.");
        defaultPaymentMethod = (await storePaymentMethod(c.env, principal, details, { customer, nickname: null, metadata: {}, requestId: c.get("requestId") })).row.id;
      }
      const row = await createSubscription(c.env, principal, {
        customer,
        price,
        quantity: 1,
        trialPeriodDays: null,
        defaultPaymentMethod,
        metadata: body.metadata ?? {},
        origin: new URL(c.req.url).origin,
        requestId: c.get("requestId"),
        // Stripe's recommended integration: with no card to charge (the document's request names none,
        // and the customer has no default), the first invoice's payment intent waits for the customer
        // (`incomplete`, answered with its client_secret); paid, the subscription becomes active.
        paymentBehavior: defaultPaymentMethod || customer.defaultPaymentMethod ? "allow_incomplete" : "default_incomplete",
        customerParam: "customer_id",
      });
      return { subscription_id: row.id, status: row.status, current_period_start: seconds(row.currentPeriodStart), current_period_end: seconds(row.currentPeriodEnd), latest_invoice: row.latestInvoice, ...(await toPay(c, principal, row)) };
  }));

  backendRoute(app, sub, { path: "/stripe/cancel-subscription", permission: "billing.manage", summary: "Cancel a subscription now", body: CancelSubscriptionBody, response: CanceledSubscriptionAnswer }, (c, { principal, body }) =>
    keyed(c, principal, "POST /api/v1/payments/stripe/cancel-subscription", body.subscription_id, body, "seed004.stripe.cancel_subscription", async () => {
      const existing = await findSubscription(c.env.DB, principal, body.subscription_id, "subscription_id");
      const row = existing.status === "canceled" ? existing : await cancelSubscription(c.env, principal, existing.id, Date.now(), c.get("requestId"));
      return { subscription_id: row.id, status: row.status, canceled_at: row.canceledAt === null ? null : seconds(row.canceledAt) };
  }));
}
