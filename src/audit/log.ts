// The audit log: who did what, when, with which request, and the status before and after. Written
// for every money-moving call, admin action and key change, after the answer is known (replays are
// not written again). Entries hold ids, amounts and codes, never secrets, tokens or card data.
import { redactNullable } from "../core/card-number";
import { drizzle } from "drizzle-orm/d1";
import type { Principal } from "../auth/permissions";
import { randomId } from "../core/ids";
import { auditLog } from "../db/schema";
import type { Env } from "../env";
import { log } from "../log";

export interface AuditEntry {
  action: string;
  objectType: string;
  objectId: string | null;
  statusBefore?: string | null;
  statusAfter?: string | null;
  httpStatus: number;
  details?: Record<string, string | number | boolean | null>;
  /** For actions on another merchant's objects (admins), the merchant acted on. */
  merchantId?: string | null;
}

export interface AuditContext {
  env: Env;
  requestId: string | null;
  idempotencyKey: string | null;
  waitUntil(promise: Promise<unknown>): void;
}

export type AuditRow = typeof auditLog.$inferInsert;

/** Who acts, as the audit log records it. */
export interface AuditActor {
  actor: string;
  roles: readonly string[];
  merchantId: string | null;
  livemode: boolean;
}

export function auditRow(actor: AuditActor | null, entry: AuditEntry, request: { requestId: string | null; idempotencyKey: string | null }): AuditRow {
  return {
    id: randomId("aud"),
    merchantId: entry.merchantId ?? (actor?.merchantId || null),
    livemode: actor?.livemode ?? false,
    actor: actor?.actor ?? "system",
    actorRoles: (actor?.roles ?? []).join(","),
    action: entry.action,
    objectType: entry.objectType,
    objectId: entry.objectId,
    // What the client chose for these is kept without anything card-shaped in it.
    requestId: redactNullable(request.requestId),
    idempotencyKey: redactNullable(request.idempotencyKey),
    statusBefore: entry.statusBefore ?? null,
    statusAfter: entry.statusAfter ?? null,
    httpStatus: entry.httpStatus,
    details: JSON.stringify(entry.details ?? {}),
    created: Date.now(),
  };
}

/** Records an action taken outside an intent's object (keys, endpoints, merchants). */
export function audit(ctx: AuditContext, principal: Principal | null, entry: AuditEntry): void {
  const row = auditRow(principal, entry, ctx);
  ctx.waitUntil(
    drizzle(ctx.env.DB)
      .insert(auditLog)
      .values(row)
      .run()
      .catch((err: unknown) => log("error", "audit log write failed", { action: entry.action, object: entry.objectId, request_id: ctx.requestId, error: String(err) })),
  );
}
