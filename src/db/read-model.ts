// Writes an intent (and its charge and refunds) to the D1 read model. Only the intent's Durable Object
// calls this. Each row carries the intent's version and is only ever replaced by a newer one, so a
// retried or late write can never move the read model backwards.
import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import { chargeAttempt, failureReason } from "../core/intent";
import { chargeIdForIntent } from "../core/ids";
import type { IntentRecord } from "../core/types";
import type { AuditRow } from "../audit/log";
import { auditLog, charges, intentNumbers, paymentIntentMetadata, paymentIntents, refunds } from "./schema";

export async function writeIntent(d1: D1Database, intent: IntentRecord, audits: AuditRow[] = []): Promise<void> {
  const db = drizzle(d1);
  const row = {
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
    data: JSON.stringify(intent),
  };
  const newer = sql`excluded.version > ${paymentIntents.version}`;
  const statements: BatchItem<"sqlite">[] = [
    db
      .insert(paymentIntents)
      .values(row)
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
        },
        setWhere: newer,
      }),
  ];
  // The metadata search rows: replaced only while this write's version is the intent's current one
  // (the upsert above leaves a newer row alone, and then these statements do nothing).
  const current = sql`(select ${paymentIntents.version} from ${paymentIntents} where ${paymentIntents.id} = ${intent.id}) = ${intent.version}`;
  statements.push(db.delete(paymentIntentMetadata).where(and(eq(paymentIntentMetadata.intentId, intent.id), current)));
  if (Object.keys(intent.metadata).length > 0) {
    // Columns in the table's order: intent_id, merchant_id, livemode, key, value, created.
    statements.push(
      db
        .insert(paymentIntentMetadata)
        .select(
          sql`select ${intent.id}, ${intent.merchantId}, ${intent.livemode ? 1 : 0}, key, cast(value as text), ${intent.created} from json_each(${JSON.stringify(intent.metadata)}) where type in ('text', 'integer', 'real') and ${current}`,
        ),
    );
  }
  const auth = chargeAttempt(intent);
  if (auth) {
    statements.push(
      db
        .insert(charges)
        .values({
          id: chargeIdForIntent(intent.id),
          merchantId: intent.merchantId,
          livemode: intent.livemode,
          paymentIntent: intent.id,
          customer: intent.customer,
          created: auth.created,
          version: intent.version,
        })
        .onConflictDoUpdate({
          target: charges.id,
          set: { customer: sql`excluded.customer`, version: sql`excluded.version` },
          setWhere: sql`excluded.version > ${charges.version}`,
        }),
    );
  }
  for (const refund of intent.refunds) {
    statements.push(
      db
        .insert(refunds)
        .values({
          id: refund.id,
          merchantId: intent.merchantId,
          livemode: intent.livemode,
          paymentIntent: intent.id,
          charge: refund.chargeId,
          status: refund.status,
          amount: refund.amount,
          created: refund.created,
          version: intent.version,
          data: JSON.stringify(refund),
        })
        .onConflictDoUpdate({
          target: refunds.id,
          set: { status: sql`excluded.status`, version: sql`excluded.version`, data: sql`excluded.data` },
          setWhere: sql`excluded.version > ${refunds.version}`,
        }),
    );
  }
  // Seeds 000/003 name intents by a stable integer: one is assigned on the first write of an intent
  // that was not given one before its creation (a no-op afterwards).
  if (intent.number == null) {
    statements.push(
      db.insert(intentNumbers).values({ intentId: intent.id, merchantId: intent.merchantId, livemode: intent.livemode, created: intent.created }).onConflictDoNothing(),
    );
  }
  // The audit entries of the operations that made this version travel in the same batch.
  for (const row of audits) statements.push(db.insert(auditLog).values(row).onConflictDoNothing());
  const [first, ...rest] = statements;
  if (!first) return;
  await db.batch([first, ...rest]);
}
