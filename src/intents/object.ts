// PaymentIntentObject: the one Durable Object per payment intent and the only writer of it. Every
// mutation runs whole (PSP call included) inside a serial queue, with its Idempotency-Key record, its
// events and the new state committed in one storage write. D1 is then updated as the read model.
import { DurableObject } from "cloudflare:workers";
import { redactNullable } from "../core/card-number";
import { ApiError, idempotencyInFlight, idempotencyMismatch, invalidRequest, unexpectedState, type ApiErrorData } from "../core/errors";
import { checkInvariants, isFailedPayment, isPaid, pendingAttempts } from "../core/intent";
import { randomId, timingSafeEqual } from "../core/ids";
import { idempotencyKeyAtRest } from "../core/idempotency-key";
import { refundChargeOf, renderCharge, renderChargeById, renderFailedCharge, renderIntent, renderRefund } from "../core/objects";
import { previousAttributes } from "../core/events";
import { surfaceEvents } from "../core/surface-events";
import { withIcligoFields } from "../core/icligo-fields";
import type { EventRecord, IntentRecord, RefundRecord, Scope } from "../core/types";
import { healthGate } from "../connectors/health-client";
import { connectorOf, routesFor } from "../connectors/routing";
import type { ProviderEvent } from "../connectors/types";
import { auditRow, type AuditRow } from "../audit/log";
import { writeIntent } from "../db/read-model";
import { config, type Config, type Env } from "../env";
import { log } from "../log";
import { completeAuthentication } from "./operations/authenticate";
import { cancel, expire } from "./operations/cancel";
import { abandonRedirect, completeRedirect } from "./operations/complete-redirect";
import { applyProviderEvent } from "./operations/provider-event";
import { reconcile } from "./operations/reconcile";
import { capture } from "./operations/capture";
import { incrementAuthorization } from "./operations/increment";
import { confirm } from "./operations/confirm";
import { create, newIntent } from "./operations/create";
import { cancelRefund, decideRefund, refund, updateRefund } from "./operations/refund";
import { posVoid } from "./operations/pos-void";
import { updateCharge, type ChargeUpdateParams } from "./operations/charge";
import { resolveFailedPayment } from "./operations/resolve";
import type { OperationTools, StepResult } from "./operations/tools";
import { update } from "./operations/update";
import type {
  ApprovalParams,
  CancelParams,
  CaptureParams,
  ConfirmParams,
  CreateIntentParams,
  IncrementAuthorizationParams,
  OpOutcome,
  RefundCancelParams,
  PosVoidParams,
  RefundParams,
  RefundUpdateParams,
  RequestAudit,
  RequestContext,
  ResolutionParams,
  UpdateIntentParams,
} from "./params";
import { SerialQueue } from "./serial-queue";
import { shardFor } from "../db/shards";

/** The request, naming the refund its operation is about (for its audit entry). */
const aboutRefund = (req: RequestContext, refundId: string): RequestContext => ({ ...req, aboutRefund: refundId });

const INTENT_KEY = "intent";
const IDEMPOTENCY_PREFIX = "idem:";
const AUDIT_PREFIX = "audit:";
export const OUTBOX_PREFIX = "outbox:";
/** Keys are kept 24 h; a create's key stays as long as the intent it named (its id derives from it). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const SYNC_RETRY_MS = 5_000;
/** If handing the outbox to the queue fails (or we crash first), the alarm tries again this much later. */
const OUTBOX_RETRY_MS = 10_000;
const OUTBOX_BATCH = 20;
/** The retry of this failed payment that was started and may not have finished (see retryFailedPayment). */
const RETRY_KEY = "retry";
/**
 * A retry claimed but not found at its own object after this long never reached it (the object was
 * reset before the create went out): the claim lapses. Until then its create may still be on its way.
 */
export const RETRY_CLAIM_GRACE_MS = 5 * 60_000;

interface RetryClaim {
  id: string;
  at: number;
}

/** What an earlier retry of a failed payment came to: nothing stands in the way, or it is still running. */
type RetryVerdict = "clear" | "busy";

interface IdempotencyRecord {
  fingerprint: string;
  operation: string;
  created: number;
  /**
   * null: the operation reached the PSP (checkpointed) and never finished here (the object was reset
   * mid-call). Its retry answers the intent as it stands, never a second PSP call: reconciliation
   * settles the attempt it left.
   */
  outcome: Omit<OpOutcome, "replayed"> | null;
  /** Of an unfinished operation: the refund it started, and the status before it. */
  started?: { refundId: string | null; before: IntentRecord["status"] | null };
}

type Body = (draft: IntentRecord, tools: OperationTools) => Promise<StepResult>;

/** How a commit's events left: handed to the queue, and whether the backstop alarm went with them. */
interface HandOver {
  ok: boolean;
  alarmCleared: boolean;
}

function owns(intent: IntentRecord | null, scope: Scope, id: string): intent is IntentRecord {
  return intent !== null && intent.id === id && intent.merchantId === scope.merchantId && intent.livemode === scope.livemode;
}


function failure(error: ApiErrorData, intent: IntentRecord | null = null): OpOutcome {
  return { intent, refundId: null, error, replayed: false, before: intent?.status ?? null };
}

function notFound(id: string): OpOutcome {
  return failure({ status: 404, type: "invalid_request_error", code: "resource_missing", message: `No such payment_intent: '${id}'`, param: "intent" });
}

function missingMethod(): never {
  throw new Error("routing needs the intent's payment method");
}

function retryInProgress(retryId: string): ApiError {
  return new ApiError({
    status: 409,
    type: "invalid_request_error",
    code: "failed_payment_retry_in_progress",
    message: `A retry of this failed payment (${retryId}) has not finished yet: its outcome is not known. Read it back, and try again once it has.`,
  });
}

function timeout(ms: number): Promise<"timeout"> {
  return new Promise((resolve) => setTimeout(() => resolve("timeout"), ms));
}

export class PaymentIntentObject extends DurableObject<Env> {
  /** undefined: not loaded yet; null: this object holds no intent. */
  private intent: IntentRecord | null | undefined = undefined;
  private readonly queue = new SerialQueue();
  private readonly inflight = new Map<string, { fingerprint: string | null; promise: Promise<OpOutcome> }>();
  private flushing: Promise<boolean> | null = null;
  /** The outbox may hold events not yet handed to the queue (unknown until the object has looked). */
  private backlog = true;
  /** Commits whose read-model write or event hand-over has not finished. */
  private unsettled = 0;
  /** Events of one intent get strictly increasing times, so lists order them as they happened. */
  private lastEventMs = 0;
  private flushAgain = false;

  private get cfg(): Config {
    return config(this.env);
  }

  private async load(): Promise<IntentRecord | null> {
    if (this.intent === undefined) {
      const stored = await this.ctx.storage.get<IntentRecord>(INTENT_KEY);
      // A record from before seed 003's fields had storage of their own reads them from its metadata,
      // as it is now (before any later update): its next write keeps them apart.
      this.intent = stored ? withIcligoFields(stored) : null;
      // A new object has an empty outbox; an existing one may have events left from before a restart.
      if (this.intent === null) this.backlog = false;
    }
    return this.intent;
  }

  // ---- reads -------------------------------------------------------------------------------------

  /** The intent, or null when it does not exist for this merchant and mode (callers answer 404). */
  async retrieve(scope: Scope, id: string): Promise<IntentRecord | null> {
    const intent = await this.load();
    return owns(intent, scope, id) ? intent : null;
  }

  /** The intent, for its customer's browser, which holds the client secret rather than an API key. */
  async retrieveWithClientSecret(id: string, clientSecret: string): Promise<IntentRecord | null> {
    const intent = await this.load();
    return intent && intent.id === id && timingSafeEqual(intent.clientSecret, clientSecret) ? intent : null;
  }

  /** The intent's events still in its outbox, oldest first. */
  async outbox(scope: Scope, id: string): Promise<EventRecord[] | null> {
    const intent = await this.load();
    if (!owns(intent, scope, id)) return null;
    const entries = await this.ctx.storage.list<EventRecord>({ prefix: OUTBOX_PREFIX });
    return [...entries.values()];
  }

  // ---- operations --------------------------------------------------------------------------------

  async create(req: RequestContext, params: CreateIntentParams): Promise<OpOutcome> {
    const existing = await this.load();
    if (existing && existing.merchantId !== req.scope.merchantId) return notFound(params.id);
    return this.execute(req, "create", params.id, async (draft, tools) => create(draft, params, tools), params);
  }

  async update(req: RequestContext, id: string, params: UpdateIntentParams): Promise<OpOutcome> {
    return this.execute(req, "update", id, (draft, tools) => update(draft, params, tools));
  }

  /**
   * A failed payment with a retry on record is not paid here until that retry's outcome is known: one
   * that went through resolves it first (so this confirm is refused), one still running (its PSP has not
   * answered) answers 409, one that failed or waits for its customer (canceled) clears the way. Paying
   * the original beside its retry charged the customer twice.
   */
  async confirm(req: RequestContext, id: string, params: ConfirmParams): Promise<OpOutcome> {
    if (owns(await this.load(), req.scope, id) && (await this.ctx.storage.get<RetryClaim>(RETRY_KEY))) await this.queue.run(() => this.settleRetry());
    return this.execute(req, "confirm", id, async (draft, tools) => {
      const claim = await this.ctx.storage.get<RetryClaim>(RETRY_KEY);
      if (claim && !draft.resolution) throw retryInProgress(claim.id);
      // A retry is confirmed once, when its original's object makes it: confirmed again, it could pay
      // beside another retry of that payment, which its original's object would never hear of.
      if (draft.retryOf) throw unexpectedState(`PaymentIntent ${draft.id} is a retry of the failed payment ${draft.retryOf} and is not confirmed again: retry ${draft.retryOf} instead.`, "payment_intent_is_a_retry");
      return confirm(draft, params, tools);
    });
  }

  async capture(req: RequestContext, id: string, params: CaptureParams): Promise<OpOutcome> {
    return this.execute(req, "capture", id, (draft, tools) => capture(draft, params, tools));
  }

  /** Raises an uncaptured authorization to a new total (Stripe's increment_authorization), in the same queue as capture and cancel. */
  async incrementAuthorization(req: RequestContext, id: string, params: IncrementAuthorizationParams): Promise<OpOutcome> {
    return this.execute(req, "increment_authorization", id, (draft, tools) => incrementAuthorization(draft, params, tools));
  }

  async cancel(req: RequestContext, id: string, params: CancelParams): Promise<OpOutcome> {
    return this.execute(req, "cancel", id, (draft, tools) => cancel(draft, params, tools));
  }

  async refund(req: RequestContext, id: string, params: RefundParams): Promise<OpOutcome> {
    // Who asked is kept on the refund: an approval must come from someone else (four eyes).
    const requestedBy = params.requestedBy ?? req.audit?.actor ?? null;
    return this.execute(req, "refund", id, (draft, tools) => refund(draft, { ...params, requestedBy }, tools));
  }

  /** Seed 002's void: an authorization canceled, or a sale captured today refunded in whole, as the object finds it. */
  async posVoid(req: RequestContext, id: string, params: PosVoidParams): Promise<OpOutcome> {
    const requestedBy = params.requestedBy ?? req.audit?.actor ?? null;
    return this.execute(req, "pos_void", id, (draft, tools) => posVoid(draft, { ...params, requestedBy }, tools));
  }

  /** A refund's metadata (Stripe's POST /v1/refunds/{id}): written here, so the read model follows the object. */
  async updateRefund(req: RequestContext, id: string, params: RefundUpdateParams): Promise<OpOutcome> {
    return this.execute(aboutRefund(req, params.refundId), "update_refund", id, (draft, tools) => updateRefund(draft, params, tools));
  }

  /** A charge's own description, metadata, receipt email and shipping (Stripe's POST /v1/charges/{id}). */
  async updateCharge(req: RequestContext, id: string, params: ChargeUpdateParams): Promise<OpOutcome> {
    return this.execute(req, "update_charge", id, (draft, tools) => updateCharge(draft, params, tools));
  }

  /** The merchant takes back a refund that waits for approval (Stripe's POST /v1/refunds/{id}/cancel). */
  async cancelRefund(req: RequestContext, id: string, params: RefundCancelParams): Promise<OpOutcome> {
    return this.execute(aboutRefund(req, params.refundId), "cancel_refund", id, (draft, tools) => cancelRefund(draft, params, tools));
  }

  /** The customer is back from a provider's page (PayPal approval, Stripe 3DS); authorized by the client secret. */
  async completeRedirect(id: string, clientSecret: string, origin: string): Promise<OpOutcome> {
    const intent = await this.load();
    if (!intent || intent.id !== id || !timingSafeEqual(intent.clientSecret, clientSecret)) return notFound(id);
    return this.execute(this.systemRequest(intent, origin, "payment_intents.complete_redirect", "customer"), "complete_redirect", id, (draft, tools) => completeRedirect(draft, tools));
  }

  /** The customer canceled on a provider's page (PayPal's cancel link); authorized by the client secret. */
  async abandonRedirect(id: string, clientSecret: string, origin: string): Promise<OpOutcome> {
    const intent = await this.load();
    if (!intent || intent.id !== id || !timingSafeEqual(intent.clientSecret, clientSecret)) return notFound(id);
    return this.execute(this.systemRequest(intent, origin, "payment_intents.abandon_redirect", "customer"), "abandon_redirect", id, (draft, tools) => abandonRedirect(draft, tools));
  }

  /** Asks the connectors about this intent's pending attempts and applies the answers. From the reconciliation queue. */
  async reconcile(id: string, origin = ""): Promise<{ found: boolean; stillPending: number }> {
    const intent = await this.load();
    if (!intent || intent.id !== id) return { found: false, stillPending: 0 };
    let stillPending = 0;
    await this.execute(this.systemRequest(intent, origin, "payment_intents.reconcile"), "reconcile", id, async (draft, tools) => {
      const result = await reconcile(draft, tools);
      stillPending = result.stillPending;
      return result;
    });
    return { found: true, stillPending };
  }

  /**
   * A PSP's webhook event for this intent, from the account's merchant and mode. Each event is applied
   * once: its id is the idempotency key of the operation.
   */
  async applyProviderEvent(
    scope: Scope | null,
    id: string,
    accountId: string,
    event: ProviderEvent,
  ): Promise<{ found: boolean; applied: boolean; duplicate: boolean; note: string; alert?: boolean }> {
    const intent = await this.load();
    // A connector account's events reach only its merchant's intents; the built-in sandbox's (null
    // scope) only intents that went through the built-in sandbox.
    const mine = intent && (scope ? owns(intent, scope, id) : intent.id === id && intent.attempts.some((a) => a.connector === "sandbox" && a.connectorAccount === null));
    if (!intent || !mine) return { found: false, applied: false, duplicate: false, note: "no such payment intent for this account" };
    let note = "";
    let applied = false;
    let alert = false;
    const req: RequestContext = { ...this.systemRequest(intent, "", "payment_intents.provider_event", `psp:${accountId}`), idempotencyKey: `psp:${accountId}:${event.id}`, fingerprint: "psp-event" };
    const outcome = await this.execute(req, "provider_event", id, async (draft, tools) => {
      const result = applyProviderEvent(draft, event, tools, accountId);
      note = result.note;
      applied = result.applied;
      alert = result.alert === true;
      return result;
    });
    return { found: true, applied, duplicate: outcome.replayed, note: outcome.replayed ? "duplicate event" : note, ...(alert && !outcome.replayed ? { alert: true } : {}) };
  }

  /** An approver's decision on a refund waiting for approval. */
  async decideRefund(req: RequestContext, id: string, params: ApprovalParams): Promise<OpOutcome> {
    return this.execute(aboutRefund(req, params.refundId), params.approve ? "approve_refund" : "reject_refund", id, (draft, tools) => decideRefund(draft, params, tools));
  }

  /**
   * An operator resolves or dismisses a failed payment. Not while a retry of it may still take the
   * money: the payment would be both resolved by hand and paid by the retry.
   */
  async resolveFailedPayment(req: RequestContext, id: string, params: ResolutionParams): Promise<OpOutcome> {
    const intent = await this.load();
    if (!owns(intent, req.scope, id)) return notFound(id);
    await this.queue.run(() => this.settleRetry());
    return this.execute(req, `failed_payment_${params.status}`, id, async (draft, tools) => {
      const claim = await this.ctx.storage.get<RetryClaim>(RETRY_KEY);
      if (claim && !draft.resolution) throw retryInProgress(claim.id);
      return resolveFailedPayment(draft, params, tools);
    });
  }

  /**
   * Retries this failed payment as the new intent `retry.id` (created and confirmed through its own
   * object), then resolves this one by it when it went through. One retry at a time: the whole of it
   * runs in this object's queue, and the retry's id is on record here before its object hears of it,
   * so a retry arriving later (or after a reset) first finds out what that one came to. Two retries of
   * one failed payment can never both take the money.
   */
  async retryFailedPayment(req: RequestContext, id: string, retry: { request: RequestContext; params: CreateIntentParams; audit: RequestAudit }): Promise<{ outcome: OpOutcome; original: IntentRecord | null }> {
    const intent = await this.load();
    if (!owns(intent, req.scope, id)) return { outcome: notFound(id), original: null };
    return this.queue.run(async () => {
      const retryId = retry.params.id;
      const claim = await this.ctx.storage.get<RetryClaim>(RETRY_KEY);
      if (claim && claim.id !== retryId && (await this.settleRetry()) === "busy") return { outcome: failure(retryInProgress(claim.id).data, this.intent ?? null), original: this.intent ?? null };
      const failed = this.intent;
      if (!failed) return { outcome: notFound(id), original: null };
      if (!isFailedPayment(failed)) return { outcome: failure(unexpectedState(`PaymentIntent ${failed.id} is not a failed payment.`, "not_a_failed_payment").data, failed), original: failed };
      // Resolved by this very retry: its idempotent replay goes on to the retry's object, which answers as before.
      if (failed.resolution && failed.resolution.retriedBy !== retryId) {
        return { outcome: failure(unexpectedState(`This failed payment was already ${failed.resolution.status}.`, "failed_payment_already_resolved").data, failed), original: failed };
      }
      if (!failed.resolution) await this.ctx.storage.put<RetryClaim>(RETRY_KEY, { id: retryId, at: Date.now() });
      const outcome = await this.intentObject(retryId).create(retry.request, retry.params);
      const done = await this.retryDone(outcome.intent?.id === retryId ? outcome.intent : null, retry.audit);
      if (done) await this.ctx.storage.delete(RETRY_KEY);
      return { outcome, original: this.intent ?? null };
    });
  }

  /**
   * The retry `retryId` of this failed payment took the money (its customer passed 3D Secure, its PSP's
   * outcome was reconciled): this payment is resolved by it now, so the failed-payments lists stop
   * showing it, rather than at its next request. Told by the retry's object, after its commit; a lost
   * word costs nothing but that delay, as the next request here settles the retry all the same.
   */
  async retryWentThrough(scope: Scope, id: string, retryId: string): Promise<void> {
    if (!owns(await this.load(), scope, id)) return;
    const claim = await this.ctx.storage.get<RetryClaim>(RETRY_KEY);
    if (claim?.id !== retryId) return;
    await this.queue.run(() => this.settleRetry());
  }

  /** From a retry's object, after a commit that paid it: tells its original (see retryWentThrough). Never awaited in the queue: the original may be waiting on this object. */
  private async tellOriginal(retry: IntentRecord): Promise<void> {
    if (!retry.retryOf) return;
    try {
      await this.intentObject(retry.retryOf).retryWentThrough({ merchantId: retry.merchantId, livemode: retry.livemode }, retry.retryOf, retry.id);
    } catch (err) {
      log("warn", "could not tell a failed payment that its retry went through; its next request finds out", { intent: retry.retryOf, retry: retry.id, error: String(err) });
    }
  }

  /**
   * Within the queue: what the retry on record came to. A retry that went through resolves this payment;
   * one that failed or was canceled clears the way; one waiting for its customer or for confirmation is
   * canceled (a new retry replaces it; its object decides which comes first, so it cannot also pay); one
   * whose outcome the PSP has not given yet keeps the way shut.
   */
  private async settleRetry(): Promise<RetryVerdict> {
    const claim = await this.ctx.storage.get<RetryClaim>(RETRY_KEY);
    const intent = await this.load();
    if (!claim || !intent) return "clear";
    const stub = this.intentObject(claim.id);
    const scope = { merchantId: intent.merchantId, livemode: intent.livemode };
    let retried: IntentRecord | null = await stub.retrieve(scope, claim.id);
    if (!retried) {
      if (Date.now() - claim.at < RETRY_CLAIM_GRACE_MS) return "busy";
      await this.ctx.storage.delete(RETRY_KEY);
      return "clear";
    }
    if (retried.status === "requires_action" || retried.status === "requires_confirmation" || (retried.status === "requires_payment_method" && !retried.lastPaymentError)) {
      const canceled = await stub.cancel(this.systemRequest(intent, "", "payment_intents.cancel"), claim.id, { cancellationReason: "abandoned" });
      const after: IntentRecord | null = canceled.intent;
      if (after) retried = after;
    }
    const audit: RequestAudit = { action: "failed_payments.resolve", actor: "system", roles: [], details: { retried_by: claim.id } };
    if (!(await this.retryDone(retried, audit))) return "busy";
    await this.ctx.storage.delete(RETRY_KEY);
    return "clear";
  }

  /** Another intent's object (a retry of this one). */
  private intentObject(id: string): DurableObjectStub<PaymentIntentObject> {
    return this.env.PAYMENT_INTENTS.get(this.env.PAYMENT_INTENTS.idFromName(id));
  }

  /**
   * Within the queue: whether the retry has come to an end, resolving this payment by it when it took
   * the money. Still running (its PSP's answer unknown, its customer authenticating): false.
   */
  private async retryDone(retried: IntentRecord | null, audit: RequestAudit): Promise<boolean> {
    if (!retried) return true;
    if (isPaid(retried)) {
      const intent = this.intent;
      if (intent && !intent.resolution) {
        const req: RequestContext = { ...this.systemRequest(intent, ""), audit };
        await this.runLocked(req, "failed_payment_resolved", intent.id, async (draft, tools) =>
          resolveFailedPayment(draft, { status: "resolved", reason: "paid by a retry", paidByOtherMeans: false, retriedBy: retried.id, actor: audit.actor }, tools),
        );
      }
      return true;
    }
    return retried.status === "canceled" || isFailedPayment(retried);
  }

  /** From the cron: cancels the authorization if it is older than card networks hold one. */
  async expire(id: string, now: number): Promise<IntentRecord | null> {
    const intent = await this.load();
    if (!intent || intent.id !== id) return null;
    const outcome = await this.execute(this.systemRequest(intent, "", "payment_intents.expire"), "expire", id, (draft, tools) => expire(draft, now, tools));
    return outcome.intent;
  }

  /** A request of the gateway itself (reconciliation, expiry, webhooks, customers' browsers), audited as `actor`. */
  private systemRequest(intent: IntentRecord, origin: string, action: string | null = null, actor = "system"): RequestContext {
    return {
      scope: { merchantId: intent.merchantId, livemode: intent.livemode },
      requestId: null,
      idempotencyKey: null,
      fingerprint: null,
      origin,
      audit: action ? { action, actor, roles: [], details: {} } : null,
    };
  }

  /**
   * The customer's answer on the sandbox 3DS page. Authorized by the intent's client secret, not by an API key.
   * `attemptId`: the authorization the page was shown for; refused (nothing changes) when another one is pending.
   */
  async completeAuthentication(id: string, clientSecret: string, passed: boolean, origin: string, attemptId: string | null = null): Promise<OpOutcome> {
    const intent = await this.load();
    if (!intent || intent.id !== id || !timingSafeEqual(intent.clientSecret, clientSecret)) return notFound(id);
    return this.execute(this.systemRequest(intent, origin, "payment_intents.complete_authentication", "customer"), "complete_authentication", id, (draft, tools) =>
      completeAuthentication(draft, passed, tools, attemptId),
    );
  }

  // ---- the machinery -----------------------------------------------------------------------------

  private async execute(req: RequestContext, operation: string, id: string, body: Body, createParams?: CreateIntentParams): Promise<OpOutcome> {
    if (!createParams && !owns(await this.load(), req.scope, id)) return notFound(id);
    const key = req.idempotencyKey;
    if (!key) return this.queue.run(() => this.runLocked(req, operation, id, body, createParams));

    const running = this.inflight.get(key);
    if (running) {
      if (running.fingerprint !== req.fingerprint) return failure(idempotencyMismatch(key).data);
      const first = await Promise.race([running.promise, timeout(this.cfg.idempotencyWaitMs)]);
      if (first === "timeout") return failure(idempotencyInFlight(key).data);
      return { ...first, replayed: true };
    }
    const promise = (async (): Promise<OpOutcome> => {
      const atRest = await idempotencyKeyAtRest(this.cfg.fingerprintKey, key);
      // A record kept before keys with a card number in them were kept as a digest is found by the key itself.
      const stored =
        (await this.ctx.storage.get<IdempotencyRecord>(IDEMPOTENCY_PREFIX + atRest)) ??
        (atRest !== key ? await this.ctx.storage.get<IdempotencyRecord>(IDEMPOTENCY_PREFIX + key) : undefined);
      if (stored && (stored.operation === "create" || Date.now() - stored.created < IDEMPOTENCY_TTL_MS)) {
        if (stored.fingerprint !== req.fingerprint) return failure(idempotencyMismatch(key).data);
        if (stored.outcome === null) return { intent: await this.load(), refundId: stored.started?.refundId ?? null, error: null, before: stored.started?.before ?? null, replayed: true };
        return { ...stored.outcome, replayed: true };
      }
      const keyed: RequestContext = { ...req, idempotencyAtRest: atRest };
      return this.queue.run(() => this.runLocked(keyed, operation, id, body, createParams));
    })();
    this.inflight.set(key, { fingerprint: req.fingerprint, promise });
    try {
      return await promise;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async runLocked(req: RequestContext, operation: string, id: string, body: Body, createParams?: CreateIntentParams): Promise<OpOutcome> {
    const base = await this.load();
    const cfg = this.cfg;
    let draft: IntentRecord;
    if (createParams) {
      if (base) return failure(invalidRequest(`PaymentIntent ${base.id} already exists; retry its creation with the Idempotency-Key that created it.`, undefined, "resource_already_exists").data);
      draft = newIntent(createParams, req.scope, Date.now());
    } else {
      if (!owns(base, req.scope, id)) return notFound(id);
      draft = structuredClone(base);
    }

    const events: EventRecord[] = [];
    let checkpointed = false;
    const pendingBefore = new Set(base ? pendingAttempts(base).map((a) => a.id) : []);
    const tools: OperationTools = {
      config: cfg,
      health: healthGate(this.env, req.scope, (p) => this.ctx.waitUntil(p)),
      now: () => Date.now(),
      routes: (intent) => routesFor(this.env, req.scope, intent.paymentMethod ?? missingMethod(), intent.gatewayAccount ?? null),
      connectorOf: (intent, accountId) => connectorOf(this.env, req.scope, accountId, intent.paymentMethod?.type),
      gatewayReturnUrl: (intent) => `${cfg.publicBaseUrl ?? req.origin}/connectors/return/${intent.id}?client_secret=${encodeURIComponent(intent.clientSecret)}`,
      checkpoint: async () => {
        checkpointed = true;
        draft.version += 1;
        // A pending attempt is on record before the PSP hears of it. If we crash now, the alarm
        // brings the read model up to date and reconciliation resolves the attempt. So is the
        // request's key: its retry after a crash must not start a second attempt (a second refund).
        const entries: Record<string, unknown> = { [INTENT_KEY]: draft };
        if (req.idempotencyKey && req.fingerprint) {
          const started = new Set(pendingAttempts(draft).filter((a) => !pendingBefore.has(a.id)).map((a) => a.id));
          const refundId = draft.refunds.find((r) => r.attemptId !== null && started.has(r.attemptId))?.id ?? null;
          const record: IdempotencyRecord = { fingerprint: req.fingerprint, operation, created: Date.now(), outcome: null, started: { refundId, before: base?.status ?? null } };
          entries[IDEMPOTENCY_PREFIX + (req.idempotencyAtRest ?? req.idempotencyKey)] = record;
        }
        await this.putWithAlarm(entries, Date.now() + SYNC_RETRY_MS);
        this.intent = structuredClone(draft);
      },
      emit: (type, refund, chargeId) => {
        const event = this.event(type, draft, req, refund, chargeId);
        // A charge's or a refund's update tells what its changed fields were (Stripe's data.previous_attributes).
        const beforeRefund = type === "refund.updated" && refund ? base?.refunds.find((r) => r.id === refund.id) : undefined;
        const before = type === "charge.updated" && chargeId && base ? renderChargeById(base, chargeId) : beforeRefund && base ? renderRefund(beforeRefund, refundChargeOf(base)) : null;
        if (before) event.previousAttributes = previousAttributes({ ...before }, event.object);
        events.push(event);
        // Seed 003's own webhooks (AUTHORIZED, COMPLETED, ...) for the payments it created, in the same outbox.
        for (const extra of surfaceEvents(draft, type, refund)) events.push(this.surfaceEvent(extra.type, extra.object, draft, req));
      },
      challengeUrl: (intent) =>
        `${cfg.publicBaseUrl ?? req.origin}/sandbox/3ds/${intent.id}?client_secret=${encodeURIComponent(intent.clientSecret)}`,
    };

    let result: StepResult;
    try {
      result = await body(draft, tools);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      result = { error: err.data };
      if (!checkpointed) {
        // Rejected before anything happened: nothing changes but the idempotent answer.
        const outcome: OpOutcome = { intent: base, refundId: null, error: err.data, replayed: false, before: base?.status ?? null };
        await this.commit(req, operation, null, [], outcome, base);
        return outcome;
      }
    }

    if (!checkpointed && events.length === 0 && base && JSON.stringify(draft) === JSON.stringify(base)) {
      // Nothing changed (a reconciliation still waiting, an event already applied): no new version.
      const outcome: OpOutcome = { intent: base, refundId: result.refundId ?? null, error: result.error ?? null, replayed: false, before: base.status };
      await this.commit(req, operation, null, [], outcome, base);
      return outcome;
    }
    const problems = checkInvariants(draft);
    if (problems.length > 0) {
      log("error", "intent invariant violated; transition rejected", { intent: draft.id, operation, problems });
      throw new Error(`invariant violated: ${problems.join("; ")}`);
    }
    draft.version += 1;
    const outcome: OpOutcome = { intent: draft, refundId: result.refundId ?? null, error: result.error ?? null, replayed: false, before: base?.status ?? null };
    await this.commit(req, operation, draft, events, outcome, base);
    if (pendingAttempts(draft).some((a) => !pendingBefore.has(a.id))) this.ctx.waitUntil(this.scheduleReconciliation(draft.id));
    if (draft.retryOf && isPaid(draft) && !(base && isPaid(base))) this.ctx.waitUntil(this.tellOriginal(draft));
    return outcome;
  }

  /** An attempt's outcome is unknown: ask the reconciliation queue to find out, after its first delay. */
  private async scheduleReconciliation(id: string): Promise<void> {
    const delay = this.cfg.reconcileSchedule[0] ?? 30_000;
    try {
      await this.env.RECONCILE_QUEUE.send({ intentId: id, round: 1 }, { delaySeconds: Math.round(delay / 1000) });
    } catch (err) {
      // The alarm tries again (and, as a last resort, the cron finds pending attempts in the read model).
      log("warn", "could not queue a reconciliation; the alarm will retry", { intent: id, error: String(err) });
      await this.ctx.storage.setAlarm(Date.now() + SYNC_RETRY_MS);
    }
  }

  /** One atomic storage write: the new state, its events and the idempotent answer; then the read model. */
  private async commit(req: RequestContext, operation: string, next: IntentRecord | null, events: EventRecord[], outcome: OpOutcome, base: IntentRecord | null): Promise<void> {
    const entries: Record<string, unknown> = {};
    const auditEntry = this.auditEntry(req, outcome, base);
    if (auditEntry) entries[`${AUDIT_PREFIX}${auditEntry.id}`] = auditEntry;
    if (next) entries[INTENT_KEY] = next;
    // Ordered by the intent's version, then by emission: the outbox lists in the order things happened.
    const outboxKeys = events.map((_, i) => `${OUTBOX_PREFIX}${String(next?.version ?? 0).padStart(12, "0")}:${String(i).padStart(4, "0")}`);
    events.forEach((event, i) => {
      entries[outboxKeys[i] ?? ""] = event;
    });
    if (req.idempotencyKey && req.fingerprint) {
      // The answer's time and request, given to the caller and kept: a replay is rendered as this answer.
      outcome.answer = { at: Date.now(), requestId: req.requestId };
      const record: IdempotencyRecord = {
        fingerprint: req.fingerprint,
        operation,
        created: outcome.answer.at,
        outcome: { intent: outcome.intent, refundId: outcome.refundId, error: outcome.error, before: outcome.before, answer: outcome.answer },
      };
      entries[IDEMPOTENCY_PREFIX + (req.idempotencyAtRest ?? req.idempotencyKey)] = record;
    }
    if (Object.keys(entries).length === 0) return;
    if (!next) {
      await this.ctx.storage.put(entries);
      // Refused without a change: only the audit entry (if any) goes to D1.
      if (auditEntry && this.intent) this.ctx.waitUntil(this.syncReadModel(this.intent, [auditEntry]));
      return;
    }
    // With the state goes an alarm, as a backstop: if we are evicted before the read model is
    // written or the queue has the events, the alarm finishes the job. Both writes land together.
    this.unsettled++;
    await this.putWithAlarm(entries, Date.now() + (events.length ? OUTBOX_RETRY_MS : SYNC_RETRY_MS));
    this.intent = next;
    // With events to hand over, the audit entry leaves storage in the hand-over's write (with the
    // outbox entries and the alarm): one write after the read model instead of two. Until then it
    // waits, and the alarm would write it again (the insert ignores an entry D1 already has).
    const deferAudit = events.length > 0;
    const synced = await this.syncReadModel(next, auditEntry ? [auditEntry] : [], deferAudit);
    const auditKeys = deferAudit && synced && auditEntry ? [`${AUDIT_PREFIX}${auditEntry.id}`] : [];
    const handed = events.length > 0 ? this.handOver(outboxKeys, events, synced, auditKeys) : Promise.resolve<HandOver>({ ok: true, alarmCleared: false });
    this.ctx.waitUntil(
      handed.then(async ({ ok, alarmCleared }) => {
        this.unsettled--;
        if (!ok || !synced) this.backlog = true;
        // Nothing left to do: an idle intent should not wake up for nothing.
        else if (this.unsettled === 0 && !this.backlog && !alarmCleared) await this.ctx.storage.deleteAlarm();
      }),
    );
  }

  /**
   * Writes `entries` with a backstop alarm ringing by `by`, both in one write. An alarm already set
   * that soon is kept rather than set again (a confirm's checkpoint set one moments before): every
   * setAlarm is a write to the runtime's alarm index as well as to this object's storage.
   */
  private async putWithAlarm(entries: Record<string, unknown>, by: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    const keep = current !== null && current <= by;
    await Promise.all([this.ctx.storage.put(entries), ...(keep ? [] : [this.ctx.storage.setAlarm(by)])]);
  }

  /**
   * Gives the events just committed to the queue and removes them from the outbox. When older events
   * may still be waiting (a failed send, or an object just woken with an unknown outbox), the whole
   * outbox is drained in order instead.
   */
  private async handOver(keys: string[], events: EventRecord[], synced: boolean, auditKeys: string[]): Promise<HandOver> {
    if (this.backlog || this.flushing) {
      const ok = await this.flushOutbox();
      if (auditKeys.length) await this.ctx.storage.delete(auditKeys);
      return { ok, alarmCleared: false };
    }
    try {
      await this.publishEvents(events);
      // When this commit is the only one unsettled and the read model has it, the backstop alarm is
      // removed in the same storage write as the outbox entries (one write instead of two).
      const last = synced && this.unsettled === 1 && !this.backlog && !this.flushing;
      await Promise.all([this.ctx.storage.delete([...keys, ...auditKeys]), ...(last ? [this.ctx.storage.deleteAlarm()] : [])]);
      return { ok: true, alarmCleared: last };
    } catch (err) {
      log("warn", "handing events to the queue failed; the alarm will retry", { error: String(err) });
      this.backlog = true;
      await this.ctx.storage.setAlarm(Date.now() + OUTBOX_RETRY_MS);
      return { ok: false, alarmCleared: false };
    }
  }

  /**
   * Hands the outbox to the events queue, oldest first. An event leaves the outbox only after the
   * queue accepted it; a failure leaves it there for the alarm. A second call while one runs makes
   * the running one go round again, so nothing committed meanwhile is left behind.
   */
  flushOutbox(): Promise<boolean> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.flushAgain = false;
          for (;;) {
            const batch = await this.ctx.storage.list<EventRecord>({ prefix: OUTBOX_PREFIX, limit: OUTBOX_BATCH });
            if (batch.size === 0) break;
            await this.publishEvents([...batch.values()]);
            await this.ctx.storage.delete([...batch.keys()]);
          }
        } while (this.flushAgain);
        this.backlog = false;
        return true;
      } catch (err) {
        log("warn", "handing events to the queue failed; the alarm will retry", { error: String(err) });
        this.backlog = true;
        await this.ctx.storage.setAlarm(Date.now() + OUTBOX_RETRY_MS);
        return false;
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** The one place events leave the object (tests replace it to make the queue fail). */
  async publishEvents(events: EventRecord[]): Promise<void> {
    await this.env.EVENTS_QUEUE.sendBatch(events.map((body) => ({ body, contentType: "json" as const })));
  }

  /** The audit entry of an operation, kept in storage until it is in D1 with the intent. */
  private auditEntry(req: RequestContext, outcome: OpOutcome, base: IntentRecord | null): AuditRow | null {
    if (!req.audit) return null;
    const intent = outcome.intent;
    // The refund the operation was about: the one it made or changed, else (refused) the one it named.
    const refundId = outcome.refundId ?? req.aboutRefund ?? null;
    const refund = refundId ? (intent?.refunds.find((r) => r.id === refundId) ?? base?.refunds.find((r) => r.id === refundId)) : undefined;
    const refundBefore = refundId ? base?.refunds.find((r) => r.id === refundId) : undefined;
    return auditRow(
      { actor: req.audit.actor, roles: req.audit.roles, merchantId: req.scope.merchantId, livemode: req.scope.livemode },
      {
        action: req.audit.action,
        objectType: refund ? "refund" : "payment_intent",
        objectId: refund?.id ?? intent?.id ?? null,
        statusBefore: refund ? (refundBefore?.status ?? null) : outcome.before,
        statusAfter: refund?.status ?? intent?.status ?? null,
        httpStatus: outcome.error?.status ?? 200,
        details: {
          ...(intent ? { payment_intent: intent.id, amount: intent.amount, currency: intent.currency } : {}),
          ...(refund ? { refund_amount: refund.amount } : {}),
          ...(outcome.error ? { error_code: outcome.error.code ?? outcome.error.type } : {}),
          ...req.audit.details,
        },
      },
      { requestId: req.requestId, idempotencyKey: req.idempotencyKey },
    );
  }

  /**
   * Writes the intent, with audit entries waiting for D1, in one batch; true when the read model is up
   * to date with it. `audits` are this commit's; the alarm passes none and sends all that wait.
   * `keepAudits`: the caller removes them from storage itself (in its next write).
   */
  private async syncReadModel(intent: IntentRecord, audits?: AuditRow[], keepAudits = false): Promise<boolean> {
    try {
      const waiting = audits ? new Map(audits.map((a) => [`${AUDIT_PREFIX}${a.id}`, a])) : await this.ctx.storage.list<AuditRow>({ prefix: AUDIT_PREFIX });
      await writeIntent(shardFor(this.env, intent.merchantId), intent, [...waiting.values()]);
      if (waiting.size && !keepAudits) await this.ctx.storage.delete([...waiting.keys()]);
      return true;
    } catch (err) {
      log("warn", "read model write failed; retrying from the alarm", { intent: intent.id, error: String(err) });
      await this.ctx.storage.setAlarm(Date.now() + SYNC_RETRY_MS);
      return false;
    }
  }

  /** The backstop: bring the read model up to date (a versioned upsert, harmless if it already is) and drain the outbox. */
  override async alarm(): Promise<void> {
    const intent = await this.load();
    const synced = intent ? await this.syncReadModel(intent) : true;
    if ((await this.flushOutbox()) && synced) this.backlog = false;
    // A crash between recording an attempt and hearing from the PSP leaves it pending: reconcile it.
    if (intent && this.queue.depth === 0 && pendingAttempts(intent).length > 0) await this.scheduleReconciliation(intent.id);
  }

  private surfaceEvent(type: string, object: Record<string, unknown>, intent: IntentRecord, req: RequestContext): EventRecord {
    this.lastEventMs = Math.max(Date.now(), this.lastEventMs + 1);
    return { id: randomId("evt"), type, created: this.lastEventMs, merchantId: intent.merchantId, livemode: intent.livemode, object, requestId: req.requestId, idempotencyKey: redactNullable(req.idempotencyKey), paymentIntentId: intent.id, orderId: intent.orderId };
  }

  private event(type: string, intent: IntentRecord, req: RequestContext, refund?: RefundRecord, chargeId?: string): EventRecord {
    const object =
      type.startsWith("refund.") && refund
        ? renderRefund(refund, refundChargeOf(intent))
        : type.startsWith("charge.") && chargeId
          ? renderChargeById(intent, chargeId)
          : type === "charge.failed"
          ? renderFailedCharge(intent, intent.lastPaymentError?.attemptId ?? "")
          : type.startsWith("charge.")
            ? renderCharge(intent)
            : renderIntent(intent);
    this.lastEventMs = Math.max(Date.now(), this.lastEventMs + 1);
    return {
      id: randomId("evt"),
      type,
      created: this.lastEventMs,
      merchantId: intent.merchantId,
      livemode: intent.livemode,
      object: { ...(object ?? renderIntent(intent)) },
      requestId: req.requestId,
      // As the audit log keeps it: a card number a client put in its key is not kept with the event.
      idempotencyKey: redactNullable(req.idempotencyKey),
      paymentIntentId: intent.id,
      orderId: intent.orderId,
    };
  }
}
