// D1 schema (drizzle). D1 is the read model and the home of what no single intent owns. Intents,
// charges and refunds are written here only by their intent's Durable Object, after each transition.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { POS_STATUS_SQL } from "../core/pos-status";

export const merchants = sqliteTable(
  "merchants",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    created: integer("created").notNull(),
    settings: text("settings").notNull().default("{}"),
    /** Seed 002's `payments` entitlement (migration 0008): off, the POS surface answers 403. */
    paymentsEntitlement: integer("payments_entitlement", { mode: "boolean" }).notNull().default(true),
    /** A weakening of the refund approval thresholds waiting for a second person (JSON, migration 0065). */
    settingsChange: text("settings_change"),
    /** That change's id (msc_...), unique while pending: how an approval names exactly what it approves. */
    settingsChangeId: text("settings_change_id"),
  },
  // The admin's list of merchants pages by (created, id) (migration 0028).
  (t) => [index("merchants_list").on(t.created, t.id), uniqueIndex("merchants_settings_change").on(t.settingsChangeId).where(sql`${t.settingsChangeId} IS NOT NULL`)],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id")
      .notNull()
      .references(() => merchants.id),
    /** SHA-256 of the whole key; the key itself is never stored. */
    keyHash: text("key_hash").notNull().unique(),
    /** What the dashboard may show: "sk_test_…t_a". */
    redacted: text("redacted").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    /** secret (every merchant permission) | restricted (its permissions) | application (seed 003's app id and token) */
    kind: text("kind").notNull().default("secret"),
    name: text("name"),
    /** JSON array of permission strings, for restricted keys and applications. */
    permissions: text("permissions"),
    /** The public id of an application credential (X-Application-Id). */
    appId: text("app_id").unique(),
    /** This credential's own token bucket, JSON {rate, burst}; null: the configured default. */
    rateLimit: text("rate_limit"),
    created: integer("created").notNull(),
    lastUsed: integer("last_used"),
    revokedAt: integer("revoked_at"),
    /** Who created it (the audit actor), for four-eyes approval; null for keys made before migration 0062 or by seeding. */
    createdBy: text("created_by"),
    /** Until when a rolled key keeps working (unix ms, migration 0064); null: no expiry. */
    expiresAt: integer("expires_at"),
    /** Of a key rolled by another credential: the key it replaced (its actor), whose makers are this one's too (migration 0066). */
    inheritsMakersOf: text("inherits_makers_of"),
  },
  (t) => [index("api_keys_list").on(t.merchantId, t.livemode, t.created, t.id)],
);

export const paymentIntents = sqliteTable(
  "payment_intents",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    status: text("status").notNull(),
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    customer: text("customer"),
    orderId: text("order_id"),
    /** Seed 002's location (migration 0008). */
    locationId: text("location_id"),
    /** Refunded so far (migration 0008), for seed 002's captured / refunded filters. */
    amountRefunded: integer("amount_refunded").notNull().default(0),
    /** Milliseconds; lists sort by (created, id) descending. */
    created: integer("created").notNull(),
    /** Last change, for the cron's search of stuck intents. */
    updated: integer("updated"),
    /** When the authorization now waiting for capture was made (authorizations expire after 7 days). */
    authorizedAt: integer("authorized_at"),
    /** The card's last four digits, for operators' searches. */
    cardLast4: text("card_last4"),
    /** A failed payment's reason (decline code) while it is failed, and what an operator made of it. */
    failureReason: text("failure_reason"),
    resolution: text("resolution"),
    /** Attempts whose outcome at the PSP is unknown: the cron re-queues their reconciliation. */
    pendingAttempts: integer("pending_attempts").notNull().default(0),
    /** When reconciliation last asked the PSP (null: never). */
    reconciledAt: integer("reconciled_at"),
    version: integer("version").notNull(),
    // Migration 0023: the fields seed 000's lists show that were only in `data`, so a list of 1,000
    // renders from columns (src/db/intent-row.ts). Null client_secret: a row written before it.
    invoiceId: text("invoice_id"),
    clientSecret: text("client_secret"),
    description: text("description"),
    gatewayAccount: text("gateway_account"),
    connectorAccount: text("connector_account"),
    /** The record's lastPaymentError as JSON. */
    lastPaymentError: text("last_payment_error"),
    /** Derived when written (paymentMilestones): when the charge was authorized, captured, or last failed. */
    chargeAuthorizedAt: integer("charge_authorized_at"),
    chargeCapturedAt: integer("charge_captured_at"),
    failedAt: integer("failed_at"),
    /** How many declined authorizations (failed charges) the intent has (migration 0045), for the charge search. */
    declinedCharges: integer("declined_charges").notNull().default(0),
    /** The version these columns (from invoice_id on) were written with: older code leaves them behind. */
    summaryVersion: integer("summary_version"),
    /** 1: a sale voided the same day (isVoidedSale), for seed 002's statuses (migration 0037). */
    posVoided: integer("pos_voided"),
    /** The failed payment this intent retries (the record's retryOf, migration 0050), for seed 002's /failed. */
    retryOf: text("retry_of"),
    /** The payment method the record names (paymentMethod, or lastPaymentError's; migration 0053): GET /v1/payment_methods/{id} of a method never saved. */
    paymentMethodId: text("payment_method_id"),
    /** Seed 002's status (posStatus), computed by SQLite from the columns above: never written. */
    posStatus: text("pos_status").generatedAlwaysAs(sql.raw(POS_STATUS_SQL), { mode: "virtual" }),
    /** The domain record (IntentRecord) as JSON, without the fields above (src/db/intent-row.ts). */
    data: text("data").notNull(),
  },
  (t) => [
    // Then the columns searches test in a created window (migration 0018): matched on the index entry.
    index("payment_intents_list").on(t.merchantId, t.livemode, t.created, t.id, t.currency, t.amount, t.status),
    // The intents with an unknown outcome, in the order the reconciliation sweep goes round them (migration 0034).
    index("payment_intents_pending").on(t.updated, t.id).where(sql`${t.pendingAttempts} > 0`),
    // The authorizations waiting for capture, oldest first: the expiry sweep's round (migration 0031).
    index("payment_intents_capturable").on(t.authorizedAt, t.id).where(sql`${t.status} = 'requires_capture'`),
    // The intents with a successful charge, in (created, id) order: the charge search (migration 0041).
    index("payment_intents_charged").on(t.merchantId, t.livemode, t.created, t.id).where(sql`${t.chargeAuthorizedAt} IS NOT NULL`),
    // The intents with a failed charge, in (created, id) order: the charge search's failed ones (migration 0045).
    index("payment_intents_declined").on(t.merchantId, t.livemode, t.created, t.id).where(sql`${t.declinedCharges} > 0`),
    // Each filter's index ends in (created, id): a filtered page is one range (migration 0014).
    index("payment_intents_status").on(t.merchantId, t.livemode, t.status, t.created, t.id),
    // Seed 002's status filter, every status one range (migration 0037).
    index("payment_intents_pos_status").on(t.merchantId, t.livemode, t.posStatus, t.created, t.id),
    index("payment_intents_customer").on(t.merchantId, t.livemode, t.customer, t.created, t.id),
    // Seed 002's transaction filters (migration 0008).
    index("payment_intents_location").on(t.merchantId, t.livemode, t.locationId, t.created, t.id),
    index("payment_intents_card_last4").on(t.merchantId, t.livemode, t.cardLast4, t.created, t.id),
    index("payment_intents_amount").on(t.merchantId, t.livemode, t.amount, t.created, t.id),
    index("payment_intents_order_created").on(t.merchantId, t.livemode, t.orderId, t.created, t.id),
    // With the reason, so counts of every resolution read the index alone (migration 0030; retry_of since 0052).
    index("payment_intents_failed").on(t.merchantId, t.livemode, t.created, t.id, t.failureReason, t.retryOf).where(sql`${t.failureReason} IS NOT NULL`),
    // Seed 000: a customer's payments across merchants (admin and support).
    index("payment_intents_customer_all").on(t.customer, t.livemode, t.created, t.id),
    // Admin and support across merchants (migration 0018): newest first within a mode, all or failed.
    index("payment_intents_mode").on(t.livemode, t.created, t.id),
    // An order id across every merchant (seed 001's operator search; migration 0047).
    index("payment_intents_order_mode").on(t.livemode, t.orderId, t.created, t.id).where(sql`${t.orderId} IS NOT NULL`),
    index("payment_intents_failed_mode").on(t.livemode, t.created, t.id, t.failureReason, t.retryOf).where(sql`${t.failureReason} IS NOT NULL`),
    // Failed payments' counts by reason, from the index alone (migration 0018; retry_of since 0050).
    index("payment_intents_failed_reasons").on(t.merchantId, t.livemode, t.resolution, t.created, t.failureReason, t.retryOf).where(sql`${t.failureReason} IS NOT NULL`),
    // A failed payment's retries (migration 0050).
    index("payment_intents_retries").on(t.retryOf, t.created, t.id).where(sql`${t.retryOf} IS NOT NULL`),
    // The intent that carries a payment method never saved (migration 0053).
    index("payment_intents_payment_method").on(t.paymentMethodId).where(sql`${t.paymentMethodId} IS NOT NULL`),
  ],
);

/**
 * One row per metadata key of an intent (migration 0014), written in the intent's batch and replaced
 * only by the intent's current version: `metadata['k']:'v'` searches are a range of its index.
 */
export const paymentIntentMetadata = sqliteTable(
  "payment_intent_metadata",
  {
    intentId: text("intent_id").notNull(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    key: text("key").notNull(),
    value: text("value").notNull(),
    created: integer("created").notNull(),
  },
  (t) => [primaryKey({ columns: [t.intentId, t.key] }), index("payment_intent_metadata_search").on(t.merchantId, t.livemode, t.key, t.value, t.created, t.intentId)],
);

export const charges = sqliteTable(
  "charges",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    paymentIntent: text("payment_intent").notNull(),
    /** The intent's customer (migration 0014), written with the intent: charges by customer is a range. */
    customer: text("customer"),
    /** The payment method its authorization was made or declined with (migration 0061): a declined one-off method is found by it. */
    paymentMethod: text("payment_method"),
    created: integer("created").notNull(),
    version: integer("version").notNull(),
  },
  (t) => [
    index("charges_list").on(t.merchantId, t.livemode, t.created, t.id),
    index("charges_payment_method").on(t.merchantId, t.livemode, t.paymentMethod).where(sql`${t.paymentMethod} IS NOT NULL`),
    index("charges_intent").on(t.merchantId, t.livemode, t.paymentIntent, t.created, t.id),
    index("charges_customer").on(t.merchantId, t.livemode, t.customer, t.created, t.id),
  ],
);

export const refunds = sqliteTable(
  "refunds",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    paymentIntent: text("payment_intent").notNull(),
    charge: text("charge").notNull(),
    status: text("status").notNull(),
    amount: integer("amount").notNull(),
    created: integer("created").notNull(),
    version: integer("version").notNull(),
    // No record here: a refund's record is the entry of its intent's `refunds` (migration 0019).
  },
  (t) => [
    index("refunds_list").on(t.merchantId, t.livemode, t.created, t.id),
    index("refunds_intent").on(t.merchantId, t.livemode, t.paymentIntent, t.created, t.id),
    index("refunds_charge").on(t.merchantId, t.livemode, t.charge, t.created, t.id),
    // Refunds waiting for approval or for their PSP (migration 0018): few, newest first.
    index("refunds_pending").on(t.merchantId, t.created, t.id).where(sql`${t.status} = 'pending'`),
    index("refunds_pending_all").on(t.created, t.id).where(sql`${t.status} = 'pending'`),
  ],
);

/** Events as merchants see them (kept 30 days). Written by the events queue consumer, deduplicated by id. */
export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    type: text("type").notNull(),
    /** The intent the event is about, when there is one (a filter of ours beside Stripe's). */
    paymentIntent: text("payment_intent"),
    /** Whether its deliveries exist: events written straight to D1 wait here (0) until the fan-out ran (1); 2: held by the request that wrote it (src/db/event-row.ts HELD). */
    fannedOut: integer("fanned_out", { mode: "boolean" }).notNull().default(true),
    created: integer("created").notNull(),
    /** The domain record (EventRecord) as JSON. */
    data: text("data").notNull(),
  },
  (t) => [
    index("events_list").on(t.merchantId, t.livemode, t.created, t.id),
    index("events_type").on(t.merchantId, t.livemode, t.type, t.created, t.id),
    index("events_intent").on(t.merchantId, t.livemode, t.paymentIntent, t.created, t.id),
    // The cron's purge, oldest first, and its hand-over again of the events not fanned out yet (migration 0029).
    index("events_created").on(t.created, t.id),
    index("events_unfanned").on(t.created, t.id).where(sql`${t.fannedOut} = 0`),
    // Events held by the request that wrote them (fanned_out 2, src/db/event-row.ts HELD; migration 0069).
    index("events_held").on(t.created, t.id).where(sql`${t.fannedOut} = 2`),
  ],
);

export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    url: text("url").notNull(),
    description: text("description"),
    /** JSON array of event types, or ["*"]. */
    enabledEvents: text("enabled_events").notNull(),
    metadata: text("metadata").notNull().default("{}"),
    status: text("status").notNull(),
    disabledReason: text("disabled_reason"),
    /** The signing secret, sealed with AES-GCM under the Worker's ENCRYPTION_KEY. */
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpires: integer("previous_secret_expires"),
    /** Secrets rolled before the previous one, still in their overlap: JSON [{secret (sealed), expires}], newest first (migration 0067). */
    olderSecrets: text("older_secrets"),
    created: integer("created").notNull(),
    updated: integer("updated").notNull(),
  },
  (t) => [index("webhook_endpoints_list").on(t.merchantId, t.livemode, t.created, t.id)],
);

export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    /** The event's created (ms), for listing undelivered events in their order (migration 0051; null on deliveries of events purged before it). */
    eventCreated: integer("event_created"),
    endpointId: text("endpoint_id").notNull(),
    /** pending | succeeded | failed | canceled */
    status: text("status").notNull(),
    /** Attempts started so far; attempt n is claimed by moving this from n-1 to n. */
    attempts: integer("attempts").notNull().default(0),
    /** Whether failures are retried on the schedule (false for a one-off manual re-send). */
    retrying: integer("retrying", { mode: "boolean" }).notNull().default(true),
    nextAttemptAt: integer("next_attempt_at"),
    leaseUntil: integer("lease_until"),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    /** Set by the dead-letter queue's consumer: the delivery ran out of attempts. */
    deadLettered: integer("dead_lettered", { mode: "boolean" }).notNull().default(false),
    created: integer("created").notNull(),
    updated: integer("updated").notNull(),
    completed: integer("completed"),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event_endpoint").on(t.eventId, t.endpointId),
    // The events not delivered yet or whose delivery failed, in the events' order (migration 0051): delivery_success=false.
    index("webhook_deliveries_undelivered").on(t.merchantId, t.livemode, t.eventCreated, t.eventId, t.eventType).where(sql`${t.status} IN ('pending', 'failed')`),
    index("webhook_deliveries_endpoint").on(t.endpointId, t.created, t.id),
    index("webhook_deliveries_endpoint_status").on(t.endpointId, t.status, t.created, t.id),
    // The cron's re-queue of deliveries whose message was lost, in rounds (migration 0035).
    index("webhook_deliveries_overdue").on(t.nextAttemptAt, t.id).where(sql`${t.status} = 'pending'`),
  ],
);

export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: text("id").primaryKey(),
    deliveryId: text("delivery_id").notNull(),
    endpointId: text("endpoint_id").notNull(),
    attempt: integer("attempt").notNull(),
    started: integer("started").notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
    succeeded: integer("succeeded", { mode: "boolean" }).notNull(),
    nextRetryAt: integer("next_retry_at"),
  },
  (t) => [uniqueIndex("webhook_attempts_delivery").on(t.deliveryId, t.attempt), index("webhook_attempts_endpoint").on(t.endpointId, t.started)],
);

/** Idempotency records of requests that touch no intent (an intent's live in its Durable Object). */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    /** in_flight | done */
    state: text("state").notNull(),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    created: integer("created").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.livemode, t.key] }), index("idempotency_keys_created").on(t.created)],
);

/** Where a cron sweep that goes round its rows got to (by name), so a row that keeps failing cannot hold up the others. */
export const sweepCursors = sqliteTable("sweep_cursors", {
  name: text("name").primaryKey(),
  /** The sweep's own cursor, as JSON. */
  value: text("value").notNull(),
});

/**
 * The merchant-wide binding of an idempotency key to its first request (every surface, every POST),
 * for 24 hours. A second request with the key and another route, target or body is refused.
 */
export const idempotencyClaims = sqliteTable(
  "idempotency_claims",
  {
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    key: text("key").notNull(),
    route: text("route").notNull(),
    target: text("target").notNull(),
    /** Keyed HMAC of (route, target, parameters): a card number among them cannot be recovered. */
    fingerprint: text("fingerprint").notNull(),
    created: integer("created").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.livemode, t.key] }), index("idempotency_claims_created").on(t.created)],
);

/** A merchant's account at a PSP, in the order payments try them. Credentials are sealed (AES-GCM). */
export const connectorAccounts = sqliteTable(
  "connector_accounts",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    /** sandbox | stripe | paypal */
    connector: text("connector").notNull(),
    /** Lower first. */
    priority: integer("priority").notNull(),
    status: text("status").notNull(),
    description: text("description"),
    /** Sealed JSON of the connector's credentials (secret key, or client id and secret). */
    credentials: text("credentials").notNull(),
    /** The last four characters of the secret, all the API ever shows of the credentials. */
    credentialsHint: text("credentials_hint"),
    /** Sealed secret (or PayPal webhook id) to verify the PSP's webhooks. */
    webhookSecret: text("webhook_secret"),
    metadata: text("metadata").notNull().default("{}"),
    created: integer("created").notNull(),
    updated: integer("updated").notNull(),
  },
  (t) => [index("connector_accounts_merchant").on(t.merchantId, t.livemode, t.priority)],
);

/** Incoming PSP webhook events, as received (each is applied once, by the intent's Durable Object). */
export const pspEvents = sqliteTable(
  "psp_events",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    connector: text("connector").notNull(),
    eventId: text("event_id").notNull(),
    kind: text("kind").notNull(),
    intentId: text("intent_id"),
    result: text("result").notNull(),
    received: integer("received").notNull(),
  },
  (t) => [index("psp_events_intent").on(t.intentId, t.received), index("psp_events_received").on(t.received)],
);

/** The built-in sandbox PSP's memory of calls whose answers it "lost" (timeout cards). */
export const sandboxLedger = sqliteTable("sandbox_ledger", {
  idempotencyKey: text("idempotency_key").primaryKey(),
  intentId: text("intent_id").notNull(),
  attemptId: text("attempt_id").notNull(),
  kind: text("kind").notNull(),
  outcome: text("outcome").notNull(),
  created: integer("created").notNull(),
});

/**
 * Refunds of the sandbox's refund-failure test card (4000000000005126): succeeded when made, reported
 * failed by the sweep once `due` (src/connectors/sandbox/refund-failures.ts). Migration 0059.
 */
export const sandboxRefundFailures = sqliteTable(
  "sandbox_refund_failures",
  {
    idempotencyKey: text("idempotency_key").primaryKey(),
    intentId: text("intent_id").notNull(),
    attemptId: text("attempt_id").notNull(),
    /** The merchant's sandbox connector account; null for the built-in sandbox. */
    accountId: text("account_id"),
    merchantId: text("merchant_id").notNull(),
    reference: text("reference").notNull(),
    due: integer("due").notNull(),
  },
  (t) => [index("sandbox_refund_failures_due").on(t.due)],
);

/** Who did what, when: money-moving calls, admin actions, key changes. Never secrets or card data. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id"),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    /** api_key:key_... | jwt:<sub> | application:<app id> | system */
    actor: text("actor").notNull(),
    actorRoles: text("actor_roles").notNull(),
    action: text("action").notNull(),
    objectType: text("object_type").notNull(),
    objectId: text("object_id"),
    requestId: text("request_id"),
    idempotencyKey: text("idempotency_key"),
    statusBefore: text("status_before"),
    statusAfter: text("status_after"),
    httpStatus: integer("http_status").notNull(),
    details: text("details").notNull().default("{}"),
    created: integer("created").notNull(),
  },
  (t) => [
    index("audit_log_list").on(t.created, t.id),
    index("audit_log_merchant").on(t.merchantId, t.created, t.id),
    index("audit_log_object").on(t.objectId, t.created),
  ],
);

export const customers = sqliteTable(
  "customers",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    email: text("email"),
    name: text("name"),
    phone: text("phone"),
    description: text("description"),
    metadata: text("metadata").notNull().default("{}"),
    defaultPaymentMethod: text("default_payment_method"),
    testClock: text("test_clock"),
    deleted: integer("deleted", { mode: "boolean" }).notNull().default(false),
    created: integer("created").notNull(),
    /** Stripe's address, as JSON (a BillingAddress); null when not given (migration 0038). */
    address: text("address"),
    /** Stripe's shipping, as JSON (a CustomerShipping: name, phone, address); null when not given (migration 0038). */
    shipping: text("shipping"),
  },
  (t) => [
    // The list and the search read only live customers (migration 0026); each filter of the list and
    // each exact field of the search is an index ending in (created, id) (migration 0025).
    index("customers_live").on(t.merchantId, t.livemode, t.created, t.id).where(sql`${t.deleted} = 0`),
    index("customers_email").on(t.merchantId, t.livemode, t.email, t.created, t.id),
    index("customers_name").on(t.merchantId, t.livemode, t.name, t.created, t.id),
    index("customers_phone").on(t.merchantId, t.livemode, t.phone, t.created, t.id),
    index("customers_clock").on(t.merchantId, t.livemode, t.testClock, t.created, t.id),
  ],
);

/** Saved payment methods: brand, last4, expiry, funding and fingerprint; never a number or a CVC. */
export const paymentMethods = sqliteTable(
  "payment_methods",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    customer: text("customer"),
    /** The PaymentMethodDetails (JSON) an intent uses. */
    details: text("details").notNull(),
    fingerprint: text("fingerprint"),
    nickname: text("nickname"),
    metadata: text("metadata").notNull().default("{}"),
    created: integer("created").notNull(),
    /** When it was detached from its customer (migration 0046): it may not be used again. */
    detached: integer("detached"),
  },
  (t) => [
    index("payment_methods_list").on(t.merchantId, t.livemode, t.created, t.id),
    index("payment_methods_customer").on(t.merchantId, t.livemode, t.customer, t.created, t.id),
    // No (customer, fingerprint) index: as at Stripe, the same card may be on a customer more than
    // once (migration 0056 dropped the unique one).
  ],
);

/** Stripe's Setup Intents (migration 0057): a card saved for later, checked and attached when confirmed. */
export const setupIntents = sqliteTable(
  "setup_intents",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    customer: text("customer"),
    /** The payment method it saves: set when named (create, update, confirm), kept once it succeeded. */
    paymentMethod: text("payment_method"),
    status: text("status").notNull(),
    /** off_session (the default) or on_session. */
    usage: text("usage").notNull(),
    description: text("description"),
    metadata: text("metadata").notNull().default("{}"),
    /** Stripe's last_setup_error (JSON) of the latest failed confirmation; cleared by the next one. */
    lastSetupError: text("last_setup_error"),
    cancellationReason: text("cancellation_reason"),
    created: integer("created").notNull(),
    /** Every write is conditional on the version read and raises it. */
    version: integer("version").notNull().default(0),
    /** Its newest SetupAttempt (migration 0070): set by the confirmation that wrote it. */
    latestAttempt: text("latest_attempt"),
    /** JSON {origin, return_url} of its latest 3D Secure challenge (migration 0073): next_action while in requires_action; null before any. */
    nextAction: text("next_action"),
  },
  (t) => [
    index("setup_intents_list").on(t.merchantId, t.livemode, t.created, t.id),
    index("setup_intents_customer").on(t.merchantId, t.livemode, t.customer, t.created, t.id),
    index("setup_intents_payment_method").on(t.merchantId, t.livemode, t.paymentMethod, t.created, t.id),
  ],
);

/**
 * Stripe's SetupAttempts (migration 0070): one per confirmation of a setup intent that checked a card,
 * written with the setup's change; listed by setup intent, newest first.
 */
export const setupAttempts = sqliteTable(
  "setup_attempts",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    setupIntent: text("setup_intent").notNull(),
    customer: text("customer"),
    paymentMethod: text("payment_method").notNull(),
    /** Stripe's payment_method_details (JSON), as the card was when it was checked. */
    paymentMethodDetails: text("payment_method_details").notNull(),
    /** requires_action while its 3D Secure challenge waits, then succeeded or failed (abandoned: the setup was canceled meanwhile). */
    status: text("status").notNull(),
    usage: text("usage").notNull(),
    /** Stripe's setup_error (JSON) of a failed attempt. */
    setupError: text("setup_error"),
    created: integer("created").notNull(),
  },
  (t) => [index("setup_attempts_setup_intent").on(t.merchantId, t.livemode, t.setupIntent, t.created, t.id)],
);

export const prices = sqliteTable(
  "prices",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    currency: text("currency").notNull(),
    unitAmount: integer("unit_amount").notNull(),
    interval: text("interval").notNull(),
    intervalCount: integer("interval_count").notNull(),
    productName: text("product_name").notNull(),
    nickname: text("nickname"),
    active: integer("active", { mode: "boolean" }).notNull(),
    metadata: text("metadata").notNull().default("{}"),
    created: integer("created").notNull(),
    /** The product (prod_...); null on prices made before products existed (migration 0011). */
    product: text("product"),
    /** Stripe's lookup_key: at most one price of a merchant and mode holds one, archived or not (migration 0039). */
    lookupKey: text("lookup_key"),
  },
  (t) => [
    index("prices_list").on(t.merchantId, t.livemode, t.created, t.id),
    index("prices_product").on(t.merchantId, t.livemode, t.product, t.created, t.id),
    index("prices_active").on(t.merchantId, t.livemode, t.active, t.created, t.id),
    index("prices_currency").on(t.merchantId, t.livemode, t.currency, t.created, t.id),
    // Holds each key once (a second holder fails its whole batch) and serves GET /v1/prices?lookup_keys[]=.
    uniqueIndex("prices_lookup_key").on(t.merchantId, t.livemode, t.lookupKey).where(sql`${t.lookupKey} IS NOT NULL`),
    // Search by type (migration 0042): the one-time prices and the recurring ones, each in list order
    // (the search repeats these literals, ONE_TIME_PRICE and RECURRING_PRICE in src/api/v1/prices.ts).
    index("prices_one_time").on(t.merchantId, t.livemode, t.created, t.id).where(sql`${t.interval} = 'one_time'`),
    index("prices_recurring").on(t.merchantId, t.livemode, t.created, t.id).where(sql`${t.interval} <> 'one_time'`),
    // GET /v1/prices?recurring[interval]= (migration 0049; the list repeats this literal).
    index("prices_interval").on(t.merchantId, t.livemode, t.interval, t.created, t.id).where(sql`${t.interval} <> 'one_time'`),
  ],
);

/** Stripe's products: what prices are the price of (migration 0011). */
export const products = sqliteTable(
  "products",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    name: text("name").notNull(),
    description: text("description"),
    active: integer("active", { mode: "boolean" }).notNull(),
    metadata: text("metadata").notNull().default("{}"),
    created: integer("created").notNull(),
    updated: integer("updated").notNull(),
  },
  (t) => [
    index("products_list").on(t.merchantId, t.livemode, t.created, t.id),
    index("products_active").on(t.merchantId, t.livemode, t.active, t.created, t.id),
    // Search by exact name (migration 0042).
    index("products_name").on(t.merchantId, t.livemode, t.name, t.created, t.id),
  ],
);

export const subscriptions = sqliteTable(
  "subscriptions",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    customer: text("customer").notNull(),
    price: text("price").notNull(),
    quantity: integer("quantity").notNull(),
    /** incomplete | trialing | active | past_due | canceled | unpaid */
    status: text("status").notNull(),
    currentPeriodStart: integer("current_period_start").notNull(),
    currentPeriodEnd: integer("current_period_end").notNull(),
    /** Periods are counted from here (calendar months clamp to the month's last day, like Stripe's). */
    billingCycleAnchor: integer("billing_cycle_anchor").notNull(),
    /** How many periods have started since the anchor (the current period's index). */
    periodIndex: integer("period_index").notNull().default(0),
    trialEnd: integer("trial_end"),
    /** customer.subscription.trial_will_end was sent (migration 0063). */
    trialWillEndSent: integer("trial_will_end_sent", { mode: "boolean" }).notNull().default(false),
    cancelAtPeriodEnd: integer("cancel_at_period_end", { mode: "boolean" }).notNull().default(false),
    canceledAt: integer("canceled_at"),
    endedAt: integer("ended_at"),
    defaultPaymentMethod: text("default_payment_method"),
    /** Stripe's payment_settings.save_default_payment_method: on_subscription, or null (off; migration 0054). */
    saveDefaultPaymentMethod: text("save_default_payment_method"),
    latestInvoice: text("latest_invoice"),
    testClock: text("test_clock"),
    metadata: text("metadata").notNull().default("{}"),
    /**
     * JSON {comment, feedback, feedback_option, reason}, Stripe's cancellation_details as given (to DELETE,
     * to an update) or set by dunning; null: none (migration 0048).
     */
    cancellationDetails: text("cancellation_details"),
    /** JSON metadata of the subscription's one item (items[0][metadata]), written with its insert; null: none (migration 0048). */
    itemMetadata: text("item_metadata"),
    /** Optimistic concurrency: each change moves it on; a stale writer changes nothing. */
    version: integer("version").notNull().default(0),
    created: integer("created").notNull(),
  },
  (t) => [
    index("subscriptions_list").on(t.merchantId, t.livemode, t.created, t.id),
    // The billing sweep's due subscriptions, in the order it handles them (migration 0029; the engine's
    // conditions repeat these literals, so the planner can use them).
    index("subscriptions_renewing").on(t.testClock, t.currentPeriodEnd).where(sql`${t.status} IN ('active', 'past_due', 'trialing')`),
    index("subscriptions_incomplete").on(t.testClock, t.currentPeriodStart).where(sql`${t.status} = 'incomplete'`),
    // Trials whose end the customer has not been told of yet (trial_will_end, three days before; migration 0063).
    index("subscriptions_trial_will_end").on(t.testClock, t.trialEnd).where(sql`${t.status} = 'trialing' AND ${t.trialWillEndSent} = 0`),
    index("subscriptions_customer").on(t.customer),
    // A customer's subscriptions that have not ended: the limit of 500 counts them on each create, and
    // deleting the customer cancels them (migration 0036; the queries repeat this literal, LIVE_SUBSCRIPTION).
    index("subscriptions_customer_live").on(t.customer).where(sql`${t.status} NOT IN ('canceled', 'incomplete_expired')`),
    index("subscriptions_clock").on(t.testClock),
    index("subscriptions_customer_list").on(t.merchantId, t.livemode, t.customer, t.created, t.id),
    index("subscriptions_price").on(t.merchantId, t.livemode, t.price, t.created, t.id),
    index("subscriptions_clock_list").on(t.merchantId, t.livemode, t.testClock, t.created, t.id),
    index("subscriptions_status").on(t.merchantId, t.livemode, t.status, t.created, t.id),
    // The default list (all but canceled) walks only the others.
    index("subscriptions_open").on(t.merchantId, t.livemode, t.created, t.id).where(sql`${t.status} <> 'canceled'`),
    // status=ended (canceled and incomplete_expired together) walks only those (migration 0058; the list repeats this literal).
    index("subscriptions_ended").on(t.merchantId, t.livemode, t.created, t.id).where(sql`${t.status} IN ('canceled', 'incomplete_expired')`),
  ],
);

export const invoices = sqliteTable(
  "invoices",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    customer: text("customer").notNull(),
    subscription: text("subscription").notNull(),
    /** The service period the invoice bills: its line's `period` (Stripe's line_item.period). */
    periodStart: integer("period_start").notNull(),
    periodEnd: integer("period_end").notNull(),
    /**
     * Stripe's invoice period_start / period_end (migration 0068): when items were collected for it. A
     * first invoice: its creation, both; a renewal: the subscription's period that just ended.
     */
    usagePeriodStart: integer("usage_period_start"),
    usagePeriodEnd: integer("usage_period_end"),
    currency: text("currency").notNull(),
    amountDue: integer("amount_due").notNull(),
    amountPaid: integer("amount_paid").notNull().default(0),
    /** open | paid | uncollectible | void */
    status: text("status").notNull(),
    billingReason: text("billing_reason").notNull(),
    price: text("price").notNull(),
    quantity: integer("quantity").notNull(),
    unitAmount: integer("unit_amount").notNull(),
    description: text("description"),
    /** The intent of the latest payment attempt. */
    paymentIntent: text("payment_intent"),
    /** Finished payment attempts. Attempt n is paid through the intent derived from (invoice, n). */
    attemptCount: integer("attempt_count").notNull().default(0),
    /** When the next attempt is due (null: none is planned). */
    nextPaymentAttempt: integer("next_payment_attempt"),
    /** A sweep working on the invoice holds it until then; a crashed sweep's claim lapses. */
    claimedUntil: integer("claimed_until"),
    paidAt: integer("paid_at"),
    /** Stripe's status_transitions (migration 0015): when it was voided, or marked uncollectible. */
    voidedAt: integer("voided_at"),
    markedUncollectibleAt: integer("marked_uncollectible_at"),
    testClock: text("test_clock"),
    /** The customer's email, name and phone when the invoice was made (it is finalized then), as Stripe keeps them (migration 0020). */
    customerEmail: text("customer_email"),
    customerName: text("customer_name"),
    customerPhone: text("customer_phone"),
    /** The customer's address and shipping when the invoice was made, as the customer's columns hold them (JSON, or null; migration 0040). */
    customerAddress: text("customer_address"),
    customerShipping: text("customer_shipping"),
    /** The price's product when the invoice was made, for the line's `pricing.price_details` (migration 0022). */
    product: text("product"),
    /** Stripe's hosted_invoice_url, made with the invoice (migration 0055; null before it): src/pages/invoice.ts. */
    hostedUrl: text("hosted_url"),
    /**
     * The subscription's metadata (JSON) when the invoice was made (it is finalized then): Stripe's
     * parent.subscription_details.metadata and its line's metadata (migration 0072; null before it).
     */
    subscriptionMetadata: text("subscription_metadata"),
    created: integer("created").notNull(),
  },
  (t) => [
    // One invoice per subscription period, whatever races to make it.
    uniqueIndex("invoices_period").on(t.subscription, t.periodStart),
    index("invoices_list").on(t.merchantId, t.livemode, t.created, t.id),
    index("invoices_customer").on(t.merchantId, t.livemode, t.customer, t.created, t.id),
    index("invoices_subscription").on(t.merchantId, t.livemode, t.subscription, t.created, t.id),
    index("invoices_status").on(t.merchantId, t.livemode, t.status, t.created, t.id),
    // Search by currency and by exact total (amount_due; migration 0042).
    index("invoices_currency").on(t.merchantId, t.livemode, t.currency, t.created, t.id),
    index("invoices_total").on(t.merchantId, t.livemode, t.amountDue, t.created, t.id),
    index("invoices_due").on(t.status, t.nextPaymentAttempt),
  ],
);

/**
 * One row per metadata key of a product, price or subscription (migration 0042) or customer (0043): `metadata['k']:'v'`
 * searches of those objects are a range of its index, in the object's (created, id) order. Kept by
 * the migration's triggers on each table (insert, change of metadata, delete), in the row's own
 * transaction: no code writes it. D1's meta.changes of a write to those tables counts the trigger's
 * rows too: test it for > 0, never = 1.
 */
export const objectMetadata = sqliteTable(
  "object_metadata",
  {
    objectId: text("object_id").notNull(),
    /** product | price | subscription | customer */
    object: text("object").notNull(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    key: text("key").notNull(),
    value: text("value").notNull(),
    created: integer("created").notNull(),
  },
  (t) => [primaryKey({ columns: [t.objectId, t.key] }), index("object_metadata_search").on(t.merchantId, t.livemode, t.object, t.key, t.value, t.created, t.objectId)],
);

export const testClocks = sqliteTable(
  "test_clocks",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    name: text("name"),
    frozenTime: integer("frozen_time").notNull(),
    status: text("status").notNull(),
    created: integer("created").notNull(),
  },
  (t) => [index("test_clocks_list").on(t.merchantId, t.livemode, t.created, t.id), index("test_clocks_advancing").on(t.status)],
);

/** Checkout Sessions (migration 0009): a hosted payment page for one payment intent, which moves its money. */
export const checkoutSessions = sqliteTable(
  "checkout_sessions",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    /** open | complete | expired */
    status: text("status").notNull(),
    /** unpaid | paid */
    paymentStatus: text("payment_status").notNull(),
    paymentIntent: text("payment_intent").notNull(),
    currency: text("currency").notNull(),
    amountSubtotal: integer("amount_subtotal").notNull(),
    amountTotal: integer("amount_total").notNull(),
    /** JSON: the session's line items (name, quantity, unit amount, price). */
    lineItems: text("line_items").notNull(),
    successUrl: text("success_url").notNull(),
    cancelUrl: text("cancel_url"),
    customer: text("customer"),
    customerEmail: text("customer_email"),
    clientReferenceId: text("client_reference_id"),
    metadata: text("metadata").notNull().default("{}"),
    expiresAt: integer("expires_at").notNull(),
    completedAt: integer("completed_at"),
    created: integer("created").notNull(),
  },
  (t) => [
    index("checkout_sessions_list").on(t.merchantId, t.livemode, t.created, t.id),
    index("checkout_sessions_status").on(t.merchantId, t.livemode, t.status, t.created, t.id),
    index("checkout_sessions_customer").on(t.merchantId, t.livemode, t.customer, t.created, t.id),
    // ?customer_details[email]= (migration 0060).
    index("checkout_sessions_email").on(t.merchantId, t.livemode, t.customerEmail, t.created, t.id),
    uniqueIndex("checkout_sessions_intent").on(t.paymentIntent),
    // The open ones, in the order the cron's expiry goes round them (migration 0033).
    index("checkout_sessions_overdue").on(t.expiresAt, t.id).where(sql`${t.status} = 'open'`),
  ],
);

/** Seeds 000 and 003: the stable integer of each intent (AUTOINCREMENT, never reused). */
export const intentNumbers = sqliteTable(
  "intent_numbers",
  {
    number: integer("number").primaryKey({ autoIncrement: true }),
    intentId: text("intent_id").notNull(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    created: integer("created").notNull(),
  },
  (t) => [
    uniqueIndex("intent_numbers_intent").on(t.intentId),
    index("intent_numbers_scope").on(t.merchantId, t.livemode, t.number),
    index("intent_numbers_mode").on(t.livemode, t.number),
  ],
);

/** Seed 000's paymentGatewayId: 1 is every merchant's built-in sandbox (account_id 'sandbox'), then one per connector account. */
export const gatewayNumbers = sqliteTable(
  "gateway_numbers",
  {
    number: integer("number").primaryKey({ autoIncrement: true }),
    accountId: text("account_id").notNull(),
    created: integer("created").notNull(),
  },
  (t) => [uniqueIndex("gateway_numbers_account").on(t.accountId)],
);
