// GET /v1/admin/psp_health (seed 001): each connector of the merchant with its health over the
// sliding window (success rate, p50/p95 latency, errors) and its circuit breaker's state.
// With a Merchant-Id header (or a merchant's key): that merchant's connectors. Without one, an admin's
// or support user's token sees the operator's view: every merchant's connectors, a page of merchants
// at a time (`limit` merchants after the merchant id `starting_after`).
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { requireRoles } from "../../auth/permissions";
import { loadAccounts, defaultSandbox, buildConnector, healthKey, type AccountRow } from "../../connectors/routing";
import type { HealthSnapshot } from "../../connectors/health";
import { connectorAccounts, merchants } from "../../db/schema";
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
      summary: "Health of PSP connectors: success rate, p50/p95 latency, errors, circuit breaker (one merchant's, or, for admin and support without Merchant-Id, every merchant's: a page of `limit` merchants after the merchant id `starting_after`)",
      tag: "Operations",
      query: Query,
      response: z.object({ object: z.literal("list"), data: z.array(PspHealthSchema), has_more: z.boolean(), url: z.string() }).meta({ id: "PspHealthList" }),
    },
    async (c, { principal, query }) => {
      const health = (merchantId: string, livemode: boolean, accountId: string | null) =>
        c.env.CONNECTOR_HEALTH.get(c.env.CONNECTOR_HEALTH.idFromName(healthKey({ merchantId, livemode }, { accountId }))).snapshot();
      /** A merchant's connectors as its payments are routed: its accounts, or the built-in sandbox in test mode when it has none. */
      const ofMerchant = async (merchantId: string, rows: AccountRow[]): Promise<PspHealthJson[]> => {
        const connectors = rows.length
          ? await Promise.all(rows.map(async (row) => ({ row, connector: await buildConnector(c.env, row) })))
          : principal.livemode
            ? []
            : [{ row: null, connector: defaultSandbox(c.env) }];
        return Promise.all(
          connectors.map(async ({ row, connector }) => ({
            merchant_id: merchantId,
            connector: connector.name,
            connector_account: connector.accountId,
            priority: row?.priority ?? null,
            account_status: row?.status ?? "enabled",
            health: await health(merchantId, principal.livemode, connector.accountId),
          })),
        );
      };
      if (!principal.merchantId) {
        // The operator's view across merchants, a page of merchants at a time (by id): each one's
        // connectors of the token's mode, the built-in sandbox included for a merchant without accounts.
        requireRoles(principal, ["admin", "support"], "see PSP health across merchants");
        const limit = query.limit ?? 100;
        const directory = drizzle(directoryDb(c.env));
        const page = await directory
          .select({ id: merchants.id })
          .from(merchants)
          .where(query.starting_after ? gt(merchants.id, query.starting_after) : undefined)
          .orderBy(asc(merchants.id))
          .limit(limit + 1);
        const ids = page.slice(0, limit).map((m) => m.id);
        const accounts = ids.length
          ? await directory
              .select()
              .from(connectorAccounts)
              .where(and(inArray(connectorAccounts.merchantId, ids), eq(connectorAccounts.livemode, principal.livemode)))
          : [];
        accounts.sort((a, b) => a.priority - b.priority || a.created - b.created);
        const data = (await Promise.all(ids.map((id) => ofMerchant(id, accounts.filter((a) => a.merchantId === id))))).flat();
        return json(c, { object: "list", data, has_more: page.length > limit, url: "/v1/admin/psp_health" });
      }
      const data = await ofMerchant(principal.merchantId, await loadAccounts(c.env, { merchantId: principal.merchantId, livemode: principal.livemode }));
      return json(c, { object: "list", data, has_more: false, url: "/v1/admin/psp_health" });
    },
  );
}
