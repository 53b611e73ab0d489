// /v1/invoice_payments (after Stripe's): an invoice's payments, one per payment attempt's intent, as
// the invoice's expand[]=payments renders them (src/api/v1/subscriptions.ts invoicePaymentsOf), with
// the same ids. Nothing is stored for them: an invoice has at most MAX_INVOICE_PAYMENTS attempts, so a
// list is one invoice's (named by `invoice`, or found through `payment[payment_intent]`), filtered and
// paged in memory; an id names its payment intent, whose invoice it is.
import { z } from "zod";
import { invalidRequest, permissionDenied, resourceMissing } from "../../core/errors";
import { hasPrefix } from "../../core/ids";
import type { IntentRecord } from "../../core/types";
import type { Principal } from "../../auth/permissions";
import { attemptIntentId } from "../../billing/engine";
import { findInvoice, invoiceById, type InvoiceRow } from "../../billing/store";
import { InvoicePaymentSchema } from "./billing_schemas";
import { expandObjects, expandPaths } from "./expand";
import * as f from "./fields";
import { intentStub, json, pageRequest } from "./respond";
import { route, type App, type Ctx } from "./route";
import { listOf } from "./schemas";
import { intentOfInvoicePayment, invoicePaymentsOf, MAX_INVOICE_PAYMENTS, renderInvoicePayment, type InvoicePaymentJson } from "./subscriptions";

const TAG = "Billing";
const STATUSES = ["open", "paid", "canceled"] as const;

const ListQuery = z
  .object({
    invoice: f.text(100).optional().describe("The invoice whose payments to list (required unless payment[payment_intent] names one of its payments)."),
    status: z.enum(STATUSES).optional(),
    payment: z
      .object({
        // payment_record: Stripe's payments recorded outside it; there are none here, so it lists nothing.
        type: z.enum(["payment_intent", "payment_record"]),
        payment_intent: f.text(100).optional(),
        payment_record: f.text(100).optional(),
      })
      .strict()
      .optional(),
    created: f.createdFilter.optional(),
    ...f.listFields,
  })
  .strict();

/** Reading an invoice's payments reads its payment intents: the permission expand[]=payments needs too. */
function mayReadPayments(principal: Principal): void {
  if (!principal.permissions.has("payments.transactions.view")) throw permissionDenied("Reading invoice payments needs the payments.transactions.view permission (they are payment intents).");
}

/** The principal's intent of this id (a customer's token: its own only), or null. */
async function ownIntent(c: Ctx, principal: Principal, id: string): Promise<IntentRecord | null> {
  if (!hasPrefix(id, "pi")) return null;
  const intent = await intentStub(c.env, id).retrieve(principal, id);
  return intent && (!principal.customerId || intent.customer === principal.customerId) ? intent : null;
}

/** The principal's invoice that `intent` is a payment attempt of, with the attempt's number (as invoicePaymentsOf lists it), or null. */
async function attemptOfIntent(principal: Principal, d1: D1Database, intent: IntentRecord): Promise<{ invoice: InvoiceRow; n: number } | null> {
  if (!intent.invoiceId) return null;
  const invoice = await invoiceById(d1, intent.invoiceId);
  if (!invoice || invoice.merchantId !== principal.merchantId || invoice.livemode !== principal.livemode) return null;
  // Its number is the one its id is derived from (never its metadata, which the merchant may change).
  for (let n = 1; n <= Math.min(invoice.attemptCount + 1, MAX_INVOICE_PAYMENTS); n++) {
    if ((await attemptIntentId(invoice.id, n)) === intent.id) return { invoice, n };
  }
  return null;
}

/** Stripe's `created` filter, on one payment's Unix seconds. */
function createdMatches(created: number, filter: z.infer<typeof f.createdFilter> | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === "number") return created === filter;
  return (filter.gt === undefined || created > filter.gt) && (filter.gte === undefined || created >= filter.gte) && (filter.lt === undefined || created < filter.lt) && (filter.lte === undefined || created <= filter.lte);
}

export function registerInvoicePayments(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/invoice_payments",
      permission: "billing.view",
      summary: "List an invoice's payments (one per payment attempt's intent), newest first; needs payments.transactions.view too",
      tag: TAG,
      query: ListQuery,
      response: listOf(InvoicePaymentSchema, "InvoicePaymentList"),
    },
    async (c, { query, principal }) => {
      mayReadPayments(principal);
      const expand = expandPaths(query.expand, "invoice_payment", true);
      const page = pageRequest(query);
      const byIntent = query.payment?.payment_intent;
      let invoice: InvoiceRow | null = null;
      if (query.invoice !== undefined) {
        invoice = await findInvoice(c.env.DB, principal, query.invoice, "invoice");
      } else if (byIntent !== undefined) {
        // The invoice of the intent named: none (another merchant's, or no invoice's) lists nothing.
        const intent = await ownIntent(c, principal, byIntent);
        invoice = intent ? ((await attemptOfIntent(principal, c.env.DB, intent))?.invoice ?? null) : null;
      } else {
        throw invalidRequest("Name the invoice whose payments to list: invoice (or payment[payment_intent], one of its payments' intent).", "invoice", "parameter_missing");
      }
      // Newest first, as Stripe's lists are.
      const all = invoice ? (await invoicePaymentsOf(c, principal, invoice)).reverse() : [];
      const matches = (p: InvoicePaymentJson) =>
        (query.status === undefined || p.status === query.status) &&
        (query.payment === undefined || (query.payment.type === "payment_intent" && query.payment.payment_record === undefined && (byIntent === undefined || p.payment.payment_intent === byIntent))) &&
        createdMatches(p.created, query.created);
      const cursor = page.endingBefore ?? page.startingAfter;
      const at = cursor === undefined ? -1 : all.findIndex((p) => p.id === cursor);
      if (cursor !== undefined && at < 0) throw resourceMissing("invoice_payment", cursor.slice(0, 80), page.endingBefore !== undefined ? "ending_before" : "starting_after");
      let items: InvoicePaymentJson[];
      let hasMore: boolean;
      if (page.endingBefore !== undefined) {
        const newer = all.slice(0, at).filter(matches);
        items = newer.slice(-page.limit);
        hasMore = newer.length > page.limit;
      } else {
        const older = all.slice(at + 1).filter(matches);
        items = older.slice(0, page.limit);
        hasMore = older.length > page.limit;
      }
      await expandObjects(c, principal, items, "invoice_payment", expand);
      return json(c, { object: "list", data: items, has_more: hasMore, url: "/v1/invoice_payments" });
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/invoice_payments/{id}",
      permission: "billing.view",
      summary: "Retrieve an invoice payment (as the invoice's expand[]=payments has it); needs payments.transactions.view too",
      tag: TAG,
      query: f.expandQuery,
      response: InvoicePaymentSchema,
    },
    async (c, { params, query, principal }) => {
      mayReadPayments(principal);
      const expand = expandPaths(query.expand, "invoice_payment");
      const id = params.id ?? "";
      const intentId = intentOfInvoicePayment(id);
      const intent = intentId ? await ownIntent(c, principal, intentId) : null;
      const attempt = intent ? await attemptOfIntent(principal, c.env.DB, intent) : null;
      if (!intent || !attempt) throw resourceMissing("invoice_payment", id.slice(0, 80), "id");
      const payment = renderInvoicePayment(attempt.invoice, attempt.n, intent);
      await expandObjects(c, principal, [payment], "invoice_payment", expand);
      return json(c, payment);
    },
  );
}
