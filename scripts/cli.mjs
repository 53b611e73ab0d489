#!/usr/bin/env node
// The gateway's command line (`npm run cli -- <command>` or `npx gateway <command>`), against
// --api-base (default http://127.0.0.1:$PORT, PORT defaulting to 8787):
//   listen --forward-to URL [--events a,b]  a temporary webhook endpoint pointing at a receiver this
//                                           command runs; each signed delivery is forwarded (headers
//                                           and body as sent) and printed on one line; the endpoint
//                                           is deleted on exit (Ctrl-C)
//   trigger <event>                         makes the objects that cause the event, checks that it
//                                           happened (exit 1 and why when it did not, e.g. a refund
//                                           held for approval)
//   events resend <evt_...> [--endpoint we_...]
//   merchants create --name NAME            (admin) a merchant and its first secret key
//   keys create [--type secret|restricted] [--permissions a,b] [--name NAME]
//   token --secret SECRET [--sub NAME] [--role admin] [--merchant acct_...] [--expires 3600]
//   failed list | retry <pi_...> | resolve <pi_...> --reason TEXT | dismiss <pi_...> --reason TEXT
//   refunds pending | approve <re_...> | reject <re_...>
//   help [command], --version
// Credentials: --api-key (or GATEWAY_API_KEY): a secret key or a JWT; or --jwt-secret (or
// GATEWAY_JWT_SECRET): the deployment's JWT_SECRET, from which an admin token (or, with --merchant,
// a merchant token) is minted for the call, naming its operator (--sub, or GATEWAY_OPERATOR) as its
// subject, which the audit log records: a decision (approve, reject, resolve, dismiss, retry) is
// refused without one (exit 2); other commands then name no one (cli-<role>).
// Amounts are shown in the currency's decimals (20.00 USD), as the dashboard shows them. Every POST
// sends an Idempotency-Key (--idempotency-key, or a new one). Arguments are parsed by node's
// util.parseArgs.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { formatAmount, operatorName } from "./cli-shared.mjs";
import { parseRoles, ROLES } from "./roles.mjs";


const OPTIONS = {
  "api-base": { type: "string" },
  "api-key": { type: "string" },
  "jwt-secret": { type: "string" },
  secret: { type: "string" },
  merchant: { type: "string" },
  role: { type: "string" },
  sub: { type: "string" },
  expires: { type: "string" },
  issuer: { type: "string" },
  audience: { type: "string" },
  "forward-to": { type: "string" },
  events: { type: "string" },
  endpoint: { type: "string" },
  name: { type: "string" },
  type: { type: "string" },
  permissions: { type: "string" },
  reason: { type: "string" },
  "paid-by-other-means": { type: "boolean" },
  "payment-method": { type: "string" },
  resolution: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  "idempotency-key": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
};

/** Bad usage (exit 2): the message, then the usage of `command` (all commands without one). */
class UsageError extends Error {
  constructor(message, command) {
    super(message);
    this.command = command;
  }
}

/** The gateway answered with an error: its status and its JSON body beside the message. */
class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function packageVersion() {
  return JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;
}

/**
 * Why a decision made with a token minted from the JWT secret must name its operator. Not the OS user
 * name as a fallback: on a shared bastion or in a container it is root, ubuntu or node for everyone,
 * a plausible name that says nobody, and the rule that a refund's requester may not approve it
 * would compare it.
 */
const OPERATOR_NEEDED =
  "name the operator: --sub NAME (or GATEWAY_OPERATOR=NAME), e.g. --sub jane.doe. The token minted from the JWT secret is recorded as jwt:NAME in the audit log " +
  "(who approved, rejected, resolved, dismissed, retried), and whoever requested a refund may not approve it: without a name every CLI user would be the same person.";

/**
 * The operator a minted token names (--sub, else GATEWAY_OPERATOR): undefined when none is given,
 * unless `required` (a decision), then a usage error asking for one.
 */
function operatorOf(values, command, required) {
  const { name, error } = operatorName(values.sub);
  if (error) throw new UsageError(error, command);
  if (!name && required) throw new UsageError(OPERATOR_NEEDED, command);
  return name;
}

/**
 * A JWT for the gateway: HS256 with the deployment's JWT_SECRET, its issuer and audience. Its subject
 * is `sub`, the operator's name; without one, cli-<roles>, which names no one.
 */
export async function mintToken({ secret, sub, role = "admin", merchant, expires = 3600, issuer = "edge-gateway", audience = "edge-gateway-api" }) {
  if (!secret) throw new UsageError("token needs --secret (the gateway's JWT_SECRET; for `npm run dev`, `npm run token -- --role admin` mints one with its development secret)", "token");
  if (!Number.isInteger(expires) || expires < 1 || expires > 86_400) throw new UsageError("--expires must be 1 to 86400 seconds", "token");
  const parsed = parseRoles(role);
  if (parsed.error) throw new UsageError(parsed.error, "token");
  const { roles } = parsed;
  return new SignJWT({ roles, ...(merchant ? { merchant_id: merchant } : {}) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub ?? `cli-${roles.join("-")}`)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${expires}s`)
    .sign(new TextEncoder().encode(secret));
}

/**
 * What a command's calls authenticate with: { apiKey } as given, or { jwtSecret, operator } to mint a
 * token naming the operator. Usage errors (exit 2) when there is neither, or when a decision
 * (`decision`) would be made by a minted token naming no operator.
 */
function credentialOf(values, command, decision = false) {
  const apiKey = values["api-key"] ?? process.env.GATEWAY_API_KEY;
  const jwtSecret = values["jwt-secret"] ?? process.env.GATEWAY_JWT_SECRET;
  if (apiKey) {
    // Said rather than ignored: the operator would believe the audit log names them.
    if (values.sub !== undefined) throw new UsageError("--sub names the operator of a token minted from --jwt-secret; an --api-key (or GATEWAY_API_KEY) credential, a key or a token with its own subject, cannot take it", command);
    return { apiKey };
  }
  if (!jwtSecret) throw new UsageError("give --api-key (or GATEWAY_API_KEY), or --jwt-secret (or GATEWAY_JWT_SECRET)");
  return { jwtSecret, operator: operatorOf(values, command, decision) };
}

/** A caller of the gateway for `command`; `decision` when its POSTs are an operator's decision, which must name them. */
function client(values, command, { decision = false } = {}) {
  const base = (values["api-base"] ?? process.env.GATEWAY_API_BASE ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`).replace(/\/+$/, "");
  const apiKey = values["api-key"] ?? process.env.GATEWAY_API_KEY;
  let credential;
  // Checked at the first call, so that a command's own usage errors (a missing id, --reason) come first.
  const auth = async () => {
    const { apiKey: key, jwtSecret, operator } = credentialOf(values, command, decision);
    if (key) return key;
    credential ??= await mintToken({ secret: jwtSecret, sub: operator, role: values.merchant ? "merchant" : "admin", merchant: values.merchant, expires: 3600, issuer: values.issuer, audience: values.audience });
    return credential;
  };
  return async function call(method, path, body, { idempotencyKey } = {}) {
    const headers = { authorization: `Bearer ${await auth()}`, accept: "application/json" };
    if (values.merchant && apiKey) headers["merchant-id"] = values.merchant;
    if (body !== undefined) headers["content-type"] = "application/json";
    // A POST sent again with its key is answered as the first was, never done twice.
    if (method === "POST") headers["idempotency-key"] = idempotencyKey ?? randomUUID();
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
    if (!res.ok) throw new ApiError(`${method} ${path}: ${res.status} ${json.error?.message ?? text.slice(0, 300)}`, res.status, json);
    return json;
  };
}

const intentBody = (extra) => ({ amount: 2000, currency: "usd", description: "gateway trigger", ...extra });
const line = (kind, obj, note) => `${kind}: ${obj.id} ${obj.status}${note ? ` (${note})` : ""}`;

/**
 * Each trigger makes the objects that cause its event and says whether the event happened:
 * { lines, triggered } with `triggered` a line "Triggered <event>..." when it did, or { lines,
 * problem } saying why not (the command then exits 1, never printing "Triggered").
 */
const TRIGGERS = {
  "payment_intent.succeeded": async (call) => {
    const intent = await call("POST", "/v1/payment_intents", intentBody({ payment_method: "pm_card_visa", confirm: true }));
    return expectStatus("payment_intent.succeeded", intent, "succeeded");
  },
  "payment_intent.created": async (call) => {
    const intent = await call("POST", "/v1/payment_intents", intentBody({}));
    return { lines: [line("payment_intent", intent)], triggered: `Triggered payment_intent.created: ${intent.id}` };
  },
  "payment_intent.amount_capturable_updated": async (call) => {
    const intent = await call("POST", "/v1/payment_intents", intentBody({ payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }));
    return expectStatus("payment_intent.amount_capturable_updated", intent, "requires_capture");
  },
  "payment_intent.payment_failed": async (call) => {
    // A declined card: the gateway answers 402 with the error and the intent it declined.
    let intent;
    try {
      intent = await call("POST", "/v1/payment_intents", intentBody({ payment_method: "pm_card_chargeDeclined", confirm: true }));
    } catch (err) {
      const error = err instanceof ApiError ? err.body?.error : undefined;
      if (!error?.payment_intent?.id) throw err;
      const declined = error.payment_intent;
      const code = [error.code, error.decline_code].filter(Boolean).join(", ") || error.type;
      return {
        lines: [line("payment_intent", declined, `declined: ${code}`)],
        triggered: `Triggered payment_intent.payment_failed: ${declined.id} declined (${error.code ?? error.type}), as asked`,
      };
    }
    return { lines: [line("payment_intent", intent)], problem: `payment_intent.payment_failed did not happen: the test card pm_card_chargeDeclined was not declined (${intent.id} is ${intent.status}).` };
  },
  "payment_intent.canceled": async (call) => {
    const intent = await call("POST", "/v1/payment_intents", intentBody({}));
    return expectStatus("payment_intent.canceled", await call("POST", `/v1/payment_intents/${intent.id}/cancel`, {}), "canceled");
  },
  "charge.refunded": async (call) => {
    // Refunds above the merchant's approval threshold wait for approval (no charge.refunded until
    // then): refund at most the threshold. The account tells it (with payments.transactions.view).
    const intent = await call("POST", "/v1/payment_intents", intentBody({ payment_method: "pm_card_visa", confirm: true }));
    if (intent.status !== "succeeded") return expectStatus("charge.refunded", intent, "succeeded");
    let threshold;
    let unknownThreshold = null;
    try {
      threshold = (await call("GET", "/v1/account")).settings?.refund_approval_thresholds?.[intent.currency];
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      unknownThreshold = `this credential cannot read the account's refund approval thresholds: ${err.message}`;
    }
    const amount = threshold !== undefined && threshold < intent.amount ? threshold : intent.amount;
    const refund = await call("POST", "/v1/refunds", { payment_intent: intent.id, ...(amount < intent.amount ? { amount } : {}) });
    const lines = [line("payment_intent", intent)];
    const what = `${refund.amount} of ${intent.amount} ${intent.currency}`;
    if (refund.status === "succeeded") {
      const note = amount < intent.amount ? `${what}: the account's refund approval threshold for ${intent.currency} is ${threshold}, a larger refund would wait for approval` : what;
      lines.push(line("refund", refund, note));
      return { lines, triggered: `Triggered charge.refunded: ${refund.id} refunded ${what}${amount < intent.amount ? ` (a partial refund, at the approval threshold)` : ""}` };
    }
    if (refund.status === "pending" && refund.requires_approval) {
      lines.push(line("refund", refund, `${what}, waiting for approval`));
      return {
        lines,
        problem: [
          `charge.refunded was not sent: refund ${refund.id} (${what}) is waiting for approval, as the merchant's refund approval thresholds ask${unknownThreshold ? ` (${unknownThreshold})` : ""}.`,
          `Approving it sends charge.refunded: POST /v1/admin/refunds/${refund.id}:approve with a person's token (JWT) holding refunds.approve, the dashboard's refunds awaiting approval,`,
          `or \`npm run cli -- refunds approve ${refund.id} --jwt-secret ...\`. Rejecting it (\`refunds reject ${refund.id}\`) cancels it.`,
        ].join("\n"),
      };
    }
    lines.push(line("refund", refund, what));
    return { lines, problem: `charge.refunded was not sent (yet): refund ${refund.id} is ${refund.status}${refund.status === "pending" ? "; it is sent when the PSP confirms the refund" : ""}.` };
  },
};

function expectStatus(event, intent, status) {
  const lines = [line("payment_intent", intent)];
  if (intent.status === status) return { lines, triggered: `Triggered ${event}: ${intent.id}` };
  return { lines, problem: `${event} did not happen: ${intent.id} is ${intent.status}, not ${status}.` };
}

const TRIGGER_EVENTS = Object.keys(TRIGGERS);
const ROLE_LIST = ROLES.join("|");

/** Each command's usage: [syntax, what it needs]; `help <command>` prints its own lines. */
const COMMANDS = {
  listen: [["listen --forward-to URL [--events type,type]"]],
  trigger: [[`trigger ${TRIGGER_EVENTS.join(" | ")}`]],
  events: [["events resend <evt_id> [--endpoint we_id]"]],
  merchants: [["merchants create --name NAME", "admin"]],
  keys: [["keys create [--type secret|restricted] [--permissions a,b] [--name NAME]"]],
  token: [[`token --secret SECRET [--sub NAME] [--role ${ROLE_LIST}[,...]] [--merchant acct_id] [--expires SECONDS]`]],
  failed: [
    ["failed list [--resolution open|resolved|dismissed|all] [--reason generic_decline|...] [--limit N] [--cursor C]", "payments.transactions.view"],
    ["failed retry <pi_id> [--payment-method pm_id]", "payments.transactions.create"],
    ["failed resolve <pi_id> --reason TEXT [--paid-by-other-means]", "payments.transactions.create"],
    ["failed dismiss <pi_id> --reason TEXT", "payments.transactions.create"],
  ],
  refunds: [
    ["refunds pending [--limit N] [--cursor C]", "payments.transactions.view"],
    ["refunds approve <re_id> [--reason TEXT]", "refunds.approve, a person's token (JWT or --jwt-secret), not an API key"],
    ["refunds reject <re_id> [--reason TEXT]", "refunds.approve"],
  ],
  help: [["help [command]"], ["--version"]],
};
const OPTIONS_USAGE = [
  "options: --api-base URL (default http://127.0.0.1:$PORT or :8787), --api-key KEY_OR_JWT, --jwt-secret SECRET, --merchant acct_id, --idempotency-key KEY (a failed/refunds POST sent again)",
  "  --sub NAME (or GATEWAY_OPERATOR=NAME): the operator a token minted from --jwt-secret (or by `token`) names as its subject, so the audit log says who",
  "  acted (jwt:NAME) and a refund's requester cannot approve it; required for failed retry|resolve|dismiss and refunds approve|reject with --jwt-secret.",
  "Amounts are shown in the currency's decimals (20.00 USD, 500 JPY, 12.345 KWD), as the dashboard shows them.",
].join("\n");
const usageLines = (commands) => commands.map(([syntax, needs]) => `  ${needs ? `${syntax.padEnd(62)}  (${needs})` : syntax}`).join("\n");
const USAGE = `usage: gateway <command> [options]\n${usageLines(Object.values(COMMANDS).flat())}\n${OPTIONS_USAGE}`;
/** One command's usage, for `help <command>` and its usage errors. */
const commandUsage = (command) => `usage: gateway <command> [options]\n${usageLines(COMMANDS[command])}\n${OPTIONS_USAGE}`;

const FORWARDED = ["content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature", "stripe-signature"];

async function listen(values, out) {
  const target = values["forward-to"];
  const example = "(e.g. http://localhost:4242/webhooks)";
  if (!target) throw new UsageError(`listen needs --forward-to URL ${example}`, "listen");
  let url;
  try {
    url = new URL(target);
  } catch {
    throw new UsageError(`--forward-to: ${JSON.stringify(target)} is not a URL ${example}`, "listen");
  }
  // fetch sends deliveries over http and https only: another scheme would fail each one, later.
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--forward-to: ${JSON.stringify(target)} is not an http(s) URL ${example}`, "listen");
  // Before the receiver starts: a missing credential or operator is said at once.
  credentialOf(values, "listen");
  const call = client(values, "listen");
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

const query = (params) => {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ""));
  return q.size > 0 ? `?${q}` : "";
};
const when = (seconds) => (typeof seconds === "number" ? new Date(seconds * 1000).toISOString() : "");
const needId = (id, prefix, command, usage) => {
  if (!id) throw new UsageError(`${usage}: give the ${prefix}_ id`, command);
  if (!id.startsWith(`${prefix}_`)) throw new UsageError(`${id} is not a ${prefix}_ id: ${usage}`, command);
  return id;
};

async function failed(values, sub, id, out) {
  // Retry, resolve and dismiss settle a failed payment: the audit log and its resolution name who did.
  const call = client(values, "failed", { decision: sub !== "list" });
  const post = (path, body) => call("POST", path, body, { idempotencyKey: values["idempotency-key"] });
  switch (sub) {
    case "list": {
      const list = await call("GET", `/v1/admin/failed_payments${query({ resolution: values.resolution, reason: values.reason, limit: values.limit, cursor: values.cursor })}`);
      const counts = Object.entries(list.counts_by_reason ?? {}).map(([reason, n]) => `${reason} ${n}`);
      out(`${list.data.length} failed payment${list.data.length === 1 ? "" : "s"} (${values.resolution ?? "open"})${counts.length > 0 ? `; by reason over the window: ${counts.join(", ")}` : ""}`);
      for (const pi of list.data) {
        const error = pi.last_payment_error;
        const reason = [error?.code, error?.decline_code].filter(Boolean).join("/") || "unknown";
        const resolution = pi.failure_resolution ? ` ${pi.failure_resolution.status}: ${pi.failure_resolution.reason}` : "";
        out(`${pi.id}  ${formatAmount(pi.amount, pi.currency)}  ${reason}  ${pi.merchant_id ?? ""}  ${when(pi.created)}${resolution}`);
      }
      if (list.has_more) out(`more: --cursor ${list.next_cursor}`);
      return 0;
    }
    case "retry": {
      const usage = "failed retry <pi_id> [--payment-method pm_id]";
      const path = `/v1/admin/failed_payments/${encodeURIComponent(needId(id, "pi", "failed", usage))}/retry`;
      let result;
      let declined = null;
      try {
        result = await post(path, values["payment-method"] ? { payment_method: values["payment-method"] } : {});
      } catch (err) {
        // A declined retry answers 402 with the retry and the original beside the error.
        if (!(err instanceof ApiError) || !err.body?.retry) throw err;
        result = err.body;
        declined = err.body.error;
      }
      const { retry, original } = result;
      out(`retry: ${retry.id} ${retry.status}${declined ? ` (${declined.code ?? declined.type}: ${declined.message})` : ""}`);
      out(`original: ${original.id} ${original.failure_resolution ? `${original.failure_resolution.status} (retried by ${original.failure_resolution.retried_by ?? "-"})` : "still open"}`);
      if (retry.status === "succeeded") return 0;
      out(declined ? `The retry was declined: ${original.id} stays open.` : `The retry is ${retry.status}: ${original.id} is resolved once it succeeds.`);
      return 1;
    }
    case "resolve":
    case "dismiss": {
      const usage = `failed ${sub} <pi_id> --reason TEXT${sub === "resolve" ? " [--paid-by-other-means]" : ""}`;
      needId(id, "pi", "failed", usage);
      if (!values.reason) throw new UsageError(`${usage}: --reason is required (it is kept in the audit log)`, "failed");
      const body = { reason: values.reason, ...(sub === "resolve" && values["paid-by-other-means"] ? { paid_by_other_means: true } : {}) };
      const pi = await post(`/v1/admin/failed_payments/${encodeURIComponent(id)}/${sub}`, body);
      const r = pi.failure_resolution;
      out(`${pi.id} ${r?.status ?? "?"}: ${r?.reason ?? values.reason}${r?.paid_by_other_means ? " (paid by other means)" : ""}`);
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand failed ${sub}` : "failed needs a subcommand", "failed");
  }
}

async function refunds(values, sub, id, out) {
  // Approving names the approver, who may not be the refund's requester.
  const call = client(values, "refunds", { decision: sub !== "pending" });
  switch (sub) {
    case "pending": {
      const list = await call("GET", `/v1/admin/refunds${query({ limit: values.limit, cursor: values.cursor })}`);
      out(`${list.data.length} refund${list.data.length === 1 ? "" : "s"} waiting for approval`);
      for (const re of list.data) out(`${re.id}  ${formatAmount(re.amount, re.currency)}  ${re.payment_intent ?? ""}  ${re.reason ?? ""}  ${when(re.created)}`.replace(/ {3,}/g, "  "));
      if (list.has_more) out(`more: --cursor ${list.next_cursor}`);
      return 0;
    }
    case "approve":
    case "reject": {
      const usage = `refunds ${sub} <re_id> [--reason TEXT]`;
      const path = `/v1/admin/refunds/${encodeURIComponent(needId(id, "re", "refunds", usage))}:${sub}`;
      const refund = await call("POST", path, values.reason ? { reason: values.reason } : {}, { idempotencyKey: values["idempotency-key"] });
      const verb = sub === "approve" ? "Approved" : "Rejected";
      out(`${verb} ${refund.id}: ${formatAmount(refund.amount, refund.currency)} of ${refund.payment_intent}, now ${refund.status}${sub === "approve" && refund.status === "succeeded" ? " (charge.refunded sent)" : ""}`);
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand refunds ${sub}` : "refunds needs a subcommand", "refunds");
  }
}

export async function main(argv, out = (line) => console.log(line), err = (line) => console.error(line)) {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, sub, arg] = positionals;
  if (values.version) {
    out(packageVersion());
    return 0;
  }
  if (command === "help" || values.help || !command) {
    const topic = command === "help" ? sub : values.help ? command : undefined;
    if (topic !== undefined && !COMMANDS[topic]) throw new UsageError(`unknown command ${topic}`);
    out(topic !== undefined ? commandUsage(topic) : USAGE);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case "token": {
      const expires = values.expires === undefined ? 3600 : Number(values.expires);
      const secret = values.secret ?? values["jwt-secret"] ?? process.env.GATEWAY_JWT_SECRET;
      const operator = secret ? operatorOf(values, "token", false) : undefined;
      const role = values.role ?? "admin";
      const token = await mintToken({ secret, sub: operator, role, merchant: values.merchant, expires, issuer: values.issuer, audience: values.audience });
      // Still minted (scripts sign in with it), but whoever uses it is told what the audit log will say.
      if (!operator) err(`note: this token names no operator (its subject is cli-${parseRoles(role).roles.join("-")}, the same for everyone): give --sub NAME (or GATEWAY_OPERATOR=NAME)`);
      out(token);
      return 0;
    }
    case "listen":
      await listen(values, out);
      return 0;
    case "trigger": {
      const make = TRIGGERS[sub ?? ""];
      if (!make) throw new UsageError(`trigger one of: ${TRIGGER_EVENTS.join(", ")}`, "trigger");
      const result = await make(client(values, "trigger"));
      for (const l of result.lines) out(l);
      if (result.problem) {
        err(result.problem);
        return 1;
      }
      out(result.triggered);
      return 0;
    }
    case "events": {
      if (sub !== "resend" || !arg) throw new UsageError("events resend <evt_id> [--endpoint we_id]", "events");
      const result = await client(values, "events")("POST", `/v1/events/${encodeURIComponent(arg)}/retry`, values.endpoint ? { webhook_endpoint: values.endpoint } : {});
      out(`Resent ${arg}: ${(result.data ?? []).map((d) => `${d.id} (${d.webhook_endpoint ?? d.endpoint ?? ""} ${d.status ?? ""})`).join(", ") || "no endpoint"}`);
      return 0;
    }
    case "merchants": {
      if (sub !== "create" || !values.name) throw new UsageError("merchants create --name NAME", "merchants");
      const made = await client(values, "merchants")("POST", "/v1/admin/merchants", { name: values.name });
      out(`merchant: ${made.merchant.id}`);
      out(`secret key (shown once): ${made.api_key.secret}`);
      return 0;
    }
    case "keys": {
      if (sub !== "create") throw new UsageError("keys create [--type secret|restricted] [--permissions a,b] [--name NAME]", "keys");
      const body = { ...(values.type ? { type: values.type } : {}), ...(values.name ? { name: values.name } : {}), ...(values.permissions ? { permissions: values.permissions.split(",") } : {}) };
      const key = await client(values, "keys")("POST", "/v1/api_keys", body);
      out(`key: ${key.id} (${key.type})`);
      out(`secret (shown once): ${key.secret}`);
      return 0;
    }
    case "failed":
      return failed(values, sub, arg, out);
    case "refunds":
      return refunds(values, sub, arg, out);
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

const invoked = process.argv[1] && import.meta.url === new URL(`file://${(await import("node:fs")).realpathSync(process.argv[1])}`).href;
if (invoked) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof UsageError || err?.code?.startsWith?.("ERR_PARSE_ARGS") ? `${err.message}\n${err.command ? commandUsage(err.command) : USAGE}` : `error: ${err.message}`);
      process.exit(err instanceof UsageError || err?.code?.startsWith?.("ERR_PARSE_ARGS") ? 2 : 1);
    },
  );
}
