// GET /v1/admin/psp_health (seed 001): each connector of the merchant with its health over the
// sliding window (success rate, p50/p95 latency, errors) and its circuit breaker's state.
// With a Merchant-Id header (or a merchant's key): that merchant's accounts. Without one, an admin's
// or support user's token sees the operator's view: every merchant's connector accounts.
import { and, asc, eq, gt, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { requireRoles } from "../../auth/permissions";
import { loadAccounts, defaultSandbox, buildConnector, healthKey } from "../../connectors/routing";
import type { HealthSnapshot } from "../../connectors/health";
import { connectorAccounts } from "../../db/schema";
import * as f from "./fields";
import { json } from "./respond";
import { route, type App } from "./route";
import { directoryDb } from "../../db/shards";

export interface PspHealthJson {
  /** The merchant the account belongs to. */
  merchant_id: string;
  connector: string;
  connector_account: string | null;
  priority: number | null;
  account_status: string;
  health: HealthSnapshot;
}

const HealthSchema = z.object({
  state: z.enum(["closed", "open", "half_open"]),
  window_seconds: z.number().int(),
  calls: z.number().int(),
  successes: z.number().int(),
  declines: z.number().int(),
  provider_errors: z.number().int(),
  timeouts: z.number().int(),
  success_rate: z.number().nullable(),
  p50_latency_ms: z.number().nullable(),
  p95_latency_ms: z.number().nullable(),
  consecutive_failures: z.number().int(),
  opened_at: z.number().int().nullable(),
  series: z
    .array(z.object({ start: z.number().int(), calls: z.number().int(), success_rate: z.number().nullable(), p50_latency_ms: z.number().nullable() }))
    .describe("The window minute by minute, oldest first."),
});

const PspHealthSchema: z.ZodType<PspHealthJson> = z
  .object({
    merchant_id: z.string(),
    connector: z.string(),
    connector_account: z.string().nullable(),
    priority: z.number().int().nullable(),
    account_status: z.string(),
    health: HealthSchema,
  })
  .meta({ id: "PspHealth" });

const Query = z.object({ limit: f.limit.optional(), starting_after: f.text(100).optional() }).strict();

export function registerPspHealth(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/admin/psp_health",
      permission: "payments.transactions.view",
      merchant: false,
      summary: "Health of PSP connectors: success rate, p50/p95 latency, errors, circuit breaker (one merchant's, or, for admin and support without Merchant-Id, every merchant's accounts)",
      tag: "Operations",
      query: Query,
      response: z.object({ object: z.literal("list"), data: z.array(PspHealthSchema), has_more: z.boolean(), url: z.string() }).meta({ id: "PspHealthList" }),
    },
    async (c, { principal, query }) => {
      const health = (merchantId: string, livemode: boolean, accountId: string | null) =>
        c.env.CONNECTOR_HEALTH.get(c.env.CONNECTOR_HEALTH.idFromName(healthKey({ merchantId, livemode }, { accountId }))).snapshot();
      if (!principal.merchantId) {
        // The operator's view across merchants: every connector account of the token's mode, by id.
        requireRoles(principal, ["admin", "support"], "see PSP health across merchants");
        const limit = query.limit ?? 100;
        const rows = await drizzle(directoryDb(c.env))
          .select({ id: connectorAccounts.id, merchantId: connectorAccounts.merchantId, livemode: connectorAccounts.livemode, connector: connectorAccounts.connector, priority: connectorAccounts.priority, status: connectorAccounts.status })
          .from(connectorAccounts)
          .where(and(eq(connectorAccounts.livemode, principal.livemode), query.starting_after ? gt(connectorAccounts.id, query.starting_after) : or()))
          .orderBy(asc(connectorAccounts.id))
          .limit(limit + 1);
        const data: PspHealthJson[] = await Promise.all(
          rows.slice(0, limit).map(async (row) => ({
            merchant_id: row.merchantId,
            connector: row.connector,
            connector_account: row.id,
            priority: row.priority,
            account_status: row.status,
            health: await health(row.merchantId, row.livemode, row.id),
          })),
        );
        return json(c, { object: "list", data, has_more: rows.length > limit, url: "/v1/admin/psp_health" });
      }
      const merchantId = principal.merchantId;
      const rows = await loadAccounts(c.env, { merchantId, livemode: principal.livemode });
      const connectors = rows.length ? await Promise.all(rows.map(async (row) => ({ row, connector: await buildConnector(c.env, row) }))) : principal.livemode ? [] : [{ row: null, connector: defaultSandbox(c.env) }];
      const data: PspHealthJson[] = await Promise.all(
        connectors.map(async ({ row, connector }) => ({
          merchant_id: merchantId,
          connector: connector.name,
          connector_account: connector.accountId,
          priority: row?.priority ?? null,
          account_status: row?.status ?? "enabled",
          health: await health(merchantId, principal.livemode, connector.accountId),
        })),
      );
      return json(c, { object: "list", data, has_more: false, url: "/v1/admin/psp_health" });
    },
  );
}
