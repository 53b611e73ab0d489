// A local, stateful fake of Stripe's PaymentIntents, Refunds and Events endpoints, enough for the
// Stripe connector: form-encoded requests, Idempotency-Key replay, Stripe's test payment methods
// (pm_card_visa succeeds, pm_card_chargeDeclined declines, ...), and a few behaviours of our own:
//   pm_card_sandboxTimeoutThenSuccess / ...ThenDecline  processed, but the answer comes too late
//   pm_card_sandboxProviderError                        500 api_error
//   a secret key containing "_down"                     502 on every request (an outage: indeterminate)
//   a secret key containing "_refused"                  429 rate_limit on every request (refused: nothing done)
//   a secret key containing "_searchlag"                search finds nothing (its index lags); list is consistent
//   an amount below Stripe's minimum for its currency    400 invalid_request_error amount_too_small, param amount (a
//                                                        capture below it: param amount_to_capture), nothing made
//   POST /v1/refunds straight to the fake (a refund made in Stripe's dashboard): a later refund of more than is left
//   is refused with 400 amount_too_large, as Stripe refuses it
//   payment_method_options[card][request_incremental_authorization]=if_available on a manual capture: the charge's
//   incremental_authorization is available (expand[]=latest_charge shows it), and POST .../increment_authorization
//   raises the amount; pm_card_sandboxIncrementDeclined declines every increment (card_declined / insufficient_funds)
// GET /__stats tells how many payment intents each of our attempts created (idempotency proof).
// POST /__idempotency/expire?key=<secret key> forgets that account's idempotency keys, as Stripe does
// 24 hours after a key's first use: a request sent again with one of them is new to Stripe.
// Faults for the chaos suite (test/chaos), per secret key and operation (create, capture, cancel,
// refund): the controls of test/fakes/faults.ts; an error is a 500 api_error.
//   GET /__ledger?intent=<gateway intent id>   the fake's payment intents and refunds for it (money moved here)
import { createServer, type Server } from "node:http";
import qs from "qs";
import { FaultInjector } from "./faults";
import { readBody, send, untilGone } from "./http";

type Params = Record<string, unknown>;

interface PaymentIntent {
  id: string;
  object: "payment_intent";
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  capture_method: string;
  status: string;
  metadata: Record<string, string>;
  payment_method: string | null;
  last_payment_error: { type: string; code: string; decline_code?: string; message: string } | null;
  next_action: { type: string; redirect_to_url: { url: string; return_url: string | null } } | null;
  latest_charge: string | null;
  created: number;
  livemode: false;
}

interface Refund {
  id: string;
  object: "refund";
  amount: number;
  currency: string;
  payment_intent: string;
  status: string;
  metadata: Record<string, string>;
  failure_reason: string | null;
  created: number;
}

const DECLINES: Record<string, { code: string; decline_code: string; message: string }> = {
  pm_card_chargeDeclined: { code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." },
  pm_card_chargeDeclinedInsufficientFunds: { code: "card_declined", decline_code: "insufficient_funds", message: "Your card has insufficient funds." },
  pm_card_chargeDeclinedLostCard: { code: "card_declined", decline_code: "lost_card", message: "Your card was declined." },
  pm_card_chargeDeclinedStolenCard: { code: "card_declined", decline_code: "stolen_card", message: "Your card was declined." },
  pm_card_chargeDeclinedFraudulent: { code: "card_declined", decline_code: "fraudulent", message: "Your card was declined." },
  pm_card_chargeDeclinedExpiredCard: { code: "expired_card", decline_code: "expired_card", message: "Your card has expired." },
  pm_card_chargeDeclinedIncorrectCvc: { code: "incorrect_cvc", decline_code: "incorrect_cvc", message: "Your card's security code is incorrect." },
  pm_card_chargeDeclinedProcessingError: { code: "processing_error", decline_code: "processing_error", message: "An error occurred while processing your card." },
  pm_card_sandboxTimeoutThenDecline: { code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." },
};
const SUCCEEDS = ["pm_card_visa", "pm_card_visa_debit", "pm_card_mastercard", "pm_card_amex", "pm_card_discover", "pm_card_sandboxTimeoutThenSuccess", "pm_card_sandboxIncrementDeclined"];
const THREE_DS = ["pm_card_threeDSecure2Required", "pm_card_authenticationRequired"];
/** These cards' answers come after the caller gave up (untilGone): late, whatever its timeout. */
const LATE = ["pm_card_sandboxTimeoutThenSuccess", "pm_card_sandboxTimeoutThenDecline"];
/** Which faultable operation a request is, if any. */
function faultOp(method: string, path: string): string | null {
  if (method !== "POST") return null;
  if (path === "/v1/payment_intents") return "create";
  if (path === "/v1/refunds") return "refund";
  const m = /^\/v1\/payment_intents\/[^/]+\/(capture|cancel|increment_authorization)$/.exec(path);
  return m?.[1] === "increment_authorization" ? "increment" : (m?.[1] ?? null);
}

/** Stripe's minimum charge amounts (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts), for a few currencies. */
const MINIMUM: Record<string, { amount: number; words: string }> = {
  usd: { amount: 50, words: "$0.50 usd" },
  eur: { amount: 50, words: "€0.50 eur" },
  gbp: { amount: 30, words: "£0.30 gbp" },
};

/** Stripe's 400 for an amount below its minimum: its code, param and words. */
function belowMinimum(amount: number, currency: string, param: string): { status: number; body: unknown } | null {
  const min = MINIMUM[currency.toLowerCase()];
  if (!min || amount >= min.amount) return null;
  return { status: 400, body: { error: { type: "invalid_request_error", code: "amount_too_small", param, message: `Amount must be at least ${min.words}`, doc_url: "https://stripe.com/docs/error-codes/amount-too-small" } } };
}

/** Stripe's currency rules: three-decimal amounts end in 0, ISK in whole kronur (written with two decimals). */
function currencyRuleBroken(amount: number, currency: string): string | null {
  const code = currency.toLowerCase();
  if (["btn", "cup", "ern", "iqd", "irr", "kpw", "lyd", "sdg", "ssp", "syp", "tmt", "ves", "zwl"].includes(code)) return `Invalid currency: ${code}.`;
  if (["bhd", "jod", "kwd", "omr", "tnd"].includes(code) && amount % 10 !== 0) return `Amounts in ${code} must end in 0.`;
  if (code === "isk" && amount % 100 !== 0) return "Amounts in isk must be whole kronur (divisible by 100).";
  return null;
}

export interface StripeFake {
  server: Server;
  port: number;
}

export function startStripeFake(): Promise<StripeFake> {
  const intents = new Map<string, PaymentIntent>();
  /** The secret key each payment intent was made with: list and search see their own account's. */
  const ownerOf = new Map<string, string>();
  const refunds = new Map<string, Refund>();
  /** Payment intents whose authorization may be incremented (asked for, manual capture). */
  const incremental = new Set<string>();
  const events: { id: string; type: string; created: number; data: { object: unknown } }[] = [];
  const idempotency = new Map<string, { fingerprint: string; status: number; body: unknown }>();
  /** Idempotency keys whose first request is still running (a fault holds it). */
  const running = new Set<string>();
  const createdByAttempt = new Map<string, number>();
  const requests = new Map<string, number>();
  const faults = new FaultInjector();
  let counter = 0;
  let base = "";
  const nextId = (prefix: string) => `${prefix}_fake${String(++counter).padStart(8, "0")}`;
  const now = () => Math.floor(Date.now() / 1000);
  const emit = (type: string, object: unknown) => events.push({ id: nextId("evt"), type, created: now(), data: { object: structuredClone(object) } });
  const error = (status: number, type: string, message: string, extra: Params = {}) => ({ status, body: { error: { type, message, ...extra } } });

  function createIntent(p: Params, key: string): { status: number; body: unknown } {
    const pm = String(p.payment_method ?? "");
    const metadata = (p.metadata ?? {}) as Record<string, string>;
    const manual = p.capture_method === "manual";
    const amount = Number(p.amount);
    if (!Number.isInteger(amount) || amount < 1) return error(400, "invalid_request_error", "Invalid amount", { param: "amount" });
    const broken = currencyRuleBroken(amount, String(p.currency));
    if (broken) return error(400, "invalid_request_error", broken, { param: "amount" });
    const small = belowMinimum(amount, String(p.currency), "amount");
    if (small) return small;
    if (pm === "pm_card_sandboxProviderError") return error(500, "api_error", "An unknown error occurred");
    if (!SUCCEEDS.includes(pm) && !DECLINES[pm] && !THREE_DS.includes(pm)) return error(400, "invalid_request_error", `No such PaymentMethod: '${pm}'`, { code: "resource_missing", param: "payment_method" });
    const pi: PaymentIntent = {
      id: nextId("pi"),
      object: "payment_intent",
      amount,
      amount_capturable: 0,
      amount_received: 0,
      currency: String(p.currency),
      capture_method: manual ? "manual" : "automatic",
      status: "requires_payment_method",
      metadata,
      payment_method: pm,
      last_payment_error: null,
      next_action: null,
      latest_charge: null,
      created: now(),
      livemode: false,
    };
    intents.set(pi.id, pi);
    ownerOf.set(pi.id, key);
    const cardOptions = ((p.payment_method_options ?? {}) as Record<string, Record<string, unknown> | undefined>).card;
    if (manual && cardOptions?.request_incremental_authorization === "if_available") incremental.add(pi.id);
    const attempt = metadata.gateway_attempt ?? "none";
    createdByAttempt.set(attempt, (createdByAttempt.get(attempt) ?? 0) + 1);
    emit("payment_intent.created", pi);
    const decline = DECLINES[pm];
    if (decline) {
      pi.last_payment_error = { type: "card_error", ...decline };
      emit("payment_intent.payment_failed", pi);
      return error(402, "card_error", decline.message, { code: decline.code, decline_code: decline.decline_code, payment_intent: pi });
    }
    if (THREE_DS.includes(pm) && String(p.off_session) === "true") {
      // Stripe declines an off-session payment the issuer wants authenticated.
      const declined = { code: "authentication_required", decline_code: "authentication_required", message: "Your card was declined. This transaction requires authentication." };
      pi.last_payment_error = { type: "card_error", ...declined };
      emit("payment_intent.payment_failed", pi);
      return error(402, "card_error", declined.message, { ...declined, payment_intent: pi });
    }
    if (THREE_DS.includes(pm)) {
      pi.status = "requires_action";
      pi.next_action = { type: "redirect_to_url", redirect_to_url: { url: `${base}/3ds/${pi.id}`, return_url: typeof p.return_url === "string" ? p.return_url : null } };
      return { status: 200, body: pi };
    }
    authorize(pi);
    return { status: 200, body: render(pi, p) };
  }

  /** The payment intent as answered: latest_charge expanded (a charge with its incremental_authorization) when asked. */
  function render(pi: PaymentIntent, p: Params): unknown {
    const expand = Array.isArray(p.expand) ? p.expand.map(String) : [];
    if (!expand.includes("latest_charge") || !pi.latest_charge) return pi;
    const charge = {
      id: pi.latest_charge,
      object: "charge",
      amount: pi.amount,
      payment_intent: pi.id,
      payment_method_details: { type: "card", card: { incremental_authorization: { status: incremental.has(pi.id) ? "available" : "unavailable" } } },
    };
    return { ...pi, latest_charge: charge };
  }

  function authorize(pi: PaymentIntent): void {
    pi.latest_charge = nextId("ch");
    if (pi.capture_method === "manual") {
      pi.status = "requires_capture";
      pi.amount_capturable = pi.amount;
      emit("payment_intent.amount_capturable_updated", pi);
    } else {
      pi.status = "succeeded";
      pi.amount_received = pi.amount;
      emit("payment_intent.succeeded", pi);
    }
  }

  function route(method: string, path: string, p: Params, key: string): { status: number; body: unknown } {
    let m: RegExpExecArray | null;
    const mine = () => [...intents.values()].filter((pi) => ownerOf.get(pi.id) === key);
    if (method === "POST" && path === "/v1/payment_intents") return createIntent(p, key);
    if (method === "GET" && path === "/v1/payment_intents/search") {
      const attempt = /metadata\['gateway_attempt'\]:'([^']+)'/.exec(String(p.query ?? ""))?.[1];
      const data = key.includes("_searchlag") ? [] : mine().filter((pi) => pi.metadata.gateway_attempt === attempt);
      return { status: 200, body: { object: "search_result", data, has_more: false, next_page: null, url: "/v1/payment_intents/search" } };
    }
    if (method === "GET" && path === "/v1/payment_intents") {
      // Newest first, as Stripe lists; created[gte]/[lte] in seconds, starting_after, limit (at most 100).
      const created = (typeof p.created === "object" && p.created !== null ? p.created : {}) as Record<string, unknown>;
      const limit = Math.min(100, Number(p.limit ?? 10));
      let data = mine()
        .filter((pi) => (created.gte === undefined || pi.created >= Number(created.gte)) && (created.lte === undefined || pi.created <= Number(created.lte)))
        .reverse();
      if (typeof p.starting_after === "string") data = data.slice(data.findIndex((pi) => pi.id === p.starting_after) + 1);
      return { status: 200, body: { object: "list", data: data.slice(0, limit), has_more: data.length > limit, url: "/v1/payment_intents" } };
    }
    if ((m = /^\/v1\/payment_intents\/([^/]+)$/.exec(path)) && method === "GET") {
      const pi = intents.get(m[1] ?? "");
      return pi ? { status: 200, body: render(pi, p) } : error(404, "invalid_request_error", "No such payment_intent", { code: "resource_missing" });
    }
    if ((m = /^\/v1\/payment_intents\/([^/]+)\/increment_authorization$/.exec(path)) && method === "POST") {
      const pi = intents.get(m[1] ?? "");
      if (!pi) return error(404, "invalid_request_error", "No such payment_intent", { code: "resource_missing" });
      if (pi.status !== "requires_capture") return error(400, "invalid_request_error", `This PaymentIntent's authorization could not be incremented because it has a status of ${pi.status}.`, { code: "payment_intent_unexpected_state" });
      if (!incremental.has(pi.id)) return error(400, "invalid_request_error", "Incremental authorization is not available for this PaymentIntent.", { code: "payment_intent_unexpected_state" });
      const amount = Number(p.amount);
      if (!Number.isInteger(amount) || amount <= pi.amount) return error(400, "invalid_request_error", "The amount must be greater than the currently authorized amount.", { param: "amount" });
      if (pi.payment_method === "pm_card_sandboxIncrementDeclined") {
        return error(402, "card_error", "Your card has insufficient funds.", { code: "card_declined", decline_code: "insufficient_funds", payment_intent: pi });
      }
      pi.amount = amount;
      pi.amount_capturable = amount;
      emit("payment_intent.amount_capturable_updated", pi);
      return { status: 200, body: pi };
    }
    if ((m = /^\/v1\/payment_intents\/([^/]+)\/(capture|cancel)$/.exec(path)) && method === "POST") {
      const pi = intents.get(m[1] ?? "");
      if (!pi) return error(404, "invalid_request_error", "No such payment_intent", { code: "resource_missing" });
      if (m[2] === "capture") {
        if (pi.status !== "requires_capture") return error(400, "invalid_request_error", `This PaymentIntent could not be captured because it has a status of ${pi.status}.`, { code: "payment_intent_unexpected_state" });
        const amount = p.amount_to_capture === undefined ? pi.amount_capturable : Number(p.amount_to_capture);
        if (amount > pi.amount_capturable) return error(400, "invalid_request_error", "amount_to_capture is too large", { code: "amount_too_large" });
        const broken = currencyRuleBroken(amount, pi.currency);
        if (broken) return error(400, "invalid_request_error", broken, { param: "amount_to_capture" });
        const small = belowMinimum(amount, pi.currency, "amount_to_capture");
        if (small) return small;
        pi.status = "succeeded";
        pi.amount_received = amount;
        pi.amount_capturable = 0;
        emit("payment_intent.succeeded", pi);
        return { status: 200, body: pi };
      }
      if (!["requires_payment_method", "requires_capture", "requires_confirmation", "requires_action"].includes(pi.status)) {
        return error(400, "invalid_request_error", `You cannot cancel this PaymentIntent because it has a status of ${pi.status}.`, { code: "payment_intent_unexpected_state" });
      }
      pi.status = "canceled";
      pi.amount_capturable = 0;
      emit("payment_intent.canceled", pi);
      return { status: 200, body: pi };
    }
    if (method === "POST" && path === "/v1/refunds") {
      const pi = intents.get(String(p.payment_intent ?? ""));
      if (!pi) return error(404, "invalid_request_error", "No such payment_intent", { code: "resource_missing" });
      const refunded = [...refunds.values()].filter((r) => r.payment_intent === pi.id && r.status === "succeeded").reduce((s, r) => s + r.amount, 0);
      const amount = p.amount === undefined ? pi.amount_received - refunded : Number(p.amount);
      if (pi.status !== "succeeded") return error(400, "invalid_request_error", "This PaymentIntent has no captured charge to refund.", { code: "charge_not_refundable" });
      if (amount + refunded > pi.amount_received) return error(400, "invalid_request_error", "Refund amount is greater than the unrefunded amount.", { code: "amount_too_large", param: "amount" });
      const broken = currencyRuleBroken(amount, pi.currency);
      if (broken) return error(400, "invalid_request_error", broken, { param: "amount" });
      const refund: Refund = { id: nextId("re"), object: "refund", amount, currency: pi.currency, payment_intent: pi.id, status: "succeeded", metadata: (p.metadata ?? {}) as Record<string, string>, failure_reason: null, created: now() };
      refunds.set(refund.id, refund);
      emit("refund.created", refund);
      return { status: 200, body: refund };
    }
    if (method === "GET" && path === "/v1/refunds") {
      const data = [...refunds.values()].filter((r) => !p.payment_intent || r.payment_intent === p.payment_intent).reverse();
      return { status: 200, body: { object: "list", data: data.slice(0, Number(p.limit ?? 10)), has_more: data.length > Number(p.limit ?? 10), url: "/v1/refunds" } };
    }
    if ((m = /^\/v1\/refunds\/([^/]+)$/.exec(path)) && method === "GET") {
      const refund = refunds.get(m[1] ?? "");
      return refund ? { status: 200, body: refund } : error(404, "invalid_request_error", "No such refund", { code: "resource_missing" });
    }
    if (method === "GET" && path === "/v1/events") {
      return { status: 200, body: { object: "list", data: [...events].reverse().slice(0, Number(p.limit ?? 10)), has_more: false, url: "/v1/events" } };
    }
    if ((m = /^\/v1\/events\/([^/]+)$/.exec(path)) && method === "GET") {
      const event = events.find((e) => e.id === m?.[1]);
      return event ? { status: 200, body: { object: "event", api_version: "2026-04-22", livemode: false, ...event } } : error(404, "invalid_request_error", "No such event", { code: "resource_missing" });
    }
    return error(404, "invalid_request_error", `Unrecognized request URL (${method}: ${path})`);
  }

  function ledger(method: string, path: string, url: URL): { status: number; body: unknown } | null {
    if (path === "/__ledger" && method === "GET") {
      const intent = url.searchParams.get("intent") ?? "";
      const pis = [...intents.values()].filter((pi) => pi.metadata.gateway_intent === intent);
      const ids = new Set(pis.map((pi) => pi.id));
      return {
        status: 200,
        body: {
          intents: pis.map((pi) => ({ id: pi.id, status: pi.status, amount_received: pi.amount_received, amount_capturable: pi.amount_capturable, attempt: pi.metadata.gateway_attempt ?? null })),
          refunds: [...refunds.values()].filter((r) => ids.has(r.payment_intent)).map((r) => ({ id: r.id, amount: r.amount, status: r.status, payment_intent: r.payment_intent, attempt: r.metadata.gateway_attempt ?? null })),
        },
      };
    }
    return null;
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    if (path === "/__stats") return send(res, 200, { createdByAttempt: Object.fromEntries(createdByAttempt), intents: intents.size, refunds: refunds.size, requests: Object.fromEntries(requests) });
    if (path === "/__idempotency/expire" && req.method === "POST") {
      const account = url.searchParams.get("key") ?? "";
      let expired = 0;
      for (const k of [...idempotency.keys()]) if (k.startsWith(`${account}|`) && idempotency.delete(k)) expired++;
      return send(res, 200, { expired });
    }
    const control = (await faults.control(req, path, url)) ?? ledger(req.method ?? "GET", path, url);
    if (control) return send(res, control.status, control.body);
    let m: RegExpExecArray | null;
    if ((m = /^\/3ds\/([^/]+)$/.exec(path))) {
      // The customer passes Stripe's 3DS page.
      const pi = intents.get(m[1] ?? "");
      if (pi && pi.status === "requires_action") {
        pi.next_action = null;
        authorize(pi);
      }
      return send(res, 200, { ok: Boolean(pi) });
    }
    const key = (req.headers.authorization ?? "").replace(/^Bearer\s+/i, "");
    if (!key.startsWith("sk_")) return send(res, 401, { error: { type: "invalid_request_error", message: "Invalid API Key provided" } });
    if (key.includes("_down")) return send(res, 502, { error: { type: "api_error", message: "Bad gateway (fake outage)" } });
    if (key.includes("_refused")) return send(res, 429, { error: { type: "invalid_request_error", code: "rate_limit", message: "Too many requests hit the API too quickly (fake)." } });
    const body = await readBody(req);
    const params = (req.method === "GET" ? qs.parse(url.search.slice(1)) : qs.parse(body, { depth: 10 })) as Params;
    const idem = req.headers["idempotency-key"];
    const idemKey = typeof idem === "string" && req.method === "POST" ? `${key}|${idem}` : null;
    const fingerprint = `${req.method} ${path} ${body}`;
    // Another request with this key is still running (a slow one): Stripe answers 409 and keeps nothing.
    if (idemKey && running.has(idemKey)) {
      return send(res, 409, { error: { type: "idempotency_error", code: "idempotency_key_in_use", message: "There is currently another in-progress request using this Idempotent Key. Please try again later." } });
    }
    // A fault applies to a replay too: Stripe can fail (500) on the request that asks again.
    const fault = faults.take(key, faultOp(req.method ?? "GET", path));
    // (Only a slow request's key is marked running; the other holds keep the fake's older behaviour.)
    const marked = idemKey && fault === "slow" ? idemKey : null;
    if (marked) running.add(marked);
    if (fault === "rate_limit") return send(res, 429, { error: { type: "invalid_request_error", code: "rate_limit", message: "Too many requests hit the API too quickly (injected)." } });
    let refused: boolean;
    try {
      refused = await faults.refuses(fault, key, res);
    } finally {
      if (marked) running.delete(marked);
    }
    if (refused) return send(res, 500, { error: { type: "api_error", message: `An unknown error occurred (injected: ${fault ?? ""})` } });
    if (idemKey) {
      const stored = idempotency.get(idemKey);
      if (stored) {
        if (stored.fingerprint !== fingerprint) return send(res, 400, { error: { type: "idempotency_error", message: "Keys for idempotent requests can only be used with the same parameters they were first used with." } });
        await faults.delays(fault, key, res);
        return send(res, stored.status, stored.body, { "idempotent-replayed": "true" });
      }
    }
    const done = route(req.method ?? "GET", path, params, key);
    // Done, but a 500 answers it; Stripe keeps that 500 as the key's answer, so a replay gets it again.
    const result = fault === "error_after" ? error(500, "api_error", "An unknown error occurred (injected: error_after)") : done;
    if (idemKey && (result.status < 500 || fault === "error_after")) idempotency.set(idemKey, { fingerprint, ...result });
    if (path === "/v1/payment_intents" && req.method === "POST" && LATE.includes(String(params.payment_method))) await untilGone(res);
    await faults.delays(fault, key, res);
    send(res, result.status, result.body, { "request-id": `req_fake_${counter}` });
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
