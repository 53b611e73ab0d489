// Extracts the response schemas of the Stripe objects /v1 serves from the stripe package's type
// declarations (node_modules/stripe/esm/resources/*.d.ts, generated from Stripe's OpenAPI
// description) with the TypeScript compiler API, into test/fixtures/stripe-schemas.json:
// for each object its fields, which are always returned (no `?`), their JSON types, nullability
// (`| null`), enums (string literal unions) and nested objects. Only the schemas reachable from the
// objects below are kept; expandable fields (`string | Object`) of objects outside that set are kept
// as "an id or an object" without the object's schema. test/api/stripe-schemas.test.ts checks every
// object the API returns against it. Run: npx tsx scripts/stripe-schemas-fixture.ts
import { readFileSync, writeFileSync } from "node:fs";
import ts from "typescript";

const BASE = "node_modules/stripe/esm/resources/";
/** Stripe's `object` value → [declaration file, interface]. */
const ROOTS: Record<string, [string, string]> = {
  payment_intent: ["PaymentIntents", "PaymentIntent"],
  charge: ["Charges", "Charge"],
  refund: ["Refunds", "Refund"],
  customer: ["Customers", "Customer"],
  payment_method: ["PaymentMethods", "PaymentMethod"],
  product: ["Products", "Product"],
  price: ["Prices", "Price"],
  subscription: ["Subscriptions", "Subscription"],
  subscription_item: ["SubscriptionItems", "SubscriptionItem"],
  invoice: ["Invoices", "Invoice"],
  line_item: ["InvoiceLineItems", "InvoiceLineItem"],
  event: ["Events", "EventBase"],
  webhook_endpoint: ["WebhookEndpoints", "WebhookEndpoint"],
  "checkout.session": ["Checkout/Sessions", "Session"],
  item: ["LineItems", "LineItem"],
  plan: ["Plans", "Plan"],
  account: ["Accounts", "Account"],
  "test_helpers.test_clock": ["TestHelpers/TestClocks", "TestClock"],
  setup_intent: ["SetupIntents", "SetupIntent"],
  invoice_payment: ["InvoicePayments", "InvoicePayment"],
  setup_attempt: ["SetupAttempts", "SetupAttempt"],
};

/** One JSON shape a value may have. */
export type Alt =
  | { type: "string"; enum?: string[] }
  | { type: "number" }
  | { type: "boolean" }
  | { type: "array"; items: Schema }
  | { type: "object"; ref?: string; values?: Schema }
  | { type: "any" };
export interface Schema {
  nullable?: true;
  anyOf: Alt[];
}
export interface Definition {
  object?: string;
  properties: Record<string, { schema: Schema; optional?: true }>;
}
export interface Fixture {
  source: string;
  objects: Record<string, string>;
  definitions: Record<string, Definition>;
}

const files = Object.values(ROOTS).map(([file]) => `${BASE}${file}.d.ts`);
const program = ts.createProgram(files, { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, moduleResolution: ts.ModuleResolutionKind.Bundler, skipLibCheck: true, noEmit: true });
const checker = program.getTypeChecker();
const definitions: Record<string, Definition> = {};
const rootNames = new Set(Object.values(ROOTS).map(([, name]) => name));
const pending: [string, ts.Type][] = [];

/** A declared interface's name without its module: `Subscription.AutomaticTax`. */
function nameOf(type: ts.Type): string | null {
  const symbol = type.aliasSymbol ?? type.getSymbol();
  if (!symbol || !(symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) return null;
  return checker.getFullyQualifiedName(symbol).replace(/^".*?"\./, "");
}

/** A top-level resource (declared at a module's top, with an `object` literal) that is not one of ours. */
function foreignResource(type: ts.Type): boolean {
  const name = nameOf(type);
  if (!name || name.includes(".") || rootNames.has(name)) return false;
  return type.getProperty("object") !== undefined && type.getProperty("id") !== undefined;
}

function reference(type: ts.Type): Alt {
  const name = nameOf(type);
  if (!name) return { type: "object" };
  if (!(name in definitions) && !pending.some(([n]) => n === name)) pending.push([name, type]);
  return { type: "object", ref: name };
}

function schemaOf(type: ts.Type): Schema {
  const parts = type.isUnion() ? type.types : [type];
  const out: Schema = { anyOf: [] };
  const literals: string[] = [];
  let plainString = false;
  let otherString = false;
  let bool = false;
  for (const part of parts) {
    if (part.flags & ts.TypeFlags.Null) out.nullable = true;
    else if (part.flags & ts.TypeFlags.Undefined) continue;
    else if (part.flags & ts.TypeFlags.StringLiteral) literals.push((part as ts.StringLiteralType).value);
    // stripe-node parses Stripe's decimal strings (unit_amount_decimal, quantity_decimal) into its Decimal class; on the wire they are strings.
    else if (part.aliasSymbol?.name === "Decimal") plainString = true;
    else if (part.flags & ts.TypeFlags.String) plainString = true;
    // OtherString (`string & Record<never, never>`): stripe-node's opening of an enum to values added later; the enum is its literals.
    else if (part.isIntersection() && part.types.some((t) => t.flags & ts.TypeFlags.String)) otherString = true;
    else if (part.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) out.anyOf.push({ type: "number" });
    else if (part.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) bool = true;
    else if (part.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) out.anyOf.push({ type: "any" });
    else if (checker.isArrayType(part)) out.anyOf.push({ type: "array", items: schemaOf(checker.getTypeArguments(part as ts.TypeReference)[0] ?? checker.getAnyType()) });
    else if (part.flags & ts.TypeFlags.Object) {
      const index = part.getStringIndexType();
      if (index && part.getProperties().length === 0) out.anyOf.push({ type: "object", values: schemaOf(index) });
      else if (foreignResource(part)) {
        // An object we do not serve (expanded, or embedded): any object.
        if (!out.anyOf.some((a) => a.type === "object" && !a.ref)) out.anyOf.push({ type: "object" });
      } else if (nameOf(part) === "ApiList" || nameOf(part) === null) out.anyOf.push(inline(part));
      else out.anyOf.push(reference(part));
    }
  }
  if (plainString || (otherString && !literals.length)) out.anyOf.unshift({ type: "string" });
  else if (literals.length) out.anyOf.unshift({ type: "string", enum: [...new Set(literals)].sort() });
  if (bool) out.anyOf.push({ type: "boolean" });
  // Numbers repeated by literal unions collapse to one.
  out.anyOf = out.anyOf.filter((a, i) => a.type !== "number" || out.anyOf.findIndex((b) => b.type === "number") === i);
  return out;
}

let inlined = 0;
/** An anonymous or generic object (ApiList<T>): defined under a name of its own. */
function inline(type: ts.Type): Alt {
  const name = `${nameOf(type) ?? "Anonymous"}#${++inlined}`;
  definitions[name] = define(type);
  return { type: "object", ref: name };
}

function define(type: ts.Type): Definition {
  const properties: Definition["properties"] = {};
  for (const prop of checker.getPropertiesOfType(type)) {
    const decl = prop.valueDeclaration ?? prop.declarations?.[0];
    if (!decl) continue;
    const schema = schemaOf(checker.getTypeOfSymbolAtLocation(prop, decl));
    properties[prop.name] = prop.flags & ts.SymbolFlags.Optional ? { schema, optional: true } : { schema };
  }
  const objectProp = properties.object?.schema.anyOf[0];
  const object = objectProp?.type === "string" && objectProp.enum?.length === 1 ? objectProp.enum[0] : undefined;
  return object ? { object, properties } : { properties };
}

function rootType(file: string, name: string): ts.Type {
  const source = program.getSourceFile(`${BASE}${file}.d.ts`);
  if (!source) throw new Error(`${file}.d.ts not found`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const symbol = moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.name === name);
  if (!symbol) throw new Error(`${name} not found in ${file}.d.ts`);
  return checker.getDeclaredTypeOfSymbol(symbol);
}

const objects: Record<string, string> = {};
for (const [object, [file, name]] of Object.entries(ROOTS)) {
  objects[object] = name;
  pending.push([name, rootType(file, name)]);
}
for (let next = pending.shift(); next; next = pending.shift()) {
  const [name, type] = next;
  if (!(name in definitions)) definitions[name] = define(type);
}
const sorted = Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b)));
const fixture: Fixture = { source: `stripe ${(JSON.parse(readFileSync("node_modules/stripe/package.json", "utf8")) as { version: string }).version} (node_modules/stripe/esm/resources)`, objects, definitions: sorted };
writeFileSync("test/fixtures/stripe-schemas.json", `${JSON.stringify(fixture)}\n`);
console.log(`test/fixtures/stripe-schemas.json: ${Object.keys(objects).length} objects, ${Object.keys(sorted).length} schemas`);
