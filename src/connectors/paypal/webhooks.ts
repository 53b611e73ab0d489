// PayPal's webhook events in our words. (Their signature is checked by PayPal's own verification
// call, in the connector.)
import { decimalToMinor } from "../../core/money";
import type { ProviderEvent, ProviderEventKind } from "../types";
import { ownEntry } from "../../core/own";

interface PayPalResource {
  id?: string;
  status?: string;
  custom_id?: string;
  invoice_id?: string;
  amount?: { currency_code?: string; value?: string };
  supplementary_data?: { related_ids?: { order_id?: string; authorization_id?: string } };
}

export interface PayPalEvent {
  id?: string;
  event_type?: string;
  resource?: PayPalResource;
}

/** A field of an event read before its signature is checked (seed 004 reads it to find the merchant): a string, or nothing. */
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const objectOr = <T extends object>(value: unknown): Partial<T> => (value && typeof value === "object" && !Array.isArray(value) ? (value as Partial<T>) : {});

export function fromPayPalEvent(event: PayPalEvent): ProviderEvent {
  const resource = objectOr<PayPalResource>(event.resource);
  const relatedIds = objectOr<{ order_id?: string; authorization_id?: string }>(objectOr<NonNullable<PayPalResource["supplementary_data"]>>(resource.supplementary_data).related_ids);
  const related = { order_id: text(relatedIds.order_id), authorization_id: text(relatedIds.authorization_id) };
  const base: ProviderEvent = {
    id: text(event.id) ?? "",
    kind: "ignored",
    intentId: text(resource.custom_id) ?? null,
    attemptId: null,
    providerReference: related.order_id ?? null,
    captured: false,
    capture: null,
    code: null,
    declineCode: null,
    message: null,
  };
  const kinds: Record<string, ProviderEventKind> = {
    "PAYMENT.CAPTURE.COMPLETED": related.authorization_id ? "capture.succeeded" : "authorization.approved",
    // A denied capture of an authorization fails that capture; of an order (intent CAPTURE), the payment.
    "PAYMENT.CAPTURE.DENIED": related.authorization_id ? "capture.failed" : "authorization.declined",
    "PAYMENT.AUTHORIZATION.CREATED": "authorization.approved",
    "PAYMENT.AUTHORIZATION.VOIDED": "authorization.canceled",
    "PAYMENT.CAPTURE.REFUNDED": "refund.succeeded",
  };
  const kind = ownEntry(kinds, text(event.event_type) ?? "") ?? "ignored";
  return {
    ...base,
    kind,
    capture: kind === "capture.succeeded" ? captureOf(resource, related.authorization_id) : null,
    amount: kind === "authorization.approved" ? moneyOf(resource) : null,
    captured: event.event_type === "PAYMENT.CAPTURE.COMPLETED",
    // Matched by the order (an authorization's capture by its authorization, in `capture`); a refund by its own id.
    providerReference: kind === "capture.succeeded" ? null : kind === "refund.succeeded" || kind === "capture.failed" ? (text(resource.id) ?? null) : base.providerReference,
    // The money is the capture or authorization itself: its id is the payment's reference from now on.
    ...(kind === "authorization.approved" && text(resource.id) ? { settledReference: text(resource.id) } : {}),
    declineCode: kind === "authorization.declined" ? "paypal_denied" : null,
    code: kind === "authorization.declined" ? "card_declined" : null,
  };
}

/** A completed capture's money, in minor units; null when the event does not say it exactly. */
function captureOf(resource: PayPalResource, authorization: string | undefined): ProviderEvent["capture"] {
  const amount = objectOr<NonNullable<PayPalResource["amount"]>>(resource.amount);
  const currency = text(amount.currency_code);
  const value = text(amount.value);
  if (typeof resource.id !== "string" || !resource.id || !authorization || resource.status !== "COMPLETED" || !currency || value === undefined) return null;
  try {
    return { amount: decimalToMinor(value, currency), currency: currency.toLowerCase(), reference: resource.id, authorization };
  } catch {
    return null;
  }
}

/** The resource's amount in minor units, or null when the event does not say it exactly. */
function moneyOf(resource: PayPalResource): { value: number; currency: string } | null {
  const amount = objectOr<NonNullable<PayPalResource["amount"]>>(resource.amount);
  const currency = text(amount.currency_code);
  const value = text(amount.value);
  if (!currency || value === undefined) return null;
  try {
    return { value: decimalToMinor(value, currency), currency: currency.toLowerCase() };
  } catch {
    return null;
  }
}
