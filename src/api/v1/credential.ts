// GET /v1/credential: the credential making the call, as the API sees it (its kind, actor, roles and
// permissions). Any accepted credential may ask, without a merchant chosen and with no permission:
// the dashboard uses it to offer only what the credential may do; the API still decides every call.
import { z } from "zod";
import { PERMISSIONS } from "../../auth/permissions";
import { json } from "./respond";
import { route, type App } from "./route";

const CredentialSchema = z
  .object({
    object: z.literal("credential"),
    kind: z.enum(["api_key", "jwt", "application"]),
    actor: z.string().describe("Who the calls are made as, in the audit log and on refunds' requested_by (jwt:<sub>, api_key:<id>)."),
    roles: z.array(z.string()),
    permissions: z.array(z.string()),
    merchant_id: z.string().nullable(),
    customer: z.string().nullable(),
    cross_merchant: z.boolean(),
    livemode: z.boolean(),
  })
  .meta({ id: "Credential" });

export function registerCredential(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/credential",
      permission: null,
      merchant: false,
      customers: true,
      summary: "The credential making the call: its kind, roles and permissions",
      tag: "Operations",
      response: CredentialSchema,
    },
    async (c, { principal }) =>
      json(c, {
        object: "credential",
        kind: principal.kind,
        actor: principal.actor,
        roles: [...principal.roles],
        permissions: PERMISSIONS.filter((p) => principal.permissions.has(p)),
        merchant_id: principal.merchantId || null,
        customer: principal.customerId,
        cross_merchant: principal.crossMerchant,
        livemode: principal.livemode,
      }),
  );
}
