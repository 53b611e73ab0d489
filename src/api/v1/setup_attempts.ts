// /v1/setup_attempts: Stripe's SetupAttempts, the confirmations of a setup intent that checked its card
// (src/billing/setup-intents.ts writes one with the setup's change: succeeded, or failed with its
// setup_error). Listed by setup intent (required, as at Stripe), newest first, a range of
// setup_attempts_setup_intent; read with the permission reading setup intents needs. A setup intent
// that is not the caller's (another merchant's, the other mode's, none) is a resource_missing naming
// setup_intent, and nothing of it is shown.
import { eq } from "drizzle-orm";
import { z } from "zod";
import { findSetupIntent, renderSetupAttempt, type SetupAttemptJson } from "../../billing/setup-intents";
import { db } from "../../billing/store";
import { createdConditions, listable, pageOf } from "../../db/queries";
import { setupAttempts } from "../../db/schema";
import { expanded, expandPaths } from "./expand";
import * as f from "./fields";
import { json, listObject, pageRequest } from "./respond";
import { route, type App } from "./route";
import { listOf } from "./schemas";

const SETUP_ATTEMPTS = listable(setupAttempts, "setup_attempt");

const ListQuery = z
  .object({
    setup_intent: f.text(255).describe("The setup intent (seti_...) whose attempts are listed: required."),
    created: f.createdFilter.optional(),
    ...f.listFields,
  })
  .strict();

const SetupAttemptObjectSchema = z
  .object({
    id: z.string(),
    object: z.literal("setup_attempt"),
    created: z.number().int(),
    customer: z.union([z.string(), z.record(z.string(), z.unknown())]).nullable(),
    livemode: z.boolean(),
    payment_method: z.union([z.string(), z.record(z.string(), z.unknown())]),
    payment_method_details: z.record(z.string(), z.unknown()),
    setup_error: z.record(z.string(), z.unknown()).nullable(),
    setup_intent: z.union([z.string(), z.record(z.string(), z.unknown())]),
    status: z.enum(["requires_confirmation", "requires_action", "processing", "succeeded", "failed", "abandoned"]),
    usage: z.string(),
  })
  .passthrough()
  .openapi("SetupAttempt");

export function registerSetupAttempts(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/setup_attempts",
      permission: "payments.methods.view",
      summary: "List a setup intent's attempts (setup_intent required), newest first",
      tag: "Setup intents",
      query: ListQuery,
      response: listOf(SetupAttemptObjectSchema, "SetupAttemptList"),
    },
    async (c, { query, principal }) => {
      const expand = expandPaths(query.expand, "setup_attempt", true);
      // The caller's own setup intent, or a resource_missing naming setup_intent (a 400, the id being no path's).
      const setup = await findSetupIntent(c.env.DB, principal, query.setup_intent, "setup_intent");
      const filters = [eq(setupAttempts.setupIntent, setup.id), ...createdConditions(setupAttempts.created, query.created)];
      const page = await pageOf(c.env.DB, SETUP_ATTEMPTS, principal, filters, pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(setupAttempts).where(where).orderBy(...order).limit(limit));
      const data: SetupAttemptJson[] = await expanded(c, principal, page.items.map(renderSetupAttempt), "setup_attempt", expand);
      return json(c, { ...listObject("/v1/setup_attempts", page, () => null), data });
    },
  );
}
