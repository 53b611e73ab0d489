// The intent objects' side of connector health: ask the connector's health object before a call
// (skipped while this isolate saw it closed in the last second) and report each outcome afterwards
// without waiting for it.
import type { AuthorizeOutcome, FollowUpOutcome } from "../core/outcomes";
import type { Scope } from "../core/types";
import type { Env } from "../env";
import type { HealthGate } from "../intents/operations/tools";
import type { CallResult } from "./health";
import { healthKey } from "./routing";
import type { Connector } from "./types";

const CLOSED_CACHE_MS = 1_000;
const closedUntil = new Map<string, number>();

export function classify(outcome: AuthorizeOutcome | FollowUpOutcome): CallResult {
  switch (outcome.kind) {
    case "provider_error":
      return "provider_error";
    case "unknown":
      return "timeout";
    case "declined":
    case "failed":
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
      if (result === "provider_error" || result === "timeout") closedUntil.delete(key);
      waitUntil(
        stub(connector)
          .report(result, latencyMs)
          .then((state) => {
            if (state !== "closed") closedUntil.delete(key);
          })
          .catch(() => undefined),
      );
    },
  };
}
