// The OpenAPI document served at /openapi.json and shown at /docs. Each surface registers its routes
// in `app.openAPIRegistry` (the /v1 `route()` helper does it for you; other surfaces call
// `documentPath` below, or `registerPath` directly). `finishDocument` then makes the generated
// document complete and lint-clean for every surface at once: servers, the security schemes (Bearer
// and HTTP Basic, as `curl -u sk_test_...:` sends), the Idempotency-Key and Stripe-Version headers,
// an operationId and an example for every operation. `undocumentedRoutes` lists the app's routes the
// document lacks (a test keeps it empty).
import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import { GATEWAY_API_VERSION } from "../core/api-version";
import type { Env } from "../env";

type Doc = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;
type Json = Record<string, unknown>;
interface HonoLike {
  routes: { method: string; path: string }[];
}

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

/** An operationId from the method and the path: `post /v1/payment_intents/{id}/confirm` -> `postV1PaymentIntentsIdConfirm`. */
export function operationIdFor(method: string, path: string): string {
  const words = path
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1));
  return method.toLowerCase() + (words.length ? words.join("") : "Root");
}

/**
 * Registers a route in the document: the helper for surfaces that do not use the /v1 `route()`.
 * operationId defaults to one derived from the method and path; `security: []` marks a public route.
 */
export function documentPath<E extends { Bindings: Env }>(
  app: OpenAPIHono<E>,
  spec: Omit<RouteConfig, "operationId"> & { operationId?: string },
): void {
  app.openAPIRegistry.registerPath({ ...spec, operationId: spec.operationId ?? operationIdFor(spec.method, spec.path) } as RouteConfig);
}

/** The app's routes (method and Hono path) that the document does not describe. Middleware and catch-alls (`ALL`) are not routes. */
export function undocumentedRoutes(app: HonoLike, doc: { paths?: Record<string, unknown> }): string[] {
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const hono = path.replace(/\{(\w+)\}/g, ":$1");
    for (const method of Object.keys((item ?? {}) as Json)) if ((METHODS as readonly string[]).includes(method)) documented.add(`${method.toUpperCase()} ${hono}`);
  }
  const missing = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || r.path.includes("*")) continue;
    const key = `${r.method} ${r.path}`;
    // A path's trailing-slash twin (seeds 002 and 003 take both) is the documented operation itself.
    const twinOf = r.path.length > 1 && r.path.endsWith("/") ? `${r.method} ${r.path.slice(0, -1)}` : null;
    if (!documented.has(key) && !(twinOf !== null && documented.has(twinOf))) missing.add(key);
  }
  return [...missing];
}

const PARAMETERS = {
  IdempotencyKey: {
    name: "Idempotency-Key",
    in: "header",
    required: false,
    description:
      "Makes a POST safe to retry: the same key with the same request replays the first answer (with `Idempotent-Replayed: true`); with another request it is a 400 `idempotency_error`; while the first runs, a 409. 1 to 255 characters, kept 24 h per merchant.",
    schema: { type: "string", minLength: 1, maxLength: 255 },
    example: "order-1234-attempt-1",
  },
  StripeVersion: {
    name: "Stripe-Version",
    in: "header",
    required: false,
    description:
      "The Stripe API version to answer in, as Stripe's client libraries send it (a dated version, named after 2024-06-20); an unknown version is a 400. Without it: the merchant's `settings[api_version]`, else the gateway's. Echoed on every response.",
    schema: { type: "string" },
    example: GATEWAY_API_VERSION,
  },
} as const;

const SECURITY_SCHEMES = {
  bearerAuth: { type: "http", scheme: "bearer", description: "A secret API key (sk_test_... or sk_live_...), a restricted key (rk_...) or a JWT: `Authorization: Bearer ...`." },
  basicAuth: { type: "http", scheme: "basic", description: "The API key as the user name and an empty password, as `curl -u sk_test_...:` sends it." },
};

function deref(doc: Json, schema: unknown): Json {
  let s = (schema ?? {}) as Json;
  for (let i = 0; i < 10 && typeof s.$ref === "string"; i++) {
    const name = s.$ref.split("/").pop() ?? "";
    s = (((doc.components as Json | undefined)?.schemas as Json | undefined)?.[name] ?? {}) as Json;
  }
  return s;
}

/** From this depth on, a value that may be null is null: the example stays small and ends. */
const NULL_FROM_DEPTH = 5;

/** Whether the schema allows null (a `null` type, a `null` option, a null in its enum). */
function nullable(doc: Json, s: Json): boolean {
  if (s.type === "null" || (Array.isArray(s.type) && s.type.includes("null")) || s.nullable === true) return true;
  if (Array.isArray(s.enum) && s.enum.includes(null)) return true;
  return (["anyOf", "oneOf"] as const).some((key) => Array.isArray(s[key]) && (s[key] as unknown[]).some((o) => nullable(doc, deref(doc, o))));
}

/**
 * A small value that fits the schema: its own example, an enum's first value, or one built from the
 * types (an object with every property it requires). Deep in a nested object, a value that may be
 * null is null. A string with a `pattern` needs an example of its own (the lint in
 * test/e2e/docs.e2e.test.ts checks every example against its schema).
 */
export function exampleOf(doc: Json, schema: unknown, depth = 0): unknown {
  const s = deref(doc, schema);
  if (s.example !== undefined) return s.example;
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  if (s.const !== undefined) return s.const;
  if (depth >= NULL_FROM_DEPTH && nullable(doc, s)) return null;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum.find((v) => v !== null) ?? s.enum[0];
  if (s.default !== undefined) return s.default;
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = s[key];
    if (Array.isArray(options) && options.length) {
      const first = options.find((o) => deref(doc, o).type !== "null") ?? options[0];
      return exampleOf(doc, first, depth + 1);
    }
  }
  if (Array.isArray(s.allOf) && s.allOf.length) {
    const parts = s.allOf.map((p) => exampleOf(doc, p, depth + 1));
    return parts.every((p) => p && typeof p === "object" && !Array.isArray(p)) ? Object.assign({}, ...parts) : parts[0];
  }
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === "string" ? [s.type] : s.properties ? ["object"] : [];
  const type = types.find((t) => t !== "null") ?? types[0];
  switch (type) {
    case "object": {
      // Only a schema that contains itself gets this deep.
      if (depth > 16) return {};
      const out: Json = {};
      const props = (s.properties ?? {}) as Json;
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : Object.keys(props).slice(0, 8));
      for (const [name, prop] of Object.entries(props)) if (required.has(name)) out[name] = exampleOf(doc, prop, depth + 1);
      return out;
    }
    case "array": {
      const min = typeof s.minItems === "number" ? s.minItems : 0;
      return depth > 6 || (min === 0 && depth > 2) ? [] : Array.from({ length: Math.max(min, 1) }, () => exampleOf(doc, s.items, depth + 1));
    }
    case "integer":
    case "number":
      return typeof s.minimum === "number" ? s.minimum : typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum + 1 : 1;
    case "boolean":
      return true;
    case "null":
      return null;
    case "string": {
      const min = typeof s.minLength === "number" ? s.minLength : 1;
      const max = typeof s.maxLength === "number" ? s.maxLength : 64;
      if (s.format === "uri" || s.format === "url") return "https://example.com/";
      if (s.format === "email") return "jenny.rosen@example.com";
      if (s.format === "date-time") return "2026-01-01T00:00:00Z";
      return "string".padEnd(min, "x").slice(0, Math.max(min, Math.min(max, 6)));
    }
    default:
      return {};
  }
}

/** Completes the generated document: see the file's header. `origin` is the URL the document was asked for. */
export function finishDocument(doc: Doc, origin: string): Doc {
  const d = doc as unknown as Json;
  const info = (d.info ?? {}) as Json;
  d.info = { ...info, license: { name: "MIT", identifier: "MIT" } };
  const local = "http://127.0.0.1:8787";
  d.servers = origin === local ? [{ url: local, description: "Local (npm run dev)" }] : [{ url: origin, description: "This gateway" }, { url: local, description: "Local (npm run dev)" }];
  const components = (d.components ?? {}) as Json;
  d.components = components;
  components.securitySchemes = { ...((components.securitySchemes ?? {}) as Json), ...SECURITY_SCHEMES };
  components.parameters = { ...((components.parameters ?? {}) as Json), ...PARAMETERS };
  const used = new Set<string>();
  for (const [path, item] of Object.entries((d.paths ?? {}) as Json)) {
    for (const method of METHODS) {
      const op = (item as Json)[method] as Json | undefined;
      if (!op) continue;
      let id = typeof op.operationId === "string" ? op.operationId : operationIdFor(method, path);
      for (let n = 2; used.has(id); n++) id = `${operationIdFor(method, path)}${n}`;
      used.add(id);
      op.operationId = id;
      if (typeof op.summary !== "string") op.summary = `${method.toUpperCase()} ${path}`;
      // Tags name surfaces by what they are, not by internal numbering ("Seed 000: ...", "... (seed 002)").
      if (Array.isArray(op.tags)) op.tags = op.tags.map((t) => (typeof t === "string" ? plainTag(t) : t));
      // Public routes say so; routes with a Bearer key also take it as HTTP Basic (curl -u).
      const security = Array.isArray(op.security) ? (op.security as Json[]) : [];
      if (security.some((s) => "bearerAuth" in s) && !security.some((s) => "basicAuth" in s)) security.push({ basicAuth: [] });
      op.security = security;
      const params = Array.isArray(op.parameters) ? (op.parameters as Json[]) : [];
      const has = (name: string) => params.some((p) => typeof p.name === "string" && p.name.toLowerCase() === name.toLowerCase());
      if (method === "post" && !has("Idempotency-Key")) params.push({ $ref: "#/components/parameters/IdempotencyKey" });
      if (path.startsWith("/v1/") && !has("Stripe-Version")) params.push({ $ref: "#/components/parameters/StripeVersion" });
      if (params.length) op.parameters = params;
      addCommonRefusals(op);
      addExamples(d, op);
    }
  }
  return doc;
}

/**
 * The refusals every authenticated API operation can answer, listed where its route did not: 429 (too
 * many requests, or failed authentications), and 413 and 415 when it takes a body (too large, a
 * content type it does not read). Each in the operation's own error format: the schema of its 400
 * (else its 401). A provider's webhook (no 401: it is signed) reads its body as it comes.
 */
function addCommonRefusals(op: Json): void {
  const responses = (op.responses ?? {}) as Json;
  if (!responses["401"]) return;
  const model = (responses["400"] ?? responses["401"]) as Json | undefined;
  const content = model?.content as Json | undefined;
  if (!content) return;
  const schemaOnly = Object.fromEntries(Object.entries(content).map(([type, media]) => [type, { schema: (media as Json).schema }]));
  const add = (status: string, description: string) => {
    if (!responses[status]) responses[status] = { description, content: schemaOnly };
  };
  if (op.requestBody) {
    add("413", "The request body is larger than the gateway takes (64 KiB).");
    add("415", "The request body's Content-Type is not one this operation reads.");
  }
  add("429", "Too many requests, or too many failed authentications: wait for `Retry-After` seconds.");
  op.responses = responses;
}

export function plainTag(tag: string): string {
  return tag.replace(/^seed \d+:\s*/i, "").replace(/\s*\(seed \d+\)$/i, "").trim() || tag;
}

function addExamples(d: Json, op: Json): void {
  const body = op.requestBody as Json | undefined;
  for (const media of Object.values(((body?.content ?? {}) as Json) ?? {})) {
    const m = media as Json;
    if (m.example === undefined && m.examples === undefined && m.schema) m.example = exampleOf(d, m.schema);
  }
  const responses = (op.responses ?? {}) as Json;
  const success = Object.keys(responses).find((code) => code.startsWith("2")) ?? Object.keys(responses)[0];
  const response = success ? (responses[success] as Json) : undefined;
  const content = (response?.content ?? {}) as Json;
  for (const media of Object.values(content)) {
    const m = media as Json;
    if (m.example === undefined && m.examples === undefined && m.schema) m.example = exampleOf(d, m.schema);
  }
}
