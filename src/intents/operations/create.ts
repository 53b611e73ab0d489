// Create: a new intent, confirmed at once when asked to.
import { invalidRequest } from "../../core/errors";
import { randomToken } from "../../core/ids";
import type { IntentRecord, Scope } from "../../core/types";
import type { CreateIntentParams } from "../params";
import { assertMethodTypeAllowed } from "../../core/intent";
import { authorize } from "./authorize";
import { mergeCardOptions } from "./update";
import type { OperationTools, StepResult } from "./tools";

export function newIntent(params: CreateIntentParams, scope: Scope, now: number): IntentRecord {
  return {
    id: params.id,
    merchantId: scope.merchantId,
    livemode: scope.livemode,
    version: 0,
    created: params.created ?? now,
    updated: now,
    status: params.paymentMethod ? "requires_confirmation" : "requires_payment_method",
    amount: params.amount,
    currency: params.currency,
    captureMethod: params.captureMethod,
    amountCapturable: 0,
    amountReceived: 0,
    amountRefunded: 0,
    tipAmount: params.tipAmount,
    clientSecret: `${params.id}_secret_${randomToken(25)}`,
    customer: params.customer,
    description: params.description,
    metadata: params.metadata,
    orderId: params.orderId,
    invoiceId: params.invoiceId,
    locationId: params.locationId,
    terminalId: params.terminalId,
    lineItems: params.lineItems,
    receiptEmail: params.receiptEmail,
    statementDescriptor: params.statementDescriptor,
    returnUrl: params.returnUrl,
    cancelUrl: params.cancelUrl,
    retryOf: params.retryOf ?? null,
    ...(params.number != null ? { number: params.number } : {}),
    ...(params.createdVia ? { createdVia: params.createdVia } : {}),
    ...(params.icligo ? { icligo: { ...params.icligo } } : {}),
    ...(params.gatewayAccount ? { gatewayAccount: params.gatewayAccount } : {}),
    ...(params.automaticPaymentMethods ? { automaticPaymentMethods: params.automaticPaymentMethods } : {}),
    ...(params.cardOptions ? { cardOptions: mergeCardOptions(null, params.cardOptions) } : {}),
    ...(params.shipping ? { shipping: params.shipping } : {}),
    ...(params.statementDescriptorSuffix ? { statementDescriptorSuffix: params.statementDescriptorSuffix } : {}),
    ...(params.paymentMethodTypes ? { paymentMethodTypes: params.paymentMethodTypes } : {}),
    ...(params.captureAsync ? { captureAsync: true } : {}),
    setupFutureUsage: params.setupFutureUsage ?? null,
    offSession: params.offSession ?? false,
    ...(params.errorOnRequiresAction ? { errorOnRequiresAction: true } : {}),
    ...(params.confirmationMethod === "manual" ? { confirmationMethod: "manual" as const } : {}),
    paymentMethod: params.paymentMethod,
    nextAction: null,
    lastPaymentError: null,
    chargeAttemptId: null,
    connector: null,
    connectorAccount: null,
    declineCount: 0,
    reconciledAt: null,
    resolution: null,
    canceledAt: null,
    cancellationReason: null,
    attempts: [],
    refunds: [],
  };
}

export async function create(draft: IntentRecord, params: CreateIntentParams, tools: OperationTools): Promise<StepResult> {
  if (params.confirm && !draft.paymentMethod) throw missingPaymentMethod();
  assertMethodTypeAllowed(draft);
  tools.emit("payment_intent.created");
  if (!params.confirm) return {};
  return authorize(draft, tools, { authenticated: false });
}

export function missingPaymentMethod() {
  return invalidRequest(
    "You cannot confirm this PaymentIntent because it's missing a payment method. Pass `payment_method` (or `payment_method_data`) with the confirmation.",
    "payment_method",
    "parameter_missing",
  );
}
