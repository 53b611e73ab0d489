// A local, stateful fake of PayPal's OAuth, Orders v2 and Payments v2 endpoints, enough for the
// PayPal connector: client-credentials tokens (counted, to prove caching; a client id takes only the
// secret it was first used with), orders with an approval
// link, approval by visiting that link (it redirects to the order's return_url, as PayPal does),
// capture or authorize then capture, void, refunds (partial too), PayPal-Request-Id idempotency, and
// the webhook signature verification call (a transmission signature of "valid-signature" passes).
// A client id containing "down" gets 503 on every /v2 call. GET /v2/payments/authorizations/{id} answers
// the authorization with its order (the capture read-back); captures link "up" to their authorization.
// Faults for the chaos suite (test/chaos), per client id and operation (complete: an approved order's
// capture or authorize; capture: an authorization's capture; refund; read: a GET of an order, capture,
// refund or authorization): the controls of
// test/fakes/faults.ts, as the Stripe fake has them.
//   GET /__ledger?intent=<gateway intent id>   the orders made for it, with their captures and refunds (money moved here)
// A request replayed with its PayPal-Request-Id gets the first answer, faults or not.
// Fault "pending" (complete, capture, refund): done, but PayPal holds the payment PENDING; GET
// /v2/payments/captures/{id} and /v2/payments/refunds/{id} read it back, and
//   POST /__settle {id, status}   settles a pending capture, authorization or refund (COMPLETED, DECLINED, FAILED...)
// Amounts are PayPal's: HUF, JPY and TWD take no decimals, other currencies two, and a currency PayPal
// does not take (KWD, say) or a value with more decimals is refused (422), as PayPal does. The ledger
// counts money in PayPal's units (cents for USD), parsed exactly, never through a float.
import { createServer, type Server } from "node:http";
import { FaultInjector } from "./faults";
import { readBody, send } from "./http";

/** Which faultable operation a request is, if any. */
function faultOp(method: string, path: string): string | null {
  if (method === "GET" && /^\/v2\/(checkout\/orders|payments\/(captures|refunds|authorizations))\/[^/]+$/.test(path)) return "read";
  if (method !== "POST") return null;
  if (/^\/v2\/checkout\/orders\/[^/]+\/(capture|authorize)$/.test(path)) return "complete";
  if (/^\/v2\/payments\/authorizations\/[^/]+\/capture$/.test(path)) return "capture";
  if (/^\/v2\/payments\/captures\/[^/]+\/refund$/.test(path)) return "refund";
  return null;
}

interface Amount {
  currency_code: string;
  value: string;
}

interface Order {
  id: string;
  intent: "CAPTURE" | "AUTHORIZE";
  status: string;
  amount: Amount;
  custom_id: string | null;
  invoice_id: string | null;
  return_url: string;
  approved: boolean;
  declined: boolean;
  captures: { id: string; status: string; amount: Amount; refunded: number; requestId: string | null; authorization: string | null; refunds: { id: string; status: string; amount: number; value: Amount; requestId: string | null }[] }[];
  authorizations: { id: string; status: string; amount: Amount }[];
}

export interface PayPalFake {
  server: Server;
  port: number;
}

const PAYPAL_CURRENCIES = "aud brl cad cny czk dkk eur hkd huf ils jpy myr mxn twd nzd nok php pln gbp sgd sek chf thb usd".split(" ");
const NO_DECIMALS = ["huf", "jpy", "twd"];

/** An amount in PayPal's smallest units, parsed exactly; null when PayPal refuses it (its issue says why). */
function units(amount: Amount | undefined): { units: number } | { issue: string } {
  const code = amount?.currency_code?.toLowerCase() ?? "";
  if (!PAYPAL_CURRENCIES.includes(code)) return { issue: "CURRENCY_NOT_SUPPORTED" };
  const digits = NO_DECIMALS.includes(code) ? 0 : 2;
  const m = /^(\d+)(?:\.(\d+))?$/.exec(amount?.value ?? "");
  if (!m || (m[2] ?? "").length > digits) return { issue: "DECIMAL_PRECISION" };
  return { units: Number(m[1]) * 10 ** digits + Number((m[2] ?? "").padEnd(digits, "0") || "0") };
}
const cents = (amount: Amount): number => {
  const parsed = units(amount);
  return "units" in parsed ? parsed.units : Number.NaN;
};

export function startPayPalFake(): Promise<PayPalFake> {
  const orders = new Map<string, Order>();
  const tokens = new Map<string, string>();
  const tokenRequests = new Map<string, number>();
  const idempotency = new Map<string, { status: number; body: unknown }>();
  /** Each client id's secret (the first it was used with). */
  const secrets = new Map<string, string>();
  const calls = new Map<string, number>();
  const faults = new FaultInjector();
  let counter = 0;
  let base = "";
  const id = (prefix: string) => `${prefix}${String(++counter).padStart(10, "0")}`;
  const unprocessable = (issue: string) => ({ status: 422, body: { name: "UNPROCESSABLE_ENTITY", details: [{ issue }] } });

  const orderBody = (o: Order) => ({
    id: o.id,
    intent: o.intent,
    status: o.status,
    purchase_units: [
      {
        custom_id: o.custom_id,
        invoice_id: o.invoice_id,
        amount: o.amount,
        payments: {
          captures: o.captures.map(captureBody),
          authorizations: o.authorizations,
        },
      },
    ],
    links: [
      { rel: "self", href: `${base}/v2/checkout/orders/${o.id}`, method: "GET" },
      { rel: "payer-action", href: `${base}/checkoutnow?token=${o.id}`, method: "GET" },
    ],
  });

  const captureBody = (c: Order["captures"][number]) => ({
    id: c.id,
    status: c.status,
    amount: c.amount,
    links: [{ rel: "self", href: `${base}/v2/payments/captures/${c.id}` }, ...(c.authorization ? [{ rel: "up", href: `${base}/v2/payments/authorizations/${c.authorization}` }] : [])],
  });
  const allCaptures = () => [...orders.values()].flatMap((o) => o.captures);

  function handle(method: string, path: string, body: Record<string, unknown>, requestId: string | null, pending: boolean): { status: number; body: unknown } {
    let m: RegExpExecArray | null;
    if (method === "POST" && path === "/v2/checkout/orders") {
      const unit = ((body.purchase_units as Record<string, unknown>[] | undefined) ?? [])[0] ?? {};
      const checked = units(unit.amount as Amount | undefined);
      if ("issue" in checked) return unprocessable(checked.issue);
      const context = ((body.payment_source as { paypal?: { experience_context?: { return_url?: string } } } | undefined)?.paypal?.experience_context ?? {}) as { return_url?: string };
      const order: Order = {
        id: id("ORDER"),
        intent: body.intent === "AUTHORIZE" ? "AUTHORIZE" : "CAPTURE",
        status: "PAYER_ACTION_REQUIRED",
        amount: unit.amount as Amount,
        custom_id: (unit.custom_id as string | undefined) ?? null,
        invoice_id: (unit.invoice_id as string | undefined) ?? null,
        return_url: context.return_url ?? "",
        approved: false,
        declined: false,
        captures: [],
        authorizations: [],
      };
      orders.set(order.id, order);
      return { status: 201, body: orderBody(order) };
    }
    if ((m = /^\/v2\/checkout\/orders\/([^/]+)$/.exec(path)) && method === "GET") {
      const order = orders.get(m[1] ?? "");
      return order ? { status: 200, body: orderBody(order) } : { status: 404, body: { name: "RESOURCE_NOT_FOUND" } };
    }
    if ((m = /^\/v2\/checkout\/orders\/([^/]+)\/(capture|authorize)$/.exec(path)) && method === "POST") {
      const order = orders.get(m[1] ?? "");
      if (!order) return { status: 404, body: { name: "RESOURCE_NOT_FOUND" } };
      if (!order.approved) return unprocessable("ORDER_NOT_APPROVED");
      if (order.declined) return unprocessable("INSTRUMENT_DECLINED");
      if (order.status === "COMPLETED") return unprocessable("ORDER_ALREADY_CAPTURED");
      order.status = "COMPLETED";
      if (m[2] === "capture") order.captures.push({ id: id("CAP"), status: pending ? "PENDING" : "COMPLETED", amount: order.amount, refunded: 0, requestId, authorization: null, refunds: [] });
      else order.authorizations.push({ id: id("AUTH"), status: pending ? "PENDING" : "CREATED", amount: order.amount });
      return { status: 201, body: orderBody(order) };
    }
    if ((m = /^\/v2\/payments\/authorizations\/([^/]+)$/.exec(path)) && method === "GET") {
      const order = [...orders.values()].find((o) => o.authorizations.some((a) => a.id === m?.[1]));
      const auth = order?.authorizations.find((a) => a.id === m?.[1]);
      if (!order || !auth) return { status: 404, body: { name: "RESOURCE_NOT_FOUND" } };
      return {
        status: 200,
        body: {
          ...auth,
          supplementary_data: { related_ids: { order_id: order.id } },
          links: [
            { rel: "self", href: `${base}/v2/payments/authorizations/${auth.id}` },
            { rel: "up", href: `${base}/v2/checkout/orders/${order.id}` },
          ],
        },
      };
    }
    if ((m = /^\/v2\/payments\/authorizations\/([^/]+)\/(capture|void)$/.exec(path)) && method === "POST") {
      const order = [...orders.values()].find((o) => o.authorizations.some((a) => a.id === m?.[1]));
      const auth = order?.authorizations.find((a) => a.id === m?.[1]);
      if (!order || !auth) return { status: 404, body: { name: "RESOURCE_NOT_FOUND" } };
      // PayPal's issues: a void names what happened before (PREVIOUSLY_VOIDED, PREVIOUSLY_CAPTURED), a capture what the authorization is.
      if (auth.status !== "CREATED") {
        if (m[2] === "void") return unprocessable(auth.status === "VOIDED" ? "PREVIOUSLY_VOIDED" : "PREVIOUSLY_CAPTURED");
        return unprocessable(auth.status === "VOIDED" ? "AUTHORIZATION_VOIDED" : "AUTHORIZATION_ALREADY_CAPTURED");
      }
      if (m[2] === "void") {
        auth.status = "VOIDED";
        return { status: 204, body: undefined };
      }
      const amount = (body.amount as Amount | undefined) ?? auth.amount;
      const checked = units(amount);
      if ("issue" in checked) return unprocessable(checked.issue);
      if (amount.currency_code !== auth.amount.currency_code) return unprocessable("CURRENCY_MISMATCH");
      if (checked.units > cents(auth.amount)) return unprocessable("CAPTURE_AMOUNT_EXCEEDS_AUTHORIZATION");
      auth.status = "CAPTURED";
      const capture = { id: id("CAP"), status: pending ? "PENDING" : "COMPLETED", amount, refunded: 0, requestId, authorization: auth.id, refunds: [] };
      order.captures.push(capture);
      return { status: 201, body: { id: capture.id, status: capture.status, amount } };
    }
    if ((m = /^\/v2\/payments\/captures\/([^/]+)$/.exec(path)) && method === "GET") {
      const capture = allCaptures().find((c) => c.id === m?.[1]);
      return capture ? { status: 200, body: captureBody(capture) } : { status: 404, body: { name: "RESOURCE_NOT_FOUND" } };
    }
    if ((m = /^\/v2\/payments\/refunds\/([^/]+)$/.exec(path)) && method === "GET") {
      const capture = allCaptures().find((c) => c.refunds.some((r) => r.id === m?.[1]));
      const refund = capture?.refunds.find((r) => r.id === m?.[1]);
      if (!capture || !refund) return { status: 404, body: { name: "RESOURCE_NOT_FOUND" } };
      return { status: 200, body: { id: refund.id, status: refund.status, amount: refund.value, links: [{ rel: "up", href: `${base}/v2/payments/captures/${capture.id}` }] } };
    }
    if ((m = /^\/v2\/payments\/captures\/([^/]+)\/refund$/.exec(path)) && method === "POST") {
      const capture = allCaptures().find((c) => c.id === m?.[1]);
      if (!capture) return { status: 404, body: { name: "RESOURCE_NOT_FOUND" } };
      if (capture.status !== "COMPLETED" && capture.status !== "PARTIALLY_REFUNDED") return unprocessable("CAPTURE_NOT_COMPLETED");
      const amount = (body.amount as Amount | undefined) ?? capture.amount;
      const checked = units(amount);
      if ("issue" in checked) return unprocessable(checked.issue);
      if (capture.refunded + checked.units > cents(capture.amount)) return unprocessable("REFUND_AMOUNT_EXCEEDED");
      capture.refunded += checked.units;
      const refund = { id: id("REF"), status: pending ? "PENDING" : "COMPLETED", amount: checked.units, value: amount, requestId };
      capture.refunds.push(refund);
      return { status: 201, body: { id: refund.id, status: refund.status, amount } };
    }
    return { status: 404, body: { name: "RESOURCE_NOT_FOUND", message: `${method} ${path}` } };
  }

  function ledger(method: string, path: string, url: URL, body: string): { status: number; body: unknown } | null {
    if (path === "/__ledger" && method === "GET") {
      const intent = url.searchParams.get("intent") ?? "";
      const mine = [...orders.values()].filter((o) => o.custom_id === intent);
      return {
        status: 200,
        body: {
          orders: mine.map((o) => ({
            id: o.id,
            intent: o.intent,
            status: o.status,
            authorizations: o.authorizations.map((a) => ({ id: a.id, status: a.status, amount: cents(a.amount) })),
            captures: o.captures.map((c) => ({ id: c.id, status: c.status, amount: cents(c.amount), request_id: c.requestId, refunds: c.refunds.map((r) => ({ id: r.id, status: r.status, amount: r.amount, request_id: r.requestId })) })),
          })),
        },
      };
    }
    if (path === "/__settle" && method === "POST") {
      const { id: which, status } = JSON.parse(body || "{}") as { id?: string; status?: string };
      const payment = [...allCaptures(), ...allCaptures().flatMap((c) => c.refunds), ...[...orders.values()].flatMap((o) => o.authorizations)].find((p) => p.id === which);
      if (!payment || !status) return { status: 404, body: { error: `no capture, refund or authorization ${which ?? ""}` } };
      // A refund that fails gives its money back to the capture.
      const refundOf = allCaptures().find((c) => c.refunds.some((r) => r === payment));
      if (refundOf && "requestId" in payment && typeof payment.amount === "number" && !["COMPLETED", "PENDING"].includes(status)) refundOf.refunded -= payment.amount;
      payment.status = status;
      return { status: 200, body: { id: payment.id, status } };
    }
    return null;
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    const control = (await faults.control(req, path, url)) ?? (path === "/__settle" ? ledger("POST", path, url, await readBody(req)) : ledger(req.method ?? "GET", path, url, ""));
    if (control) return send(res, control.status, control.body);
    calls.set(`${req.method} ${path.replace(/[A-Z]+\d{10}/g, ":id")}`, (calls.get(`${req.method} ${path.replace(/[A-Z]+\d{10}/g, ":id")}`) ?? 0) + 1);
    if (path === "/__stats") return send(res, 200, { tokenRequests: Object.fromEntries(tokenRequests), calls: Object.fromEntries(calls), orders: orders.size });
    if (path === "/checkoutnow") {
      // The payer at PayPal: approve (or ?decision=deny), then back to the merchant's return_url.
      const order = orders.get(url.searchParams.get("token") ?? "");
      if (!order) return send(res, 404, { name: "RESOURCE_NOT_FOUND" });
      order.approved = true;
      order.declined = url.searchParams.get("decision") === "deny";
      order.status = "APPROVED";
      const back = new URL(order.return_url);
      back.searchParams.set("token", order.id);
      back.searchParams.set("PayerID", "FAKEPAYER123");
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    const body = await readBody(req);
    if (path === "/v1/oauth2/token") {
      const [client = "", ...rest] = Buffer.from((req.headers.authorization ?? "").replace(/^Basic\s+/i, ""), "base64").toString().split(":");
      if (!client || !body.includes("grant_type=client_credentials")) return send(res, 401, { error: "invalid_client" });
      // A client id's secret is the first one it was used with; another is refused, as PayPal does.
      const secret = rest.join(":");
      if (!secrets.has(client)) secrets.set(client, secret);
      if (secrets.get(client) !== secret) return send(res, 401, { error: "invalid_client", error_description: "Client Authentication failed" });
      tokenRequests.set(client, (tokenRequests.get(client) ?? 0) + 1);
      const token = `A21_${id("TOKEN")}`;
      tokens.set(token, client);
      return send(res, 200, { access_token: token, token_type: "Bearer", expires_in: 32400 });
    }
    const token = (req.headers.authorization ?? "").replace(/^Bearer\s+/i, "");
    const client = tokens.get(token);
    if (!client) return send(res, 401, { name: "AUTHENTICATION_FAILURE" });
    if (client.includes("down")) return send(res, 503, { name: "SERVICE_UNAVAILABLE" });
    const parsed = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    if (path === "/v1/notifications/verify-webhook-signature") {
      return send(res, 200, { verification_status: parsed.transmission_sig === "valid-signature" && parsed.webhook_id ? "SUCCESS" : "FAILURE" });
    }
    const requestId = req.headers["paypal-request-id"];
    const key = typeof requestId === "string" ? `${client}|${requestId}` : null;
    const stored = key ? idempotency.get(key) : undefined;
    const fault = faults.take(client, stored ? null : faultOp(req.method ?? "GET", path));
    if (await faults.refuses(fault, client, res)) return send(res, 500, { name: "INTERNAL_SERVER_ERROR", message: `An internal server error occurred (injected: ${fault ?? ""})` });
    const result = stored ?? handle(req.method ?? "GET", path, parsed, typeof requestId === "string" ? requestId : null, fault === "pending");
    if (key && !stored && result.status < 500) idempotency.set(key, result);
    await faults.delays(fault, client, res);
    if (result.status === 204) {
      res.writeHead(204);
      return res.end();
    }
    send(res, result.status, result.body);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      base = `http://127.0.0.1:${port}`;
      resolve({ server, port });
    });
  });
}
