#!/usr/bin/env node
// The gateway's command line (`npm run cli -- <command>` or `npx gateway <command>`), against
// --api-base (default http://127.0.0.1:$PORT, PORT defaulting to 8787):
//   listen --forward-to URL [--events a,b]  a temporary webhook endpoint pointing at a receiver this
//                                           command runs; each signed delivery is forwarded (headers
//                                           and body as sent) and printed on one line; the endpoint
//                                           is deleted on exit (Ctrl-C)
//   trigger <event>                         makes the objects that cause the event
//   events resend <evt_...> [--endpoint we_...]
//   merchants create --name NAME            (admin) a merchant and its first secret key
//   keys create [--type secret|restricted] [--permissions a,b] [--name NAME]
//   token --secret SECRET [--role admin] [--merchant acct_...] [--expires 3600]
// Credentials: --api-key (or GATEWAY_API_KEY): a secret key or a JWT; or --jwt-secret (or
// GATEWAY_JWT_SECRET): the deployment's JWT_SECRET, from which an admin token (or, with --merchant,
// a merchant token) is minted for the call. Arguments are parsed by node's util.parseArgs.
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";

const USAGE = `usage: gateway <command> [options]
  listen --forward-to URL [--events type,type]
  trigger payment_intent.succeeded | payment_intent.payment_failed | payment_intent.canceled | payment_intent.amount_capturable_updated | charge.refunded
  events resend <evt_id> [--endpoint we_id]
  merchants create --name NAME
  keys create [--type secret|restricted] [--permissions a,b] [--name NAME]
  token --secret SECRET [--role admin|support|merchant] [--merchant acct_id] [--expires SECONDS]
options: --api-base URL (default http://127.0.0.1:$PORT or :8787), --api-key KEY_OR_JWT, --jwt-secret SECRET, --merchant acct_id`;

const OPTIONS = {
  "api-base": { type: "string" },
  "api-key": { type: "string" },
  "jwt-secret": { type: "string" },
  secret: { type: "string" },
  merchant: { type: "string" },
  role: { type: "string" },
  expires: { type: "string" },
  issuer: { type: "string" },
  audience: { type: "string" },
  "forward-to": { type: "string" },
  events: { type: "string" },
  endpoint: { type: "string" },
  name: { type: "string" },
  type: { type: "string" },
  permissions: { type: "string" },
  help: { type: "boolean", short: "h" },
};

class UsageError extends Error {}

/** A JWT for the gateway: HS256 with the deployment's JWT_SECRET, its issuer and audience. */
export async function mintToken({ secret, role = "admin", merchant, expires = 3600, issuer = "edge-gateway", audience = "edge-gateway-api" }) {
  if (!secret) throw new UsageError("token needs --secret (the gateway's JWT_SECRET)");
  if (!Number.isInteger(expires) || expires < 1 || expires > 86_400) throw new UsageError("--expires must be 1 to 86400 seconds");
  const roles = role.split(",");
  return new SignJWT({ roles, ...(merchant ? { merchant_id: merchant } : {}) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(`cli-${roles.join("-")}`)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${expires}s`)
    .sign(new TextEncoder().encode(secret));
}

function client(values) {
  const base = (values["api-base"] ?? process.env.GATEWAY_API_BASE ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`).replace(/\/+$/, "");
  const apiKey = values["api-key"] ?? process.env.GATEWAY_API_KEY;
  const jwtSecret = values["jwt-secret"] ?? process.env.GATEWAY_JWT_SECRET;
  let credential;
  const auth = async () => {
    if (apiKey) return apiKey;
    if (!jwtSecret) throw new UsageError("give --api-key (or GATEWAY_API_KEY), or --jwt-secret (or GATEWAY_JWT_SECRET)");
    credential ??= await mintToken({ secret: jwtSecret, role: values.merchant ? "merchant" : "admin", merchant: values.merchant, expires: 3600, issuer: values.issuer, audience: values.audience });
    return credential;
  };
  return async function call(method, path, body) {
    const headers = { authorization: `Bearer ${await auth()}`, accept: "application/json" };
    if (values.merchant && apiKey) headers["merchant-id"] = values.merchant;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res;
    try {
      res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new Error(`cannot reach the gateway at ${base}: ${err.cause?.code ?? err.message}`);
    }
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = { raw: text };
    }
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.error?.message ?? text.slice(0, 300)}`);
    return json;
  };
}

const TRIGGERS = {
  "payment_intent.succeeded": async (call) => ({ payment_intent: await call("POST", "/v1/payment_intents", { amount: 2000, currency: "usd", payment_method: "pm_card_visa", confirm: true, description: "gateway trigger" }) }),
  "payment_intent.created": async (call) => ({ payment_intent: await call("POST", "/v1/payment_intents", { amount: 2000, currency: "usd", description: "gateway trigger" }) }),
  "payment_intent.amount_capturable_updated": async (call) => ({ payment_intent: await call("POST", "/v1/payment_intents", { amount: 2000, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual", description: "gateway trigger" }) }),
  "payment_intent.payment_failed": async (call) => ({ payment_intent: await call("POST", "/v1/payment_intents", { amount: 2000, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true, description: "gateway trigger" }).catch((err) => ({ declined: err.message })) }),
  "payment_intent.canceled": async (call) => {
    const intent = await call("POST", "/v1/payment_intents", { amount: 2000, currency: "usd", description: "gateway trigger" });
    return { payment_intent: await call("POST", `/v1/payment_intents/${intent.id}/cancel`, {}) };
  },
  "charge.refunded": async (call) => {
    const intent = await call("POST", "/v1/payment_intents", { amount: 2000, currency: "usd", payment_method: "pm_card_visa", confirm: true, description: "gateway trigger" });
    return { payment_intent: intent, refund: await call("POST", "/v1/refunds", { payment_intent: intent.id }) };
  },
};

const FORWARDED = ["content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature", "stripe-signature"];

async function listen(values, out) {
  const target = values["forward-to"];
  if (!target) throw new UsageError("listen needs --forward-to URL");
  new URL(target);
  const call = client(values);
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      let type = "?";
      let id = req.headers["webhook-id"] ?? "?";
      try {
        const event = JSON.parse(body.toString("utf8"));
        type = event.type ?? type;
        id = event.id ?? id;
      } catch {
        // not JSON: forwarded as it is
      }
      const headers = {};
      for (const h of FORWARDED) if (req.headers[h]) headers[h] = String(req.headers[h]);
      let status;
      try {
        const forwarded = await fetch(target, { method: "POST", headers, body });
        status = forwarded.status;
        await forwarded.arrayBuffer();
      } catch (err) {
        status = `error (${err.cause?.code ?? err.message})`;
      }
      out(`${new Date().toISOString()}  --> ${type} [${id}]  <-- ${status}`);
      const ok = typeof status === "number" && status >= 200 && status < 300;
      res.writeHead(ok ? 200 : 502, { "content-type": "application/json" });
      res.end(JSON.stringify({ forwarded: status }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  const events = values.events ? values.events.split(",").map((e) => e.trim()).filter(Boolean) : ["*"];
  const endpoint = await call("POST", "/v1/webhook_endpoints", { url: `http://127.0.0.1:${port}/`, enabled_events: events, description: "gateway listen (temporary)" });
  out(`Ready! Forwarding ${events.join(", ")} to ${target}`);
  out(`Your webhook signing secret is ${endpoint.secret} (endpoint ${endpoint.id}; deleted when this stops)`);
  await new Promise((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  server.close();
  await call("DELETE", `/v1/webhook_endpoints/${endpoint.id}`).then(
    () => out(`Deleted endpoint ${endpoint.id}`),
    (err) => out(`Could not delete endpoint ${endpoint.id}: ${err.message}`),
  );
}

export async function main(argv, out = (line) => console.log(line)) {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  switch (command) {
    case "token": {
      const expires = values.expires === undefined ? 3600 : Number(values.expires);
      out(await mintToken({ secret: values.secret ?? values["jwt-secret"] ?? process.env.GATEWAY_JWT_SECRET, role: values.role ?? "admin", merchant: values.merchant, expires, issuer: values.issuer, audience: values.audience }));
      return 0;
    }
    case "listen":
      await listen(values, out);
      return 0;
    case "trigger": {
      const make = TRIGGERS[sub ?? ""];
      if (!make) throw new UsageError(`trigger one of: ${Object.keys(TRIGGERS).join(", ")}`);
      const made = await make(client(values));
      for (const [kind, obj] of Object.entries(made)) out(`${kind}: ${obj.id ?? ""} ${obj.status ?? JSON.stringify(obj)}`);
      out(`Triggered ${sub}`);
      return 0;
    }
    case "events": {
      if (sub !== "resend" || !arg) throw new UsageError("events resend <evt_id> [--endpoint we_id]");
      const result = await client(values)("POST", `/v1/events/${encodeURIComponent(arg)}/retry`, values.endpoint ? { webhook_endpoint: values.endpoint } : {});
      out(`Resent ${arg}: ${(result.data ?? []).map((d) => `${d.id} (${d.webhook_endpoint ?? d.endpoint ?? ""} ${d.status ?? ""})`).join(", ") || "no endpoint"}`);
      return 0;
    }
    case "merchants": {
      if (sub !== "create" || !values.name) throw new UsageError("merchants create --name NAME");
      const made = await client(values)("POST", "/v1/admin/merchants", { name: values.name });
      out(`merchant: ${made.merchant.id}`);
      out(`secret key (shown once): ${made.api_key.secret}`);
      return 0;
    }
    case "keys": {
      if (sub !== "create") throw new UsageError("keys create [--type secret|restricted] [--permissions a,b] [--name NAME]");
      const body = { ...(values.type ? { type: values.type } : {}), ...(values.name ? { name: values.name } : {}), ...(values.permissions ? { permissions: values.permissions.split(",") } : {}) };
      const key = await client(values)("POST", "/v1/api_keys", body);
      out(`key: ${key.id} (${key.type})`);
      out(`secret (shown once): ${key.secret}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

const invoked = process.argv[1] && import.meta.url === new URL(`file://${(await import("node:fs")).realpathSync(process.argv[1])}`).href;
if (invoked) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof UsageError || err?.code?.startsWith?.("ERR_PARSE_ARGS") ? `${err.message}\n${USAGE}` : `error: ${err.message}`);
      process.exit(err instanceof UsageError || err?.code?.startsWith?.("ERR_PARSE_ARGS") ? 2 : 1);
    },
  );
}
