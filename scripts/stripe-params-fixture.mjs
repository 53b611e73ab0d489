// Extracts the top-level request parameters of Stripe's current API for the operations /v1 serves,
// from the stripe package's type declarations (node_modules/stripe, generated from Stripe's OpenAPI
// description), into test/fixtures/stripe-params.json. test/api/stripe-params.test.ts checks that
// src/api/v1/stripe-params.ts classifies every one of them. Run: node scripts/stripe-params-fixture.mjs
import { readFileSync, writeFileSync } from "node:fs";

const base = "node_modules/stripe/esm/resources/";
const OPERATIONS = {
  "POST /v1/payment_intents": ["PaymentIntents", "PaymentIntentCreateParams"],
  "POST /v1/payment_intents/{id}": ["PaymentIntents", "PaymentIntentUpdateParams"],
  "POST /v1/payment_intents/{id}/confirm": ["PaymentIntents", "PaymentIntentConfirmParams"],
  "POST /v1/payment_intents/{id}/capture": ["PaymentIntents", "PaymentIntentCaptureParams"],
  "POST /v1/payment_intents/{id}/cancel": ["PaymentIntents", "PaymentIntentCancelParams"],
  "POST /v1/payment_intents/{id}/increment_authorization": ["PaymentIntents", "PaymentIntentIncrementAuthorizationParams"],
  "POST /v1/refunds": ["Refunds", "RefundCreateParams"],
  "POST /v1/refunds/{id}": ["Refunds", "RefundUpdateParams"],
  "POST /v1/refunds/{id}/cancel": ["Refunds", "RefundCancelParams"],
  "POST /v1/charges/{id}": ["Charges", "ChargeUpdateParams"],
  "POST /v1/charges/{id}/capture": ["Charges", "ChargeCaptureParams"],
  "POST /v1/customers": ["Customers", "CustomerCreateParams"],
  "POST /v1/customers/{id}": ["Customers", "CustomerUpdateParams"],
  "POST /v1/payment_methods": ["PaymentMethods", "PaymentMethodCreateParams"],
  "POST /v1/payment_methods/{id}": ["PaymentMethods", "PaymentMethodUpdateParams"],
  "POST /v1/payment_methods/{id}/attach": ["PaymentMethods", "PaymentMethodAttachParams"],
  "POST /v1/products": ["Products", "ProductCreateParams"],
  "POST /v1/products/{id}": ["Products", "ProductUpdateParams"],
  "POST /v1/prices": ["Prices", "PriceCreateParams"],
  "POST /v1/prices/{id}": ["Prices", "PriceUpdateParams"],
  "POST /v1/subscriptions": ["Subscriptions", "SubscriptionCreateParams"],
  "POST /v1/subscriptions/{id}": ["Subscriptions", "SubscriptionUpdateParams"],
  "POST /v1/invoices/{id}/pay": ["Invoices", "InvoicePayParams"],
  "POST /v1/invoices/{id}/void": ["Invoices", "InvoiceVoidInvoiceParams"],
  "POST /v1/invoices/{id}/mark_uncollectible": ["Invoices", "InvoiceMarkUncollectibleParams"],
  "POST /v1/invoices/{id}/finalize": ["Invoices", "InvoiceFinalizeInvoiceParams"],
  "POST /v1/webhook_endpoints": ["WebhookEndpoints", "WebhookEndpointCreateParams"],
  "POST /v1/webhook_endpoints/{id}": ["WebhookEndpoints", "WebhookEndpointUpdateParams"],
  "POST /v1/checkout/sessions": ["Checkout/Sessions", "SessionCreateParams"],
  "POST /v1/setup_intents": ["SetupIntents", "SetupIntentCreateParams"],
  "POST /v1/setup_intents/{id}": ["SetupIntents", "SetupIntentUpdateParams"],
  "POST /v1/setup_intents/{id}/confirm": ["SetupIntents", "SetupIntentConfirmParams"],
  "POST /v1/setup_intents/{id}/cancel": ["SetupIntents", "SetupIntentCancelParams"],
};

function params(file, iface) {
  const lines = readFileSync(`${base}${file}.d.ts`, "utf8").split("\n");
  const start = lines.findIndex((l) => l.startsWith(`export interface ${iface} {`) || l.startsWith(`    interface ${iface} {`));
  if (start < 0) throw new Error(`${iface} not found in ${file}`);
  const indent = lines[start].match(/^ */)[0].length;
  const out = [];
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith(" ".repeat(indent) + "}")) break;
    const m = new RegExp(`^ {${indent + 4}}([a-z_0-9]+)\\??:`).exec(l);
    if (m) out.push(m[1]);
  }
  return out;
}

const version = readFileSync("node_modules/stripe/esm/apiVersion.js", "utf8").match(/ApiVersion = '([^']+)'/)[1];
const fixture = { source: `stripe-node type declarations, API version ${version}`, operations: {} };
for (const [op, [file, iface]] of Object.entries(OPERATIONS)) fixture.operations[op] = params(file, iface);
writeFileSync("test/fixtures/stripe-params.json", JSON.stringify(fixture, null, 1) + "\n");
console.log(Object.entries(fixture.operations).map(([op, p]) => `${op}: ${p.length}`).join("\n"));
