// The intent objects' side of connector health: ask the connector's health object before a call
// (skipped while this isolate saw it closed in the last second) and report each outcome afterwards
// without waiting for it. Failures are reported at once (they drive the circuit breaker);
// successes are batched per isolate and sent every half second, which keeps the health object
// off the hot path of every payment. Every report carries its outcome's time, so a batched success
// that arrives after later failures cannot close the breaker they opened.
import type { AuthorizeOutcome, FollowUpOutcome } from "../core/outcomes";
import type { Scope } from "../core/types";
import type { Env } from "../env";
import { log } from "../log";
import type { HealthGate } from "../intents/operations/tools";
import type { CallResult, Sample } from "./health";
import { healthKey } from "./routing";
import type { Connector } from "./types";

const CLOSED_CACHE_MS = 1_000;
const BATCH_MS = 500;
const closedUntil = new Map<string, number>();
const batches = new Map<string, { samples: Sample[]; send: (samples: Sample[]) => Promise<unknown> }>();

export function classify(outcome: AuthorizeOutcome | FollowUpOutcome): CallResult {
  switch (outcome.kind) {
    case "provider_error":
      return "provider_error";
    case "unknown":
      return "timeout";
    case "declined":
    case "rejected":
    case "failed":
      // An answer from a working provider: the card, or the request's own data, refused.
      return "decline";
    default:
      return "success";
  }
}

export function healthGate(env: Env, scope: Scope, waitUntil: (promise: Promise<unknown>) => void): HealthGate {
  const stub = (connector: Connector) => env.CONNECTOR_HEALTH.get(env.CONNECTOR_HEALTH.idFromName(healthKey(scope, connector)));
  return {
    async admit(connector) {
      const key = healthKey(scope, connector);
      if ((closedUntil.get(key) ?? 0) > Date.now()) return true;
      const { allowed, state } = await stub(connector).admit();
      if (state === "closed") closedUntil.set(key, Date.now() + CLOSED_CACHE_MS);
      return allowed;
    },
    report(connector, outcome, latencyMs) {
      const key = healthKey(scope, connector);
      const result = classify(outcome);
      log("info", "psp call", { connector: connector.name, account: connector.accountId, outcome: outcome.kind, result, latency_ms: latencyMs });
      const sample: Sample = { at: Date.now(), result, latencyMs };
      const knownClosed = (closedUntil.get(key) ?? 0) > Date.now();
      // Failures, and anything while the breaker is not known closed (a probe), go at once.
      if (result === "provider_error" || result === "timeout" || !knownClosed) {
        closedUntil.delete(key);
        waitUntil(
          stub(connector)
            .report(result, latencyMs, sample.at)
            .catch(() => undefined),
        );
        return;
      }
      const batch = batches.get(key);
      if (batch) {
        batch.samples.push(sample);
        return;
      }
      const target = stub(connector);
      batches.set(key, { samples: [sample], send: (samples) => target.reportMany(samples) });
      waitUntil(
        new Promise((resolve) => setTimeout(resolve, BATCH_MS))
          .then(() => {
            const due = batches.get(key);
            batches.delete(key);
            return due ? due.send(due.samples) : undefined;
          })
          .then((state) => {
            if (state !== undefined && state !== "closed") closedUntil.delete(key);
          })
          .catch(() => undefined),
      );
    },
  };
}
