// A Worker without its secrets does not serve. There is no fallback to development values: every
// request answers 503 with a JSON error naming the missing settings (never a value), queue batches are
// retried later and cron sweeps do nothing. One log line per isolate and handler names the settings.
import { shardMap } from "./db/shards";
import { missingSecrets, type Env } from "./env";
import { log } from "./log";

type Handler = "fetch" | "queue" | "scheduled";
const reported = new Set<Handler>();

/** The missing settings, or null when the Worker may run; logs the first refusal of each handler. */
export function refusal(env: Env, handler: Handler): string[] | null {
  const missing: string[] = missingSecrets(env);
  // A shard map that names no D1 database would put merchants' rows in the wrong place: refuse instead.
  const shardProblem = invalidShardMap(env);
  if (shardProblem) missing.push("D1_SHARDS");
  if (missing.length === 0) return null;
  if (!reported.has(handler)) {
    reported.add(handler);
    log("error", `gateway not configured: missing or invalid settings ${missing.join(", ")}; refusing to run (${handler})`, {
      handler,
      missing_settings: missing,
      fix: shardProblem ?? "wrangler secret put <name> for each (see README, Deploying to Cloudflare)",
    });
  }
  return missing;
}

/** Why D1_SHARDS cannot be used (src/db/shards.ts), or null when it is unset or valid. */
function invalidShardMap(env: Env): string | null {
  if (env.D1_SHARDS === undefined) return null;
  try {
    shardMap(env);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function unconfiguredResponse(missing: readonly string[]): Response {
  const names = missing.join(", ");
  const body = {
    error: {
      type: "api_error",
      code: "gateway_not_configured",
      message: `The gateway is not configured and does not serve: ${missing.length === 1 ? "the setting" : "the settings"} ${names} ${missing.length === 1 ? "is" : "are"} not set (or hold a public development value). Its operator must set ${missing.length === 1 ? "it" : "them"} (wrangler secret put <name>).`,
      missing_settings: missing,
    },
  };
  return new Response(JSON.stringify(body), { status: 503, headers: { "content-type": "application/json", "cache-control": "no-store", "retry-after": "300" } });
}
