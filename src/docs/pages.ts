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
<link rel="stylesheet" href="/docs/assets/a11y.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>`;

// Tags start collapsed (the document is large; a deep link such as /docs#/Payment%20intents opens
// one); the key typed into "Authorize" is not persisted.
// Swagger UI renders the server picker with an empty <label>: it is named here, again after each
// re-render. Its examples scroll when long: each is made reachable by the keyboard (tabindex).
const init = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, docExpansion: "none", defaultModelsExpandDepth: -1, persistAuthorization: false, tryItOutEnabled: false, presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout" });
const nameServers = () => {
  const s = document.getElementById("servers");
  if (s && !s.hasAttribute("aria-label")) s.setAttribute("aria-label", "Server");
  for (const pre of document.querySelectorAll("pre.microlight:not([tabindex])")) pre.setAttribute("tabindex", "0");
};
new MutationObserver(nameServers).observe(document.getElementById("swagger-ui"), { childList: true, subtree: true });`;

// Swagger UI's own colours that fall below WCAG AA's 4.5:1 on white (found by axe-core): darker
// shades of the same hues. Long examples wrap rather than scroll sideways (a region the keyboard
// could not reach).
const a11yCss = `.swagger-ui .info .title small{background:#5c6370}
.swagger-ui .info .title small.version-stamp{background:#3f6b00}
.swagger-ui .info a,.swagger-ui .info .url{color:#1f6fbf}
.swagger-ui .btn.authorize{color:#1d7a50;border-color:#1d7a50}
.swagger-ui .btn.authorize svg{fill:#1d7a50}
.swagger-ui .opblock.opblock-post .opblock-summary-method{background:#1d7a50}
.swagger-ui .opblock.opblock-get .opblock-summary-method{background:#1f6fbf}
.swagger-ui .opblock.opblock-delete .opblock-summary-method{background:#b3261e}
.swagger-ui .opblock.opblock-put .opblock-summary-method{background:#8a4b00}
.swagger-ui .opblock.opblock-patch .opblock-summary-method{background:#17706a}
.swagger-ui .parameter__in{color:#595959}
.swagger-ui .microlight,.swagger-ui .microlight *{white-space:pre-wrap!important;overflow-wrap:anywhere!important}
`;

const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
const CACHE = "public, max-age=3600";

const Page = z.string().meta({ example: "<!doctype html>..." });
const page = (description: string) => ({ 200: { description, content: { "text/html": { schema: Page } } } });
const htmlAnswer = (description: string) => ({ description, content: { "text/html": { schema: Page } } });
/** What every shopper's page may answer instead (src/pages/guard.ts, cross-site.ts): HTML pages too. */
const pageRefusals = (method: "get" | "post") => ({
  ...(method === "post" ? { 403: htmlAnswer("A form posted from another site (Origin, Sec-Fetch-Site): refused, nothing done") } : {}),
  404: htmlAnswer("Not found: an unknown id, a wrong client_secret or token, or another path under the page"),
  405: htmlAnswer("Another method than the page takes (Allow lists them)"),
  429: htmlAnswer("Too many requests from this address: wait a moment and try again (Retry-After)"),
});

export function registerDocs<E extends { Bindings: Env }>(app: OpenAPIHono<E>): void {
  app.get("/docs", (c) => c.html(html, 200, { "Content-Security-Policy": CSP }));
  app.get("/docs/assets/swagger-ui-bundle.js", (c) => c.body(swaggerBundle, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": CACHE }));
  app.get("/docs/assets/swagger-ui.css", (c) => c.body(swaggerCss, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": CACHE }));
  app.get("/docs/assets/a11y.css", (c) => c.body(a11yCss, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "no-cache" }));
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
  for (const [file, type] of [["swagger-ui-bundle.js", "text/javascript"], ["swagger-ui.css", "text/css"], ["a11y.css", "text/css"], ["init.js", "text/javascript"]] as const) {
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
    ["get", "/sandbox/3ds/{id}", "The sandbox's 3-D Secure challenge page (of a payment intent, pi_..., or a setup intent, seti_...)"],
    ["post", "/sandbox/3ds/{id}", "Approve or fail the sandbox's 3-D Secure challenge (of a payment or a setup intent)"],
    ["get", "/connectors/return/{id}", "Return from a provider's approval page (PayPal)"],
    ["post", "/connectors/return/{id}", "Return from a provider's approval page (form post)"],
  ];
  for (const [method, path, summary] of pages) {
    const responses: Record<string, ReturnType<typeof htmlAnswer> | { description: string }> = { ...page("An HTML page"), 303: { description: "Redirect to the next page" }, ...pageRefusals(method) };
    if (method === "get" && path === "/checkout/{id}") responses[410] = htmlAnswer("The session expired: it can no longer be paid");
    documentPath(app, { method, path, summary, tags, security, request: { params: id }, responses });
  }
  // An invoice's page (hosted_invoice_url): its id and its token, a bearer link.
  documentPath(app, {
    method: "get",
    path: "/invoice/{id}/{token}",
    summary: "Hosted invoice page of an invoice (in_...): the invoice, and a link to pay it while it is open",
    tags,
    security,
    request: { params: z.object({ id: z.string(), token: z.string() }) },
    responses: { ...page("An HTML page"), ...pageRefusals("get") },
  });
  documentPath(app, {
    method: "post",
    path: "/invoice/{id}/{token}",
    summary: "The invoice page's Pay button, for an invoice no payment is coming for (marked uncollectible): opens its next attempt's intent and goes to its /pay page",
    tags,
    security,
    request: { params: z.object({ id: z.string(), token: z.string() }) },
    responses: { ...page("An HTML page"), 303: { description: "To the new attempt's /pay page, or back to the invoice's page" }, ...pageRefusals("post") },
  });
  // The sandbox acting as PayPal's approval page (the order is the `token` query or form field).
  documentPath(app, { method: "get", path: "/sandbox/paypal/checkoutnow", summary: "The sandbox's PayPal approval page", tags, security, request: { query: z.object({ token: z.string() }) }, responses: { ...page("An HTML page"), ...pageRefusals("get") } });
  documentPath(app, { method: "post", path: "/sandbox/paypal/checkoutnow", summary: "Approve or cancel on the sandbox's PayPal approval page (form: token, decision)", tags, security, responses: { ...page("An HTML page"), 303: { description: "Back to the merchant's return or cancel URL" }, ...pageRefusals("post") } });
}
