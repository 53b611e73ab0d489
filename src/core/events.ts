// Event types and the event object merchants receive: Stripe's shape (`id`, `object`, `type`,
// `created`, `data.object`, `request`, `livemode`) with seed 001's `event_id` and `created_ms`.
import { redactNullable } from "./card-number";
import type { EventRecord } from "./types";

/**
 * The event types the gateway sends. A webhook endpoint may name any type Stripe defines besides
 * (src/webhooks/stripe-event-types.ts): most of those are never sent here.
 */
export const EVENT_TYPES = [
  "payment_intent.created",
  "payment_intent.requires_action",
  "payment_intent.processing",
  "payment_intent.amount_capturable_updated",
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
  "payment_intent.canceled",
  "charge.succeeded",
  "charge.failed",
  "charge.captured",
  "charge.refunded",
  "charge.updated",
  "refund.created",
  "refund.updated",
  "refund.failed",
  // Seed 003's webhooks, for the payments it created (src/core/surface-events.ts).
  "icligo.payment.authorized",
  "icligo.payment.completed",
  "icligo.payment.confirmed",
  "icligo.payment.canceled",
  "icligo.payment.refunded",
  "customer.created",
  "customer.updated",
  "customer.deleted",
  "payment_method.attached",
  "payment_method.detached",
  "payment_method.updated",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.trial_will_end",
  "invoice.created",
  "invoice.finalized",
  "invoice.paid",
  "invoice.payment_succeeded",
  "invoice.payment_failed",
  "invoice.payment_action_required",
  "invoice.marked_uncollectible",
  "invoice.voided",
  "checkout.session.completed",
  "checkout.session.expired",
  "product.created",
  "product.updated",
  "product.deleted",
  "price.created",
  "price.updated",
  "setup_intent.created",
  "setup_intent.requires_action",
  "setup_intent.succeeded",
  "setup_intent.setup_failed",
  "setup_intent.canceled",
  // A test clock's life, as Stripe sends it (data.object: the clock).
  "test_helpers.test_clock.created",
  "test_helpers.test_clock.advancing",
  "test_helpers.test_clock.ready",
  "test_helpers.test_clock.internal_failure",
  "test_helpers.test_clock.deleted",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Whether an endpoint subscribed to `enabled` ("*", or exact types) wants an event of `type`. */
export function subscribes(enabled: readonly string[], type: string): boolean {
  return enabled.includes("*") || enabled.includes(type);
}

export interface EventJson {
  id: string;
  object: "event";
  event_id: string;
  api_version: string | null;
  created: number;
  created_ms: number;
  /**
   * Stripe's `object` (and, on a *.updated event, `previous_attributes`), and seed 001's
   * `payment_intent_id` and `order_id` beside them.
   */
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown>; payment_intent_id: string | null; order_id: string | null };
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

const stringOrNull = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** The intent an event is about: recorded with the event, else read from its object. */
function intentOf(event: EventRecord): string | null {
  if (event.paymentIntentId !== undefined) return event.paymentIntentId;
  const o = event.object;
  if (o.object === "payment_intent") return stringOrNull(o.id);
  const pi = o.payment_intent;
  if (pi && typeof pi === "object" && "id" in pi) return stringOrNull(pi.id);
  return stringOrNull(pi);
}

/** An event as /v1 and merchant webhooks render it, labelled with the API version it is rendered with. */
export function renderEvent(event: EventRecord, pendingWebhooks: number, apiVersion: string): EventJson {
  return {
    id: event.id,
    object: "event",
    event_id: event.id,
    api_version: apiVersion,
    created: Math.floor(event.created / 1000),
    created_ms: event.created,
    data: {
      object: event.object,
      ...(event.previousAttributes !== undefined ? { previous_attributes: event.previousAttributes } : {}),
      payment_intent_id: intentOf(event),
      order_id: event.orderId !== undefined ? event.orderId : event.object.object === "payment_intent" ? stringOrNull(event.object.order_id) : null,
    },
    livemode: event.livemode,
    pending_webhooks: pendingWebhooks,
    request: { id: redactNullable(event.requestId), idempotency_key: redactNullable(event.idempotencyKey) },
    type: event.type,
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Stripe's `data.previous_attributes` of a *.updated event: the values `before` had of what differs in
 * `after`, the two being the object rendered before and after the change. A nested object (metadata,
 * an address) gives only its keys that changed, a key added having been null (`{"metadata":
 * {"tier": null}}`, as Stripe sends); an array that changed is given whole.
 */
export function previousAttributes(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const previous: Record<string, unknown> = {};
  // Own keys only: a metadata key named like one every object inherits (constructor, toString) read
  // `Object`'s function through `in`, which no storage write can copy (a 500 after the PSP had acted).
  const set = (key: string, value: unknown) => Object.defineProperty(previous, key, { value, enumerable: true, writable: true, configurable: true });
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = Object.hasOwn(before, key) ? before[key] : null;
    const now = Object.hasOwn(after, key) ? after[key] : null;
    if (isPlainObject(was) && isPlainObject(now)) {
      const inner = previousAttributes(was, now);
      if (Object.keys(inner).length > 0) set(key, inner);
    } else if (JSON.stringify(was) !== JSON.stringify(now)) {
      set(key, was === undefined ? null : was);
    }
  }
  return previous;
}
