// Stripe's Setup Intents: a customer's card saved for later payments without charging it. A setup
// intent names a payment method (created from a test card, a token or card details, or one already
// saved) and, when confirmed, checks the card (the sandbox's zero-amount verification,
// sandboxSetupCheck) and attaches it to the setup's customer. Its rows live in D1 (migration 0057);
// every change is one batch conditional on the version read, so of two confirmations racing one saves
// the card and the other finds the setup already succeeded; a confirmation's attach of the card, its
// events and the setup's new status commit together or not at all. Each confirmation that checks a card
// records a SetupAttempt (migration 0070: succeeded, or failed with its setup_error) in that same batch,
// only if the setup's change happened, and the setup names it in latest_attempt. A card that requires
// 3D Secure sends the setup to requires_action (its attempt too, migration 0073): its customer answers the
// sandbox's challenge (src/pages/setup-threeds.ts), and completeSetupChallenge saves the card or fails
// the setup, again in one batch conditional on the version read, so two answers complete it once.
import { and, eq } from "drizzle-orm";
import { invalidRequest, resourceMissing } from "../core/errors";
import { hmacBase62, randomId } from "../core/ids";
import { docUrlOf } from "../core/objects";
import type { Metadata, PaymentMethodDetails, Scope } from "../core/types";
import { sandboxSetupCheck } from "../connectors/sandbox/connector";
import { setupAttempts, setupIntents } from "../db/schema";
import { config, type Env } from "../env";
import { assertNotDetached } from "./payment-methods";
import { db, findPaymentMethod, parseDetails, parseMetadata, renderPaymentMethodRow, type PaymentMethodObjectJson, type PaymentMethodRow } from "./store";
import { Writes } from "./writes";

export type SetupIntentRow = typeof setupIntents.$inferSelect;
export type SetupAttemptRow = typeof setupAttempts.$inferSelect;
export type SetupIntentStatus = "requires_payment_method" | "requires_confirmation" | "requires_action" | "processing" | "canceled" | "succeeded";
export type SetupCancellationReason = "abandoned" | "duplicate" | "requested_by_customer";

export interface LastSetupErrorJson {
  /** card_error for a declined card; invalid_request_error for a failed 3D Secure challenge (setup_intent_authentication_failure), as at Stripe. */
  type: "card_error" | "invalid_request_error";
  code: string;
  /** A declined card's; absent after a failed challenge. */
  decline_code?: string;
  doc_url?: string;
  message: string;
  payment_method: PaymentMethodObjectJson;
}

export interface SetupIntentJson {
  id: string;
  object: "setup_intent";
  allowed_payment_method_types: null;
  application: null;
  automatic_payment_methods: null;
  cancellation_reason: string | null;
  client_secret: string;
  created: number;
  customer: string | null;
  customer_account: null;
  description: string | null;
  excluded_payment_method_types: null;
  flow_directions: null;
  last_setup_error: LastSetupErrorJson | null;
  /** Its newest SetupAttempt (setatt_...), or that attempt when expanded; null before a confirmation checked a card. */
  latest_attempt: string | SetupAttemptJson | null;
  livemode: boolean;
  mandate: null;
  metadata: Metadata;
  /** In requires_action: the 3D Secure challenge its customer answers (the address carries the client secret); null otherwise. */
  next_action: SetupNextActionJson | null;
  on_behalf_of: null;
  payment_method: string | null;
  payment_method_configuration_details: null;
  payment_method_options: { card: { mandate_options: null; network: null; request_three_d_secure: "automatic" } };
  payment_method_types: ["card"];
  single_use_mandate: null;
  status: SetupIntentStatus;
  usage: string;
}

/** Stripe's next_action of a setup in requires_action: as a payment intent's 3D Secure, always a redirect (return_url null without one). */
export interface SetupNextActionJson {
  type: "redirect_to_url";
  redirect_to_url: { url: string; return_url: string | null };
}

/**
 * What the setup's row keeps of its latest challenge (next_action, migration 0073): the address is made
 * when rendered (next_action, only in requires_action); kept after its answer, so that the challenge's
 * page still leads back to the return_url.
 */
export interface StoredChallenge {
  origin: string;
  return_url: string | null;
}

/** Where the sandbox's challenge page of the setup's attempt `attempt` is, on `origin` ("" for a path). */
export function setupChallengeUrl(origin: string, id: string, clientSecret: string, attempt: string): string {
  return `${origin}/sandbox/3ds/${encodeURIComponent(id)}?client_secret=${encodeURIComponent(clientSecret)}&attempt=${encodeURIComponent(attempt)}`;
}

/** The setup's latest challenge (waiting or answered), or null when none was ever asked. */
export function storedChallenge(row: SetupIntentRow): StoredChallenge | null {
  return row.nextAction ? (JSON.parse(row.nextAction) as StoredChallenge) : null;
}

/**
 * Stripe's SetupAttempt statuses. Here an attempt is requires_action while its 3D Secure challenge waits,
 * then succeeded or failed; abandoned when the setup was canceled meanwhile; processing never occurs.
 */
export type SetupAttemptStatus = "requires_confirmation" | "requires_action" | "processing" | "succeeded" | "failed" | "abandoned";

/** Stripe's SetupAttempt.payment_method_details.card: the card as it was checked. */
export interface SetupAttemptCardJson {
  brand: string;
  checks: { address_line1_check: null; address_postal_code_check: null; cvc_check: null };
  country: string | null;
  exp_month: number;
  exp_year: number;
  fingerprint: string;
  funding: string;
  last4: string;
  network: string;
  /** The 3D Secure challenge the attempt asked for, once answered; null otherwise. */
  three_d_secure: SetupAttemptThreeDSecureJson | null;
  wallet: null;
}

/** Stripe's SetupAttempt card three_d_secure: the sandbox's challenge, passed (authenticated) or failed. */
export interface SetupAttemptThreeDSecureJson {
  authentication_flow: "challenge";
  electronic_commerce_indicator: null;
  result: "authenticated" | "failed";
  result_reason: null;
  transaction_id: null;
  version: null;
}

export type SetupAttemptMethodDetailsJson = { type: "card"; card: SetupAttemptCardJson } | { type: "paypal"; paypal: Record<string, never> };

/** Stripe's SetupAttempt: one confirmation of a setup intent that checked its card. */
export interface SetupAttemptJson {
  id: string;
  object: "setup_attempt";
  application: null;
  attach_to_self: false;
  created: number;
  customer: string | null;
  customer_account: null;
  flow_directions: null;
  livemode: boolean;
  on_behalf_of: null;
  payment_method: string;
  payment_method_details: SetupAttemptMethodDetailsJson;
  setup_error: LastSetupErrorJson | null;
  setup_intent: string;
  status: SetupAttemptStatus;
  usage: string;
}

/** The payment_method_details of an attempt with `details`, stored with it (a card's never changes, but the attempt says what was checked). */
export function setupAttemptMethodDetails(details: PaymentMethodDetails): SetupAttemptMethodDetailsJson {
  const card = details.card;
  if (details.type !== "card" || !card) return { type: "paypal", paypal: {} };
  return {
    type: "card",
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: null },
      country: card.country,
      exp_month: card.expMonth,
      exp_year: card.expYear,
      fingerprint: card.fingerprint,
      funding: card.funding,
      last4: card.last4,
      network: card.brand,
      three_d_secure: null,
      wallet: null,
    },
  };
}

export function renderSetupAttempt(row: SetupAttemptRow): SetupAttemptJson {
  return {
    id: row.id,
    object: "setup_attempt",
    application: null,
    attach_to_self: false,
    created: Math.floor(row.created / 1000),
    customer: row.customer,
    customer_account: null,
    flow_directions: null,
    livemode: row.livemode,
    on_behalf_of: null,
    payment_method: row.paymentMethod,
    payment_method_details: JSON.parse(row.paymentMethodDetails) as SetupAttemptMethodDetailsJson,
    setup_error: row.setupError ? (JSON.parse(row.setupError) as LastSetupErrorJson) : null,
    setup_intent: row.setupIntent,
    status: row.status as SetupAttemptStatus,
    usage: row.usage,
  };
}

/** The setup's client_secret: its id and an HMAC of it with the gateway's key (nothing to store, nothing to leak from D1). */
export async function setupClientSecret(env: Env, id: string): Promise<string> {
  return `${id}_secret_${await hmacBase62(config(env).fingerprintKey, `setup_intent:${id}`, 24)}`;
}

export async function renderSetupIntent(env: Env, row: SetupIntentRow): Promise<SetupIntentJson> {
  const clientSecret = await setupClientSecret(env, row.id);
  const challenge = row.status === "requires_action" ? storedChallenge(row) : null;
  return {
    id: row.id,
    object: "setup_intent",
    allowed_payment_method_types: null,
    application: null,
    automatic_payment_methods: null,
    cancellation_reason: row.cancellationReason,
    client_secret: clientSecret,
    created: Math.floor(row.created / 1000),
    customer: row.customer,
    customer_account: null,
    description: row.description,
    excluded_payment_method_types: null,
    flow_directions: null,
    last_setup_error: row.lastSetupError ? (JSON.parse(row.lastSetupError) as LastSetupErrorJson) : null,
    latest_attempt: row.latestAttempt,
    livemode: row.livemode,
    mandate: null,
    metadata: parseMetadata(row.metadata),
    next_action:
      challenge && row.latestAttempt
        ? { type: "redirect_to_url", redirect_to_url: { url: setupChallengeUrl(challenge.origin, row.id, clientSecret, row.latestAttempt), return_url: challenge.return_url } }
        : null,
    on_behalf_of: null,
    payment_method: row.paymentMethod,
    payment_method_configuration_details: null,
    payment_method_options: { card: { mandate_options: null, network: null, request_three_d_secure: "automatic" } },
    payment_method_types: ["card"],
    single_use_mandate: null,
    status: row.status as SetupIntentStatus,
    usage: row.usage,
  };
}

export async function findSetupIntent(d1: D1Database, scope: Scope, id: string, param = "id"): Promise<SetupIntentRow> {
  const [row] = await db(d1)
    .select()
    .from(setupIntents)
    .where(and(eq(setupIntents.id, id), eq(setupIntents.merchantId, scope.merchantId), eq(setupIntents.livemode, scope.livemode)))
    .limit(1);
  if (!row) throw resourceMissing("setup_intent", id.slice(0, 80), param);
  return row;
}

/** The statuses a setup can still be canceled in. */
export const OPEN_STATUSES: readonly string[] = ["requires_payment_method", "requires_confirmation", "requires_action"];

/**
 * The statuses a setup can be confirmed, or given another card or customer, in: not while its 3D Secure
 * challenge waits (requires_action), which its customer answers or the merchant cancels; Stripe's
 * reference says nothing of confirming again then, so it is refused (setup_intent_unexpected_state).
 */
export const CONFIRMABLE_STATUSES: readonly string[] = ["requires_payment_method", "requires_confirmation"];

export function unexpectedSetupState(row: SetupIntentRow, action: string): never {
  throw invalidRequest(`You cannot ${action} this SetupIntent because it has a status of ${row.status}.`, undefined, "setup_intent_unexpected_state");
}

/**
 * The payment method a setup may save for its customer: not detached, and not another customer's
 * (a card on one customer is never attached to another through a setup).
 */
export function assertUsableFor(pm: PaymentMethodRow, customer: string | null, param: string): void {
  assertNotDetached(pm);
  if (pm.customer !== null && pm.customer !== customer) {
    throw invalidRequest(`The payment method ${pm.id} is attached to ${customer === null ? "a customer" : "another customer"}; a SetupIntent saves a card for its own customer.`, param, "payment_method_already_attached");
  }
}

/** The SQL of a setup attempt's row: written only if the setup's change in the same batch happened (see addAttempt). */
const ATTEMPT_SQL =
  "INSERT INTO setup_attempts (id, merchant_id, livemode, setup_intent, customer, payment_method, payment_method_details, status, usage, setup_error, created) " +
  "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, MAX(?11, COALESCE((SELECT MAX(created) + 1 FROM setup_attempts WHERE merchant_id = ?2 AND livemode = ?3 AND setup_intent = ?4), 0)) " +
  "WHERE EXISTS (SELECT 1 FROM setup_intents WHERE id = ?4 AND merchant_id = ?2 AND latest_attempt = ?1)";

/**
 * Adds the attempt's row to `w`, after the setup's change and its events (so no event's guard reads
 * it): inserted only if that change happened, which alone named the attempt (a new id) in the setup's
 * latest_attempt. Its `created` comes after every earlier attempt of the setup's, even within one
 * millisecond, so that newest first is the order they were made in.
 */
function addAttempt(w: Writes, scope: Scope, row: SetupIntentRow, attempt: { id: string; pm: PaymentMethodRow; details: PaymentMethodDetails; status: "succeeded" | "failed" | "requires_action"; error: LastSetupErrorJson | null }): void {
  w.add(ATTEMPT_SQL, [
    attempt.id,
    scope.merchantId,
    scope.livemode ? 1 : 0,
    row.id,
    row.customer,
    attempt.pm.id,
    JSON.stringify(setupAttemptMethodDetails(attempt.details)),
    attempt.status,
    row.usage,
    attempt.error ? JSON.stringify(attempt.error) : null,
    Date.now(),
  ]);
}

/** What the check of the card found, for the route's answer. */
export type ConfirmOutcome =
  | { kind: "succeeded"; row: SetupIntentRow }
  | { kind: "requires_action"; row: SetupIntentRow }
  | { kind: "failed"; row: SetupIntentRow; error: LastSetupErrorJson }
  | { kind: "lost"; row: SetupIntentRow };

/** Where a confirmation's 3D Secure challenge is served (the gateway's public origin) and where it sends the customer back. */
export interface ChallengeTarget {
  origin: string;
  returnUrl: string | null;
}

/**
 * Adds the success of `row` (as read) with `pm` to `w`: the card attached to the setup's customer (if
 * not yet), the setup succeeded naming attempt `attemptId`, its event. Conditional on the setup's
 * version and on the card being usable for the customer; answers the index of the result that says
 * whether the setup changed. The caller adds the attempt's statement after it.
 */
async function addSuccess(env: Env, w: Writes, row: SetupIntentRow, pm: PaymentMethodRow, attemptId: string, requestId: string | null): Promise<{ index: number; row: SetupIntentRow }> {
  let index = 0;
  // A customer deleted meanwhile gets no card: nothing is written.
  const live = "(?1 IS NULL OR EXISTS (SELECT 1 FROM customers WHERE id = ?1 AND deleted = 0))";
  if (row.customer !== null && pm.customer === null) {
    // Attached in the same transaction as the setup's success, only if the setup is still the one read.
    w.add(`UPDATE payment_methods SET customer = ?1 WHERE id = ?2 AND customer IS NULL AND detached IS NULL AND EXISTS (SELECT 1 FROM setup_intents WHERE id = ?3 AND version = ?4) AND ${live}`, [row.customer, pm.id, row.id, row.version]);
    await w.event("payment_method.attached", renderPaymentMethodRow({ ...pm, customer: row.customer }), [pm.id, row.customer], { requestId });
    index = w.size;
  }
  const succeeded: SetupIntentRow = { ...row, status: "succeeded", paymentMethod: pm.id, lastSetupError: null, latestAttempt: attemptId, version: row.version + 1 };
  // The card must be on the setup's customer by now (or on none, for a setup without one): attached
  // above, already there, or (a detach or another attach meanwhile) not, and then nothing is written.
  w.add(
    `UPDATE setup_intents SET status = 'succeeded', payment_method = ?2, last_setup_error = NULL, latest_attempt = ?5, version = version + 1 WHERE id = ?3 AND version = ?4 AND EXISTS (SELECT 1 FROM payment_methods WHERE id = ?2 AND detached IS NULL AND customer IS ?1) AND ${live}`,
    [row.customer, pm.id, row.id, row.version, attemptId],
  );
  await w.event("setup_intent.succeeded", await renderSetupIntent(env, succeeded), [row.id, "succeeded"], { requestId });
  return { index, row: succeeded };
}

/**
 * Confirms `row` (as read, confirmable) with `pm` (saved, usable for its customer): the card is checked;
 * passed, it is attached to the setup's customer and the setup succeeds; declined, the setup goes back
 * to requires_payment_method with its last_setup_error; a card that requires 3D Secure (test mode) sends
 * the setup to requires_action, its challenge served on `challenge.origin`. One batch, conditional on
 * the setup's version (and on the card still being usable): "lost" when someone else changed it first.
 */
export async function confirmSetup(env: Env, scope: Scope, row: SetupIntentRow, pm: PaymentMethodRow, options: { requestId: string | null; livemode: boolean; challenge: ChallengeTarget }): Promise<ConfirmOutcome> {
  const details: PaymentMethodDetails = parseDetails(pm);
  // Live cards are saved as POST /v1/payment_methods saves them (no verification charge is made here).
  const check = options.livemode ? null : sandboxSetupCheck(details);
  const w = new Writes(env.DB, scope);
  const attemptId = randomId("setatt");
  if (check === "challenge") {
    const stored: StoredChallenge = { origin: options.challenge.origin, return_url: options.challenge.returnUrl };
    const pending: SetupIntentRow = { ...row, status: "requires_action", paymentMethod: pm.id, lastSetupError: null, latestAttempt: attemptId, nextAction: JSON.stringify(stored), version: row.version + 1 };
    w.add("UPDATE setup_intents SET status = 'requires_action', payment_method = ?, last_setup_error = NULL, latest_attempt = ?, next_action = ?, version = version + 1 WHERE id = ? AND version = ?", [pm.id, attemptId, pending.nextAction, row.id, row.version]);
    await w.event("setup_intent.requires_action", await renderSetupIntent(env, pending), [row.id, "requires_action", attemptId], { requestId: options.requestId });
    addAttempt(w, scope, row, { id: attemptId, pm, details, status: "requires_action", error: null });
    const [changed] = await w.commit(env);
    return changed ? { kind: "requires_action", row: pending } : { kind: "lost", row };
  }
  if (check) {
    const error: LastSetupErrorJson = { type: "card_error", code: check.code, decline_code: check.declineCode, ...docUrlOf(check.code), message: check.message, payment_method: renderPaymentMethodRow(pm) };
    const failed: SetupIntentRow = { ...row, status: "requires_payment_method", paymentMethod: null, lastSetupError: JSON.stringify(error), latestAttempt: attemptId, version: row.version + 1 };
    w.add("UPDATE setup_intents SET status = ?, payment_method = NULL, last_setup_error = ?, latest_attempt = ?, version = version + 1 WHERE id = ? AND version = ?", [failed.status, failed.lastSetupError, attemptId, row.id, row.version]);
    await w.event("setup_intent.setup_failed", await renderSetupIntent(env, failed), [row.id, "failed", String(failed.version)], { requestId: options.requestId });
    addAttempt(w, scope, row, { id: attemptId, pm, details, status: "failed", error });
    const [changed] = await w.commit(env);
    return changed ? { kind: "failed", row: failed, error } : { kind: "lost", row };
  }
  const success = await addSuccess(env, w, row, pm, attemptId, options.requestId);
  addAttempt(w, scope, row, { id: attemptId, pm, details, status: "succeeded", error: null });
  const results = await w.commit(env);
  return results[success.index] ? { kind: "succeeded", row: success.row } : { kind: "lost", row };
}

/** The message of a failed challenge, as Stripe words setup_intent_authentication_failure. */
const AUTHENTICATION_FAILED = "The latest attempt to set up the payment method has failed because authentication failed.";

/**
 * The attempt's answer, after the setup's change in the same batch: its attempt leaves requires_action
 * only if that change happened (the setup now at `version`, in `status`, naming it), so of two answers
 * only the one that moved the setup writes it.
 */
function addAttemptAnswer(w: Writes, scope: Scope, row: SetupIntentRow, attemptId: string, status: "succeeded" | "failed" | "abandoned", error: LastSetupErrorJson | null, setupStatus: SetupIntentStatus): void {
  // An answered challenge is said in the card's three_d_secure (as a charge's is); an abandoned one was never answered.
  const threeDSecure: SetupAttemptThreeDSecureJson | null =
    status === "abandoned" ? null : { authentication_flow: "challenge", electronic_commerce_indicator: null, result: status === "succeeded" ? "authenticated" : "failed", result_reason: null, transaction_id: null, version: null };
  w.add(
    "UPDATE setup_attempts SET status = ?1, setup_error = ?2, " +
      "payment_method_details = CASE WHEN ?8 IS NOT NULL AND json_extract(payment_method_details, '$.type') = 'card' THEN json_set(payment_method_details, '$.card.three_d_secure', json(?8)) ELSE payment_method_details END " +
      "WHERE id = ?3 AND merchant_id = ?4 AND status = 'requires_action' " +
      "AND EXISTS (SELECT 1 FROM setup_intents WHERE id = ?5 AND merchant_id = ?4 AND version = ?6 AND status = ?7 AND latest_attempt = ?3)",
    [status, error ? JSON.stringify(error) : null, attemptId, scope.merchantId, row.id, row.version + 1, setupStatus, threeDSecure ? JSON.stringify(threeDSecure) : null],
  );
}

/** How a challenge's answer ended: the setup as it now is, or "lost" (answered, replaced or canceled meanwhile: nothing written). */
export type ChallengeOutcome = { kind: "succeeded" | "failed"; row: SetupIntentRow } | { kind: "lost" };

/**
 * The customer's answer to the 3D Secure challenge of `row` (as read: requires_action, its pending
 * attempt `attemptId`): approved, the card is saved as a confirmation saves it (attached to the setup's
 * customer, the setup and the attempt succeeded); failed, the setup goes back to requires_payment_method
 * with last_setup_error setup_intent_authentication_failure and the attempt fails with it. One batch,
 * conditional on the version read: of two answers (two tabs, a double click) one completes it.
 */
export async function completeSetupChallenge(env: Env, scope: Scope, row: SetupIntentRow, attemptId: string, approved: boolean, requestId: string | null): Promise<ChallengeOutcome> {
  if (row.status !== "requires_action" || row.latestAttempt !== attemptId || row.paymentMethod === null) return { kind: "lost" };
  const pm = await findPaymentMethod(env.DB, scope, row.paymentMethod);
  const w = new Writes(env.DB, scope);
  if (approved) {
    const success = await addSuccess(env, w, row, pm, attemptId, requestId);
    addAttemptAnswer(w, scope, row, attemptId, "succeeded", null, "succeeded");
    // The card is set up: its issuer lets later off-session charges through without a challenge (the
    // sandbox's 4000002500003155, as at Stripe). Only if this answer's success was written.
    w.add("UPDATE payment_methods SET details = json_set(details, '$.setupAuthenticated', json('true')) WHERE id = ? AND EXISTS (SELECT 1 FROM setup_intents WHERE id = ? AND status = 'succeeded' AND latest_attempt = ?)", [pm.id, row.id, attemptId]);
    const results = await w.commit(env);
    return results[success.index] ? { kind: "succeeded", row: success.row } : { kind: "lost" };
  }
  const error: LastSetupErrorJson = { type: "invalid_request_error", code: "setup_intent_authentication_failure", ...docUrlOf("setup_intent_authentication_failure"), message: AUTHENTICATION_FAILED, payment_method: renderPaymentMethodRow(pm) };
  const failed: SetupIntentRow = { ...row, status: "requires_payment_method", paymentMethod: null, lastSetupError: JSON.stringify(error), version: row.version + 1 };
  w.add("UPDATE setup_intents SET status = 'requires_payment_method', payment_method = NULL, last_setup_error = ?, version = version + 1 WHERE id = ? AND version = ? AND status = 'requires_action' AND latest_attempt = ?", [failed.lastSetupError, row.id, row.version, attemptId]);
  await w.event("setup_intent.setup_failed", await renderSetupIntent(env, failed), [row.id, "failed", String(failed.version)], { requestId });
  addAttemptAnswer(w, scope, row, attemptId, "failed", error, "requires_payment_method");
  const [changed] = await w.commit(env);
  return changed ? { kind: "failed", row: failed } : { kind: "lost" };
}

/** Cancels an open setup, once: "lost" when someone else changed it first. */
export async function cancelSetup(env: Env, scope: Scope, row: SetupIntentRow, reason: SetupCancellationReason | null, requestId: string | null): Promise<{ row: SetupIntentRow; lost: boolean }> {
  const canceled: SetupIntentRow = { ...row, status: "canceled", cancellationReason: reason, version: row.version + 1 };
  const w = new Writes(env.DB, scope);
  w.add("UPDATE setup_intents SET status = 'canceled', cancellation_reason = ?, version = version + 1 WHERE id = ? AND version = ?", [reason, row.id, row.version]);
  await w.event("setup_intent.canceled", await renderSetupIntent(env, canceled), [row.id, "canceled"], { requestId });
  // A challenge still waiting is abandoned with it (Stripe's SetupAttempt status): its page answers nothing now.
  if (row.status === "requires_action" && row.latestAttempt) addAttemptAnswer(w, scope, row, row.latestAttempt, "abandoned", null, "canceled");
  const [changed] = await w.commit(env);
  return { row: changed ? canceled : row, lost: !changed };
}
