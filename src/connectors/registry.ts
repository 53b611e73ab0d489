// Chooses the connector of an intent. Test mode runs on the built-in sandbox; live mode needs a
// merchant connector account (Stripe, PayPal), which later work adds.
import { ApiError } from "../core/errors";
import type { IntentRecord } from "../core/types";
import type { Config } from "../env";
import { SandboxConnector } from "./sandbox/connector";
import type { Connector } from "./types";

export function connectorFor(intent: IntentRecord, cfg: Config): Connector {
  if (!intent.livemode) return new SandboxConnector({ timeoutMs: cfg.sandboxTimeoutMs });
  throw new ApiError({
    status: 400,
    type: "invalid_request_error",
    code: "no_connector_configured",
    message: "This merchant has no live payment connector configured.",
  });
}
