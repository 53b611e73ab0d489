// Builds the gateway's Hono app: request ids, security headers, one error renderer, the /v1 surface,
// the OpenAPI document generated from the route schemas, and the sandbox's 3DS pages.
import { withRequestIdentity } from "./http/request-identity";
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { ApiError, BEARER_CHALLENGE, internalError } from "./core/errors";
import { redactCardNumbers, redactCardNumbersQuoted } from "./core/card-number";
import { randomToken } from "./core/ids";
import { errorCodeOf, v1ErrorBody } from "./api/v1/errors";
import { registerPaymentIntentsSurface } from "./api/paymentintents";
import { registerIcligoSurface } from "./api/icligo";
import { registerCharges } from "./api/v1/charges";
import { registerPaymentIntents } from "./api/v1/payment_intents";
import { registerEvents } from "./api/v1/events";
import { registerRefunds } from "./api/v1/refunds";
import { registerWebhookEndpoints } from "./api/v1/webhook_endpoints";
import { registerConnectorAccounts } from "./api/v1/connector_accounts";
import { registerAdmin } from "./api/v1/admin";
import { registerCredential } from "./api/v1/credential";
import { registerApiKeys } from "./api/v1/api_keys";
import { registerPspHealth } from "./api/v1/psp_health";
import { registerPspWebhooks } from "./api/v1/psp_webhooks";
import { registerCustomers } from "./api/v1/customers";
import { registerPaymentMethods } from "./api/v1/payment_methods";
import { registerSetupAttempts } from "./api/v1/setup_attempts";
import { registerSetupIntents } from "./api/v1/setup_intents";
import { registerPrices } from "./api/v1/prices";
import { registerSubscriptions } from "./api/v1/subscriptions";
import { registerTestClocks } from "./api/v1/test_clocks";
import { registerInvoicePayments } from "./api/v1/invoice_payments";
import { registerPosSurface } from "./api/pos";
import { posError } from "./api/pos/surface";
import { PosError } from "./api/pos/errors";
import { registerBackendSurface } from "./api/backend";
import { BACKEND_BASE, backendCors, backendError } from "./api/backend/surface";
import { registerCheckoutSessions } from "./api/v1/checkout_sessions";
import { stripeVersion } from "./api/v1/stripe-version";
import { registerProducts } from "./api/v1/products";
import { checkoutPages, notFoundPage } from "./pages/checkout";
import { providerReturnPages } from "./pages/provider-return";
import { sandboxPayPalPages } from "./pages/sandbox-paypal";
import type { AppEnv } from "./api/v1/route";
import { ipRateLimit, limitClientIp } from "./auth/ip-limit";
import { isPagePath, PAGE_PREFIXES, pageGuard } from "./pages/guard";
import { config } from "./env";
import { log, logEnabled, requestLogScope, setLogLevel, type RequestLogFields } from "./log";
import { requestLine } from "./http/request-log";
import { threeDSecurePages } from "./pages/threeds";
import { invoicePages } from "./pages/invoice";
import { registerDocs, registerPageDocs } from "./docs/pages";
import { finishDocument } from "./docs/openapi";
import { registerDashboard } from "./dashboard";

/** An empty SVG: the icon browsers ask for at /favicon.ico. */
const EMPTY_ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>';

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

export function buildApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.use("*", async (c, next) => {
    setLogLevel(config(c.env).logLevel);
    const given = c.req.header("x-request-id");
    // A request id the client chose is kept (logged, echoed, in the audit log) only when nothing in it is card-shaped.
    const requestId = given && REQUEST_ID.test(given) && redactCardNumbers(given) === given ? given : `req_${randomToken(14)}`;
    c.set("requestId", requestId);
    const started = Date.now();
    const fields: RequestLogFields = {};
    const key = c.req.header("idempotency-key");
    const idempotencyKey = key && key.length <= 255 ? key : null;
    await requestLogScope(fields, () => withRequestIdentity({ requestId, idempotencyKey }, () => next()));
    c.header("Request-Id", requestId);
    // API answers may carry secrets (a key's secret, a webhook secret, a client secret): no cache keeps them, as Stripe's.
    if (!c.res.headers.has("Cache-Control") && (c.res.headers.get("Content-Type") ?? "").includes("json")) c.header("Cache-Control", "no-cache, no-store");
    if (logEnabled("info")) log("info", "request", await requestLine(c, fields, requestId, Date.now() - started));
  });
  app.use("*", secureHeaders({ crossOriginResourcePolicy: "same-origin", xFrameOptions: "DENY" }));
  // Stripe-Version: validated, and echoed on every /v1 response (src/api/v1/stripe-version.ts).
  app.use("/v1/*", stripeVersion);
  app.use("/v1/*", async (c, next) => {
    await next();
    // As Stripe's: the Idempotency-Key a write was sent with is echoed (stripe-node reads it back as
    // lastResponse.idempotencyKey).
    const key = c.req.header("idempotency-key");
    if (key && c.req.method !== "GET" && key.length <= 255) c.header("Idempotency-Key", key);
    // A payment provider's failure (502 provider_error) is the key's answer: a retry with the same key
    // is answered the same, so a client that retries 5xx by itself with its key (stripe-node) is told
    // not to. Without a key nothing is kept, and nothing is said.
    if (c.res.status === 502 && key) c.header("Stripe-Should-Retry", "false");
    // The gateway's own 409s (an outcome still being reconciled, a retry of a failed payment still
    // running, an amount changed under the page) are answers, not a lock: stripe-node retries every
    // 409 by itself unless told not to, and each retry would meet the same refusal. An idempotency
    // key in use is the one 409 a retry resolves, as at Stripe, and is left to the client.
    if (c.res.status === 409 && !c.res.headers.has("Stripe-Should-Retry") && (await errorCodeOf(c.res)) !== "idempotency_key_in_use") c.header("Stripe-Should-Retry", "false");
  });

  app.onError((err, c) => {
    const requestId = c.get("requestId");
    let data = err instanceof ApiError ? err.data : null;
    if (!data && err instanceof HTTPException) {
      data = { status: err.status, type: "invalid_request_error", message: err.message || "Invalid request." };
    }
    if (!data) {
      log("error", "unhandled error", { request_id: requestId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      data = internalError().data;
    }
    const headers: Record<string, string> = { "Request-Id": requestId };
    if (data.retryAfterSeconds !== undefined) headers["Retry-After"] = String(data.retryAfterSeconds);
    // As Stripe's: a lock_timeout (nothing was written) tells the client to retry it. stripe-node and the
    // other official clients retry a 429 only when told so (they retry 409 and 5xx by themselves), so
    // without it an update racing others failed at the caller even with maxNetworkRetries set.
    if (data.code === "lock_timeout") headers["Stripe-Should-Retry"] = "true";
    // A 401 names how to authenticate (RFC 9110): a bearer key or token. Not Basic, which the API
    // takes too: a browser would open its own sign-in box for the dashboard's calls.
    if (data.status === 401) headers["WWW-Authenticate"] = BEARER_CHALLENGE;
    return c.json(v1ErrorBody(data, { requestId }), data.status as 400, headers);
  });

  // A path under the shoppers' pages that no pages app serves (/connectors/foo, /sandbox/foo): the pages'
  // HTML 404, never the API's JSON. Under /api/ (the seed surfaces' paths, none of which matched): the
  // JSON 404 of the /api/v1 surfaces' own format, not /v1's (which points at Stripe's documentation).
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    if (isPagePath(path)) return notFoundPage("Page");
    if (/^\/api(\/|$)/.test(path)) return posError(c, new PosError(404, "NOT_FOUND", `No route ${c.req.method.slice(0, 16)} ${path}: the API reference at /docs lists this gateway's surfaces and their paths.`));
    return c.json(
      // The path quoted as every error message quotes what a client sent: a card number in it as [card].
      v1ErrorBody({ status: 404, type: "invalid_request_error", message: `Unrecognized request URL (${c.req.method}: ${redactCardNumbersQuoted(path)}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.` }),
      404,
    );
  });

  app.get("/", (c) =>
    c.json({ name: "edge-payment-gateway", api: "/v1", openapi: "/openapi.json", docs: "/docs" }),
  );
  app.get("/healthz", (c) => c.json({ ok: true }));
  // Browsers ask for it on every page a shopper opens: an empty icon, and no 404 in their console.
  app.get("/favicon.ico", (c) => c.body(EMPTY_ICON, 200, { "Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400" }));

  // Routes without credentials are limited per client IP.
  app.use("/v1/psp_webhooks/*", ipRateLimit);
  // Seed 004's webhooks answer a 429 in their own error format ({"error": "..."}), as every other error.
  app.use("/api/v1/payments/webhooks/*", async (c, next) => {
    try {
      await limitClientIp(c.env, (n) => c.req.header(n));
    } catch (err) {
      return backendError(c, err);
    }
    await next();
  });
  // Seed 004's Stripe and PayPal endpoints are called from the merchant's own pages (the document's
  // "Frontend JavaScript" examples, with the user's bearer token): they answer CORS, preflight
  // included, for any origin. No cookie is ever an authority here (credentials are not allowed), so
  // another site gets nothing it could not get with the token from a shell. The webhooks do not.
  for (const path of [`${BACKEND_BASE}/stripe/*`, `${BACKEND_BASE}/paypal/*`]) app.use(path, backendCors);
  for (const prefix of PAGE_PREFIXES) app.use(`${prefix}/*`, pageGuard);

  registerPaymentIntents(app);
  registerRefunds(app);
  registerCharges(app);
  registerEvents(app);
  registerWebhookEndpoints(app);
  registerConnectorAccounts(app);
  registerPspWebhooks(app);
  registerPspHealth(app);
  registerApiKeys(app);
  registerCredential(app);
  registerAdmin(app);
  // Seed 000: /api/v1/PaymentIntents, a sub-app rendering its own problem details.
  registerPaymentIntentsSurface(app);
  // Seed 003: iCliGo /payments, its own error payload.
  registerIcligoSurface(app);
  registerCustomers(app);
  registerPaymentMethods(app);
  registerSetupIntents(app);
  registerSetupAttempts(app);
  registerProducts(app);
  registerPrices(app);
  registerSubscriptions(app);
  registerInvoicePayments(app);
  registerTestClocks(app);
  // Seed 004 (/api/v1/payments/{stripe,paypal,webhooks}) must be mounted before seed 002 (the rest of /api/v1/payments).
  registerBackendSurface(app);
  registerPosSurface(app);
  registerCheckoutSessions(app);

  // /docs (Swagger UI served from here) and /openapi.json, completed by finishDocument (src/docs/openapi.ts).
  registerDocs(app);
  registerPageDocs(app);
  registerDashboard(app);
  app.get("/openapi.json", (c) => {
    const origin = config(c.env).publicBaseUrl ?? new URL(c.req.url).origin;
    const doc = app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "Edge payment gateway",
        version: "1.0.0",
        description: "Stripe-compatible payments API (/v1: amounts in minor units, JSON or form-encoded bodies, Idempotency-Key on every POST) and the further surfaces that share its core.",
      },
    });
    return c.json(finishDocument(doc, origin));
  });

  app.route("/sandbox/3ds", threeDSecurePages());
  app.route("/connectors/return", providerReturnPages());
  app.route("/sandbox/paypal", sandboxPayPalPages());
  const shopperPages = checkoutPages();
  app.route("/checkout", shopperPages.sessions);
  app.route("/pay", shopperPages.pay);
  app.route("/invoice", invoicePages());
  return app;
}
