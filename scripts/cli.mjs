#!/usr/bin/env node
// The gateway's command line (`npm run -s cli -- <command>` or `npx gateway <command>`), against
// --api-base (default http://127.0.0.1:$PORT, PORT defaulting to 8787):
//   listen --forward-to URL [--events a,b]  a temporary webhook endpoint pointing at a receiver this
//                                           command runs; each signed delivery is forwarded (headers
//                                           and body as sent) and printed on one line; the endpoint
//                                           is deleted when this stops (Ctrl-C, SIGTERM, SIGHUP, an error)
//   trigger <event>                         makes the objects that cause the event, checks that it
//                                           happened (exit 1 and why when it did not, e.g. a refund
//                                           held for approval)
//   events resend <evt_...> [--endpoint we_...]
//   merchants create --name NAME            (admin) a merchant and its first secret key
//   keys create [--type secret|restricted] [--permissions a,b] [--name NAME]
//   keys roll <key_...> [--overlap SECONDS]  a new secret like the key's; the old one works for the overlap
//   token [--sub NAME] [--role admin] [--merchant acct_...] [--expires 3600] [--permissions a,b]
//   failed list | retry <pi_...> | resolve <pi_...> --reason TEXT | dismiss <pi_...> --reason TEXT
//   refunds pending | approve <re_...> | reject <re_...>
//   settings approve|reject|withdraw <msc_...>  a held change of the refund approval thresholds
//   help [command], --version
// Credentials come from the environment first: GATEWAY_API_KEY (a secret key, or a person's JWT from
// the operator's identity provider), or GATEWAY_JWT_SECRET (the deployment's JWT_SECRET, for
// development and bootstrapping: a token is minted for each call with --role, naming its operator,
// --sub or GATEWAY_OPERATOR, as its subject; a decision is refused without one). --api-key and
// --jwt-secret do the same from the command line, with a warning (ps and shell history show them).
// Each command takes only the options that apply to it; every other one is a usage error (exit 2), never
// ignored. Every POST and DELETE sends an Idempotency-Key (--idempotency-key, or a new one); when
// the answer is lost, the command says so, names the key and the command line that finishes it
// safely (exit 5). Arguments are parsed by node's util.parseArgs.
import { randomUUID } from "node:crypto";
import { readFileSync, realpathSync } from "node:fs";
import { createServer } from "node:http";
import { hostname } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { formatAmount, jwtIssuerAudience, jwtMaxLifetime, operatorName } from "./cli-shared.mjs";
import { parseRoles, ROLES } from "./roles.mjs";

/** The exit codes, for scripts: `help` lists them. */
export const EXIT = {
  /** Done as asked. */
  OK: 0,
  /** Done, but not as asked (an event that did not happen, a declined retry, the provider failed), or an unexpected error. */
  NOT_DONE: 1,
  /** Bad usage: nothing was sent. */
  USAGE: 2,
  /** The gateway refused the request (a 4xx other than 401 and 403): nothing was done by it (trigger's earlier changes stand). */
  REFUSED: 3,
  /** The gateway refused the credential (401) or its permissions (403): nothing was done. */
  AUTH: 4,
  /** No answer (network error, timeout, 5xx, a request with the same key still in flight): a change's outcome is unknown. */
  UNKNOWN: 5,
};

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
  overlap: { type: "string" },
  type: { type: "string" },
  permissions: { type: "string" },
  reason: { type: "string" },
  "paid-by-other-means": { type: "boolean" },
  "payment-method": { type: "string" },
  resolution: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  "idempotency-key": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
};

/** The options of every command that calls the gateway: where, and with which credential. */
const CALL = ["api-base", "api-key", "jwt-secret", "sub", "role", "issuer", "audience", "merchant"];

/** The options each command takes ("command" or "command sub"); any other is refused (exit 2), never ignored. */
const ACCEPTS = {
  // --api-base too, though it calls nothing: scripts give every command the same gateway.
  token: ["api-base", "secret", "jwt-secret", "sub", "role", "merchant", "expires", "issuer", "audience", "permissions"],
  listen: [...CALL, "forward-to", "events"],
  trigger: [...CALL, "idempotency-key"],
  "events resend": [...CALL, "endpoint", "idempotency-key", "json"],
  "merchants create": [...CALL.filter((o) => o !== "merchant"), "name", "idempotency-key", "json"],
  "keys create": [...CALL, "type", "permissions", "name", "idempotency-key", "json"],
  "keys roll": [...CALL, "overlap", "idempotency-key", "json"],
  "failed list": [...CALL, "resolution", "reason", "limit", "cursor", "json"],
  "failed retry": [...CALL, "payment-method", "idempotency-key", "json"],
  "failed resolve": [...CALL, "reason", "paid-by-other-means", "idempotency-key", "json"],
  "failed dismiss": [...CALL, "reason", "idempotency-key", "json"],
  "refunds pending": [...CALL, "limit", "cursor", "json"],
  "refunds approve": [...CALL, "reason", "idempotency-key", "json"],
  "refunds reject": [...CALL, "reason", "idempotency-key", "json"],
  "settings approve": [...CALL, "reason", "idempotency-key", "json"],
  "settings reject": [...CALL, "reason", "idempotency-key", "json"],
  "settings withdraw": [...CALL, "reason", "idempotency-key", "json"],
  help: [],
};

/** Why an option is refused where it does not apply, beside the generic message. */
const NOT_HERE = {
  expires: "it is the lifetime of the token `token` prints; a token minted for a call lives a few minutes",
  permissions: "it names a restricted key's permissions (keys create) or a printed token's (token)",
  "idempotency-key": "it replays a change; this command changes nothing, or (listen) makes a new endpoint each run",
  json: "it prints the API's answer of a list or of one change",
  overlap: "it is how long `keys roll` lets the old secret work",
  merchant: "merchants create makes a merchant: its token acts for none",
  "api-key": "`token` mints a token from the JWT secret; it calls nothing",
};

/** The secrets that may be given on the command line, and the environment variable to use instead. */
const SECRET_OPTIONS = { "jwt-secret": "GATEWAY_JWT_SECRET", secret: "GATEWAY_JWT_SECRET", "api-key": "GATEWAY_API_KEY" };

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

/** The payment provider failed (a 5xx provider_error): no money moved, and the answer is kept under the key. */
class ProviderFailed extends ApiError {}

/**
 * No answer that says what happened: the network failed, the call timed out, the gateway answered
 * 5xx, or a request with the same Idempotency-Key is still in flight. `key` is the Idempotency-Key of
 * a change (null for a read), whose outcome is then unknown; `sent` is false when nothing left this
 * machine (the connection was refused), so nothing was done.
 */
class NoAnswer extends Error {
  constructor(message, { key, step, sent }) {
    super(message);
    this.key = key;
    /** The Idempotency-Key of the change whose answer was lost, when it is not the command's own (trigger's KEY.2, KEY.3...). */
    this.step = step;
    this.sent = sent;
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
 * A JWT for the gateway: HS256 with the deployment's JWT_SECRET, its issuer and audience (the
 * gateway's JWT_ISSUER and JWT_AUDIENCE unless given). Its subject is `sub`, the operator's name;
 * without one, cli-<roles>, which names no one. `expires` may not pass the gateway's JWT_MAX_LIFETIME.
 */
export async function mintToken({ secret, sub, role = "admin", merchant, permissions, expires = 3600, issuer, audience, command = "token" }) {
  if (!secret) throw new UsageError("token needs the gateway's JWT_SECRET: GATEWAY_JWT_SECRET (or --secret; for `npm run dev`, `npm run token -- --role admin` mints one with its development secret)", "token");
  const max = jwtMaxLifetime();
  if (max.error) throw new UsageError(max.error, command);
  if (!Number.isInteger(expires) || expires < 1 || expires > max.seconds) {
    throw new UsageError(`--expires must be 1 to ${max.seconds} seconds: the gateway refuses tokens living longer than ${max.setting}`, command);
  }
  const parsed = parseRoles(role);
  if (parsed.error) throw new UsageError(parsed.error, command);
  const { roles } = parsed;
  const expected = jwtIssuerAudience();
  const claims = { roles, ...(merchant ? { merchant_id: merchant } : {}), ...(permissions ? { permissions: permissions.split(",").map((p) => p.trim()).filter(Boolean) } : {}) };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub ?? `cli-${roles.join("-")}`)
    .setIssuer(issuer ?? expected.issuer)
    .setAudience(audience ?? expected.audience)
    .setIssuedAt()
    .setExpirationTime(`${expires}s`)
    .sign(new TextEncoder().encode(secret));
}

const looksLikeJwt = (credential) => /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(credential);

/** What shapes a token minted from the JWT secret, and so means nothing beside a credential of its own. */
const MINTING = {
  sub: "--sub names the operator of a token minted from --jwt-secret",
  role: "--role is the role of a token minted from --jwt-secret",
  issuer: "--issuer is the issuer of a token minted from --jwt-secret",
  audience: "--audience is the audience of a token minted from --jwt-secret",
};

/**
 * What a command's calls authenticate with: { apiKey } as given, or { jwtSecret, operator, role } to
 * mint a token with that role naming the operator. Usage errors (exit 2) when there is neither, when
 * an option shaping a minted token is given beside a credential of its own, when --merchant is given
 * beside an API key (which acts for its own merchant only), or when a decision (`decision`) would be
 * made by a minted token naming no operator.
 */
function credentialOf(values, command, decision = false) {
  const apiKey = values["api-key"] ?? process.env.GATEWAY_API_KEY;
  const jwtSecret = values["jwt-secret"] ?? process.env.GATEWAY_JWT_SECRET;
  if (apiKey) {
    // Said rather than ignored: the operator would believe the audit log names them, or that they act with that role.
    for (const [option, what] of Object.entries(MINTING)) {
      if (values[option] !== undefined) throw new UsageError(`${what}; an --api-key (or GATEWAY_API_KEY) credential, a key or a token with its own subject and roles, cannot take it`, command);
    }
    if (values.merchant !== undefined && !looksLikeJwt(apiKey)) {
      throw new UsageError(
        `--merchant ${values.merchant}: an API key acts for its own merchant only and cannot act for another; leave --merchant out, use that merchant's key, or an admin or support token (a JWT in GATEWAY_API_KEY, or GATEWAY_JWT_SECRET)`,
        command,
      );
    }
    return { apiKey };
  }
  if (!jwtSecret) throw new UsageError("no credential: set GATEWAY_API_KEY (a key, or a JWT of your identity provider) or GATEWAY_JWT_SECRET, or give --api-key or --jwt-secret", command);
  const role = values.role ?? (values.merchant ? "merchant" : "admin");
  const parsed = parseRoles(role);
  if (parsed.error) throw new UsageError(parsed.error, command);
  return { jwtSecret, role, operator: operatorOf(values, command, decision) };
}

/** How long a call waits for its answer before its outcome is unknown. */
const CALL_TIMEOUT_MS = 120_000;
/** A token minted for a call lives this long (or JWT_MAX_LIFETIME if shorter); one is minted per call. */
const CALL_TOKEN_S = 300;
/** Answers that say nothing of what was done: a 409 of a request with the same key still in flight. */
const IN_FLIGHT = new Set(["idempotency_key_in_use", "failed_payment_retry_in_progress"]);
/**
 * 5xx answers that say what happened: the payment provider failed (no money moved). The answer is
 * kept under the key, so sending the command again with it replays the failure; a new key tries again.
 */
const PROVIDER_FAILED = new Set(["provider_error"]);
const PROVIDER_FAILED_NOTE =
  "The payment provider failed: no money moved. This answer is kept under the command's Idempotency-Key; to try again, run the command again without --idempotency-key (a new key).";

/**
 * A caller of the gateway for `command`; `decision` when its POSTs are an operator's decision, which
 * must name them. Every POST and DELETE sends an Idempotency-Key: the first --idempotency-key (or a
 * new key), the next ones that key with .2, .3... so that a command of several changes (trigger)
 * sent again with its key replays each of them. `call.replayed` says whether the last answer was a
 * replay of an earlier request with the same key.
 */
function client(values, command, { decision = false } = {}) {
  const base = (values["api-base"] ?? process.env.GATEWAY_API_BASE ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`).replace(/\/+$/, "");
  const key = values["idempotency-key"] ?? `cli-${randomUUID()}`;
  let changes = 0;
  // Checked at the first call, so that a command's own usage errors (a missing id, --reason) come first.
  const auth = async () => {
    const { apiKey, jwtSecret, role, operator } = credentialOf(values, command, decision);
    // An admin or support JWT of its own picks its merchant with the Merchant-Id header; a minted token names it.
    if (apiKey) return { credential: apiKey, merchantHeader: values.merchant };
    const max = jwtMaxLifetime();
    const expires = Math.min(CALL_TOKEN_S, max.seconds ?? CALL_TOKEN_S);
    // Minted per call: a long `listen` still deletes its endpoint with a token that has not expired.
    return { credential: await mintToken({ secret: jwtSecret, sub: operator, role, merchant: values.merchant, expires, issuer: values.issuer, audience: values.audience, command }) };
  };
  // A change whose answer was lost is finished by sending the whole command again with its key: each
  // change it made before is replayed, in order, under the same derived keys.
  const lost = (idempotencyKey, sent) => ({ key: idempotencyKey ? key : null, step: idempotencyKey !== key ? idempotencyKey : null, sent });
  async function call(method, route, body) {
    const { credential, merchantHeader } = await auth();
    const headers = { authorization: `Bearer ${credential}`, accept: "application/json" };
    if (merchantHeader) headers["merchant-id"] = merchantHeader;
    if (body !== undefined) headers["content-type"] = "application/json";
    // A change sent again with its key is answered as the first was, never done twice.
    const change = method !== "GET";
    changes += change ? 1 : 0;
    const idempotencyKey = change ? (changes === 1 ? key : `${key}.${changes}`) : null;
    if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
    const what = `${method} ${route}`;
    let res;
    let text;
    try {
      res = await fetch(`${base}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
      text = await res.text();
    } catch (err) {
      const reason = err.name === "TimeoutError" ? `no answer within ${CALL_TIMEOUT_MS / 1000} s` : (err.cause?.code ?? err.cause?.message ?? err.message);
      // Refused or unresolved: the request never left this machine.
      const sent = !["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"].includes(err.cause?.code);
      throw new NoAnswer(`${what}: ${sent ? "the answer was lost" : `cannot reach the gateway at ${base}`} (${reason})`, lost(idempotencyKey, sent));
    }
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = { raw: text };
    }
    const message = `${what}: ${res.status} ${json.error?.message ?? text.slice(0, 300)}`;
    if (res.status >= 500 && PROVIDER_FAILED.has(json.error?.code)) throw new ProviderFailed(message, res.status, json);
    if (res.status >= 500 || (res.status === 409 && IN_FLIGHT.has(json.error?.code))) throw new NoAnswer(message, lost(idempotencyKey, true));
    if (!res.ok) throw new ApiError(message, res.status, json);
    call.replayed = res.headers.get("idempotent-replayed") === "true";
    return json;
  }
  call.replayed = false;
  call.key = key;
  return call;
}

/** Prints a command's answer: the API's JSON alone with --json, else the lines `lines` makes. */
function printer(values, out) {
  return (json, lines) => {
    if (values.json) out(JSON.stringify(json, null, 2));
    else for (const l of typeof lines === "function" ? lines() : lines) out(l);
  };
}

/** A re-sent change answered as the first: said, so that a run that finishes an earlier one does not read as a failure. */
const replayNote = (call, done) => (call.replayed ? [`(already ${done}: this Idempotency-Key's first request was done, and the gateway answered as it did then; nothing was done twice)`] : []);

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
          `or \`npm run -s cli -- refunds approve ${refund.id}\` with a person's credential. Rejecting it (\`refunds reject ${refund.id}\`) cancels it.`,
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
  events: [["events resend <evt_id> [--endpoint we_id] [--json]"]],
  merchants: [["merchants create --name NAME [--json]", "admin"]],
  keys: [
    ["keys create [--type secret|restricted] [--permissions a,b] [--name NAME] [--json]"],
    ["keys roll <key_id> [--overlap SECONDS] [--json]", "every permission the key holds; the old secret works for the overlap (0, the default, to 604800)"],
  ],
  token: [[`token [--sub NAME] [--role ${ROLE_LIST}[,...]] [--merchant acct_id] [--permissions a,b] [--expires SECONDS] [--issuer ISS] [--audience AUD]`]],
  failed: [
    ["failed list [--resolution open|resolved|dismissed|all] [--reason generic_decline|...] [--limit N] [--cursor C] [--json]", "payments.transactions.view"],
    ["failed retry <pi_id> [--payment-method pm_id] [--json]", "payments.transactions.create"],
    ["failed resolve <pi_id> --reason TEXT [--paid-by-other-means] [--json]", "payments.transactions.create"],
    ["failed dismiss <pi_id> --reason TEXT [--json]", "payments.transactions.create"],
  ],
  refunds: [
    ["refunds pending [--limit N] [--cursor C] [--json]", "payments.transactions.view"],
    ["refunds approve <re_id> [--reason TEXT] [--json]", "refunds.approve, a person's token (a JWT), not an API key"],
    ["refunds reject <re_id> [--reason TEXT] [--json]", "refunds.approve"],
  ],
  settings: [
    ["settings approve <msc_id> [--reason TEXT] [--json]", "refunds.approve, a person's token (a JWT) other than the one who asked"],
    ["settings reject <msc_id> [--reason TEXT] [--json]", "refunds.approve"],
    ["settings withdraw <msc_id> [--reason TEXT] [--json]", "the person who asked for the change"],
  ],
  help: [["help [command]"], ["--version"]],
};
const OPTIONS_USAGE = [
  "credentials (the environment first: an option on the command line is seen by other users (ps) and kept in your shell history):",
  "  GATEWAY_API_KEY=KEY_OR_JWT   a merchant's secret or restricted key, or a person's JWT from your identity provider (what operators",
  "                               use in production: the audit log names them as the provider does); --api-key does the same",
  "  GATEWAY_JWT_SECRET=SECRET    the deployment's JWT_SECRET, for development and bootstrapping only: it can mint any identity, so whoever",
  "                               holds it defeats the audit log's names and four-eyes approval. A token is minted for each call (and by",
  "                               `token`) with --role (default admin, merchant with --merchant), --issuer and --audience (default the",
  "                               gateway's JWT_ISSUER and JWT_AUDIENCE); --jwt-secret (or `token --secret`) does the same",
  "  --sub NAME (or GATEWAY_OPERATOR=NAME): the operator a minted token names as its subject, so the audit log says who acted",
  "                               (jwt:NAME) and a refund's requester cannot approve it; required for failed retry|resolve|dismiss and",
  "                               refunds approve|reject with GATEWAY_JWT_SECRET",
  "  --merchant acct_id           the merchant an admin or support token acts for (a minted token's merchant_id, or Merchant-Id beside a",
  "                               JWT); refused beside an API key, which acts for its own merchant only",
  "  --expires SECONDS            `token`'s lifetime, 1 to the gateway's JWT_MAX_LIFETIME (the environment's, else wrangler.toml's, else 24h)",
  "  --permissions a,b            `token`: narrows its roles' permissions; `keys create`: a restricted key's permissions",
  "other options:",
  "  --api-base URL               the gateway (GATEWAY_API_BASE; default http://127.0.0.1:$PORT, PORT defaulting to 8787)",
  "  --idempotency-key KEY        a change's Idempotency-Key (every POST and DELETE sends one, a new one without this option): the",
  "                               same command sent again with it is done at most once, and answered as the first was",
  "  --json                       lists and changes: the API's JSON answer on stdout, and nothing else there",
  "exit codes: 0 done; 1 done but not as asked (an event that did not happen, a declined retry, the provider failed) or an",
  "  unexpected error; 2 bad usage (nothing sent); 3 the gateway refused the request (4xx: nothing done by it; trigger's",
  "  earlier changes stand); 4 it refused the credential or its",
  "  permissions (401, 403); 5 no answer (network, timeout, 5xx, the same key still in flight): a change's outcome is unknown,",
  "  and the command line that finishes it safely (with its --idempotency-key) is printed on stderr.",
  "Amounts are shown in the currency's decimals (20.00 USD, 500 JPY, 12.345 KWD), as the dashboard shows them.",
  "In scripts, `npm run -s cli -- ...` (or `npx gateway ...`) keeps npm's banner off stdout.",
].join("\n");
const usageLines = (commands) => commands.map(([syntax, needs]) => `  ${needs ? `${syntax.padEnd(62)}  (${needs})` : syntax}`).join("\n");
const USAGE = `usage: gateway <command> [options]\n${usageLines(Object.values(COMMANDS).flat())}\n${OPTIONS_USAGE}`;
/** One command's usage, for `help <command>`; a usage error shows its syntax alone. */
const commandUsage = (command) => `usage: gateway <command> [options]\n${usageLines(COMMANDS[command])}\n${OPTIONS_USAGE}`;
const commandSyntax = (command) => `usage: gateway <command> [options]\n${usageLines(COMMANDS[command])}\n(\`gateway help\` lists the options, credentials and exit codes)`;

/** Refuses an option the command does not take (exit 2): an option ignored would act otherwise than asked. */
function checkOptions(values, command, sub) {
  const name = ACCEPTS[`${command} ${sub}`] ? `${command} ${sub}` : command;
  const accepted = ACCEPTS[name];
  // An unknown command or subcommand is said by the command itself.
  if (!accepted) return;
  for (const option of Object.keys(values)) {
    if (option === "help" || option === "version" || accepted.includes(option)) continue;
    const why = NOT_HERE[option] && !(option === "merchant" && name !== "merchants create") ? `: ${NOT_HERE[option]}` : "";
    throw new UsageError(`--${option} does not apply to \`gateway ${name}\`${why}`, command);
  }
}

/** Warns (one line each) of a secret given on the command line, where other users and the shell history see it. */
function warnSecretsInArgv(values, err) {
  for (const [option, variable] of Object.entries(SECRET_OPTIONS)) {
    if (values[option] !== undefined) err(`warning: --${option} on the command line is visible to other users of this machine (ps) and kept in your shell history: set ${variable} instead`);
  }
}

const FORWARDED = ["content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature", "stripe-signature"];

async function listen(values, out, err) {
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
      } catch (e) {
        status = `error (${e.cause?.code ?? e.message})`;
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
  // Named so that an endpoint left over (the machine lost power, SIGKILL) can be found and deleted.
  const session = `gateway listen session ${call.key} on ${hostname()} pid ${process.pid} (temporary: delete it if this process is gone)`;
  let endpoint;
  try {
    endpoint = await call("POST", "/v1/webhook_endpoints", { url: `http://127.0.0.1:${port}/`, enabled_events: events, description: session });
  } catch (e) {
    server.close();
    // Sent again, the same key would replay an endpoint pointing at this run's receiver: say where to look instead.
    if (e instanceof NoAnswer && e.sent) {
      throw new NoAnswer(`${e.message}\nAn endpoint may have been made: look for the description "${session}" (GET /v1/webhook_endpoints, or the dashboard's Webhooks page) and delete it.`, { key: null, sent: true });
    }
    throw e;
  }
  out(`Ready! Forwarding ${events.join(", ")} to ${target}`);
  out(`Your webhook signing secret is ${endpoint.secret} (endpoint ${endpoint.id}; deleted when this stops)`);
  // Deleted however this stops: Ctrl-C, SIGTERM, SIGHUP (the terminal closed), or an error of this process.
  const stopped = await new Promise((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.once(signal, () => resolve({ signal }));
    process.once("uncaughtException", (error) => resolve({ error }));
    process.once("unhandledRejection", (error) => resolve({ error }));
    server.once("error", (error) => resolve({ error }));
  });
  server.close();
  if (stopped.error) err(`error: ${stopped.error?.message ?? stopped.error}`);
  try {
    await call("DELETE", `/v1/webhook_endpoints/${endpoint.id}`);
    out(`Deleted endpoint ${endpoint.id}`);
  } catch (e) {
    err(`Could not delete endpoint ${endpoint.id}: ${e.message}. Delete it yourself: DELETE /v1/webhook_endpoints/${endpoint.id} (or the dashboard's Webhooks page).`);
    return EXIT.NOT_DONE;
  }
  return stopped.error ? EXIT.NOT_DONE : EXIT.OK;
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

/** A failed payment's lines: amount, decline and card, then its decline message, retries and whether it can be retried. */
function failedPaymentLines(pi) {
  const error = pi.last_payment_error;
  // Without a card's refusal, the reason the counts use (failure_reason: provider_error when the provider failed).
  const reason = [error?.code, error?.decline_code].filter(Boolean).join("/") || pi.failure_reason || "unknown";
  const card = error?.payment_method?.card;
  const resolution = pi.failure_resolution ? `  ${pi.failure_resolution.status}: ${pi.failure_resolution.reason}` : "";
  const first = [pi.id, formatAmount(pi.amount, pi.currency), reason, card?.last4 ? `${card.brand ?? "card"} ending ${card.last4}` : "", pi.merchant_id ?? "", when(pi.created)].filter(Boolean).join("  ");
  const retries = pi.retries ?? [];
  const latest = retries[retries.length - 1];
  const details = [
    error?.message ? JSON.stringify(error.message) : "",
    retries.length === 0 ? "no retries" : `retries: ${retries.length}, the latest ${latest.id} ${latest.status}`,
    pi.retry_refusal ? `cannot be retried: ${pi.retry_refusal}` : "",
  ].filter(Boolean);
  return [`${first}${resolution}`, `    ${details.join("; ")}`];
}

async function failed(values, sub, id, out) {
  // Retry, resolve and dismiss settle a failed payment: the audit log and its resolution name who did.
  const call = client(values, "failed", { decision: sub !== "list" });
  const print = printer(values, out);
  switch (sub) {
    case "list": {
      const resolution = values.resolution ?? "open";
      const list = await call("GET", `/v1/admin/failed_payments${query({ resolution: values.resolution, reason: values.reason, limit: values.limit, cursor: values.cursor })}`);
      print(list, () => {
        // The page is not the total: the counts by reason are (over the API's default window, the last 30 days).
        const counts = Object.entries(list.counts_by_reason ?? {}).map(([reason, n]) => `${reason} ${n}`);
        const page = list.has_more ? `; more: --cursor ${list.next_cursor}` : values.cursor ? ", the last page" : ", all there are";
        return [
          `Failed payments (${resolution}${values.reason ? `, reason ${values.reason}` : ""}): showing ${list.data.length}, the newest first${page}`,
          `By reason (${resolution}, created in the last 30 days): ${counts.length > 0 ? counts.join(", ") : "none"}`,
          ...list.data.flatMap(failedPaymentLines),
          ...(list.has_more ? [`more: --cursor ${list.next_cursor}`] : []),
        ];
      });
      return EXIT.OK;
    }
    case "retry": {
      const usage = "failed retry <pi_id> [--payment-method pm_id]";
      const route = `/v1/admin/failed_payments/${encodeURIComponent(needId(id, "pi", "failed", usage))}/retry`;
      let result;
      let declined = null;
      let providerFailed = false;
      try {
        result = await call("POST", route, values["payment-method"] ? { payment_method: values["payment-method"] } : {});
      } catch (err) {
        // A declined retry answers 402 with the retry and the original beside the error; one the
        // provider failed (502 provider_error, no money moved) the same way.
        if (!(err instanceof ApiError) || !err.body?.retry) throw err;
        result = err.body;
        declined = err.body.error;
        providerFailed = err instanceof ProviderFailed;
      }
      const { retry, original } = result;
      const paid = retry.status === "succeeded";
      print(result, [
        `retry: ${retry.id} ${retry.status}${declined ? ` (${declined.code ?? declined.type}: ${declined.message})` : ""}`,
        `original: ${original.id} ${original.failure_resolution ? `${original.failure_resolution.status} (retried by ${original.failure_resolution.retried_by ?? "-"})` : "still open"}`,
        ...replayNote(call, "retried"),
        ...(paid
          ? []
          : [
              providerFailed
                ? `${PROVIDER_FAILED_NOTE} ${original.id} stays open.`
                : declined
                  ? `The retry was declined: ${original.id} stays open.`
                  : `The retry is ${retry.status}: ${original.id} is resolved once it succeeds.`,
            ]),
      ]);
      return paid ? EXIT.OK : EXIT.NOT_DONE;
    }
    case "resolve":
    case "dismiss": {
      const usage = `failed ${sub} <pi_id> --reason TEXT${sub === "resolve" ? " [--paid-by-other-means]" : ""}`;
      needId(id, "pi", "failed", usage);
      if (!values.reason) throw new UsageError(`${usage}: --reason is required (it is kept in the audit log)`, "failed");
      const body = { reason: values.reason, ...(sub === "resolve" && values["paid-by-other-means"] ? { paid_by_other_means: true } : {}) };
      const pi = await call("POST", `/v1/admin/failed_payments/${encodeURIComponent(id)}/${sub}`, body);
      const r = pi.failure_resolution;
      print(pi, [`${pi.id} ${r?.status ?? "?"}: ${r?.reason ?? values.reason}${r?.paid_by_other_means ? " (paid by other means)" : ""}`, ...replayNote(call, sub === "resolve" ? "resolved" : "dismissed")]);
      return EXIT.OK;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand failed ${sub}` : "failed needs a subcommand", "failed");
  }
}

async function refunds(values, sub, id, out) {
  // Approving names the approver, who may not be the refund's requester.
  const call = client(values, "refunds", { decision: sub !== "pending" });
  const print = printer(values, out);
  switch (sub) {
    case "pending": {
      const list = await call("GET", `/v1/admin/refunds${query({ limit: values.limit, cursor: values.cursor })}`);
      print(list, () => [
        `${list.data.length} refund${list.data.length === 1 ? "" : "s"} waiting for approval${list.has_more ? ` shown, the newest first; more: --cursor ${list.next_cursor}` : ""}`,
        // Who asked: that person may not approve it (four eyes).
        ...list.data.map((re) => `${re.id}  ${formatAmount(re.amount, re.currency)}  ${re.payment_intent ?? ""}  ${re.reason ?? ""}  ${re.requested_by ? `requested by ${re.requested_by}` : ""}  ${when(re.created)}`.replace(/ {3,}/g, "  ")),
        ...(list.has_more ? [`more: --cursor ${list.next_cursor}`] : []),
      ]);
      return EXIT.OK;
    }
    case "approve":
    case "reject": {
      const usage = `refunds ${sub} <re_id> [--reason TEXT]`;
      const route = `/v1/admin/refunds/${encodeURIComponent(needId(id, "re", "refunds", usage))}:${sub}`;
      const refund = await call("POST", route, values.reason ? { reason: values.reason } : {});
      const verb = sub === "approve" ? "Approved" : "Rejected";
      print(refund, [
        `${verb} ${refund.id}: ${formatAmount(refund.amount, refund.currency)} of ${refund.payment_intent}, now ${refund.status}${sub === "approve" && refund.status === "succeeded" ? " (charge.refunded sent)" : ""}`,
        ...replayNote(call, sub === "approve" ? "approved" : "rejected"),
      ]);
      return EXIT.OK;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand refunds ${sub}` : "refunds needs a subcommand", "refunds");
  }
}

/** A held change of the refund approval thresholds (pending_settings_change on the account): decided by a second person. */
async function settings(values, sub, id, out) {
  if (sub !== "approve" && sub !== "reject" && sub !== "withdraw") throw new UsageError(sub ? `unknown subcommand settings ${sub}` : "settings needs a subcommand", "settings");
  const usage = `settings ${sub} <msc_id> [--reason TEXT]`;
  const route = `/v1/admin/settings_changes/${encodeURIComponent(needId(id, "msc", "settings", usage))}/${sub}`;
  const call = client(values, "settings", { decision: true });
  const change = await call("POST", route, values.reason ? { reason: values.reason } : {});
  const thresholds = Object.entries(change.settings?.refund_approval_thresholds ?? {}).map(([currency, amount]) => formatAmount(amount, currency));
  const verb = { approve: "Approved", reject: "Rejected", withdraw: "Withdrew" }[sub];
  printer(values, out)(change, [
    `${verb} ${change.id} (asked by ${change.requested_by}): refund approval thresholds ${thresholds.length ? thresholds.join(", ") : "none"}${sub === "approve" ? " now in force" : " not applied"}`,
    ...replayNote(call, { approve: "approved", reject: "rejected", withdraw: "withdrawn" }[sub]),
  ]);
  return EXIT.OK;
}

export async function main(argv, out = (line) => console.log(line), err = (line) => console.error(line)) {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, sub, arg] = positionals;
  if (values.version) {
    out(packageVersion());
    return EXIT.OK;
  }
  if (command === "help" || values.help || !command) {
    const topic = command === "help" ? sub : values.help ? command : undefined;
    if (topic !== undefined && !COMMANDS[topic]) throw new UsageError(`unknown command ${topic}`);
    out(topic !== undefined ? commandUsage(topic) : USAGE);
    return command || values.help ? EXIT.OK : EXIT.USAGE;
  }
  checkOptions(values, command, sub);
  warnSecretsInArgv(values, err);
  const idempotencyKey = values["idempotency-key"];
  if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 240)) throw new UsageError("--idempotency-key must be 1 to 240 characters long", command);
  switch (command) {
    case "token": {
      // By default an hour, or JWT_MAX_LIFETIME when that is shorter.
      const expires = values.expires === undefined ? Math.min(3600, jwtMaxLifetime().seconds ?? 3600) : /^\d+$/.test(values.expires) ? Number(values.expires) : NaN;
      const secret = values.secret ?? values["jwt-secret"] ?? process.env.GATEWAY_JWT_SECRET;
      const operator = secret ? operatorOf(values, "token", false) : undefined;
      const role = values.role ?? "admin";
      const token = await mintToken({ secret, sub: operator, role, merchant: values.merchant, permissions: values.permissions, expires, issuer: values.issuer, audience: values.audience });
      // Still minted (scripts sign in with it), but whoever uses it is told what the audit log will say.
      if (!operator) err(`note: this token names no operator (its subject is cli-${parseRoles(role).roles.join("-")}, the same for everyone): give --sub NAME (or GATEWAY_OPERATOR=NAME)`);
      out(token);
      return EXIT.OK;
    }
    case "listen":
      return listen(values, out, err);
    case "trigger": {
      const make = TRIGGERS[sub ?? ""];
      if (!make) throw new UsageError(`trigger one of: ${TRIGGER_EVENTS.join(", ")}`, "trigger");
      const result = await make(client(values, "trigger"));
      for (const l of result.lines) out(l);
      if (result.problem) {
        err(result.problem);
        return EXIT.NOT_DONE;
      }
      out(result.triggered);
      return EXIT.OK;
    }
    case "events": {
      if (sub !== "resend" || !arg) throw new UsageError("events resend <evt_id> [--endpoint we_id]", "events");
      const call = client(values, "events");
      const result = await call("POST", `/v1/events/${encodeURIComponent(arg)}/retry`, values.endpoint ? { webhook_endpoint: values.endpoint } : {});
      printer(values, out)(result, [`Resent ${arg}: ${(result.data ?? []).map((d) => `${d.id} (${d.webhook_endpoint ?? d.endpoint ?? ""} ${d.status ?? ""})`).join(", ") || "no endpoint"}`, ...replayNote(call, "resent")]);
      return EXIT.OK;
    }
    case "merchants": {
      if (sub !== "create" || !values.name) throw new UsageError("merchants create --name NAME", "merchants");
      const call = client(values, "merchants");
      const made = await call("POST", "/v1/admin/merchants", { name: values.name });
      printer(values, out)(made, [`merchant: ${made.merchant.id}`, `secret key (shown once): ${made.api_key.secret}`, ...replayNote(call, "created")]);
      return EXIT.OK;
    }
    case "keys": {
      if (sub === "roll") {
        if (!arg) throw new UsageError("keys roll <key_id> [--overlap SECONDS]", "keys");
        const overlap = values.overlap === undefined ? 0 : /^\d+$/.test(values.overlap) ? Number(values.overlap) : NaN;
        if (!Number.isInteger(overlap) || overlap < 0 || overlap > 604800) throw new UsageError("--overlap must be 0 to 604800 seconds (7 days)", "keys");
        const call = client(values, "keys");
        const key = await call("POST", `/v1/api_keys/${encodeURIComponent(arg)}/roll`, { expires_in: overlap });
        const until = key.rolled_from?.expires_at;
        const old = key.rolled_from?.revoked || !until ? `${arg} no longer works` : `${arg} works until ${new Date(until * 1000).toISOString()}`;
        printer(values, out)(key, [`key: ${key.id} (${key.type})`, key.access_token ? `application: ${key.application_id}, token (shown once): ${key.access_token}` : `secret (shown once): ${key.secret}`, old, ...replayNote(call, "rolled")]);
        return EXIT.OK;
      }
      if (sub !== "create") throw new UsageError("keys create [--type secret|restricted] [--permissions a,b] [--name NAME] | keys roll <key_id> [--overlap SECONDS]", "keys");
      const body = { ...(values.type ? { type: values.type } : {}), ...(values.name ? { name: values.name } : {}), ...(values.permissions ? { permissions: values.permissions.split(",") } : {}) };
      const call = client(values, "keys");
      const key = await call("POST", "/v1/api_keys", body);
      printer(values, out)(key, [`key: ${key.id} (${key.type})`, `secret (shown once): ${key.secret}`, ...replayNote(call, "created")]);
      return EXIT.OK;
    }
    case "failed":
      return failed(values, sub, arg, out);
    case "refunds":
      return refunds(values, sub, arg, out);
    case "settings":
      return settings(values, sub, arg, out);
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

/** A word for the shell: as it is when it needs no quotes, else in single quotes. */
const shellWord = (word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/** How this CLI was started, for a command line to run again: `npm run -s cli --`, `npx gateway`, or the script's path. */
function invocation() {
  const script = process.argv[1] ?? "gateway";
  // The package's bin, on PATH or through npx (whose environment an outer npx leaves to its children too: the bin's name decides).
  if (path.basename(script) === "gateway") return process.env.npm_command === "exec" ? "npx gateway" : "gateway";
  if (process.env.npm_lifecycle_event === "cli") return "npm run -s cli --";
  const relative = path.relative(process.cwd(), script);
  return `node ${shellWord(relative.startsWith("..") ? script : relative)}`;
}

/**
 * The command line that sends this command again with `key`: the same arguments, secrets left out
 * (they are taken from the environment), any other --idempotency-key replaced. { line, elided }.
 */
function rerunLine(argv, key) {
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  const words = [];
  const elided = [];
  for (const token of tokens) {
    if (token.kind === "positional") words.push(token.value);
    else if (token.kind === "option-terminator") words.push("--");
    else if (SECRET_OPTIONS[token.name]) elided.push(token.name);
    else if (token.name !== "idempotency-key") words.push(token.rawName, ...(token.value !== undefined ? [token.value] : []));
  }
  words.push("--idempotency-key", key);
  return { line: `${invocation()} ${words.map(shellWord).join(" ")}`, elided };
}

/** What an error says on stderr, and the exit code it ends with. */
export function report(error, argv) {
  const parseError = error?.code?.startsWith?.("ERR_PARSE_ARGS");
  if (error instanceof UsageError || parseError) return { code: EXIT.USAGE, lines: [error.message, error.command ? commandSyntax(error.command) : USAGE] };
  if (error instanceof ProviderFailed) {
    return {
      code: EXIT.NOT_DONE,
      lines: [
        `error: ${error.message}`,
        PROVIDER_FAILED_NOTE,
      ],
    };
  }
  if (error instanceof ApiError) return { code: error.status === 401 || error.status === 403 ? EXIT.AUTH : EXIT.REFUSED, lines: [`error: ${error.message}`] };
  if (error instanceof NoAnswer) {
    if (!error.sent) return { code: EXIT.UNKNOWN, lines: [`error: ${error.message}: nothing was sent, nothing was done.`] };
    if (!error.key) return { code: EXIT.UNKNOWN, lines: [`error: ${error.message}`] };
    const { line, elided } = rerunLine(argv, error.key);
    return {
      code: EXIT.UNKNOWN,
      lines: [
        `error: ${error.message}`,
        `The outcome is unknown: it may or may not have been done. The command's Idempotency-Key was ${error.key}${error.step ? ` (this change's, ${error.step})` : ""}.`,
        "Run this to finish it safely (with the same key it is done at most once, and answered as the first time if it was done):",
        `  ${line}`,
        ...elided.map((option) => `(--${option} is left out: set ${SECRET_OPTIONS[option]} in the environment)`),
      ],
    };
  }
  return { code: EXIT.NOT_DONE, lines: [`error: ${error?.message ?? error}`] };
}

const invoked = process.argv[1] && import.meta.url === new URL(`file://${realpathSync(process.argv[1])}`).href;
if (invoked) {
  const argv = process.argv.slice(2);
  main(argv).then(
    (code) => process.exit(code),
    (error) => {
      const { code, lines } = report(error, argv);
      console.error(lines.join("\n"));
      process.exit(code);
    },
  );
}
