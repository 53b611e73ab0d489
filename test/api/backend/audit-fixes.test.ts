// Seed 004: what a fresh read of the document still caught. Each error is the surface's own
// {"error": "<description>"}, a 400 that says what is wrong, and nothing is made.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { get, newMerchant, post, rawCall, type ListJson, type PaymentIntentJson } from "../../helpers";

const P = "/api/v1/payments";

function expectBackendError(res: { status: number; body: unknown }, status: number): string {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as { error: unknown };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error).toBe("string");
  return body.error as string;
}

describe("seed 004 metadata refused", () => {
  it("says what is wrong with it (too many keys, a long key or value, a value that is no string, no object), never 'Invalid input', and makes nothing", async () => {
    const { opts } = await newMerchant("s4-audit-metadata");
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]));
    const cases: [unknown, string][] = [
      [many, "Invalid metadata: must have at most 50 keys"],
      [{ k: "v".repeat(501) }, "Invalid metadata.k: values must be at most 500 characters"],
      [{ ["k".repeat(41)]: "v" }, `Invalid metadata.${"k".repeat(41)}: keys must be at most 40 characters`],
      [{ course_id: { id: 123 } }, "Invalid metadata.course_id: must be a string or a number"],
      [{ course_id: null }, "Invalid metadata.course_id: must be a string or a number"],
      [{ course_id: true }, "Invalid metadata.course_id: must be a string or a number"],
      ["course 123", "Invalid metadata: must be an object of string values"],
      [[1], "Invalid metadata: must be an object of string values"],
      // (`"metadata": null` is metadata not sent: test/api/null-fields.test.ts.)
    ];
    for (const [metadata, message] of cases) {
      expect(expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency: "usd", metadata }, opts), 400), JSON.stringify(metadata).slice(0, 60)).toBe(message);
      expect(expectBackendError(await post(`${P}/stripe/create-customer/`, { email: "user@example.com", metadata }, opts), 400)).toBe(message);
    }
    expect((await get<ListJson<PaymentIntentJson>>("/v1/payment_intents", opts)).body.data).toEqual([]);
    expect((await get<ListJson<unknown>>("/v1/customers", opts)).body.data).toEqual([]);
    // A number is kept as text, as Stripe keeps metadata.
    const made = await post<{ payment_intent_id: string }>(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency: "usd", metadata: { course_id: 123 } }, opts);
    expect(made.status).toBe(200);
    const read = await post<{ metadata: unknown }>(`${P}/stripe/retrieve-payment/`, { payment_intent_id: made.body.payment_intent_id }, opts);
    expect(read.body.metadata).toEqual({ course_id: "123" });
  });
});

type J = Record<string, unknown>;
interface SchemaDoc {
  $ref?: string;
  type?: string;
  properties?: Record<string, SchemaDoc>;
  required?: string[];
  items?: SchemaDoc;
}
interface OpenApiDoc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: SchemaDoc; example?: unknown }> }> }>>;
  components: { schemas: Record<string, SchemaDoc> };
}

/** The sandbox's approval page, approved by the payer. */
async function approve(approvalUrl: string): Promise<void> {
  const url = new URL(approvalUrl);
  const token = url.searchParams.get("token") ?? "";
  const res = await exports.default.fetch(
    new Request("http://gateway.test/sandbox/paypal/checkoutnow", { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token, decision: "approve" }) }),
  );
  expect(res.status).toBe(303);
}

describe("seed 004 in the OpenAPI document", () => {
  it("documents every answer's fields, and each answer of the seed's flows has exactly the documented fields, the required ones present", async () => {
    const doc = (await (await exports.default.fetch("http://gateway.test/openapi.json")).json()) as OpenApiDoc;
    const resolve = (schema: SchemaDoc | undefined): SchemaDoc | undefined => (schema?.$ref ? doc.components.schemas[schema.$ref.split("/").pop() ?? ""] : schema);
    /** Every field of `value` is documented by `schema`, every required one is there, and so, object by object, down the tree. */
    const conforms = (value: unknown, schema: SchemaDoc | undefined, where: string): void => {
      const s = resolve(schema);
      expect(s, where).toBeDefined();
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) conforms(item, s?.items, `${where}[${i}]`);
        return;
      }
      if (value === null || typeof value !== "object" || s?.properties === undefined) return;
      const props = s.properties;
      expect(Object.keys(props).length, `${where} documents no field`).toBeGreaterThan(0);
      for (const key of Object.keys(value)) expect(Object.keys(props), `${where}.${key} is not documented`).toContain(key);
      for (const key of s.required ?? []) expect(Object.keys(value), `${where}.${key} is required`).toContain(key);
      for (const [key, inner] of Object.entries(value)) conforms(inner, props[key], `${where}.${key}`);
    };
    const answerSchema = (route: string, method = "post") => doc.paths[`${P}/${route}/`]?.[method]?.responses["200"]?.content?.["application/json"]?.schema;
    const check = (route: string, body: unknown, method = "post") => {
      const schema = resolve(answerSchema(route, method));
      expect(Object.keys(schema?.properties ?? {}), `${route}: documented fields`).not.toEqual([]);
      conforms(body, schema, route);
    };

    const { opts } = await newMerchant("s4-audit-openapi");
    const created = await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency: "usd", metadata: { course_id: "123", description: "Course enrollment" } }, opts);
    expect(created.status).toBe(200);
    check("stripe/create-payment-intent", created.body);
    const pi = String(created.body.payment_intent_id);
    const confirmed = await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: pi, payment_method: "pm_card_visa" }, opts);
    expect(confirmed.body).toMatchObject({ confirmed: true });
    check("stripe/confirm-payment", confirmed.body);
    const threeDs = await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 10, currency: "usd" }, opts);
    const challenged = await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: threeDs.body.payment_intent_id, payment_method: "pm_card_threeDSecure2Required" }, opts);
    expect(challenged.body).toMatchObject({ confirmed: false, status: "requires_action" });
    check("stripe/confirm-payment", challenged.body);
    const retrieved = await post<J>(`${P}/stripe/retrieve-payment/`, { payment_intent_id: pi }, opts);
    check("stripe/retrieve-payment", retrieved.body);
    const customer = await post<J>(`${P}/stripe/create-customer/`, { email: "user@example.com", name: "John Doe", metadata: { organization_id: "org_123" } }, opts);
    check("stripe/create-customer", customer.body);
    check("stripe/create-customer", (await post<J>(`${P}/stripe/create-customer/`, {}, opts)).body);

    const order = await post<J>(`${P}/paypal/create-order/`, { amount: 29.99, currency: "USD", description: "Course enrollment", custom_id: "payment_123" }, opts);
    expect(order.status).toBe(200);
    check("paypal/create-order", order.body);
    const orderId = String(order.body.order_id);
    check("paypal/get-order", (await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body);
    await approve(String(order.body.approval_url));
    const captured = await post<J>(`${P}/paypal/capture-order/`, { order_id: orderId }, opts);
    expect(captured.body).toMatchObject({ captured: true });
    check("paypal/capture-order", captured.body);
    const refund = await post<J>(`${P}/paypal/refund-payment/`, { capture_id: captured.body.capture_id, amount: 10, currency: "USD", note_to_payer: "Partial refund" }, opts);
    expect(refund.status).toBe(200);
    check("paypal/refund-payment", refund.body);
    const details = await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts);
    expect(details.body.status).toBe("COMPLETED");
    check("paypal/get-order", details.body);
    check("paypal/get-order", (await get<J>(`${P}/paypal/get-order/?order_id=${orderId}`, opts)).body, "get");

    // The reference's examples are the seed's, not an empty object.
    const example = doc.paths[`${P}/stripe/create-payment-intent/`]?.post?.responses["200"]?.content?.["application/json"]?.example;
    expect(example).toEqual({ payment_intent_id: "pi_1234567890", client_secret: "pi_1234567890_secret_abc123", status: "requires_payment_method", amount: 2999, currency: "usd" });
  });
});

describe("seed 004 amounts of any length", () => {
  it("a decimal too large or too precise is told as such however it is written (1e40, 41 digits, 1e-39), never as text too long or not a number, and nothing is made", async () => {
    const { opts, key } = await newMerchant("s4-audit-long-amounts");
    const send = (path: string, amount: string, currency = "usd") =>
      rawCall("POST", `${P}/${path}/`, { authorization: `Bearer ${key}` }, `{"amount": ${amount}, "currency": "${currency}"}`);
    const tooLarge = "Amount must be no more than 999999.99 USD.";
    const cases: [string, string][] = [
      ["1e40", tooLarge],
      ["1E+40", tooLarge],
      [`1${"0".repeat(40)}`, tooLarge],
      [`"1${"0".repeat(40)}"`, tooLarge],
      [`1${"0".repeat(5000)}`, tooLarge],
      ["1e-39", `Amount 0.0000000000000000000000... has more decimal places than USD allows (2).`],
      [`0.${"0".repeat(37)}1`, `Amount 0.0000000000000000000000... has more decimal places than USD allows (2).`],
      [`"0.${"0".repeat(21)}1"`, `Amount 0.${"0".repeat(21)}1 has more decimal places than USD allows (2).`],
      [`-1${"0".repeat(70)}`, "Amount must be at least 0.01 USD."],
      [`"1${"0".repeat(70)}x"`, `Invalid amount: "1${"0".repeat(31)}" is not a decimal number, such as 29.99.`],
    ];
    for (const path of ["stripe/create-payment-intent", "paypal/create-order"]) {
      for (const [amount, message] of cases) {
        const res = await send(path, amount);
        expect(res.status, `${path} ${amount.slice(0, 50)}: ${res.text}`).toBe(400);
        expect(res.json, `${path} ${amount.slice(0, 50)}`).toEqual({ error: message });
      }
    }
    expect((await get<ListJson<PaymentIntentJson>>("/v1/payment_intents", opts)).body.data).toEqual([]);
    // Zeros that change nothing are taken, however many.
    for (const amount of [`"${"0".repeat(70)}29.99"`, `29.99${"0".repeat(30)}`]) {
      const res = await send("stripe/create-payment-intent", amount);
      expect(res.status, res.text).toBe(200);
      expect((res.json as { amount: number }).amount).toBe(2999);
    }
  });
});

describe("seed 004 currencies refused", () => {
  it("a code of the wrong length is told as an unknown currency is, naming what was sent, not as a string too short", async () => {
    const { opts } = await newMerchant("s4-audit-currency");
    for (const currency of ["us", "usdd", "xyz"]) {
      expect(expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency }, opts), 400)).toBe(`Invalid currency: ${currency}. Use a supported ISO 4217 code such as 'usd' or 'eur'.`);
      expect(expectBackendError(await post(`${P}/paypal/create-order/`, { amount: 29.99, currency }, opts), 400)).toBe(`Invalid currency: ${currency}. Use a supported ISO 4217 code such as 'usd' or 'eur'.`);
    }
    expect(expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency: "" }, opts), 400)).toBe("Invalid currency: must be an ISO 4217 code such as usd");
    expect((await get<ListJson<PaymentIntentJson>>("/v1/payment_intents", opts)).body.data).toEqual([]);
  });
});
