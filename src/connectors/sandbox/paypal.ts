// The sandbox acting as PayPal, for a merchant (in test mode) with no PayPal account of its own: an
// order is created with an approval link to a page of the gateway (/sandbox/paypal/checkoutnow),
// where the payer approves or cancels; completing the order captures (or authorizes) it only once
// it was approved. Deterministic and without network; the orders and approvals live in the
// sandbox's ledger (D1), like its other records. Captures, voids and refunds succeed.
import type { AuthorizeOutcome, FollowUpOutcome } from "../../core/outcomes";
import type { PaymentMethodDetails } from "../../core/types";
import type { AuthorizeRequest, CompleteActionRequest, Connector, FollowUpKind, FollowUpRequest, PayerDecision } from "../types";
import { sandboxReference } from "./connector";

const ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXY";

/** A PayPal-looking order id (17 characters), the same for the same attempt key. */
export async function sandboxOrderId(idempotencyKey: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`paypal-order:${idempotencyKey}`)));
  return Array.from(digest.slice(0, 17), (b) => ALPHABET[b % 32]).join("");
}

export const orderKey = (orderId: string) => `paypal:order:${orderId}`;
export const approvalKey = (orderId: string) => `paypal:approval:${orderId}`;

export interface SandboxPayPalOrder {
  merchantId: string;
  intentId: string;
  amount: number;
  currency: string;
  description: string | null;
}

/** The sandbox's order, for its approval page. */
export async function findSandboxOrder(db: D1Database, orderId: string): Promise<SandboxPayPalOrder | null> {
  const row = await db.prepare("SELECT outcome FROM sandbox_ledger WHERE idempotency_key = ? AND kind = 'paypal_order'").bind(orderKey(orderId)).first<{ outcome: string }>();
  return row ? (JSON.parse(row.outcome) as SandboxPayPalOrder) : null;
}

/** The payer's answer on the approval page: approved or canceled, once (the first answer stays). */
export async function decideSandboxOrder(db: D1Database, orderId: string, order: SandboxPayPalOrder, approved: boolean): Promise<boolean> {
  await db
    .prepare("INSERT OR IGNORE INTO sandbox_ledger (idempotency_key, intent_id, attempt_id, kind, outcome, created) VALUES (?, ?, '', 'paypal_approval', ?, ?)")
    .bind(approvalKey(orderId), order.intentId, approved ? "APPROVED" : "CANCELED", Date.now())
    .run();
  return (await sandboxApproval(db, orderId)) === "APPROVED";
}

export async function sandboxApproval(db: D1Database, orderId: string): Promise<"APPROVED" | "CANCELED" | null> {
  return (await sandboxDecision(db, orderId))?.decision ?? null;
}

/** The payer's answer on the approval page and when it was given (ms since the epoch); null before one. */
export async function sandboxDecision(db: D1Database, orderId: string): Promise<{ decision: "APPROVED" | "CANCELED"; at: number } | null> {
  const row = await db.prepare("SELECT outcome, created FROM sandbox_ledger WHERE idempotency_key = ?").bind(approvalKey(orderId)).first<{ outcome: string; created: number }>();
  return row ? { decision: row.outcome as "APPROVED" | "CANCELED", at: row.created } : null;
}

export class SandboxPayPalConnector implements Connector {
  readonly name = "paypal" as const;
  readonly accountId = null;

  constructor(private readonly db: D1Database) {}

  supports(paymentMethod: PaymentMethodDetails): boolean {
    return paymentMethod.type === "paypal";
  }

  /** The payer's answer on the sandbox's approval page: approved, or canceled (the order is void). */
  async payerDecision(providerReference: string): Promise<PayerDecision | null> {
    const decided = await sandboxDecision(this.db, providerReference);
    return decided ? { decision: decided.decision === "APPROVED" ? "APPROVED" : "VOIDED", at: decided.at } : null;
  }

  async authorize(req: AuthorizeRequest): Promise<AuthorizeOutcome> {
    const orderId = await sandboxOrderId(req.idempotencyKey);
    const order: SandboxPayPalOrder = { merchantId: req.merchantId, intentId: req.intentId, amount: req.amount, currency: req.currency, description: req.description };
    await this.db
      .prepare("INSERT OR IGNORE INTO sandbox_ledger (idempotency_key, intent_id, attempt_id, kind, outcome, created) VALUES (?, ?, ?, 'paypal_order', ?, ?)")
      .bind(orderKey(orderId), req.intentId, req.attemptId, JSON.stringify(order), Date.now())
      .run();
    const origin = new URL(req.gatewayReturnUrl).origin;
    return { kind: "requires_action", providerReference: orderId, redirectUrl: `${origin}/sandbox/paypal/checkoutnow?token=${orderId}` };
  }

  async completeAction(req: CompleteActionRequest): Promise<AuthorizeOutcome> {
    const decision = await sandboxApproval(this.db, req.providerReference);
    if (decision === null) return { kind: "requires_action", providerReference: req.providerReference, redirectUrl: null };
    if (decision === "CANCELED") return { kind: "declined", providerReference: req.providerReference, code: "payment_method_provider_decline", declineCode: "payer_canceled", message: "The payer canceled at PayPal." };
    return {
      kind: "approved",
      providerReference: sandboxReference(req.capture ? "ppcap" : "ppauth", req.idempotencyKey),
      captured: req.capture,
      responseCode: "COMPLETED",
      responseText: "Approved by the payer (sandbox PayPal)",
      authorizationCode: null,
      avsResult: null,
      cvvResult: null,
    };
  }

  async reconcileAuthorization(req: AuthorizeRequest, providerReference: string | null): Promise<AuthorizeOutcome> {
    if (!providerReference) return { kind: "provider_error", message: "no sandbox PayPal order was created" };
    return this.completeAction({ ...req, providerReference });
  }

  async capture(req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.followUp("ppcap", req);
  }

  async void(req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.followUp("ppvoid", req);
  }

  async refund(req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.followUp("ppref", req);
  }

  async reconcileFollowUp(kind: FollowUpKind, req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.followUp(kind === "capture" ? "ppcap" : kind === "void" ? "ppvoid" : "ppref", req);
  }

  private async followUp(kind: string, req: FollowUpRequest): Promise<FollowUpOutcome> {
    await Promise.resolve();
    return { kind: "succeeded", providerReference: sandboxReference(kind, req.idempotencyKey), responseCode: "COMPLETED", responseText: "Done (sandbox PayPal)" };
  }
}
