// Field types shared by /v1 request schemas. Form-encoded values arrive as strings, JSON values as
// their own types; both are accepted where Stripe accepts them and normalized to one output type.
import { z } from "zod";
import { isKnownCurrency, MAX_AMOUNT } from "../../core/money";
import { INTENT_STATUSES, REFUND_REASONS, type AutomaticPaymentMethods, type BillingAddress, type BillingDetails, type CardOptions, type CustomerShipping, type Shipping } from "../../core/types";
import { CLEAR_ALL_METADATA, METADATA_LIMITS } from "../../intents/operations/metadata";
import { isHttpUrl } from "../../core/urls";

/** An integer, as a JSON number or a string of digits. */
export const integer = z
  .union([z.number(), z.string().regex(/^-?\d{1,20}$/, "expected an integer")])
  .transform((v) => Number(v))
  .pipe(z.number().int("expected an integer").refine(Number.isSafeInteger, "integer out of range"));

/** An integer in the currency's minor unit from `min` to the largest amount; `tooSmall` says why below it. */
export const minorAmount = (min: number, tooSmall: string) =>
  z
    .union([z.number(), z.string().regex(/^-?\d{1,40}$/, "expected an integer")])
    .transform((v) => Number(v))
    // The bounds before the safe-integer range: 1e20 is too large an amount (amount_too_large, naming the
    // maximum), not "expected an integer", which zod's int() says of an integer beyond 2^53.
    .pipe(
      z
        .number()
        .refine(Number.isInteger, "expected an integer")
        .min(min, tooSmall)
        .max(MAX_AMOUNT, `must be at most ${MAX_AMOUNT} minor units`),
    );

/** An amount in the currency's minor unit (cents for USD, yen for JPY). */
export const amount = minorAmount(1, "must be at least 1 (a positive integer in minor units)");

/**
 * A boolean as JSON and as both official clients form-encode it: stripe-node (and Stripe's form
 * encoding) send `true`/`false`, Python's requests-based client sends `True`/`False`.
 */
export const boolean = z
  .union([z.boolean(), z.enum(["true", "false", "True", "False"])], { error: "must be a boolean (true or false)" })
  .transform((v) => v === true || v === "true" || v === "True");

export const currency = z
  .string()
  .max(3, "must be a three-letter ISO 4217 code")
  .refine(isKnownCurrency, "must be a supported three-letter ISO 4217 code (usd, eur, jpy, ...)")
  .transform((v) => v.toLowerCase());

/** Free text; in updates the empty string clears the field. */
export const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
export const clearableText = (max: number) => text(max).transform((v) => (v === "" ? null : v));

/** An email address (loosely: something@somewhere, as Stripe checks receipt_email), or "" where the field takes it. */
export const emailText = (max = 512) => text(max).refine((v) => v === "" || /^[^\s@]+@[^\s@]+$/.test(v), "must be an email address");

export const id = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[A-Za-z0-9]{8,64}$`), `must be an id starting with ${prefix}_`)
    .meta({ example: `${prefix}_4Fq8ZxT2mW9kLp3R` });

export const url = z.string().max(2048).refine(isHttpUrl, "must be an absolute http(s) URL, without spaces or control characters");

/** Why a metadata key is refused, or null. Checked beside the record (a key schema's message would be zod's "Invalid key in record"). */
function metadataKeyProblem(key: string): string | null {
  if (key.length === 0) return "keys must not be empty";
  if (key.length > METADATA_LIMITS.keyLength) return `keys must be at most ${METADATA_LIMITS.keyLength} characters`;
  if (!/^[^[\]\u0000-\u001f]+$/.test(key)) return "keys must not contain brackets or control characters";
  return null;
}

const metadataRecord = z
  .record(z.string(), z.union([z.string().max(METADATA_LIMITS.valueLength, `values must be at most ${METADATA_LIMITS.valueLength} characters`), z.number().transform(String)]))
  .superRefine((m, ctx) => {
    for (const key of Object.keys(m)) {
      const problem = metadataKeyProblem(key);
      if (problem) {
        ctx.addIssue({ code: "custom", message: problem, path: [key] });
        return;
      }
    }
  })
  .refine((m) => Object.keys(m).length <= METADATA_LIMITS.keys, `must have at most ${METADATA_LIMITS.keys} keys`);

/** An update's metadata: keys merge (an empty value deletes its key); `""` for the whole of it unsets every key, as at Stripe. */
export const metadata = z.union([z.literal("").transform((): Record<string, string> => ({ [CLEAR_ALL_METADATA]: "" })), metadataRecord]);

/** Creation ignores empty metadata values (an update would use them to delete keys). */
export const createMetadata = z.union([z.literal("").transform((): Record<string, string> => ({})), metadataRecord.transform((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== "")))]);

/** One expand path: Stripe's paths are short (at most four levels of short field names). */
const expandPath = z.string().max(100);
/** `expand[]=a&expand[]=b`, or one path as a plain `expand=a`: both capped alike (count and each path's length). */
export const expand = z
  .union([expandPath, z.array(expandPath).max(20)])
  .transform((v) => (Array.isArray(v) ? v : [v]));

/** The query of a retrieve that takes only `expand[]`. */
export const expandQuery = z.object({ expand: expand.optional() }).strict();

/**
 * Stripe's capture_method as given: automatic_async captures automatically as automatic does (the
 * intent renders it as given), manual holds. `capture` is what the core does with it, `async` whether
 * it was named automatic_async.
 */
export const captureMethod = z.enum(["automatic", "manual", "automatic_async"]).transform((v) => ({ capture: v === "manual" ? ("manual" as const) : ("automatic" as const), async: v === "automatic_async" }));
/** What a merchant may give; `automatic` and `expired` are the gateway's own. */
export const cancellationReason = z.enum(["duplicate", "fraudulent", "requested_by_customer", "abandoned"]);
export const refundReason = z.enum(REFUND_REASONS);
export const intentStatus = z.enum(INTENT_STATUSES);

const card = z
  .object({
    number: z.union([z.string(), z.number().transform(String)]).pipe(z.string().regex(/^[\d\s-]{12,23}$/, "must be a card number")),
    exp_month: integer,
    exp_year: integer,
    cvc: z.union([z.string(), z.number().transform(String)]).pipe(z.string().max(4, "must be 3 or 4 digits")).optional(),
  })
  .strict();

/** Stripe's card[token]: a card tokenized by Stripe.js (tok_...), as payment_method_data[card][token] takes it. */
const cardToken = z.object({ token: text(255).refine((v) => v.startsWith("tok_"), "must be a card token (tok_...)") }).strict();

const optionalText = (max: number) => text(max).optional();

/** Stripe's billing_details (payment_method_data[billing_details], a payment method's billing_details). */
export const billingDetails = z
  .object({
    address: z
      .object({ city: optionalText(200), country: optionalText(2), line1: optionalText(200), line2: optionalText(200), postal_code: optionalText(20), state: optionalText(200) })
      .strict()
      .optional(),
    email: optionalText(512),
    name: optionalText(256),
    phone: optionalText(32),
  })
  .strict()
  .transform((b): BillingDetails => ({
    address: b.address
      ? { city: b.address.city ?? null, country: b.address.country ?? null, line1: b.address.line1 ?? null, line2: b.address.line2 ?? null, postalCode: b.address.postal_code ?? null, state: b.address.state ?? null }
      : null,
    email: b.email ?? null,
    name: b.name ?? null,
    phone: b.phone ?? null,
  }));

const address = z
  .object({ city: optionalText(200), country: optionalText(2), line1: optionalText(200), line2: optionalText(200), postal_code: optionalText(20), state: optionalText(200) })
  .strict()
  .transform((a): BillingAddress => ({ city: a.city ?? null, country: a.country ?? null, line1: a.line1 ?? null, line2: a.line2 ?? null, postalCode: a.postal_code ?? null, state: a.state ?? null }));

/** Stripe's shipping: name and address required; "" clears it on an update. */
export const shipping = z.union([
  z.literal("").transform(() => null),
  z
    .object({ name: text(256).min(1), address, phone: optionalText(32), carrier: optionalText(100), tracking_number: optionalText(100) })
    .strict()
    .transform((v): Shipping => ({ name: v.name, address: v.address, phone: v.phone ?? null, carrier: v.carrier ?? null, trackingNumber: v.tracking_number ?? null })),
]);

/**
 * A customer's address (Stripe's `address` and `shipping[address]` of customers): every field
 * optional, up to 5000 characters as at Stripe, an empty one null. Stripe's country is free text
 * there ("a two-letter code" is only asked for taxes), so it is not checked, only bounded.
 */
const customerLine = text(5000).transform((v) => (v === "" ? null : v)).optional();
const customerAddressFields = z
  .object({ city: customerLine, country: text(100).transform((v) => (v === "" ? null : v)).optional(), line1: customerLine, line2: customerLine, postal_code: customerLine, state: customerLine })
  .strict()
  .transform((a): BillingAddress => ({ city: a.city ?? null, country: a.country ?? null, line1: a.line1 ?? null, line2: a.line2 ?? null, postalCode: a.postal_code ?? null, state: a.state ?? null }));

/** A customer's `address`: given, it replaces the whole address; `""` unsets it (null). */
export const customerAddress = z.union([z.literal("").transform(() => null), customerAddressFields]);

/** A customer's `shipping`: name and address required, as at Stripe; given, it replaces the whole of it; `""` unsets it. */
export const customerShipping = z.union([
  z.literal("").transform(() => null),
  z
    .object({ name: text(5000).min(1, "must not be empty"), address: customerAddressFields, phone: customerLine })
    .strict()
    .transform((v): CustomerShipping => ({ name: v.name, phone: v.phone ?? null, address: v.address })),
]);

/** Stripe's automatic_payment_methods, echoed as sent (the gateway chooses the methods either way). */
export const automaticPaymentMethods = z
  .object({ enabled: boolean, allow_redirects: z.enum(["always", "never"]).optional() })
  .strict()
  .transform((v): AutomaticPaymentMethods => ({ enabled: v.enabled, allowRedirects: v.allow_redirects ?? null }));

/**
 * Stripe's payment_method_options: the card's options are kept and echoed, and act as at Stripe
 * (capture_method=manual holds a card payment, setup_future_usage overrides the intent's for a card,
 * request_three_d_secure any or challenge asks for a challenge); other methods' are accepted and dropped.
 */
export const paymentMethodOptions = z
  .object({
    card: z
      .object({
        request_three_d_secure: z.enum(["any", "automatic", "challenge"]).optional(),
        // "" unsets the card's own option (as at Stripe), so the intent's applies again.
        capture_method: z.union([z.literal("manual"), z.literal("").transform(() => null)]).optional(),
        setup_future_usage: z.union([z.enum(["none", "off_session", "on_session"]), z.literal("").transform(() => null)]).optional(),
        require_cvc_recollection: boolean.optional(),
        request_incremental_authorization: z.union([z.enum(["if_available", "never"]), z.literal("").transform(() => null)]).optional(),
      })
      // Stripe's other card options (cvc_token, installments, network, moto, ...) are accepted and dropped.
      .catchall(z.unknown())
      .optional(),
  })
  .catchall(z.unknown())
  .transform((v): CardOptions | null => {
    const c = v.card;
    if (!c) return null;
    const out: CardOptions = {};
    if (c.request_three_d_secure) out.requestThreeDSecure = c.request_three_d_secure;
    if (c.capture_method !== undefined) out.captureMethod = c.capture_method;
    if (c.setup_future_usage !== undefined) out.setupFutureUsage = c.setup_future_usage;
    if (c.require_cvc_recollection !== undefined) out.requireCvcRecollection = c.require_cvc_recollection;
    if (c.request_incremental_authorization !== undefined) out.requestIncrementalAuthorization = c.request_incremental_authorization;
    return out;
  });

const paypal = z.object({ type: z.literal("paypal"), billing_details: billingDetails.optional() }).strict();

/** Test card details (test mode only), a card token (`card[token]`), or `{type: "paypal"}`: the payer approves at PayPal. Any with billing_details. */
export const paymentMethodData = z.union([
  z.object({ type: z.literal("card"), card: z.union([card, cardToken]), billing_details: billingDetails.optional() }).strict(),
  paypal,
]);

/** `pm_...`/`tok_...`/vault token as a string, seed 001's `{type: "card_token", token}`, test card details, or PayPal. */
export const paymentMethod = z.union([
  z.string().min(1).max(255),
  z.object({ type: z.literal("card_token"), token: z.string().min(1).max(255) }).strict(),
  paymentMethodData,
]);

/** `created=<ts>` or `created[gte]=<ts>` etc., Unix seconds. */
export const createdFilter = z.union([
  integer,
  z.object({ gt: integer.optional(), gte: integer.optional(), lt: integer.optional(), lte: integer.optional() }).strict(),
]);

export const limit = integer.pipe(z.number().min(1, "must be between 1 and 100").max(100, "must be between 1 and 100"));

/** Stripe's page parameters of every list: `limit` and one cursor, an object id (respond.ts' pageRequest reads them). */
export const pageFields = { limit: limit.optional(), starting_after: text(100).optional(), ending_before: text(100).optional() };
/** A list's page parameters and `expand[]` (a path of each listed object). */
export const listFields = { ...pageFields, expand: expand.optional() };

/**
 * Stripe's search parameters (GET /v1/<resource>/search): the query, a page size and `page`, the
 * next_page of the previous result; `expand` where the resource's list takes it.
 */
export const searchFields = {
  query: z.string().min(1).max(1000).describe("Stripe's search query language, e.g. name:'Pro' AND metadata['plan']:'gold'"),
  limit: limit.optional(),
  page: text(100).optional().describe("The next_page of the previous result."),
};
export const searchQuery = z.object(searchFields).strict();

/** The payment intents' and charges' search (src/db/search.ts): its page tokens are longer, and expand. */
export const intentSearchQuery = z
  .object({
    query: z.string().min(1).max(1000),
    limit: limit.optional(),
    page: z.string().max(200).optional(),
    expand: expand.optional(),
  })
  .strict();
