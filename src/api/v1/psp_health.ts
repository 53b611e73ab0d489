// GET /v1/admin/psp_health (seed 001): each connector of the merchant with its health over the
// sliding window (success rate, p50/p95 latency, errors) and its circuit breaker's state.
import { z } from "zod";
import { loadAccounts, defaultSandbox, buildConnector, healthKey } from "../../connectors/routing";
import type { HealthSnapshot } from "../../connectors/health";
import { json } from "./respond";
import { route, type App } from "./route";

export interface PspHealthJson {
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
});

const PspHealthSchema: z.ZodType<PspHealthJson> = z
  .object({
    connector: z.string(),
    connector_account: z.string().nullable(),
    priority: z.number().int().nullable(),
    account_status: z.string(),
    health: HealthSchema,
  })
  .meta({ id: "PspHealth" });

export function registerPspHealth(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/admin/psp_health",
      permission: "payments.transactions.view",
      summary: "Health of the merchant's PSP connectors: success rate, p50/p95 latency, errors, circuit breaker",
      tag: "Operations",
      response: z.object({ object: z.literal("list"), data: z.array(PspHealthSchema), has_more: z.boolean(), url: z.string() }).meta({ id: "PspHealthList" }),
    },
    async (c, { principal }) => {
      const rows = await loadAccounts(c.env, principal);
      const connectors = rows.length ? await Promise.all(rows.map(async (row) => ({ row, connector: await buildConnector(c.env, row) }))) : principal.livemode ? [] : [{ row: null, connector: defaultSandbox(c.env) }];
      const data: PspHealthJson[] = await Promise.all(
        connectors.map(async ({ row, connector }) => ({
          connector: connector.name,
          connector_account: connector.accountId,
          priority: row?.priority ?? null,
          account_status: row?.status ?? "enabled",
          health: await c.env.CONNECTOR_HEALTH.get(c.env.CONNECTOR_HEALTH.idFromName(healthKey(principal, connector))).snapshot(),
        })),
      );
      return json(c, { object: "list", data, has_more: false, url: "/v1/admin/psp_health" });
    },
  );
}
