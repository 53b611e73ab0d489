// /v1/connector_accounts: a merchant's accounts at its PSPs (sandbox, Stripe, PayPal) and the order
// payments try them in. Credentials are sealed at rest (AES-GCM under ENCRYPTION_KEY) and never
// returned; the API shows only their last four characters.
import { gatewayNumbersOf, numberGatewayStatement } from "../../db/numbers";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { invalidRequest, permissionDenied, resourceMissing } from "../../core/errors";
import { holdsEveryPermission, type Principal } from "../../auth/permissions";
import { hasPrefix, randomId } from "../../core/ids";
import { seal } from "../../core/sealed";
import type { Metadata, Scope } from "../../core/types";
import { forgetAccounts, loadAccounts, type AccountRow } from "../../connectors/routing";
import { connectorAccounts } from "../../db/schema";
import { config } from "../../env";
import { mergeMetadata } from "../../intents/operations/metadata";
import { db } from "../../webhooks/store";
import * as f from "./fields";
import { idempotentD1 } from "./idempotency";
import { audit } from "../../audit/log";
import { auditContext, json, publicBase } from "./respond";
import { route, type App, type Ctx } from "./route";
import { writeCompared } from "./updates";
import { listOf } from "./schemas";
import { directoryDb } from "../../db/shards";

const credentialsSchema = z
  .object({
    secret_key: z.string().min(8).max(255).optional(),
    client_id: z.string().min(1).max(255).optional(),
    client_secret: z.string().min(1).max(255).optional(),
  })
  .strict();

const CreateBody = z
  .object({
    connector: z.enum(["sandbox", "stripe", "paypal"]),
    credentials: credentialsSchema.optional(),
    webhook_secret: z.string().min(1).max(255).optional().describe("Stripe: the endpoint's whsec_ secret; PayPal: the webhook id; sandbox: an HMAC secret."),
    priority: f.integer.pipe(z.number().min(0).max(1000)).optional().describe("Lower is tried first."),
    description: f.text(500).optional(),
    metadata: f.createMetadata.optional(),
  })
  .strict();

const UpdateBody = z
  .object({
    credentials: credentialsSchema.optional(),
    webhook_secret: z.string().min(1).max(255).optional(),
    priority: f.integer.pipe(z.number().min(0).max(1000)).optional(),
    description: f.clearableText(500).optional(),
    metadata: f.metadata.optional(),
    disabled: f.boolean.optional(),
  })
  .strict();

export interface ConnectorAccountJson {
  id: string;
  object: "connector_account";
  connector: string;
  livemode: boolean;
  priority: number;
  status: "enabled" | "disabled";
  description: string | null;
  metadata: Record<string, string>;
  credentials_last4: string | null;
  webhook_secret_set: boolean;
  webhook_url: string;
  /** Seed 000's paymentGatewayId for this account (the built-in sandbox is 1). */
  payment_gateway_id: number | null;
  created: number;
}

const ConnectorAccountSchema: z.ZodType<ConnectorAccountJson> = z
  .object({
    id: z.string(),
    object: z.literal("connector_account"),
    connector: z.string(),
    livemode: z.boolean(),
    priority: z.number().int(),
    status: z.enum(["enabled", "disabled"]),
    description: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    credentials_last4: z.string().nullable().describe("The last four characters of the secret key or client secret; credentials are never returned."),
    webhook_secret_set: z.boolean(),
    webhook_url: z.string().describe("Give this URL to the provider as its webhook endpoint."),
    payment_gateway_id: z.number().int().nullable().describe("This account as seed 000's paymentGatewayId (/api/v1/PaymentIntents); the built-in sandbox is 1."),
    created: z.number().int(),
  })
  .meta({ id: "ConnectorAccount" });

type Credentials = z.output<typeof credentialsSchema>;

function checkCredentials(connector: string, credentials: Credentials | undefined, livemode: boolean): Credentials {
  const c = credentials ?? {};
  if (connector === "stripe") {
    if (!c.secret_key) throw invalidRequest("A Stripe account needs credentials[secret_key].", "credentials[secret_key]", "parameter_missing");
    const mode = /^(sk|rk)_(test|live)_/.exec(c.secret_key)?.[2];
    if (!mode) throw invalidRequest("credentials[secret_key] must be a Stripe secret or restricted key (sk_... or rk_...).", "credentials[secret_key]");
    if ((mode === "live") !== livemode) throw invalidRequest(`A ${livemode ? "live" : "test"}-mode account needs a ${livemode ? "live" : "test"} Stripe key.`, "credentials[secret_key]", "livemode_mismatch");
    return { secret_key: c.secret_key };
  }
  if (connector === "paypal") {
    if (!c.client_id || !c.client_secret) throw invalidRequest("A PayPal account needs credentials[client_id] and credentials[client_secret].", "credentials", "parameter_missing");
    return { client_id: c.client_id, client_secret: c.client_secret };
  }
  if (livemode) throw invalidRequest("The sandbox connector works in test mode only.", "connector", "livemode_mismatch");
  return {};
}

function last4(credentials: Credentials): string | null {
  const secret = credentials.secret_key ?? credentials.client_secret;
  return secret ? secret.slice(-4) : null;
}

function render(c: Ctx, row: AccountRow, gateways: ReadonlyMap<string, number>): ConnectorAccountJson {
  return {
    id: row.id,
    object: "connector_account",
    connector: row.connector,
    livemode: row.livemode,
    priority: row.priority,
    status: row.status === "disabled" ? "disabled" : "enabled",
    description: row.description,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    credentials_last4: row.credentialsHint,
    webhook_secret_set: row.webhookSecret !== null,
    webhook_url: `${publicBase(c)}/v1/psp_webhooks/${row.id}`,
    payment_gateway_id: gateways.get(row.id) ?? null,
    created: Math.floor(row.created / 1000),
  };
}

async function accountOr404(d1: D1Database, scope: Scope, id: string): Promise<AccountRow> {
  const rows = hasPrefix(id, "mca")
    ? await db(d1)
        .select()
        .from(connectorAccounts)
        .where(and(eq(connectorAccounts.id, id), eq(connectorAccounts.merchantId, scope.merchantId), eq(connectorAccounts.livemode, scope.livemode)))
        .limit(1)
    : [];
  if (!rows[0]) throw resourceMissing("connector_account", id.slice(0, 80), "id");
  return rows[0];
}

const TAG = "Connector accounts";

/**
 * Who may add, change or remove a PSP account: a credential holding every permission (a secret key, an
 * unnarrowed merchant or admin token). The accounts decide where every payment's money goes, so a key
 * narrowed to keys.manage (which cannot mint a secret key) may not point the merchant's payments at a
 * PSP account of its choosing either. Reading them needs keys.manage. Checked before the body is read.
 */
function connectorManager(principal: Principal): void {
  if (!holdsEveryPermission(principal)) throw permissionDenied("Only a credential with every permission (a secret key) can add, change or remove a connector account: it decides where the merchant's payments go.");
}

export function registerConnectorAccounts(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/connector_accounts", permission: "keys.manage", summary: "Add a PSP account (sandbox, stripe, paypal) to the merchant's routing", tag: TAG, body: CreateBody, response: ConnectorAccountSchema, guard: connectorManager },
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "connector_accounts.create", "", body, async () => {
        const credentials = checkCredentials(body.connector, body.credentials, principal.livemode);
        const existing = await loadAccounts(c.env, principal);
        const key = config(c.env).encryptionKey;
        const now = Date.now();
        const row: AccountRow = {
          id: randomId("mca"),
          merchantId: principal.merchantId,
          livemode: principal.livemode,
          connector: body.connector,
          priority: body.priority ?? (existing.length ? Math.max(...existing.map((r) => r.priority)) + 10 : 10),
          status: "enabled",
          description: body.description ?? null,
          credentials: await seal(JSON.stringify(credentials), key),
          credentialsHint: last4(credentials),
          webhookSecret: body.webhook_secret ? await seal(body.webhook_secret, key) : null,
          metadata: JSON.stringify(body.metadata ?? {}),
          created: now,
          updated: now,
        };
        await db(directoryDb(c.env)).insert(connectorAccounts).values(row);
        await numberGatewayStatement(directoryDb(c.env), row.id, now).run(); // seed 000's paymentGatewayId
        forgetAccounts(principal);
        audit(auditContext(c), principal, { action: "connector_accounts.create", objectType: "connector_account", objectId: row.id, statusAfter: "enabled", httpStatus: 200, details: { connector: row.connector } });
        return { status: 200, body: render(c, row, await gatewayNumbersOf(directoryDb(c.env), [row.id])) };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/connector_accounts", permission: "keys.manage", summary: "The merchant's PSP accounts, in routing order", tag: TAG, response: listOf(ConnectorAccountSchema, "ConnectorAccountList") },
    async (c, { principal }) => {
      forgetAccounts(principal);
      const rows = await loadAccounts(c.env, principal);
      const gateways = await gatewayNumbersOf(directoryDb(c.env), rows.map((r) => r.id));
      return json(c, {
        object: "list",
        data: rows.map((r) => render(c, r, gateways)),
        has_more: false,
        url: "/v1/connector_accounts",
      });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/connector_accounts/{id}", permission: "keys.manage", summary: "Retrieve a PSP account", tag: TAG, response: ConnectorAccountSchema },
    async (c, { params, principal }) => {
      const row = await accountOr404(directoryDb(c.env), principal, params.id ?? "");
      return json(c, render(c, row, await gatewayNumbersOf(directoryDb(c.env), [row.id])));
    },
  );

  route(
    app,
    { method: "post", path: "/v1/connector_accounts/{id}", permission: "keys.manage", summary: "Update a PSP account: priority, credentials, webhook secret, disabled", tag: TAG, body: UpdateBody, response: ConnectorAccountSchema, guard: connectorManager },
    async (c, { params, body, principal }) => {
      const id = params.id ?? "";
      return idempotentD1(c, principal, "connector_accounts.update", id, body, async () => {
        const directory = directoryDb(c.env);
        const before = await accountOr404(directory, principal, id);
        const key = config(c.env).encryptionKey;
        const checked = body.credentials ? checkCredentials(before.connector, body.credentials, principal.livemode) : null;
        const credentials = checked ? await seal(JSON.stringify(checked), key) : null;
        const webhookSecret = body.webhook_secret ? await seal(body.webhook_secret, key) : null;
        // Computed on the account as read and written only if it is still that account: credentials
        // rotated, the account disabled or reordered meanwhile are never written back from a stale read
        // (it is read and computed again).
        let row = before;
        const next = await writeCompared(c.env, {
          table: connectorAccounts,
          resource: "connector_account",
          id,
          d1: directory,
          read: async () => (row = await accountOr404(directory, principal, id)),
          plan: async (now) => {
            const changes: Partial<typeof connectorAccounts.$inferSelect> = {};
            if (checked && credentials !== null) {
              changes.credentials = credentials;
              changes.credentialsHint = last4(checked);
            }
            if (webhookSecret !== null) changes.webhookSecret = webhookSecret;
            if (body.priority !== undefined) changes.priority = body.priority;
            if (body.description !== undefined) changes.description = body.description;
            if (body.disabled !== undefined) changes.status = body.disabled ? "disabled" : "enabled";
            // Merged on the row as read ("" deletes a key, metadata="" clears them), Stripe's 400 past 50 keys.
            if (body.metadata) changes.metadata = JSON.stringify(mergeMetadata(JSON.parse(now.metadata) as Metadata, body.metadata));
            return Object.keys(changes).length === 0 ? undefined : { changes: { ...changes, updated: Date.now() } };
          },
          event: null,
        });
        forgetAccounts(principal);
        audit(auditContext(c), principal, {
          action: "connector_accounts.update",
          objectType: "connector_account",
          objectId: row.id,
          statusBefore: row.status,
          statusAfter: next.status,
          httpStatus: 200,
          details: { credentials_changed: checked !== null, webhook_secret_changed: body.webhook_secret !== undefined },
        });
        return { status: 200, body: render(c, next, await gatewayNumbersOf(directoryDb(c.env), [next.id])) };
      });
    },
  );

  route(
    app,
    {
      method: "delete",
      path: "/v1/connector_accounts/{id}",
      permission: "keys.manage",
      summary: "Remove a PSP account from routing (payments it made can no longer be captured or refunded through it)",
      tag: TAG,
      response: z.object({ id: z.string(), object: z.literal("connector_account"), deleted: z.literal(true) }),
      guard: connectorManager,
    },
    async (c, { params, principal }) => {
      const row = await accountOr404(directoryDb(c.env), principal, params.id ?? "");
      await db(directoryDb(c.env)).delete(connectorAccounts).where(eq(connectorAccounts.id, row.id));
      forgetAccounts(principal);
      audit(auditContext(c), principal, { action: "connector_accounts.delete", objectType: "connector_account", objectId: row.id, statusBefore: row.status, statusAfter: "deleted", httpStatus: 200 });
      return json(c, { id: row.id, object: "connector_account", deleted: true });
    },
  );
}
