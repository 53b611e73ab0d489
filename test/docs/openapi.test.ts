// The API reference: /openapi.json covers every route the app registers, with what a linter and a
// newcomer need (operationId, servers, Bearer and Basic auth, Idempotency-Key and Stripe-Version,
// an example per operation); /docs serves Swagger UI from the gateway itself. The document is
// linted with @redocly/cli in test/e2e/docs.e2e.test.ts.
import { OpenAPIHono } from "@hono/zod-openapi";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { buildApp } from "../../src/app";
import { documentPath, exampleOf, finishDocument, undocumentedRoutes } from "../../src/docs/openapi";
import { KEY_A } from "../helpers";

type Op = { operationId?: string; tags?: string[]; security?: Record<string, unknown>[]; parameters?: { $ref?: string; name?: string }[]; requestBody?: { content: Record<string, { example?: unknown }> }; responses: Record<string, { content?: Record<string, { example?: unknown; examples?: unknown }> }> };
interface Doc {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, Op>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }>; parameters: Record<string, { name: string; in: string }> };
}

async function document(): Promise<Doc> {
  const res = await exports.default.fetch("http://gateway.test/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

let doc0: Doc | undefined;
const operations = (doc: Doc) => Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

describe("GET /openapi.json covers the app", () => {
  it("documents every route the app registers (the list below names what is missing)", async () => {
    const missing = undocumentedRoutes(buildApp(), await document());
    expect(missing, `routes missing from /openapi.json: register them with documentPath() (src/docs/openapi.ts) or app.openAPIRegistry.registerPath:\n${missing.join("\n")}`).toEqual([]);
  });

  it("reports a route that is registered but not documented", () => {
    const app = new OpenAPIHono();
    app.get("/documented", (c) => c.json({}));
    app.post("/widgets/:id/spin", (c) => c.json({}));
    app.use("*", async (_c, next) => next());
    documentPath(app as unknown as Parameters<typeof documentPath>[0], { method: "get", path: "/documented", summary: "Documented", responses: { 200: { description: "OK" } } });
    const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    expect(undocumentedRoutes(app, doc)).toEqual(["POST /widgets/:id/spin"]);
    expect(doc.paths?.["/documented"]?.get?.operationId).toBe("getDocumented");
  });

  it("documents /healthz, the root, the docs and the surfaces", async () => {
    const doc = await document();
    for (const path of ["/healthz", "/", "/docs", "/openapi.json", "/v1/payment_intents", "/v1/checkout/sessions", "/api/v1/PaymentIntents", "/payments/create-payment-intent"]) expect(doc.paths[path], path).toBeDefined();
  });
});

describe("the document is complete", () => {
  it("has servers, Bearer and HTTP Basic security schemes, and the two header parameters", async () => {
    const doc = await document();
    expect(doc.servers[0]?.url).toBe("http://gateway.test");
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.basicAuth).toMatchObject({ type: "http", scheme: "basic" });
    expect(doc.components.parameters.IdempotencyKey).toMatchObject({ name: "Idempotency-Key", in: "header" });
    expect(doc.components.parameters.StripeVersion).toMatchObject({ name: "Stripe-Version", in: "header" });
    // The documented example is a version the gateway accepts.
    const version = (doc.components.parameters.StripeVersion as unknown as { example: string }).example;
    const res = await exports.default.fetch("http://gateway.test/v1/payment_intents?limit=1", { headers: { authorization: `Bearer ${KEY_A}`, "stripe-version": version } });
    expect(res.status).toBe(200);
  });

  it("gives every operation a unique operationId, a security statement and an example", async () => {
    const doc = await document();
    const ids = new Set<string>();
    for (const { path, method, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.operationId, where).toMatch(/^[A-Za-z0-9_]+$/);
      expect(ids.has(op.operationId ?? ""), `${where}: duplicate operationId`).toBe(false);
      ids.add(op.operationId ?? "");
      expect(Array.isArray(op.security), where).toBe(true);
      for (const tag of op.tags ?? []) expect(tag, `${where}: tag names the surface, not a seed number`).not.toMatch(/seed \d/i);
      if (op.security?.some((s) => "bearerAuth" in s)) expect(op.security.some((s) => "basicAuth" in s), `${where}: curl -u`).toBe(true);
      const success = Object.entries(op.responses).find(([code]) => code.startsWith("2"));
      const media = Object.values(success?.[1].content ?? {});
      expect(media.length > 0 && media.every((m) => m.example !== undefined || m.examples !== undefined), `${where}: example`).toBe(true);
      for (const m of Object.values(op.requestBody?.content ?? {})) expect(m.example, `${where}: request example`).toBeDefined();
    }
  });

  it("documents the 4xx answers of every operation but the static files (redocly.yaml leaves that rule to this test)", async () => {
    const STATIC = new Set(["/", "/favicon.ico", "/healthz", "/openapi.json", "/docs", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/a11y.css", "/docs/assets/init.js", "/dashboard", "/dashboard/app.js", "/dashboard/app.css"]);
    const missing = operations(doc0 ?? (doc0 = await document()))
      .filter(({ path, op }) => !STATIC.has(path) && !Object.keys(op.responses).some((code) => /^4(\d\d|XX)$/.test(code)))
      .map(({ path, method }) => `${method.toUpperCase()} ${path}`);
    expect(missing).toEqual([]);
    // The shoppers' pages say what they answer instead of the page: HTML 404, 405 and 429, and a POST's 403.
    const doc = doc0;
    expect(Object.keys(doc.paths["/pay/{id}"]?.post?.responses ?? {})).toEqual(expect.arrayContaining(["403", "404", "405", "429"]));
    expect(Object.keys(doc.paths["/checkout/{id}"]?.get?.responses ?? {})).toEqual(expect.arrayContaining(["404", "410", "429"]));
    // Every API operation that authenticates lists 429, and 413 and 415 when it takes a body, in its
    // own error format (the schema of its 400): seed 002's sale, seed 004's endpoints, /v1.
    const lacking: string[] = [];
    for (const { path, method, op } of operations(doc)) {
      if (STATIC.has(path) || !op.responses["400"] || !op.responses["401"]) continue;
      const wanted = [...(op.requestBody ? ["413", "415"] : []), "429"];
      for (const code of wanted) if (!op.responses[code]) lacking.push(`${method.toUpperCase()} ${path} ${code}`);
    }
    expect(lacking).toEqual([]);
    const sale = doc.paths["/api/v1/payments/sale"]?.post?.responses ?? {};
    const schemaOf = (code: string) => (sale[code]?.content?.["application/json"] as { schema?: unknown } | undefined)?.schema;
    expect(schemaOf("415")).toBeDefined();
    expect(schemaOf("415")).toEqual(schemaOf("400"));
  });

  it("gives string fields with a pattern an example that matches it", async () => {
    const doc = doc0 ?? (doc0 = await document());
    for (const [path, method, field, pattern] of [
      ["/v1/invoices/create_preview", "post", "subscription", /^sub_[A-Za-z0-9]{8,64}$/],
      ["/api/v1/payments/failed/{id}/retry", "post", "expiry", /^(0[1-9]|1[0-2])\d{2}$/],
      ["/api/v1/payments/failed/{id}/retry", "post", "cvv", /^\d{3,4}$/],
      ["/api/v1/payments/stripe/create-customer/", "post", "email", /^[^\s@]+@[^\s@]+$/],
    ] as const) {
      const content = doc.paths[path]?.[method]?.requestBody?.content ?? {};
      const example = Object.values(content)[0]?.example as Record<string, unknown> | undefined;
      expect(example?.[field], `${path} ${field}`).toMatch(pattern);
    }
  });

  it("takes Idempotency-Key on every POST and Stripe-Version on /v1", async () => {
    const doc = await document();
    for (const { path, method, op } of operations(doc)) {
      const refs = (op.parameters ?? []).map((p) => p.$ref ?? p.name);
      if (method === "post") expect(refs.some((r) => r === "#/components/parameters/IdempotencyKey" || r?.toLowerCase() === "idempotency-key"), `POST ${path}`).toBe(true);
      if (path.startsWith("/v1/")) expect(refs, `${method} ${path}`).toContain("#/components/parameters/StripeVersion");
    }
  });

  it("builds examples that fit their schemas, null deep in a nested object where null is allowed", () => {
    const doc = { components: { schemas: { Thing: { type: "object", properties: { id: { type: "string", example: "th_1" }, n: { type: "integer", minimum: 3 }, kind: { type: "string", enum: ["a", "b"] }, tags: { type: "array", items: { type: "string" } } }, required: ["id", "n", "kind"] } } } };
    expect(exampleOf(doc, { $ref: "#/components/schemas/Thing" })).toEqual({ id: "th_1", n: 3, kind: "a" });
    expect(exampleOf(doc, { anyOf: [{ type: "null" }, { type: "boolean" }] })).toBe(true);
    expect(exampleOf(doc, z.toJSONSchema(z.string().min(8)))).toHaveLength(8);
    // An object required deep down still gets every property it requires; a nullable one there is null.
    const deep = z.toJSONSchema(z.object({ a: z.object({ b: z.object({ c: z.object({ d: z.object({ address: z.object({ city: z.string().nullable(), line1: z.string().nullable() }), card: z.object({ brand: z.string() }).nullable() }) }) }) }) }));
    expect(exampleOf(doc, deep)).toEqual({ a: { b: { c: { d: { address: { city: null, line1: null }, card: null } } } } });
  });

  it("names the request's own origin as its server, and keeps the local one", () => {
    const doc = finishDocument({ openapi: "3.1.0", info: { title: "t", version: "1" }, paths: {} }, "https://pay.example.com") as unknown as Doc;
    expect(doc.servers.map((s) => s.url)).toEqual(["https://pay.example.com", "http://127.0.0.1:8787"]);
  });

  it("HTTP Basic with the key as user name works, as the document says (curl -u sk_test_...:)", async () => {
    const res = await exports.default.fetch("http://gateway.test/v1/payment_intents?limit=1", { headers: { authorization: `Basic ${btoa(`${KEY_A}:`)}` } });
    expect(res.status).toBe(200);
  });
});

describe("GET /docs", () => {
  it("serves Swagger UI from the gateway itself (no CDN) and the root points to it", async () => {
    const res = await exports.default.fetch("http://gateway.test/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "").filter((s) => !s.startsWith("data:"));
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) expect(s, "every asset is local").toMatch(/^\/docs\/assets\//);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    for (const s of sources) {
      const asset = await exports.default.fetch(`http://gateway.test${s}`);
      expect(asset.status, s).toBe(200);
      expect(asset.headers.get("content-type"), s).toMatch(s.endsWith(".css") ? /text\/css/ : /javascript/);
      const text = await asset.text();
      if (s.endsWith("swagger-ui-bundle.js")) expect(text).toContain("SwaggerUIBundle");
      if (s.endsWith("init.js")) expect(text).toContain("/openapi.json");
    }
    const root = (await (await exports.default.fetch("http://gateway.test/")).json()) as { docs: string };
    expect(root.docs).toBe("/docs");
  });
});
