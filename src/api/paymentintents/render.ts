// Seed 000's PaymentIntent: camelCase, integer ids, the amount a decimal in major units, statuses in
// PascalCase, times in ISO-8601 UTC. Our `pi_...` id is `gatewayIntentId`.
import { isoTimestamp } from "../../core/iso-time";
import type { IntentStatus } from "../../core/types";
import type { IntentSummary } from "../../db/intent-row";
import { decimalOut, type DecimalOut } from "../common/exact-json";
import { hostedPaymentPageUrl } from "../../pages/urls";

const STATUS: Record<IntentStatus, string> = {
  requires_payment_method: "RequiresPaymentMethod",
  requires_confirmation: "RequiresConfirmation",
  requires_action: "RequiresAction",
  processing: "Processing",
  requires_capture: "RequiresCapture",
  succeeded: "Succeeded",
  canceled: "Canceled",
  failed: "Failed",
};

export function pascalStatus(status: IntentStatus): string {
  return STATUS[status];
}

export interface SeedIntentJson {
  id: number;
  invoiceId: number | null;
  orderId: number | null;
  customerId: number | null;
  amount: DecimalOut;
  currency: string;
  status: string;
  paymentGatewayId: number | null;
  gatewayIntentId: string;
  /** null to a reader that may not make payments (showsSecrets). */
  clientSecret: string | null;
  description: string | null;
  authorizedAt: string | null;
  capturedAt: string | null;
  failedAt: string | null;
  failureReason: string;
  createdAt: string;
  /**
   * Ours, beside the document's fields and only while the payment is RequiresAction (3D Secure): the
   * page where the customer takes that step (the hosted payment page, which leads to the bank's
   * challenge). Absent otherwise, so every other answer has exactly the document's fields.
   */
  nextActionUrl?: string;
}

/**
 * References are integers in this surface (`int?` in a client typed from the document). One set
 * through another surface that is not an integer (an order `ord_777`, a customer `cus_...` of /v1, a
 * token subject that is not a number) is `null` here: a string would make a typed client's whole
 * list fail to read. The payment's other surfaces (`gatewayIntentId` on /v1) still show it.
 */
export function integerReference(value: string | null): number | null {
  if (value === null) return null;
  return /^(0|[1-9]\d{0,14})$/.test(value) ? Number(value) : null;
}

/** A time as seed 000 writes it: ISO-8601 UTC, without `.000` on a whole second. */
export function isoTime(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  return isoTimestamp(ms, true);
}

/**
 * An intent as seed 000 shows it, from its summary (`summaryOf(record)`, or a list's row). `secrets`:
 * whether the client secret is shown (with nextActionUrl, which carries it), or `clientSecret` is null.
 */
export function renderSeedIntent(intent: IntentSummary, number: number, paymentGatewayId: number | null, baseUrl: string, secrets: boolean): SeedIntentJson {
  return {
    id: number,
    invoiceId: integerReference(intent.invoiceId),
    orderId: integerReference(intent.orderId),
    customerId: integerReference(intent.customer),
    amount: decimalOut(intent.amount, intent.currency),
    currency: intent.currency.toUpperCase(),
    status: pascalStatus(intent.status),
    paymentGatewayId,
    gatewayIntentId: intent.id,
    clientSecret: secrets ? intent.clientSecret : null,
    description: intent.description,
    authorizedAt: isoTime(intent.authorizedAt),
    capturedAt: isoTime(intent.capturedAt),
    failedAt: isoTime(intent.failedAt),
    failureReason: intent.lastPaymentError?.message ?? (intent.status === "failed" ? "The payment failed." : ""),
    createdAt: isoTime(intent.created) ?? "",
    ...(intent.status === "requires_action" && secrets ? { nextActionUrl: hostedPaymentPageUrl(baseUrl, intent.id, intent.clientSecret) } : {}),
  };
}
