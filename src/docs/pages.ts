// /docs: Swagger UI (the swagger-ui-dist package's prebuilt bundle, served from this Worker, no CDN)
// reading /openapi.json, where "Try it out" calls this gateway. The gateway's own public routes (/,
// /healthz, /docs, /openapi.json) and the shopper's HTML pages are documented here too.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js";
import swaggerCss from "swagger-ui-dist/swagger-ui.css";
import type { Env } from "../env";
import { documentPath } from "./openapi";

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference: edge payment gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>`;

// Tags start collapsed (the document is large; a deep link such as /docs#/Payment%20intents opens
// one); the key typed into "Authorize" is not persisted.
const init = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, docExpansion: "none", defaultModelsExpandDepth: -1, persistAuthorization: false, tryItOutEnabled: false, presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout" });`;

const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
const CACHE = "public, max-age=3600";

const Page = z.string().meta({ example: "<!doctype html>..." });
const page = (description: string) => ({ 200: { description, content: { "text/html": { schema: Page } } } });

export function registerDocs<E extends { Bindings: Env }>(app: OpenAPIHono<E>): void {
  app.get("/docs", (c) => c.html(html, 200, { "Content-Security-Policy": CSP }));
  app.get("/docs/assets/swagger-ui-bundle.js", (c) => c.body(swaggerBundle, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": CACHE }));
  app.get("/docs/assets/swagger-ui.css", (c) => c.body(swaggerCss, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": CACHE }));
  app.get("/docs/assets/init.js", (c) => c.body(init, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" }));

  const tags = ["Gateway"];
  const security: [] = [];
  documentPath(app, { method: "get", path: "/", summary: "Where to start: links to the API, its document and this reference", tags, security, responses: { 200: { description: "Links", content: { "application/json": { schema: z.object({ name: z.string(), api: z.string(), openapi: z.string(), docs: z.string() }).meta({ example: { name: "edge-payment-gateway", api: "/v1", openapi: "/openapi.json", docs: "/docs" } }) } } } } });
  documentPath(app, {
    method: "get",
    path: "/favicon.ico",
    summary: "An empty icon (SVG), so browsers opening a page log no 404",
    tags,
    security,
    responses: { 200: { description: "The icon", content: { "image/svg+xml": { schema: z.string().meta({ example: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>' }) } } } },
  });
  documentPath(app, { method: "get", path: "/healthz", summary: "Liveness: the Worker answers", tags, security, responses: { 200: { description: "Alive", content: { "application/json": { schema: z.object({ ok: z.boolean() }).meta({ example: { ok: true } }) } } } } });
  documentPath(app, { method: "get", path: "/openapi.json", summary: "This OpenAPI 3.1 document", tags, security, responses: { 200: { description: "The document", content: { "application/json": { schema: z.object({ openapi: z.string() }).meta({ example: { openapi: "3.1.0" } }) } } } } });
  documentPath(app, { method: "get", path: "/docs", summary: "The interactive API reference (HTML)", tags, security, responses: page("The reference") });
  for (const [file, type] of [["swagger-ui-bundle.js", "text/javascript"], ["swagger-ui.css", "text/css"], ["init.js", "text/javascript"]] as const) {
    documentPath(app, { method: "get", path: `/docs/assets/${file}`, summary: `The reference's ${file}`, tags, security, responses: { 200: { description: file, content: { [type]: { schema: z.string().meta({ example: "..." }) } } } } });
  }
}

/** The HTML pages a shopper's browser visits (hosted checkout, the intent's payment page, 3DS, a provider's return). */
export function registerPageDocs<E extends { Bindings: Env }>(app: OpenAPIHono<E>): void {
  const tags = ["Shopper pages"];
  const security: [] = [];
  const id = z.object({ id: z.string() });
  const pages: [method: "get" | "post", path: string, summary: string][] = [
    ["get", "/checkout/{id}", "Hosted checkout page of a Checkout Session (cs_...)"],
    ["post", "/checkout/{id}", "The checkout page's form: pays the session"],
    ["get", "/checkout/{id}/return", "Where the shopper returns after 3-D Secure or a provider's approval"],
    ["get", "/pay/{id}", "Payment page of a payment intent (pi_...)"],
    ["post", "/pay/{id}", "The payment page's form: confirms the intent"],
    ["get", "/sandbox/3ds/{id}", "The sandbox's 3-D Secure challenge page"],
    ["post", "/sandbox/3ds/{id}", "Approve or fail the sandbox's 3-D Secure challenge"],
    ["get", "/connectors/return/{id}", "Return from a provider's approval page (PayPal)"],
    ["post", "/connectors/return/{id}", "Return from a provider's approval page (form post)"],
  ];
  for (const [method, path, summary] of pages) {
    documentPath(app, { method, path, summary, tags, security, request: { params: id }, responses: { ...page("An HTML page"), 303: { description: "Redirect to the next page" } } });
  }
  // An invoice's page (hosted_invoice_url): its id and its token, a bearer link.
  documentPath(app, {
    method: "get",
    path: "/invoice/{id}/{token}",
    summary: "Hosted invoice page of an invoice (in_...): the invoice, and a link to pay it while it is open",
    tags,
    security,
    request: { params: z.object({ id: z.string(), token: z.string() }) },
    responses: page("An HTML page"),
  });
  documentPath(app, {
    method: "post",
    path: "/invoice/{id}/{token}",
    summary: "The invoice page's Pay button, for an invoice no payment is coming for (marked uncollectible): opens its next attempt's intent and goes to its /pay page",
    tags,
    security,
    request: { params: z.object({ id: z.string(), token: z.string() }) },
    responses: { ...page("The 404 page (another token)"), 303: { description: "To the new attempt's /pay page, or back to the invoice's page" } },
  });
  // The sandbox acting as PayPal's approval page (the order is the `token` query or form field).
  documentPath(app, { method: "get", path: "/sandbox/paypal/checkoutnow", summary: "The sandbox's PayPal approval page", tags, security, request: { query: z.object({ token: z.string() }) }, responses: page("An HTML page") });
  documentPath(app, { method: "post", path: "/sandbox/paypal/checkoutnow", summary: "Approve or cancel on the sandbox's PayPal approval page (form: token, decision)", tags, security, responses: { ...page("An HTML page"), 303: { description: "Back to the merchant's return or cancel URL" } } });
}
