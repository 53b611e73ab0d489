// Operators' tools on /v1 (seeds 001 and 002): merchants and their settings, the audit log, payment
// search, failed payments (counts by reason, retry, resolve, dismiss) and refund approvals. Admin and
// support act across merchants (support only reads); a merchant's own credentials see only its own.
import { and, desc, eq, gte, inArray, isNotNull, isNull, lte, sql, type SQL } from "drizzle-orm";
import { beyond, refundData, refundRow, storedRefund } from "../../db/queries";
import { intentFromRow, intentRow } from "../../db/intent-row";
import type { SQLiteColumn, SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { z } from "zod";
import { audit } from "../../audit/log";
import { holdsEveryPermission, type Principal } from "../../auth/permissions";
import { namesPerson } from "../../auth/jwt";
import { credentialMakers } from "../../auth/api-keys";
import { fourEyesConflict, samePerson } from "../../core/four-eyes";
import { sameThresholds, weakensThresholds, type Thresholds } from "../../core/settings-change";
import { ApiError, invalidRequest, permissionDenied, resourceMissing, unexpectedState } from "../../core/errors";
import { derivedId, hasPrefix, randomId } from "../../core/ids";
import { failureReason, isFailedPayment } from "../../core/intent";
import { refundChargeOf, renderRefund } from "../../core/objects";
import type { IntentRecord, Scope } from "../../core/types";
import { forgetSettings, parseSettings, type MerchantSettings } from "../../db/merchants";
import { directoryDb, everyShard, findOnShards, merchantEnv, mergedPage } from "../../db/shards";
import { bounded, unboundedMessage } from "../../db/search";
import { auditLog, merchants, paymentIntents, refunds } from "../../db/schema";
import { db } from "../../webhooks/store";
import { mintKey, renderKey } from "./api_keys";
import * as f from "./fields";
import { idempotentD1 } from "./idempotency";
import { auditContext, intentJson, intentStub, json, respondOutcome } from "./respond";
import { expandPaths } from "./expand";
import { requestContext, route, type App, type Ctx } from "./route";
import { resolvePaymentMethodFor } from "./payment_intents";
import { assertRetryable, assertRetryMethodUsable, failedPaymentMethod, originalOf, retryFailedPayment } from "../common/failed-retry";
import { apiVersionField } from "./stripe-version";
import { PaymentIntentSchema, RefundSchema } from "./schemas";

const TAG = "Operations";
const seconds = (ms: number) => Math.floor(ms / 1000);

/** Cursor over (created, id) descending, opaque to clients. */
function encodeCursor(created: number, id: string): string {
  return btoa(JSON.stringify([created, id])).replace(/=+$/, "");
}

function decodeCursor(cursor: string): { created: number; id: string } {
  try {
    const [created, id] = JSON.parse(atob(cursor)) as [unknown, unknown];
    if (typeof created === "number" && typeof id === "string" && id.length < 100) return { created, id };
  } catch {
    // the error below
  }
  throw invalidRequest("Invalid cursor: use next_cursor from a previous page.", "cursor", "cursor_invalid");
}

/** Which merchants a caller may see: admin and support everything (or the one they name), others their own. */
function merchantFilter(principal: Principal, column: SQLiteColumn, requested: string | undefined): SQL[] {
  if (principal.crossMerchant) {
    const chosen = requested ?? (principal.merchantId || undefined);
    return chosen ? [eq(column, chosen)] : [];
  }
  if (requested !== undefined && requested !== principal.merchantId) throw permissionDenied("You can only see your own merchant's data.");
  return [eq(column, principal.merchantId)];
}

/**
 * The databases a read spans (src/db/shards.ts): the named merchant's, the caller's own (the request's
 * env is already the merchant's), or every database for admin and support reading across merchants.
 * One database, the request's, without D1_SHARDS.
 */
function readDatabases(c: Ctx, principal: Principal, requested: string | undefined): D1Database[] {
  if (principal.crossMerchant && requested !== undefined) return [merchantEnv(c.env, requested).DB];
  if (principal.crossMerchant && !principal.merchantId) return everyShard(c.env).map((shard) => shard.DB);
  return [c.env.DB];
}

/** A day that exists (2026-02-30 and 2026-13-45 are refused, not rolled over or read as nothing). */
const calendarDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be unix seconds or YYYY-MM-DD")
  .refine((v) => {
    const ms = Date.parse(`${v}T00:00:00Z`);
    return Number.isFinite(ms) && new Date(ms).toISOString().startsWith(v);
  }, "must be a date that exists (YYYY-MM-DD)");
const dateOrTs = z.union([f.integer, calendarDay]).transform((v) => (typeof v === "number" ? v * 1000 : Date.parse(`${v}T00:00:00Z`)));
/**
 * The end of a window, inclusive: a date is the whole of that day (UTC), and Unix seconds the whole of
 * that second (times are kept in milliseconds), so `created_gte=2026-12-06&created_lte=2026-12-06` is
 * that day, as the POS surface's date-only ends are.
 */
const dateOrTsEnd = z.union([f.integer, calendarDay]).transform((v) => (typeof v === "number" ? v * 1000 + 999 : Date.parse(`${v}T00:00:00Z`) + 86_400_000 - 1));
/** A filter's value: an empty one would filter nothing and answer everything. */
const filterText = (max: number) => f.text(max).min(1, "must not be empty");

const MerchantSettingsBody = z
  .object({
    refund_approval_thresholds: z
      // An empty value clears the map, as Stripe clears a hash sent as "" (the only way a form can say {}).
      .union([z.literal("").transform((): Record<string, number> => ({})), z.record(f.currency, f.amount)])
      .optional()
      .describe("Refunds above these amounts (minor units, per currency) wait for someone holding refunds.approve; \"\" (or {}) removes them all."),
    subscription_dunning_final_action: z
      .enum(["canceled", "unpaid"])
      .optional()
      .describe("When the last retry of a subscription renewal fails: cancel the subscription (default) or leave it `unpaid`."),
    api_version: z
      .union([apiVersionField, z.literal("").transform(() => null)])
      .optional()
      .describe("The Stripe API version /v1 renders when a request sends no Stripe-Version header; \"\" returns to the gateway's default."),
  })
  .strict();

const CreateMerchantBody = z.object({ name: f.text(200), settings: MerchantSettingsBody.optional(), payments_entitlement: f.boolean.optional() }).strict();
const UpdateMerchantBody = z.object({ name: f.text(200).optional(), settings: MerchantSettingsBody.optional(), payments_entitlement: f.boolean.optional().describe("Seed 002's `payments` entitlement (admin only): off, /api/v1/payments/* answers 403.") }).strict();

/**
 * A weakening of the refund approval thresholds held for a second person, as the merchant row keeps
 * it (merchants.settings_change, migration 0065). Written once under its id and never edited: an
 * approval names the id, so it applies exactly what the approver was shown.
 */
interface StoredSettingsChange {
  id: string;
  /** Milliseconds. */
  created: number;
  requested_by: string;
  refund_approval_thresholds: Record<string, number>;
  /** The thresholds in force when it was asked (still in force while it waits: a change applied since replaces it). */
  previous_refund_approval_thresholds: Record<string, number>;
}

type SettingsChangeStatus = "pending" | "approved" | "rejected" | "withdrawn";

interface SettingsChangeJson {
  id: string;
  object: "settings_change";
  merchant: string;
  status: SettingsChangeStatus;
  created: number;
  requested_by: string;
  settings: { refund_approval_thresholds: Record<string, number> };
  previous_settings: { refund_approval_thresholds: Record<string, number> };
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
}

const thresholdsMap = z.record(z.string(), z.number().int());
const SettingsChangeSchema: z.ZodType<SettingsChangeJson> = z
  .object({
    id: z.string().describe("msc_...: name it when approving, rejecting or withdrawing; a replaced change's id no longer applies."),
    object: z.literal("settings_change"),
    merchant: z.string(),
    status: z.enum(["pending", "approved", "rejected", "withdrawn"]),
    created: z.number().int(),
    requested_by: z.string().describe("Who asked (the audit actor, e.g. jwt:jane.doe): that person may withdraw it, never approve it."),
    settings: z.object({ refund_approval_thresholds: thresholdsMap }).describe("What takes effect once another person approves."),
    previous_settings: z.object({ refund_approval_thresholds: thresholdsMap }).describe("What is in force until then."),
    decided_by: z.string().nullable(),
    decided_at: z.number().int().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: "SettingsChange" });

function renderSettingsChange(merchantId: string, stored: StoredSettingsChange, decision?: { status: Exclude<SettingsChangeStatus, "pending">; actor: string; at: number; reason: string | null }): SettingsChangeJson {
  return {
    id: stored.id,
    object: "settings_change",
    merchant: merchantId,
    status: decision?.status ?? "pending",
    created: seconds(stored.created),
    requested_by: stored.requested_by,
    settings: { refund_approval_thresholds: stored.refund_approval_thresholds },
    previous_settings: { refund_approval_thresholds: stored.previous_refund_approval_thresholds },
    decided_by: decision?.actor ?? null,
    decided_at: decision ? seconds(decision.at) : null,
    reason: decision?.reason ?? null,
  };
}

interface MerchantJson {
  id: string;
  object: "merchant";
  name: string;
  created: number;
  settings: { refund_approval_thresholds: Record<string, number>; subscription_dunning_final_action: "canceled" | "unpaid"; api_version: string | null };
  pending_settings_change: SettingsChangeJson | null;
}

const PendingSettingsChange = SettingsChangeSchema.nullable().describe(
  "A change of refund_approval_thresholds that weakens the rule (a threshold raised or removed), waiting for another person with refunds.approve: POST /v1/admin/settings_changes/{id}/approve; null when none.",
);

const MerchantSchema: z.ZodType<MerchantJson> = z
  .object({
    id: z.string(),
    object: z.literal("merchant"),
    name: z.string(),
    created: z.number().int(),
    settings: z.object({ refund_approval_thresholds: z.record(z.string(), z.number()), subscription_dunning_final_action: z.enum(["canceled", "unpaid"]), api_version: z.string().nullable() }),
    pending_settings_change: PendingSettingsChange,
  })
  .meta({ id: "Merchant" });

type MerchantRow = typeof merchants.$inferSelect;

function storedSettingsChange(row: Pick<MerchantRow, "settingsChange">): StoredSettingsChange | null {
  return row.settingsChange ? (JSON.parse(row.settingsChange) as StoredSettingsChange) : null;
}

function renderMerchant(row: MerchantRow): MerchantJson {
  const pending = storedSettingsChange(row);
  return { id: row.id, object: "merchant", name: row.name, created: seconds(row.created), settings: parseSettings(row.settings), pending_settings_change: pending ? renderSettingsChange(row.id, pending) : null };
}

/**
 * GET and POST /v1/account: the merchant as Stripe's Account (stripe-node's accounts.retrieve()), a
 * standard account whose charges are enabled and whose details are in; payouts are not made here
 * (payouts_enabled: false). Its settings carry Stripe's branding, card_payments, dashboard (the
 * merchant's name) and payments beside the gateway's own (refund approval thresholds, the dunning's
 * final action, the default Stripe-Version); `name` is ours too.
 */
interface AccountJson {
  id: string;
  object: "account";
  business_type: null;
  charges_enabled: true;
  created: number;
  details_submitted: true;
  email: null;
  metadata: Record<string, never>;
  payouts_enabled: false;
  type: "standard";
  name: string;
  pending_settings_change: SettingsChangeJson | null;
  settings: MerchantJson["settings"] & {
    branding: { icon: null; logo: null; primary_color: null; secondary_color: null };
    card_payments: { statement_descriptor_prefix: null; statement_descriptor_prefix_kana: null; statement_descriptor_prefix_kanji: null };
    dashboard: { display_name: string; timezone: null };
    payments: { statement_descriptor: null; statement_descriptor_kana: null; statement_descriptor_kanji: null; statement_descriptor_prefix_kana: null; statement_descriptor_prefix_kanji: null };
  };
}

const AccountSchema: z.ZodType<AccountJson> = z
  .object({
    id: z.string(),
    object: z.literal("account"),
    business_type: z.null(),
    charges_enabled: z.literal(true),
    created: z.number().int(),
    details_submitted: z.literal(true),
    email: z.null(),
    metadata: z.object({}).strict(),
    payouts_enabled: z.literal(false).describe("Payouts are not made by the gateway."),
    type: z.literal("standard"),
    name: z.string().describe("The merchant's name (also settings.dashboard.display_name)."),
    pending_settings_change: PendingSettingsChange,
    settings: z.object({
      branding: z.object({ icon: z.null(), logo: z.null(), primary_color: z.null(), secondary_color: z.null() }),
      card_payments: z.object({ statement_descriptor_prefix: z.null(), statement_descriptor_prefix_kana: z.null(), statement_descriptor_prefix_kanji: z.null() }),
      dashboard: z.object({ display_name: z.string(), timezone: z.null() }),
      payments: z.object({
        statement_descriptor: z.null(),
        statement_descriptor_kana: z.null(),
        statement_descriptor_kanji: z.null(),
        statement_descriptor_prefix_kana: z.null(),
        statement_descriptor_prefix_kanji: z.null(),
      }),
      refund_approval_thresholds: z.record(z.string(), z.number()).describe("Ours: refunds above these amounts wait for approval."),
      subscription_dunning_final_action: z.enum(["canceled", "unpaid"]).describe("Ours: what the last failed renewal retry does."),
      api_version: z.string().nullable().describe("Ours: the Stripe-Version rendered when a request sends none."),
    }),
  })
  .meta({ id: "Account" });

function renderAccount(merchant: MerchantJson): AccountJson {
  return {
    id: merchant.id,
    object: "account",
    business_type: null,
    charges_enabled: true,
    created: merchant.created,
    details_submitted: true,
    email: null,
    metadata: {},
    payouts_enabled: false,
    type: "standard",
    name: merchant.name,
    pending_settings_change: merchant.pending_settings_change,
    settings: {
      branding: { icon: null, logo: null, primary_color: null, secondary_color: null },
      card_payments: { statement_descriptor_prefix: null, statement_descriptor_prefix_kana: null, statement_descriptor_prefix_kanji: null },
      dashboard: { display_name: merchant.name, timezone: null },
      payments: { statement_descriptor: null, statement_descriptor_kana: null, statement_descriptor_kanji: null, statement_descriptor_prefix_kana: null, statement_descriptor_prefix_kanji: null },
      ...merchant.settings,
    },
  };
}

async function merchantOr404(d1: D1Database, id: string): Promise<MerchantRow> {
  const [row] = await db(d1).select().from(merchants).where(eq(merchants.id, id)).limit(1);
  if (!row) throw resourceMissing("merchant", id.slice(0, 80), "id");
  return row;
}

/** The thresholds the row holds, as SQL compares them (json_extract's text of the map, '{}' when unset). */
const storedThresholds = sql`coalesce(json_extract(coalesce(nullif(${merchants.settings}, ''), '{}'), '$.refund_approval_thresholds'), '{}')`;

/** A condition: the merchant's thresholds are still `thresholds` (as read before deciding what a request may do). */
const thresholdsStill = (thresholds: Thresholds) => sql`${storedThresholds} = json(${JSON.stringify(thresholds)})`;

/** How often an update is tried again when the thresholds changed between its read and its write. */
const UPDATE_ROUNDS = 3;

/**
 * Writes only what the body changes, in one statement: the settings are set key by key on the stored
 * JSON (json_set), so a concurrent update of the name or of another setting is never written back
 * from a stale read of the row.
 *
 * The refund approval thresholds are the four-eyes rule on refunds, and changing them is under four
 * eyes too: a change that lets some refund through without a second person (a threshold raised, a
 * currency removed, the map emptied; one up and one down counts as up) is not applied but held as the
 * merchant's `pending_settings_change` until another person approves it (decideSettingsChange). One
 * that only holds more back applies at once, and replaces a pending change (which was asked against
 * thresholds no longer in force). Whether a change weakens is judged against the thresholds read, and
 * the write happens only if they, and the pending change, are still those (else the request is judged
 * again): of two requests at once, the later replaces the earlier's change, and says so in the audit log.
 */
async function updateMerchant(c: Ctx, principal: Principal, merchantId: string, body: z.output<typeof UpdateMerchantBody>): Promise<MerchantJson> {
  if (body.payments_entitlement !== undefined && !principal.roles.includes("admin")) throw permissionDenied("Only admin users may change a merchant's entitlements.");
  const d1 = directoryDb(c.env);
  for (let round = 0; round < UPDATE_ROUNDS; round++) {
    const row = await merchantOr404(d1, merchantId);
    const current = parseSettings(row.settings).refund_approval_thresholds;
    const pending = storedSettingsChange(row);
    const patch: Partial<MerchantSettings> = { ...(body.settings ?? {}) };
    // Only someone who may approve refunds may change the thresholds (a key that manages keys could
    // otherwise switch the rule off and refund alone), and, as approving, only a person (a user's
    // JWT): a secret key holds refunds.approve in name but may not approve, so it may not switch the
    // rule off either. Sent back unchanged (by anyone), they are not written: a copy read before an
    // approver's change must not undo it, and a pending change stays.
    const thresholds = body.settings?.refund_approval_thresholds;
    if (thresholds !== undefined && !sameThresholds(thresholds, current) && (!principal.permissions.has("refunds.approve") || !namesPerson(principal))) {
      throw permissionDenied("Changing refund_approval_thresholds needs a user's token (JWT, its sub naming the user) with the refunds.approve permission, as approving a refund does; an API key may not.");
    }
    if (thresholds !== undefined && sameThresholds(thresholds, current)) delete patch.refund_approval_thresholds;
    const changes: SQLiteUpdateSetSource<typeof merchants> = {};
    let held: StoredSettingsChange | null = null;
    let replaced: StoredSettingsChange | null = null;
    const next = patch.refund_approval_thresholds;
    if (next !== undefined && weakensThresholds(current, next)) {
      delete patch.refund_approval_thresholds;
      // The same request again from the same person keeps its change (and the id an approver may hold).
      const again = pending && pending.requested_by === principal.actor && sameThresholds(pending.refund_approval_thresholds, next);
      if (!again) {
        const change: StoredSettingsChange = { id: randomId("msc"), created: Date.now(), requested_by: principal.actor, refund_approval_thresholds: next, previous_refund_approval_thresholds: current };
        held = change;
        replaced = pending;
        changes.settingsChange = JSON.stringify(change);
        changes.settingsChangeId = change.id;
      }
    } else if (next !== undefined && pending) {
      replaced = pending;
      changes.settingsChange = null;
      changes.settingsChangeId = null;
    }
    if (body.name !== undefined) changes.name = body.name;
    if (body.payments_entitlement !== undefined) changes.paymentsEntitlement = body.payments_entitlement;
    const settings = Object.entries(patch).filter(([, value]) => value !== undefined);
    if (settings.length > 0) {
      // Each value through json() so that json_set stores it as JSON (an object, a string, null), not as text.
      const pairs = settings.map(([key, value]) => sql`${`$.${key}`}, json(${JSON.stringify(value)})`);
      changes.settings = sql`json_set(coalesce(nullif(${merchants.settings}, ''), '{}'), ${sql.join(pairs, sql`, `)})`;
    }
    const judged = next !== undefined;
    let updated = row;
    if (Object.keys(changes).length > 0) {
      const [written] = await db(d1)
        .update(merchants)
        .set(changes)
        // Judged against the thresholds and the pending change read: written only if both are still those.
        .where(and(eq(merchants.id, row.id), ...(judged ? [thresholdsStill(current), pending ? eq(merchants.settingsChangeId, pending.id) : isNull(merchants.settingsChangeId)] : [])))
        .returning();
      if (!written) {
        if (judged) continue;
        throw resourceMissing("merchant", row.id, "id");
      }
      updated = written;
    }
    forgetSettings(row.id);
    const ctx = auditContext(c);
    if (held) {
      audit(ctx, principal, {
        action: "merchants.settings_change.request",
        objectType: "settings_change",
        objectId: held.id,
        statusAfter: "pending",
        httpStatus: 200,
        merchantId: row.id,
        details: { refund_approval_thresholds: JSON.stringify(held.refund_approval_thresholds), previous_refund_approval_thresholds: JSON.stringify(current), replaces: replaced?.id ?? null },
      });
    }
    if (replaced) {
      // Replaced by a newer request, or by thresholds applied at once (it was asked against the old ones).
      audit(ctx, principal, { action: "merchants.settings_change.replace", objectType: "settings_change", objectId: replaced.id, statusBefore: "pending", statusAfter: "replaced", httpStatus: 200, merchantId: row.id, details: { by: held?.id ?? null } });
    }
    audit(ctx, principal, { action: "merchants.update", objectType: "merchant", objectId: row.id, httpStatus: 200, merchantId: row.id, details: { settings: JSON.stringify(parseSettings(updated.settings)), ...(held ? { settings_change: held.id } : {}) } });
    return renderMerchant(updated);
  }
  throw new ApiError({ status: 409, type: "invalid_request_error", code: "merchant_settings_conflict", message: "The refund approval thresholds kept changing while this update was applied; nothing was changed. Read the merchant again and retry." });
}

function registerMerchants(app: App): void {
  route(
    app,
    {
      method: "post",
      path: "/v1/admin/merchants",
      permission: null,
      roles: ["admin"],
      merchant: false,
      summary: "Create a merchant with its first test secret key (shown once); needs an admin credential with every permission",
      tag: TAG,
      body: CreateMerchantBody,
      response: z.object({ merchant: MerchantSchema, api_key: z.unknown() }),
      // The new merchant comes with a secret key, which holds every permission: only a credential
      // holding them all may mint it (as a secret key, POST /v1/api_keys), never one narrowed by its
      // `permissions`. Checked before the body is read: a narrowed token is told 403, not the body's schema.
      guard: (principal) => {
        if (!holdsEveryPermission(principal)) throw permissionDenied("Only an admin credential with every permission can create a merchant: it comes with a secret key, which holds every permission.");
      },
    },
    async (c, { body, principal }) => {
      return idempotentD1(c, { ...principal, merchantId: principal.merchantId || "platform" }, "merchants.create", "", body, async () => {
        const row: MerchantRow = { id: randomId("acct"), name: body.name, created: Date.now(), settings: JSON.stringify({ ...parseSettings("{}"), ...(body.settings ?? {}) }), paymentsEntitlement: body.payments_entitlement ?? true, settingsChange: null, settingsChangeId: null };
        await db(directoryDb(c.env)).insert(merchants).values(row);
        const key = await mintKey(directoryDb(c.env), row.id, false, "secret", { name: "first key", createdBy: principal.actor });
        audit(auditContext(c), principal, { action: "merchants.create", objectType: "merchant", objectId: row.id, statusAfter: "active", httpStatus: 200, merchantId: row.id });
        audit(auditContext(c), principal, { action: "api_keys.create", objectType: "api_key", objectId: key.row.id, statusAfter: "active", httpStatus: 200, merchantId: row.id, details: { type: "secret" } });
        return { status: 200, body: { merchant: renderMerchant(row), api_key: renderKey(key.row, key.shown) } };
      });
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/admin/merchants",
      permission: "payments.transactions.view",
      roles: ["admin", "support"],
      merchant: false,
      summary: "List merchants, newest first (limit, then next_cursor for the next page)",
      tag: TAG,
      query: z.object({ limit: f.limit.optional(), cursor: f.text(200).optional() }).strict(),
      response: z.object({ object: z.literal("list"), data: z.array(MerchantSchema), has_more: z.boolean(), next_cursor: z.string().nullable(), url: z.string() }),
    },
    async (c, { query }) => {
      const limit = query.limit ?? 100;
      const rows = await db(directoryDb(c.env))
        .select()
        .from(merchants)
        .where(query.cursor ? beyond(merchants.created, merchants.id, decodeCursor(query.cursor), "older") : undefined)
        .orderBy(desc(merchants.created), desc(merchants.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const hasMore = rows.length > limit;
      return json(c, { object: "list", data: page.map(renderMerchant), has_more: hasMore, next_cursor: hasMore && last ? encodeCursor(last.created, last.id) : null, url: "/v1/admin/merchants" });
    },
  );

  route(
    app,
    { method: "post", path: "/v1/admin/merchants/{id}", permission: "keys.manage", roles: ["admin"], merchant: false, summary: "Update a merchant's name and settings", tag: TAG, body: UpdateMerchantBody, response: MerchantSchema },
    async (c, { params, body, principal }) => json(c, await updateMerchant(c, principal, params.id ?? "", body)),
  );

  route(
    app,
    { method: "get", path: "/v1/account", permission: "payments.transactions.view", summary: "Your merchant account and its settings, as Stripe's Account", tag: TAG, query: f.expandQuery, response: AccountSchema },
    async (c, { query, principal }) => {
      // Stripe's expand[]: nothing of the account is expandable here, so any path is a 400.
      expandPaths(query.expand, "account");
      return json(c, renderAccount(renderMerchant(await merchantOr404(directoryDb(c.env), principal.merchantId))));
    },
  );

  route(
    app,
    { method: "post", path: "/v1/account", permission: "keys.manage", summary: "Update your merchant account's name and settings (refund approval thresholds); answers the Account", tag: TAG, body: UpdateMerchantBody, response: AccountSchema },
    async (c, { body, principal }) => json(c, renderAccount(await updateMerchant(c, principal, principal.merchantId, body))),
  );
}

const AuditQuery = z
  .object({
    merchant: filterText(100).optional(),
    actor: f.text(200).optional(),
    action: f.text(100).optional(),
    object_id: f.text(100).optional(),
    created_gte: dateOrTs.optional(),
    created_lte: dateOrTsEnd.optional(),
    limit: f.limit.optional(),
    cursor: f.text(200).optional(),
  })
  .strict();

function registerAuditLog(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/admin/audit_log",
      permission: "payments.transactions.view",
      roles: ["admin", "support"],
      merchant: false,
      summary: "The audit log, newest first: who did what, when, with which request; status before and after",
      tag: TAG,
      query: AuditQuery,
      response: z.object({ object: z.literal("list"), data: z.array(z.record(z.string(), z.unknown())), has_more: z.boolean(), next_cursor: z.string().nullable() }),
    },
    async (c, { query, principal }) => {
      const limit = query.limit ?? 25;
      // Actor and action have no index of their own: an object's entries, or a window of at most 31 days.
      const residual = [...(query.actor ? ["actor"] : []), ...(query.action ? ["action"] : [])];
      if (!bounded(residual.length > 0, query.object_id !== undefined, query.created_gte, query.created_lte === undefined ? undefined : query.created_lte + 1)) {
        throw invalidRequest(unboundedMessage(residual.join(", "), "created_gte and created_lte, or object_id"), "created_gte", "parameter_missing");
      }
      const where: SQL[] = [
        ...merchantFilter(principal, auditLog.merchantId, query.merchant),
        ...(query.actor ? [eq(auditLog.actor, query.actor)] : []),
        ...(query.action ? [eq(auditLog.action, query.action)] : []),
        ...(query.object_id ? [eq(auditLog.objectId, query.object_id)] : []),
        ...(query.created_gte !== undefined ? [gte(auditLog.created, query.created_gte)] : []),
        ...(query.created_lte !== undefined ? [lte(auditLog.created, query.created_lte)] : []),
      ];
      if (query.cursor) {
        const cur = decodeCursor(query.cursor);
        where.push(beyond(auditLog.created, auditLog.id, cur, "older"));
      }
      // Across merchants, every database answers its newest limit + 1 and the pages merge by (created, id).
      const { rows: page, hasMore } = await mergedPage(readDatabases(c, principal, query.merchant), limit, (d1, n) =>
        db(d1)
          .select()
          .from(auditLog)
          .where(and(...where))
          .orderBy(desc(auditLog.created), desc(auditLog.id))
          .limit(n),
      );
      const last = page[page.length - 1];
      return json(c, {
        object: "list",
        data: page.map((r) => ({
          id: r.id,
          object: "audit_entry",
          merchant: r.merchantId,
          livemode: r.livemode,
          actor: r.actor,
          actor_roles: r.actorRoles ? r.actorRoles.split(",") : [],
          action: r.action,
          object_type: r.objectType,
          object_id: r.objectId,
          request_id: r.requestId,
          idempotency_key: r.idempotencyKey,
          status_before: r.statusBefore,
          status_after: r.statusAfter,
          http_status: r.httpStatus,
          details: JSON.parse(r.details) as Record<string, unknown>,
          created: seconds(r.created),
          created_ms: r.created,
        })),
        has_more: hasMore,
        next_cursor: hasMore && last ? encodeCursor(last.created, last.id) : null,
      });
    },
  );
}

const SearchQuery = z
  .object({
    merchant: filterText(100).optional(),
    order_id: filterText(255).optional(),
    customer: filterText(255).optional(),
    status: f.intentStatus.optional(),
    amount_gte: f.integer.optional(),
    amount_lte: f.integer.optional(),
    created_gte: dateOrTs.optional(),
    created_lte: dateOrTsEnd.optional(),
    card_last4: z.string().regex(/^\d{4}$/, "must be four digits").optional(),
    limit: f.limit.optional(),
    cursor: f.text(200).optional(),
  })
  .strict();

async function intentPage(dbs: D1Database[], where: SQL[], limit: number, cursor: string | undefined): Promise<{ items: IntentRecord[]; hasMore: boolean; next: string | null }> {
  if (cursor) {
    const cur = decodeCursor(cursor);
    where.push(beyond(paymentIntents.created, paymentIntents.id, cur, "older"));
  }
  const { rows, hasMore } = await mergedPage(dbs, limit, (d1, n) =>
    db(d1)
      .select(intentRow)
      .from(paymentIntents)
      .where(and(...where))
      .orderBy(desc(paymentIntents.created), desc(paymentIntents.id))
      .limit(n),
  );
  const items = rows.map(intentFromRow);
  const last = rows[rows.length - 1];
  return { items, hasMore, next: hasMore && last ? encodeCursor(last.created, last.id) : null };
}

function registerPaymentSearch(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/admin/payments/search",
      permission: "payments.transactions.view",
      merchant: false,
      summary: "Search payments by order, customer, status, amount and date ranges, card last4 and merchant (cursor pagination)",
      tag: TAG,
      query: SearchQuery,
      response: z.object({ object: z.literal("list"), data: z.array(PaymentIntentSchema), has_more: z.boolean(), next_cursor: z.string().nullable() }),
    },
    async (c, { query, principal }) => {
      const merchantScoped = !principal.crossMerchant || query.merchant !== undefined || Boolean(principal.merchantId);
      // Across merchants a customer and an order id are index ranges of their own (payment_intents_customer
      // and payment_intents_order_mode); the other filters' indexes start with the merchant.
      const residual = Object.entries({ status: query.status, amount_gte: query.amount_gte, amount_lte: query.amount_lte, card_last4: query.card_last4 })
        .filter(([name, v]) => v !== undefined && (!merchantScoped || name.startsWith("amount_")))
        .map(([name]) => name);
      const selective = query.customer !== undefined || query.order_id !== undefined || (merchantScoped && Boolean(query.card_last4));
      if (!bounded(residual.length > 0, selective, query.created_gte, query.created_lte === undefined ? undefined : query.created_lte + 1)) {
        throw invalidRequest(unboundedMessage(residual.join(", "), `created_gte and created_lte${merchantScoped ? "" : ", or merchant"}`), "created_gte", "parameter_missing");
      }
      const where: SQL[] = [
        ...merchantFilter(principal, paymentIntents.merchantId, query.merchant),
        eq(paymentIntents.livemode, principal.livemode),
        ...(query.order_id ? [eq(paymentIntents.orderId, query.order_id)] : []),
        ...(query.customer ? [eq(paymentIntents.customer, query.customer)] : []),
        ...(query.status ? [eq(paymentIntents.status, query.status)] : []),
        // `+amount`: not a range of payment_intents_amount (sorted by created afterwards); see src/db/search.ts.
        ...(query.amount_gte !== undefined ? [gte(sql`+${paymentIntents.amount}`, query.amount_gte)] : []),
        ...(query.amount_lte !== undefined ? [lte(sql`+${paymentIntents.amount}`, query.amount_lte)] : []),
        ...(query.created_gte !== undefined ? [gte(paymentIntents.created, query.created_gte)] : []),
        ...(query.created_lte !== undefined ? [lte(paymentIntents.created, query.created_lte)] : []),
        ...(query.card_last4 ? [eq(paymentIntents.cardLast4, query.card_last4)] : []),
      ];
      const page = await intentPage(readDatabases(c, principal, query.merchant), where, query.limit ?? 25, query.cursor);
      return json(c, { object: "list", data: page.items.map((i) => intentJson(c, i)), has_more: page.hasMore, next_cursor: page.next });
    },
  );
}

const FailedQuery = z
  .object({
    merchant: filterText(100).optional(),
    reason: f.text(100).optional(),
    resolution: z.enum(["open", "resolved", "dismissed", "all"]).optional(),
    created_gte: dateOrTs.optional(),
    created_lte: dateOrTsEnd.optional(),
    limit: f.limit.optional(),
    cursor: f.text(200).optional(),
  })
  .strict();

const RetryBody = z
  .object({
    payment_method: f.paymentMethod.optional().describe("Another payment method; without it, the one that failed is tried again."),
  })
  .strict();

const ResolveBody = z
  .object({
    reason: f.text(500),
    paid_by_other_means: f.boolean.optional(),
  })
  .strict();

/** The intent a failed-payment route names, for this caller (admins: any merchant's). */
async function failedIntent(c: Ctx, principal: Principal, id: string): Promise<{ intent: IntentRecord; scope: Scope }> {
  if (!hasPrefix(id, "pi")) throw resourceMissing("payment_intent", id.slice(0, 80), "id");
  let scope: Scope = principal;
  if (principal.crossMerchant) {
    // Any merchant's, but only in the token's own mode: a test-mode token never acts on live money.
    const row = await findOnShards(c.env, async (d1) => (await db(d1).select({ merchantId: paymentIntents.merchantId, livemode: paymentIntents.livemode }).from(paymentIntents).where(and(eq(paymentIntents.id, id), eq(paymentIntents.livemode, principal.livemode))).limit(1))[0]);
    if (row) scope = { merchantId: row.merchantId, livemode: row.livemode };
  }
  const intent = scope.merchantId ? await intentStub(c.env, id).retrieve(scope, id) : null;
  if (!intent) throw resourceMissing("payment_intent", id, "id");
  return { intent, scope };
}

const RetrySummary = z.object({ id: z.string(), status: z.string(), created: z.number().int() });
type RetrySummary = z.infer<typeof RetrySummary>;

/**
 * The retries of a page's failed payments, by the payment they retry, oldest first: ranges of
 * payment_intents_retries on each database the page was read from (a retry lives with its original).
 */
async function retriesOf(dbs: D1Database[], livemode: boolean, originals: IntentRecord[]): Promise<Map<string, RetrySummary[]>> {
  const byOriginal = new Map<string, RetrySummary[]>();
  if (originals.length === 0) return byOriginal;
  const ids = originals.map((i) => i.id);
  const rows = (
    await Promise.all(
      dbs.map((d1) =>
        db(d1)
          .select({ retryOf: paymentIntents.retryOf, id: paymentIntents.id, status: paymentIntents.status, created: paymentIntents.created })
          .from(paymentIntents)
          .where(and(inArray(paymentIntents.retryOf, ids), eq(paymentIntents.livemode, livemode))),
      ),
    )
  ).flat();
  // Ordered here: an ORDER BY over several ranges (IN) would sort them in a temp B-tree.
  rows.sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const r of rows) {
    if (!r.retryOf) continue;
    const list = byOriginal.get(r.retryOf) ?? [];
    list.push({ id: r.id, status: r.status, created: seconds(r.created) });
    byOriginal.set(r.retryOf, list);
  }
  return byOriginal;
}

function registerFailedPayments(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/admin/failed_payments",
      permission: "payments.transactions.view",
      merchant: false,
      summary:
        "Failed payments (declined or failed for good), with counts by reason over a window of at most 31 days (created_gte/created_lte; by default the last 30 days). A retry is listed with the payment it retries (retries), never as a failed payment of its own",
      tag: TAG,
      query: FailedQuery,
      response: z.object({ object: z.literal("list"), data: z.array(
          z.intersection(
            PaymentIntentSchema,
            z.object({
              failure_reason: z.string().describe("Why it failed, as counts_by_reason and ?reason= name it: the decline code, else the error code (provider_error when the provider itself failed and last_payment_error is null)."),
              retries: z.array(RetrySummary).describe("This payment's retries (failed_payments/{id}/retry), oldest first."),
              retry_refusal: z.string().nullable().describe("Why failed_payments/{id}/retry refuses this payment whatever its state (an invoice's payment, a Checkout Session's or an iCliGo payment), or null."),
            }),
          ),
        ), counts_by_reason: z.record(z.string(), z.number()), has_more: z.boolean(), next_cursor: z.string().nullable() }),
    },
    async (c, { query, principal }) => {
      const resolution = query.resolution ?? "open";
      const where: SQL[] = [
        ...merchantFilter(principal, paymentIntents.merchantId, query.merchant),
        eq(paymentIntents.livemode, principal.livemode),
        isNotNull(paymentIntents.failureReason),
        // A retry that failed is another attempt at its original, listed there (retries): acting on it
        // acts on the original, and it leaves the list with the original.
        isNull(paymentIntents.retryOf),
        ...(resolution === "open" ? [isNull(paymentIntents.resolution)] : resolution === "all" ? [] : [eq(paymentIntents.resolution, resolution)]),
      ];
      if (query.created_gte !== undefined) where.push(gte(paymentIntents.created, query.created_gte));
      if (query.created_lte !== undefined) where.push(lte(paymentIntents.created, query.created_lte));
      // The counts read every failed payment they count: those of a window of at most 31 days (by
      // default the last 30), a range of a covering index: payment_intents_failed_reasons for one
      // resolution, payment_intents_failed (or _mode, across merchants) for all of them.
      const countsFrom = query.created_gte ?? Date.now() - 30 * 86_400_000;
      if (!bounded(true, false, countsFrom, query.created_lte === undefined ? undefined : query.created_lte + 1)) {
        throw invalidRequest(unboundedMessage("counts_by_reason", "created_gte and created_lte"), "created_gte", "parameter_missing");
      }
      const dbs = readDatabases(c, principal, query.merchant);
      const counts = (
        await Promise.all(
          dbs.map((d1) =>
            db(d1)
              .select({ reason: paymentIntents.failureReason, n: sql<number>`count(*)` })
              .from(paymentIntents)
              .where(and(...where, ...(query.created_gte === undefined ? [gte(paymentIntents.created, countsFrom)] : [])))
              .groupBy(paymentIntents.failureReason),
          ),
        )
      ).flat();
      if (query.reason) where.push(eq(paymentIntents.failureReason, query.reason));
      const page = await intentPage(dbs, where, query.limit ?? 25, query.cursor);
      const retries = await retriesOf(dbs, principal.livemode, page.items);
      return json(c, {
        object: "list",
        data: page.items.map((i) => ({ ...intentJson(c, i), failure_reason: failureReason(i) ?? "unknown", retries: retries.get(i.id) ?? [], retry_refusal: retryRefusal(i) })),
        counts_by_reason: counts.reduce<Record<string, number>>((sum, r) => {
          const reason = r.reason ?? "unknown";
          sum[reason] = (sum[reason] ?? 0) + Number(r.n);
          return sum;
        }, {}),
        has_more: page.hasMore,
        next_cursor: page.next,
      });
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/admin/failed_payments/{id}/retry",
      permission: "payments.transactions.create",
      merchant: false,
      summary: "Retry a failed payment as a new payment intent linked to it (retry_of), with the same or another payment method",
      tag: TAG,
      body: RetryBody,
      response: z.object({ retry: PaymentIntentSchema, original: PaymentIntentSchema }),
    },
    async (c, { params, body, principal }) => {
      const named = await failedIntent(c, principal, params.id ?? "");
      const { scope } = named;
      // A retry that failed is retried as the payment it retries: one payment, one retry that pays.
      const failed = await originalOf(c.env, scope, named.intent);
      if (!isFailedPayment(failed)) throw unexpectedState(`PaymentIntent ${failed.id} is not a failed payment.`, "not_a_failed_payment");
      const actor: Principal = { ...principal, merchantId: scope.merchantId, livemode: scope.livemode };
      const req = await requestContext(c, actor, "failed_payments.retry", failed.id, body, { details: { retry_of: failed.id } });
      const id = req.idempotencyKey ? await derivedId("pi", scope.merchantId, String(scope.livemode), `retry:${failed.id}:${req.idempotencyKey}`) : randomId("pi");
      // Resolved by this very retry (its Idempotency-Key sent again): it goes on, to be replayed by the objects.
      if (failed.resolution && failed.resolution.retriedBy !== id) throw unexpectedState(`This failed payment was already ${failed.resolution.status}.`, "failed_payment_already_resolved");
      const method = body.payment_method !== undefined ? await resolvePaymentMethodFor(c, actor, { payment_method: body.payment_method }, failed.customer) : failedPaymentMethod(failed);
      if (!method) throw invalidRequest("This failed payment has no payment method to try again: pass payment_method.", "payment_method", "parameter_missing");
      // The card as stored now: detached since, or no longer the payment's customer's (or its customer deleted), it is not charged.
      // (A retry already made, its Idempotency-Key sent again, is replayed by the objects: not checked again.)
      if (failed.resolution?.retriedBy !== id) await assertRetryMethodUsable(c.env, failed, method);
      const { outcome, original } = await retryFailedPayment(c.env, { req, failed, id, paymentMethod: { ...method, id: randomId("pm") }, actor: principal, resolveAction: "failed_payments.resolve" });
      const retried = outcome.intent;
      if (outcome.error && !retried) return respondOutcome(c, outcome, (i) => intentJson(c, i));
      const headers: Record<string, string> = outcome.replayed ? { "Idempotent-Replayed": "true" } : {};
      return json(c, { retry: retried ? intentJson(c, retried) : null, original: intentJson(c, original), ...(outcome.error ? { error: outcome.error } : {}) }, outcome.error?.status ?? 200, headers);
    },
  );

  for (const status of ["resolved", "dismissed"] as const) {
    const verb = status === "resolved" ? "resolve" : "dismiss";
    route(
      app,
      {
        method: "post",
        path: `/v1/admin/failed_payments/{id}/${verb}`,
        permission: "payments.transactions.create",
        merchant: false,
        summary: status === "resolved" ? "Resolve a failed payment with a reason (and whether it was paid by other means)" : "Dismiss a failed payment with a reason",
        tag: TAG,
        body: ResolveBody,
        response: PaymentIntentSchema,
      },
      async (c, { params, body, principal }) => {
        const named = await failedIntent(c, principal, params.id ?? "");
        const { scope } = named;
        // A retry that failed is resolved or dismissed as the payment it retries (whose retry could still pay it).
        const intent = await originalOf(c.env, scope, named.intent);
        const actor: Principal = { ...principal, merchantId: scope.merchantId, livemode: scope.livemode };
        const req = await requestContext(c, actor, `failed_payments.${verb}`, intent.id, body, { details: { reason: body.reason, paid_by_other_means: body.paid_by_other_means ?? false } });
        const outcome = await intentStub(c.env, intent.id).resolveFailedPayment(req, intent.id, {
          status,
          reason: body.reason,
          paidByOtherMeans: status === "resolved" && body.paid_by_other_means === true,
          retriedBy: null,
          actor: principal.actor,
        });
        return respondOutcome(c, outcome, (i) => intentJson(c, i));
      },
    );
  }
}

const DecisionBody = z.object({ reason: f.text(500).optional() }).strict();

function registerRefundApprovals(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/admin/refunds",
      permission: "payments.transactions.view",
      merchant: false,
      summary: "Refunds waiting for approval",
      tag: TAG,
      query: z.object({ merchant: filterText(100).optional(), limit: f.limit.optional(), cursor: f.text(200).optional() }).strict(),
      response: z.object({ object: z.literal("list"), data: z.array(RefundSchema.and(z.object({ merchant_id: z.string() }))), has_more: z.boolean(), next_cursor: z.string().nullable(), url: z.string() }),
    },
    async (c, { query, principal }) => {
      // 'pending' as a literal: the partial index refunds_pending (status = 'pending') then applies.
      // The refund's record is its entry in its intent's row (refundData).
      const where = and(
        ...merchantFilter(principal, refunds.merchantId, query.merchant),
        sql`${refunds.status} = 'pending'`,
        sql`json_extract(${refundData}, '$.requiresApproval') = 1`,
        ...(query.cursor ? [beyond(refunds.created, refunds.id, decodeCursor(query.cursor), "older")] : []),
      );
      const { rows, hasMore } = await mergedPage(readDatabases(c, principal, query.merchant), query.limit ?? 25, (d1, n) =>
        db(d1)
          .select({ ...refundRow, created: refunds.created, id: refunds.id, merchantId: refunds.merchantId })
          .from(refunds)
          .innerJoin(paymentIntents, eq(paymentIntents.id, refunds.paymentIntent))
          .where(where)
          .orderBy(desc(refunds.created), desc(refunds.id))
          .limit(n),
      );
      const last = rows[rows.length - 1];
      return json(c, {
        object: "list",
        // Whose refund it is, for an operator approving across merchants (beside Stripe's Refund fields).
        data: rows.map((r) => {
          const { record, charge } = storedRefund(r);
          return { ...renderRefund(record, charge), merchant_id: r.merchantId };
        }),
        has_more: hasMore,
        next_cursor: hasMore && last ? encodeCursor(last.created, last.id) : null,
        url: "/v1/admin/refunds",
      });
    },
  );

  const decide = async (c: Ctx, principal: Principal, refundId: string, approve: boolean, reason: string | null) => {
    if (approve) refundApprover(principal);
    if (!hasPrefix(refundId, "re")) throw resourceMissing("refund", refundId.slice(0, 80), "id");
    const find = async (d1: D1Database) =>
      (
        await db(d1)
          .select({ merchantId: refunds.merchantId, livemode: refunds.livemode, intentId: refunds.paymentIntent })
          .from(refunds)
          // Any merchant's for an operator, but always in the token's own mode (a test token never approves a live refund).
          .where(and(eq(refunds.id, refundId), eq(refunds.livemode, principal.livemode), ...(principal.crossMerchant ? [] : [eq(refunds.merchantId, principal.merchantId)])))
          .limit(1)
      )[0];
    const row = principal.crossMerchant && !principal.merchantId ? await findOnShards(c.env, find) : await find(c.env.DB);
    if (!row) throw resourceMissing("refund", refundId, "id");
    const actor: Principal = { ...principal, merchantId: row.merchantId, livemode: row.livemode };
    // Four eyes: the makers of the credential the refund was requested with (read here, where the keys
    // are; the object compares them with the approver, in its turn, beside the requester itself).
    const scope = { merchantId: row.merchantId, livemode: row.livemode };
    const requestedBy = approve ? ((await intentStub(c.env, row.intentId).retrieve(scope, row.intentId))?.refunds.find((r) => r.id === refundId)?.requestedBy ?? null) : null;
    const requesterMakers = requestedBy ? { requestedBy, makers: await credentialMakers(directoryDb(c.env), requestedBy) } : undefined;
    const req = await requestContext(c, actor, approve ? "refunds.approve" : "refunds.reject", refundId, { reason }, { details: { reason } });
    const outcome = await intentStub(c.env, row.intentId).decideRefund(req, row.intentId, { refundId, approve, actor: principal.actor, reason, requesterMakers });
    return respondOutcome(c, outcome, (intent) => {
      const refund = intent.refunds.find((r) => r.id === refundId);
      if (!refund) throw new ApiError({ status: 500, type: "api_error", message: "refund vanished" });
      return renderRefund(refund, refundChargeOf(intent));
    });
  };

  // Seed 001's path, POST /v1/admin/refunds/{id}:approve (and :reject), and the same with a slash.
  route(
    app,
    {
      method: "post",
      path: "/v1/admin/refunds/{action}",
      permission: "refunds.approve",
      merchant: false,
      summary: "Approve or reject a refund waiting for approval: {id}:approve or {id}:reject",
      tag: TAG,
      body: DecisionBody,
      response: RefundSchema,
      guard: (principal, params) => {
        if ((params.action ?? "").split(":")[1] === "approve") refundApprover(principal);
      },
    },
    async (c, { params, body, principal }) => {
      const [id = "", verb] = (params.action ?? "").split(":");
      if (verb !== "approve" && verb !== "reject") throw resourceMissing("admin action", params.action ?? "");
      return decide(c, principal, id, verb === "approve", body.reason ?? null);
    },
  );
  for (const verb of ["approve", "reject"] as const) {
    route(
      app,
      {
        method: "post",
        path: `/v1/admin/refunds/{id}/${verb}`,
        permission: "refunds.approve",
        merchant: false,
        summary: `${verb === "approve" ? "Approve" : "Reject"} a refund waiting for approval`,
        tag: TAG,
        body: DecisionBody,
        response: RefundSchema,
        ...(verb === "approve" ? { guard: refundApprover } : {}),
      },
      async (c, { params, body, principal }) => decide(c, principal, params.id ?? "", verb === "approve", body.reason ?? null),
    );
  }
}

/**
 * Who may approve a refund held for approval: a person, a user's token, never an API key. A secret key
 * may mint another key, so "another credential than the requester's" would let one key (or whoever
 * holds it) approve its own refund through a key it made. Rejecting is left to any credential holding
 * refunds.approve: it moves no money (the refund is canceled, its amount released), and the merchant's
 * keys may cancel a waiting refund anyway (POST /v1/refunds/{id}/cancel). Checked as the route's guard,
 * before the body is read and the refund looked up: a credential that may never approve is told so
 * whatever the id and body, not answered 404 or 400.
 */
function refundApprover(principal: Principal): void {
  if (principal.kind !== "jwt") {
    throw permissionDenied("A refund held for approval is approved by a person: use a user's token (JWT) with refunds.approve, not an API key.");
  }
  // A token whose sub names no one is no person either: two such tokens would pass for two people.
  if (!namesPerson(principal)) {
    throw permissionDenied("A refund held for approval is approved by a person: this token names no one (its sub claim is missing or blank).");
  }
}

type SettingsChangeVerb = "approve" | "reject" | "withdraw";

const DECIDED: Record<SettingsChangeVerb, Exclude<SettingsChangeStatus, "pending">> = { approve: "approved", reject: "rejected", withdraw: "withdrawn" };

/**
 * Approves, rejects or withdraws the pending settings change `changeId` (updateMerchant holds it).
 * Approving is a person's (a user's JWT with refunds.approve) other than the one who asked, and other
 * than whoever made the credential that asked (the refunds' four-eyes rule, fourEyesConflict); it
 * applies exactly the change named, and only while that change is still the merchant's pending one
 * and the thresholds it was asked against are still in force (one statement): of two approvals at
 * once one applies it and the other finds it gone (404) or, having read it just before, changes
 * nothing (409); a change replaced since is gone as well. The one who asked may withdraw it;
 * rejecting it (leaving the stricter rule) is anyone's holding refunds.approve.
 */
/**
 * Who may approve or withdraw a held settings change: a person (a user's token naming the user).
 * The route's guard: checked before the body is read and the change looked up, so a credential that may
 * never do it is told so whatever the id and body.
 */
function settingsChangeDecider(verb: SettingsChangeVerb, principal: Principal): void {
  if (verb !== "reject" && !namesPerson(principal)) {
    throw permissionDenied(
      verb === "approve"
        ? "A settings change held for approval is approved by a person: use a user's token (JWT, its sub naming the user) with refunds.approve, not an API key."
        : "A settings change is withdrawn by the person who asked for it, with a user's token (JWT); reject it instead.",
    );
  }
}

async function decideSettingsChange(c: Ctx, principal: Principal, changeId: string, verb: SettingsChangeVerb, reason: string | null): Promise<Response> {
  settingsChangeDecider(verb, principal);
  if (!hasPrefix(changeId, "msc")) throw resourceMissing("settings_change", changeId.slice(0, 80), "id");
  const d1 = directoryDb(c.env);
  // Idempotent from the start: a decision sent again with its Idempotency-Key replays its answer (the
  // change it decided is no longer pending, so it would otherwise be a 404). An operator acting across
  // merchants keeps its keys under "platform", as creating a merchant does.
  return idempotentD1(c, { ...principal, merchantId: principal.merchantId || "platform" }, `merchants.settings_change.${verb}`, changeId, { reason }, async () => {
    const [row] = await db(d1)
      .select({ id: merchants.id, settingsChange: merchants.settingsChange })
      .from(merchants)
      .where(and(eq(merchants.settingsChangeId, changeId), ...(principal.crossMerchant ? [] : [eq(merchants.id, principal.merchantId)])))
      .limit(1);
    const change = row ? storedSettingsChange(row) : null;
    // A change approved, rejected, withdrawn or replaced is no longer anyone's to decide.
    if (!row || !change || change.id !== changeId) throw resourceMissing("settings_change", changeId, "id");
    const actor: Principal = { ...principal, merchantId: row.id };
    const refuse = (message: string): never => {
      audit(auditContext(c), actor, { action: `merchants.settings_change.${verb}`, objectType: "settings_change", objectId: changeId, statusBefore: "pending", statusAfter: "pending", httpStatus: 403, merchantId: row.id, details: { reason } });
      throw permissionDenied(message);
    };
    if (verb === "approve") {
      const conflict = fourEyesConflict(change.requested_by, await credentialMakers(d1, change.requested_by), principal.actor);
      if (conflict === "requester") refuse(`Settings change ${changeId} was requested by ${principal.actor}: another person must approve it.`);
      if (conflict === "maker") refuse(`Settings change ${changeId} was requested with ${change.requested_by}, a credential made by ${principal.actor}: another person must approve it.`);
    }
    if (verb === "withdraw" && !samePerson(change.requested_by, principal.actor)) {
      refuse(`Settings change ${changeId} was requested by ${change.requested_by}: only they may withdraw it; reject it instead.`);
    }
    const set: SQLiteUpdateSetSource<typeof merchants> = { settingsChange: null, settingsChangeId: null };
    if (verb === "approve") {
      set.settings = sql`json_set(coalesce(nullif(${merchants.settings}, ''), '{}'), '$.refund_approval_thresholds', json(${JSON.stringify(change.refund_approval_thresholds)}))`;
    }
    const [written] = await db(d1)
      .update(merchants)
      .set(set)
      .where(and(eq(merchants.id, row.id), eq(merchants.settingsChangeId, changeId), ...(verb === "approve" ? [thresholdsStill(change.previous_refund_approval_thresholds)] : [])))
      .returning({ id: merchants.id });
    if (!written) {
      throw new ApiError({
        status: 409,
        type: "invalid_request_error",
        code: "settings_change_not_pending",
        message: `Settings change ${changeId} is no longer pending (it was decided or replaced meanwhile): nothing was changed. Read the merchant's pending_settings_change again.`,
      });
    }
    forgetSettings(row.id);
    const at = Date.now();
    const status = DECIDED[verb];
    audit(auditContext(c), actor, {
      action: `merchants.settings_change.${verb}`,
      objectType: "settings_change",
      objectId: changeId,
      statusBefore: "pending",
      statusAfter: status,
      httpStatus: 200,
      merchantId: row.id,
      details: { reason, requested_by: change.requested_by, refund_approval_thresholds: JSON.stringify(change.refund_approval_thresholds) },
    });
    return { status: 200, body: renderSettingsChange(row.id, change, { status, actor: principal.actor, at, reason }) };
  });
}

function registerSettingsChanges(app: App): void {
  const summaries: Record<SettingsChangeVerb, string> = {
    approve: "Approve a held change of a merchant's refund approval thresholds (a person other than the one who asked); it takes effect at once",
    reject: "Reject a held change of a merchant's refund approval thresholds: the thresholds in force stay",
    withdraw: "Withdraw a held change of a merchant's refund approval thresholds (the person who asked for it)",
  };
  for (const verb of ["approve", "reject", "withdraw"] as const) {
    route(
      app,
      {
        method: "post",
        path: `/v1/admin/settings_changes/{id}/${verb}`,
        permission: "refunds.approve",
        merchant: false,
        summary: summaries[verb],
        tag: TAG,
        body: DecisionBody,
        response: SettingsChangeSchema,
        guard: (principal) => settingsChangeDecider(verb, principal),
      },
      async (c, { params, body, principal }) => decideSettingsChange(c, principal, params.id ?? "", verb, body.reason ?? null),
    );
  }
}

/** Why a retry of this failed payment is refused whatever its state (assertRetryable's words), or null. */
function retryRefusal(intent: IntentRecord): string | null {
  try {
    assertRetryable(intent);
    return null;
  } catch (err) {
    if (err instanceof ApiError) return err.message;
    throw err;
  }
}

export function registerAdmin(app: App): void {
  registerMerchants(app);
  registerAuditLog(app);
  registerPaymentSearch(app);
  registerFailedPayments(app);
  registerRefundApprovals(app);
  registerSettingsChanges(app);
}
