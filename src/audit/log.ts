// The audit log: who did what, when, with which request, and the status before and after. Written
// for every money-moving call, admin action and key change, after the answer is known (replays are
// not written again). Entries hold ids, amounts and codes, never secrets, tokens or card data.
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

export function audit(ctx: AuditContext, principal: Principal | null, entry: AuditEntry): void {
  const row = {
    id: randomId("aud"),
    merchantId: entry.merchantId ?? (principal?.merchantId || null),
    livemode: principal?.livemode ?? false,
    actor: principal?.actor ?? "system",
    actorRoles: (principal?.roles ?? []).join(","),
    action: entry.action,
    objectType: entry.objectType,
    objectId: entry.objectId,
    requestId: ctx.requestId,
    idempotencyKey: ctx.idempotencyKey,
    statusBefore: entry.statusBefore ?? null,
    statusAfter: entry.statusAfter ?? null,
    httpStatus: entry.httpStatus,
    details: JSON.stringify(entry.details ?? {}),
    created: Date.now(),
  };
  ctx.waitUntil(
    drizzle(ctx.env.DB)
      .insert(auditLog)
      .values(row)
      .run()
      .catch((err: unknown) => log("error", "audit log write failed", { action: entry.action, object: entry.objectId, request_id: ctx.requestId, error: String(err) })),
  );
}
