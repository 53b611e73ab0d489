// /v1/setup_intents: Stripe's Setup Intents (src/billing/setup-intents.ts): create (and confirm at
// once), retrieve, update, confirm (check the card, attach it to the setup's customer; a card that
// requires 3D Secure waits in requires_action for its customer's challenge), cancel, list.
import { eq } from "drizzle-orm";
import { z } from "zod";
import { invalidRequest, parameterMissing } from "../../core/errors";
import { randomId } from "../../core/ids";
import type { Principal } from "../../auth/permissions";
import type { PaymentMethodDetails } from "../../core/types";
import { storePaymentMethod } from "../../billing/payment-methods";
import {
  cancelSetup,
  CONFIRMABLE_STATUSES,
  confirmSetup,
  findSetupIntent,
  assertUsableFor,
  OPEN_STATUSES,
  renderSetupIntent,
  unexpectedSetupState,
  type SetupIntentJson,
  type SetupIntentRow,
} from "../../billing/setup-intents";
import { Writes } from "../../billing/writes";
import { db, findPaymentMethod, liveCustomer, parseMetadata, type PaymentMethodRow } from "../../billing/store";
import { isTestPaymentMethod } from "../../connectors/sandbox/cards";
import { createdConditions, listable, pageOf } from "../../db/queries";
import { setupIntents } from "../../db/schema";
import { config } from "../../env";
import { mergeMetadata } from "../../intents/operations/metadata";
import { expanded, expandPaths } from "./expand";
import * as f from "./fields";
import { idempotentD1 } from "./idempotency";
import { resolvePaymentMethodInput } from "./payment_intents";
import { json, listObject, pageRequest } from "./respond";
import { route, type App, type Ctx } from "./route";
import { listOf } from "./schemas";
import { stripeBody } from "./stripe-params";
import { v1ErrorBody } from "./errors";
import { writeCompared } from "./updates";
import { checkedList, checkFilterIds, type FilterId } from "./list-filters";

const TAG = "Setup intents";
const SETUP_INTENTS = listable(setupIntents, "setup_intent");

/** Stripe's payment_method_data: card details or card[token], its metadata checked and not kept. */
const paymentMethodData = z
  .looseObject({ metadata: f.createMetadata.optional() })
  .transform(({ metadata: _metadata, ...rest }) => rest)
  .pipe(f.paymentMethodData);

const methodFields = {
  payment_method: f.text(255).optional().describe("A saved payment method (pm_...), or a test id (pm_card_visa) or token (tok_visa), saved as a new one."),
  payment_method_data: paymentMethodData.optional().describe("Test mode: card details or card[token], saved as a new payment method."),
};

/**
 * Stripe's payment_method_types of API versions before 2025 (its "save card details" sample sends
 * ["card"]): a setup here saves a card, so card is the one type taken, as the setup renders it.
 */
const setupMethodTypes = z.array(z.literal("card")).min(1, "must name at least one type").max(20).describe("card only: what a setup saves here (rendered payment_method_types: [\"card\"]); another type is a 400.");

const CreateBody = stripeBody("POST /v1/setup_intents", {
  customer: f.text(255).optional(),
  payment_method_types: setupMethodTypes.optional(),
  confirm: f.boolean.optional(),
  description: f.text(1000).optional(),
  metadata: f.createMetadata.optional(),
  usage: z.enum(["off_session", "on_session"]).optional(),
  return_url: f.url.optional().describe("With confirm=true: where a 3D Secure challenge sends the customer back."),
  expand: f.expand.optional(),
  ...methodFields,
});

const UpdateBody = stripeBody("POST /v1/setup_intents/{id}", {
  customer: f.text(255).optional(),
  payment_method_types: setupMethodTypes.optional(),
  description: f.clearableText(1000).optional(),
  metadata: f.metadata.optional(),
  expand: f.expand.optional(),
  ...methodFields,
});

const ConfirmBody = stripeBody("POST /v1/setup_intents/{id}/confirm", {
  return_url: f.url.optional().describe("Where a 3D Secure challenge sends the customer back (with setup_intent, setup_intent_client_secret and redirect_status)."),
  expand: f.expand.optional(),
  ...methodFields,
});
const CancelBody = stripeBody("POST /v1/setup_intents/{id}/cancel", {
  cancellation_reason: z.enum(["abandoned", "duplicate", "requested_by_customer"]).optional(),
  expand: f.expand.optional(),
});

const ListQuery = z
  .object({
    customer: f.text(255).optional(),
    payment_method: f.text(255).optional(),
    created: f.createdFilter.optional(),
    attach_to_self: f.boolean.optional().describe("Connect's: no setup here is attached to a platform account; true lists none."),
    ...f.listFields,
  })
  .strict();

const SetupIntentObjectSchema = z
  .object({
    id: z.string(),
    object: z.literal("setup_intent"),
    client_secret: z.string().nullable().describe("The secret that confirms the setup from the customer's side; null to a credential that may not save cards (payments.methods.manage)."),
    customer: z.union([z.string(), z.record(z.string(), z.unknown())]).nullable(),
    payment_method: z.union([z.string(), z.record(z.string(), z.unknown())]).nullable(),
    status: z.enum(["requires_payment_method", "requires_confirmation", "requires_action", "processing", "canceled", "succeeded"]),
    usage: z.string(),
    last_setup_error: z.record(z.string(), z.unknown()).nullable(),
    latest_attempt: z.union([z.string(), z.record(z.string(), z.unknown())]).nullable(),
    next_action: z
      .object({
        type: z.literal("redirect_to_url"),
        redirect_to_url: z.object({ url: z.string().nullable().describe("The sandbox's 3D Secure challenge; null to a credential that may not save cards (the address carries the client secret)."), return_url: z.string().nullable() }),
      })
      .nullable()
      .describe("In requires_action: the 3D Secure challenge the customer answers; null otherwise."),
    metadata: z.record(z.string(), z.string()),
  })
  .passthrough()
  .openapi("SetupIntent");

type MethodBody = { payment_method?: string; payment_method_data?: z.output<typeof paymentMethodData> };

/**
 * The payment method a request names, as a saved row: a saved one as it is; a test id, a token or
 * card details saved now as a new, unattached payment method (Stripe makes a PaymentMethod of them
 * too). Undefined when the request names none.
 */
async function methodOf(c: Ctx, principal: Principal, body: MethodBody): Promise<PaymentMethodRow | undefined> {
  if (body.payment_method !== undefined && body.payment_method_data !== undefined) throw invalidRequest("Pass only one of payment_method and payment_method_data.", "payment_method_data");
  const id = body.payment_method?.trim();
  if (id !== undefined && id.startsWith("pm_") && (!isTestPaymentMethod(id) || principal.livemode)) return findPaymentMethod(c.env.DB, principal, id, "payment_method");
  let details: PaymentMethodDetails | undefined;
  if (id !== undefined) details = await resolvePaymentMethodInput(c, principal, { payment_method: id });
  else if (body.payment_method_data !== undefined) details = await resolvePaymentMethodInput(c, principal, { payment_method_data: body.payment_method_data });
  else return undefined;
  if (!details) throw parameterMissing(id !== undefined ? "payment_method" : "payment_method_data");
  return (await storePaymentMethod(c.env, principal, details, { customer: null, nickname: null, metadata: {}, requestId: c.get("requestId") })).row;
}

async function render(c: Ctx, principal: Principal, rows: SetupIntentRow[], expand: readonly string[]): Promise<SetupIntentJson[]> {
  return expanded(c, principal, await Promise.all(rows.map((r) => renderSetupIntent(c.env, r))), "setup_intent", expand);
}

/**
 * Confirms the setup (as read) with `pm`, or the payment method it holds, and answers as Stripe does:
 * 200 with the setup that succeeded, or that requires_action (its 3D Secure challenge in next_action);
 * 402 with a card_error carrying the setup when the card was declined. A confirmation that lost to a
 * concurrent change reads the setup again and refuses as that state says (a setup that succeeded
 * meanwhile is not confirmed twice).
 */
async function confirm(c: Ctx, principal: Principal, row: SetupIntentRow, pm: PaymentMethodRow | undefined, returnUrl: string | null, expand: readonly string[]): Promise<{ status: number; body: unknown }> {
  if (!CONFIRMABLE_STATUSES.includes(row.status)) unexpectedSetupState(row, "confirm");
  const method = pm ?? (row.paymentMethod ? await findPaymentMethod(c.env.DB, principal, row.paymentMethod, "payment_method") : undefined);
  if (!method) throw invalidRequest("You cannot confirm this SetupIntent because it's missing a payment method. Update it with a payment method, or pass one with payment_method.", "payment_method", "setup_intent_unexpected_state");
  assertUsableFor(method, row.customer, "payment_method");
  // Its customer must still exist: a deleted customer gets no card (as creating a setup for one is refused).
  if (row.customer !== null) await liveCustomer(c.env.DB, principal, row.customer, "customer");
  // The challenge is served where the payment intents' is: the public base URL, else this request's origin.
  const challenge = { origin: config(c.env).publicBaseUrl ?? new URL(c.req.url).origin, returnUrl };
  const outcome = await confirmSetup(c.env, principal, row, method, { requestId: c.get("requestId"), livemode: principal.livemode, challenge });
  if (outcome.kind === "lost") {
    // Someone else changed the setup first, or its customer was deleted, or its card detached, meanwhile.
    const now = await findSetupIntent(c.env.DB, principal, row.id);
    if (CONFIRMABLE_STATUSES.includes(now.status) && now.customer !== null) await liveCustomer(c.env.DB, principal, now.customer, "customer");
    if (CONFIRMABLE_STATUSES.includes(now.status)) assertUsableFor(await findPaymentMethod(c.env.DB, principal, method.id, "payment_method"), now.customer, "payment_method");
    unexpectedSetupState(now, "confirm");
  }
  const [setup] = await render(c, principal, [outcome.row], expand);
  if (outcome.kind === "succeeded" || outcome.kind === "requires_action") return { status: 200, body: setup };
  const error = outcome.error;
  const body = v1ErrorBody({ status: 402, type: "card_error", message: error.message, code: error.code, declineCode: error.decline_code });
  return { status: 402, body: { error: { ...body.error, payment_method: error.payment_method, setup_intent: setup } } };
}

/**
 * Stripe's retrieve parameters: expand, and client_secret, accepted as GET /v1/payment_intents/{id}
 * accepts it (the secret key's request needs no secret; it is not checked).
 */
const RetrieveQuery = z.object({ expand: f.expand.optional(), client_secret: z.string().max(200).optional() }).strict();

export function registerSetupIntents(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/setup_intents", permission: "payments.methods.manage", summary: "Create a setup intent (confirm=true: check the card and save it to the customer at once)", tag: TAG, body: CreateBody, response: SetupIntentObjectSchema },
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "setup_intents.create", "", body, async () => {
        const expand = expandPaths(body.expand, "setup_intent");
        // As at Stripe: a return_url belongs to a confirmation.
        if (body.return_url !== undefined && body.confirm !== true) throw invalidRequest("You can only pass return_url when confirm is true.", "return_url");
        const customer = body.customer !== undefined ? (await liveCustomer(c.env.DB, principal, body.customer)).id : null;
        const pm = await methodOf(c, principal, body);
        if (pm) assertUsableFor(pm, customer, "payment_method");
        const row: SetupIntentRow = {
          id: randomId("seti"),
          merchantId: principal.merchantId,
          livemode: principal.livemode,
          customer,
          paymentMethod: pm?.id ?? null,
          status: pm ? "requires_confirmation" : "requires_payment_method",
          usage: body.usage ?? "off_session",
          description: body.description ?? null,
          metadata: JSON.stringify(body.metadata ?? {}),
          lastSetupError: null,
          cancellationReason: null,
          created: Date.now(),
          version: 0,
          latestAttempt: null,
          nextAction: null,
        };
        const w = new Writes(c.env.DB, principal);
        const insert = db(c.env.DB).insert(setupIntents).values(row).toSQL();
        w.add(insert.sql, insert.params);
        await w.event("setup_intent.created", await renderSetupIntent(c.env, row), [row.id, "created"], { requestId: c.get("requestId") });
        await w.commit(c.env);
        if (body.confirm === true) return confirm(c, principal, row, pm, body.return_url ?? null, expand);
        return { status: 200, body: (await render(c, principal, [row], expand))[0] };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/setup_intents/{id}", permission: "payments.methods.view", summary: "Retrieve a setup intent; expand[]=customer, payment_method", tag: TAG, query: RetrieveQuery, response: SetupIntentObjectSchema },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "setup_intent");
      return json(c, (await render(c, principal, [await findSetupIntent(c.env.DB, principal, params.id ?? "")], expand))[0]);
    },
  );

  route(
    app,
    { method: "post", path: "/v1/setup_intents/{id}", permission: "payments.methods.manage", summary: "Update a setup intent: customer and payment method (until it succeeds or is canceled), description, metadata", tag: TAG, body: UpdateBody, response: SetupIntentObjectSchema },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "setup_intents.update", params.id ?? "", body, async () => {
        const expand = expandPaths(body.expand, "setup_intent");
        const id = params.id ?? "";
        const customer = body.customer !== undefined ? (await liveCustomer(c.env.DB, principal, body.customer)).id : undefined;
        // A card for a setup that cannot take one (its challenge waits, or it ended) is refused before a
        // test card or card details are saved as a payment method: the refused request leaves nothing.
        if (body.payment_method !== undefined || body.payment_method_data !== undefined) {
          const current = await findSetupIntent(c.env.DB, principal, id);
          if (!CONFIRMABLE_STATUSES.includes(current.status)) unexpectedSetupState(current, "update");
        }
        const pm = await methodOf(c, principal, body);
        const written = await writeCompared(c.env, {
          table: setupIntents,
          resource: "setup_intent",
          id,
          read: () => findSetupIntent(c.env.DB, principal, id),
          plan: async (row) => {
            const changes: Partial<SetupIntentRow> = {};
            // Naming the customer it already has changes nothing, in any state (a client sending its
            // whole object back); anything else is a change.
            const newCustomer = customer !== undefined && customer !== row.customer;
            if (newCustomer || pm !== undefined) {
              // Not while its challenge waits: the card being authenticated stays the one saved.
              if (!CONFIRMABLE_STATUSES.includes(row.status)) unexpectedSetupState(row, "update");
              if (customer !== undefined && row.customer !== null && row.customer !== customer) {
                throw invalidRequest("This SetupIntent already has a customer; create another SetupIntent for another customer.", "customer");
              }
              const owner = customer ?? row.customer;
              if (pm) assertUsableFor(pm, owner, "payment_method");
              if (newCustomer) changes.customer = customer;
              if (pm) {
                changes.paymentMethod = pm.id;
                changes.status = "requires_confirmation";
              }
            }
            if (body.description !== undefined) changes.description = body.description;
            if (body.metadata) changes.metadata = JSON.stringify(mergeMetadata(parseMetadata(row.metadata), body.metadata));
            if (Object.keys(changes).length === 0) return undefined;
            return { changes: { ...changes, version: row.version + 1 } };
          },
          event: null,
        });
        return { status: 200, body: (await render(c, principal, [written], expand))[0] };
      }),
  );

  route(
    app,
    { method: "post", path: "/v1/setup_intents/{id}/confirm", permission: "payments.methods.manage", summary: "Confirm: check the card and attach it to the setup's customer (402 card_error when declined; requires_action, with next_action, when the card asks for 3D Secure)", tag: TAG, body: ConfirmBody, response: SetupIntentObjectSchema },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "setup_intents.confirm", params.id ?? "", body, async () => {
        const expand = expandPaths(body.expand, "setup_intent");
        const row = await findSetupIntent(c.env.DB, principal, params.id ?? "");
        if (!CONFIRMABLE_STATUSES.includes(row.status)) unexpectedSetupState(row, "confirm");
        return confirm(c, principal, row, await methodOf(c, principal, body), body.return_url ?? null, expand);
      }),
  );

  route(
    app,
    { method: "post", path: "/v1/setup_intents/{id}/cancel", permission: "payments.methods.manage", summary: "Cancel a setup intent that has not succeeded", tag: TAG, body: CancelBody, response: SetupIntentObjectSchema },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "setup_intents.cancel", params.id ?? "", body, async () => {
        const expand = expandPaths(body.expand, "setup_intent");
        const row = await findSetupIntent(c.env.DB, principal, params.id ?? "");
        if (!OPEN_STATUSES.includes(row.status)) unexpectedSetupState(row, "cancel");
        const { row: after, lost } = await cancelSetup(c.env, principal, row, body.cancellation_reason ?? null, c.get("requestId"));
        if (lost) unexpectedSetupState(await findSetupIntent(c.env.DB, principal, row.id), "cancel");
        return { status: 200, body: (await render(c, principal, [after], expand))[0] };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/setup_intents", permission: "payments.methods.view", summary: "List setup intents (of a customer, of a payment method), newest first", tag: TAG, query: ListQuery, response: listOf(SetupIntentObjectSchema, "SetupIntentList") },
    async (c, { query, principal }) => {
      // The customer and the (saved) payment method named must be the merchant's (a 400 resource_missing otherwise; a deleted customer is still known).
      const named: FilterId[] = [
        { object: "customer", id: query.customer },
        { object: "payment_method", id: query.payment_method },
      ];
      const filters = [
        ...(query.customer !== undefined ? [eq(setupIntents.customer, query.customer)] : []),
        ...(query.payment_method !== undefined ? [eq(setupIntents.paymentMethod, query.payment_method)] : []),
        ...createdConditions(setupIntents.created, query.created),
      ];
      if (query.attach_to_self === true) {
        await checkFilterIds(c.env.DB, principal, named);
        return json(c, { object: "list", data: [], has_more: false, url: "/v1/setup_intents" });
      }
      const page = await checkedList(c.env.DB, principal, named, () =>
        pageOf(c.env.DB, SETUP_INTENTS, principal, filters, pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(setupIntents).where(where).orderBy(...order).limit(limit)),
      );
      const expand = expandPaths(query.expand, "setup_intent", true);
      return json(c, { ...listObject("/v1/setup_intents", page, () => null), data: await render(c, principal, page.items, expand) });
    },
  );
}
