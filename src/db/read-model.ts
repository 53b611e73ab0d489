// Writes an intent (and its charge and refunds) to the D1 read model. Only the intent's Durable Object
// calls this. Each row carries the intent's version and is only ever replaced by a newer one, so a
// retried or late write can never move the read model backwards.
import { and, eq, sql, type Placeholder } from "drizzle-orm";
import { chargeAttempt, failureReason, isFailedCharge } from "../core/intent";
import { chargeIdForIntent, failedChargeId } from "../core/ids";
import { isVoidedSale } from "../core/pos-status";
import type { IntentRecord } from "../core/types";
import type { AuditRow } from "../audit/log";
import { intentData, intentSummaryColumns } from "./intent-row";
import { prepared, type BindValue } from "./prepared";
import { auditLog, charges, intentNumbers, paymentIntentMetadata, paymentIntents, refunds } from "./schema";

// The statements of writeIntent, built once (src/db/prepared.ts). A row is only ever replaced by a
// newer version of it.
const INTENT_COLUMNS = [
  "id", "merchantId", "livemode", "status", "amount", "currency", "customer", "orderId", "locationId", "amountRefunded", "created", "updated",
  "authorizedAt", "pendingAttempts", "reconciledAt", "cardLast4", "failureReason", "resolution", "version", "data",
  "invoiceId", "clientSecret", "description", "gatewayAccount", "connectorAccount", "lastPaymentError", "chargeAuthorizedAt", "chargeCapturedAt", "failedAt", "summaryVersion",
  "posVoided", "declinedCharges", "retryOf", "paymentMethodId",
] as const;
type IntentColumn = (typeof INTENT_COLUMNS)[number];

const upsertIntent = prepared<IntentColumn>((db, p) =>
  db
    .insert(paymentIntents)
    .values(Object.fromEntries(INTENT_COLUMNS.map((name) => [name, p(name)])) as Record<IntentColumn, Placeholder>)
    .onConflictDoUpdate({
      target: paymentIntents.id,
      set: {
        status: sql`excluded.status`,
        amount: sql`excluded.amount`,
        currency: sql`excluded.currency`,
        customer: sql`excluded.customer`,
        orderId: sql`excluded.order_id`,
        locationId: sql`excluded.location_id`,
        amountRefunded: sql`excluded.amount_refunded`,
        updated: sql`excluded.updated`,
        authorizedAt: sql`excluded.authorized_at`,
        pendingAttempts: sql`excluded.pending_attempts`,
        reconciledAt: sql`excluded.reconciled_at`,
        cardLast4: sql`excluded.card_last4`,
        failureReason: sql`excluded.failure_reason`,
        resolution: sql`excluded.resolution`,
        version: sql`excluded.version`,
        data: sql`excluded.data`,
        invoiceId: sql`excluded.invoice_id`,
        clientSecret: sql`excluded.client_secret`,
        description: sql`excluded.description`,
        gatewayAccount: sql`excluded.gateway_account`,
        connectorAccount: sql`excluded.connector_account`,
        lastPaymentError: sql`excluded.last_payment_error`,
        chargeAuthorizedAt: sql`excluded.charge_authorized_at`,
        chargeCapturedAt: sql`excluded.charge_captured_at`,
        failedAt: sql`excluded.failed_at`,
        summaryVersion: sql`excluded.summary_version`,
        posVoided: sql`excluded.pos_voided`,
        declinedCharges: sql`excluded.declined_charges`,
        retryOf: sql`excluded.retry_of`,
        paymentMethodId: sql`excluded.payment_method_id`,
      },
      setWhere: sql`excluded.version > ${paymentIntents.version}`,
    }),
);

// The metadata search rows: replaced only while this write's version is the intent's current one
// (the upsert above leaves a newer row alone, and then these statements do nothing).
const currentVersion = (p: (name: "id" | "version") => Placeholder) =>
  sql`(select ${paymentIntents.version} from ${paymentIntents} where ${paymentIntents.id} = ${p("id")}) = ${p("version")}`;

const deleteMetadata = prepared<"id" | "version">((db, p) =>
  db.delete(paymentIntentMetadata).where(and(eq(paymentIntentMetadata.intentId, p("id")), currentVersion(p))),
);

// Columns in the table's order: intent_id, merchant_id, livemode, key, value, created.
const insertMetadata = prepared<"id" | "merchantId" | "livemode" | "metadata" | "created" | "version">((db, p) =>
  db
    .insert(paymentIntentMetadata)
    .select(
      sql`select ${p("id")}, ${p("merchantId")}, ${p("livemode")}, key, cast(value as text), ${p("created")} from json_each(${p("metadata")}) where type in ('text', 'integer', 'real') and ${currentVersion(p)}`,
    ),
);

const upsertCharge = prepared<"id" | "merchantId" | "livemode" | "paymentIntent" | "customer" | "paymentMethod" | "created" | "version">((db, p) =>
  db
    .insert(charges)
    .values({
      id: p("id"),
      merchantId: p("merchantId"),
      livemode: p("livemode"),
      paymentIntent: p("paymentIntent"),
      customer: p("customer"),
      paymentMethod: p("paymentMethod"),
      created: p("created"),
      version: p("version"),
    })
    .onConflictDoUpdate({
      target: charges.id,
      set: { customer: sql`excluded.customer`, paymentMethod: sql`excluded.payment_method`, version: sql`excluded.version` },
      setWhere: sql`excluded.version > ${charges.version}`,
    }),
);

// A refund's row is an index entry: its record is read from the intent's row (src/db/queries.ts).
const upsertRefund = prepared<"id" | "merchantId" | "livemode" | "paymentIntent" | "charge" | "status" | "amount" | "created" | "version">((db, p) =>
  db
    .insert(refunds)
    .values({
      id: p("id"),
      merchantId: p("merchantId"),
      livemode: p("livemode"),
      paymentIntent: p("paymentIntent"),
      charge: p("charge"),
      status: p("status"),
      amount: p("amount"),
      created: p("created"),
      version: p("version"),
    })
    .onConflictDoUpdate({
      target: refunds.id,
      set: { status: sql`excluded.status`, version: sql`excluded.version` },
      setWhere: sql`excluded.version > ${refunds.version}`,
    }),
);

const insertNumber = prepared<"intentId" | "merchantId" | "livemode" | "created">((db, p) =>
  db.insert(intentNumbers).values({ intentId: p("intentId"), merchantId: p("merchantId"), livemode: p("livemode"), created: p("created") }).onConflictDoNothing(),
);

const AUDIT_COLUMNS = [
  "id", "merchantId", "livemode", "actor", "actorRoles", "action", "objectType", "objectId", "requestId", "idempotencyKey", "statusBefore", "statusAfter",
  "httpStatus", "details", "created",
] as const satisfies readonly (keyof AuditRow)[];
type AuditColumn = (typeof AUDIT_COLUMNS)[number];

const insertAudit = prepared<AuditColumn>((db, p) =>
  db
    .insert(auditLog)
    .values(Object.fromEntries(AUDIT_COLUMNS.map((name) => [name, p(name)])) as Record<AuditColumn, Placeholder>)
    .onConflictDoNothing(),
);

export async function writeIntent(d1: D1Database, intent: IntentRecord, audits: AuditRow[] = []): Promise<void> {
  const statements: D1PreparedStatement[] = [
    upsertIntent(d1, {
      id: intent.id,
      merchantId: intent.merchantId,
      livemode: intent.livemode,
      status: intent.status,
      amount: intent.amount,
      currency: intent.currency,
      customer: intent.customer,
      orderId: intent.orderId,
      locationId: intent.locationId,
      amountRefunded: intent.amountRefunded,
      created: intent.created,
      updated: intent.updated,
      authorizedAt: intent.status === "requires_capture" ? (chargeAttempt(intent)?.completed ?? intent.updated) : null,
      pendingAttempts: intent.attempts.filter((a) => a.status === "pending").length,
      reconciledAt: intent.reconciledAt,
      cardLast4: intent.paymentMethod?.card?.last4 ?? intent.lastPaymentError?.paymentMethod?.card?.last4 ?? null,
      failureReason: failureReason(intent),
      resolution: intent.resolution?.status ?? null,
      version: intent.version,
      data: intentData(intent),
      ...intentSummaryColumns(intent),
      posVoided: isVoidedSale(intent) ? 1 : null,
      declinedCharges: intent.attempts.filter(isFailedCharge).length,
      retryOf: intent.retryOf,
      paymentMethodId: intent.paymentMethod?.id ?? intent.lastPaymentError?.paymentMethod?.id ?? null,
    }),
  ];
  const hasMetadata = Object.keys(intent.metadata).length > 0;
  // A first version without metadata has no rows to replace: whatever a later version wrote, this
  // statement would do nothing (it runs only while version 1 is current), so a create skips it.
  if (hasMetadata || intent.version > 1) statements.push(deleteMetadata(d1, { id: intent.id, version: intent.version }));
  if (hasMetadata) {
    statements.push(
      insertMetadata(d1, {
        id: intent.id,
        merchantId: intent.merchantId,
        livemode: intent.livemode ? 1 : 0,
        metadata: JSON.stringify(intent.metadata),
        created: intent.created,
        version: intent.version,
      }),
    );
  }
  const auth = chargeAttempt(intent);
  if (auth) {
    statements.push(
      upsertCharge(d1, {
        id: chargeIdForIntent(intent.id),
        merchantId: intent.merchantId,
        livemode: intent.livemode,
        paymentIntent: intent.id,
        customer: intent.customer,
        paymentMethod: auth.paymentMethodId,
        created: auth.created,
        version: intent.version,
      }),
    );
  }
  // Each declined authorization is a failed charge, listed as Stripe lists them.
  for (const declined of intent.attempts.filter(isFailedCharge)) {
    statements.push(
      upsertCharge(d1, {
        id: failedChargeId(intent.id, declined.id),
        merchantId: intent.merchantId,
        livemode: intent.livemode,
        paymentIntent: intent.id,
        customer: intent.customer,
        paymentMethod: declined.paymentMethodId,
        created: declined.created,
        version: intent.version,
      }),
    );
  }
  for (const refund of intent.refunds) {
    statements.push(
      upsertRefund(d1, {
        id: refund.id,
        merchantId: intent.merchantId,
        livemode: intent.livemode,
        paymentIntent: intent.id,
        charge: refund.chargeId,
        status: refund.status,
        amount: refund.amount,
        created: refund.created,
        version: intent.version,
      }),
    );
  }
  // Seeds 000/003 name intents by a stable integer: one is assigned on the first write of an intent
  // that was not given one before its creation (a no-op afterwards).
  if (intent.number == null) {
    statements.push(insertNumber(d1, { intentId: intent.id, merchantId: intent.merchantId, livemode: intent.livemode, created: intent.created }));
  }
  // The audit entries of the operations that made this version travel in the same batch.
  for (const row of audits) {
    const values = Object.fromEntries(AUDIT_COLUMNS.map((name) => [name, row[name] ?? null])) as Record<AuditColumn, BindValue>;
    statements.push(insertAudit(d1, { ...values, details: row.details ?? "{}" }));
  }
  await d1.batch(statements);
}
