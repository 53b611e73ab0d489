// The one log line per request: merchant, actor, route (the route's pattern, not the raw path, so
// lines group by route), intent id, error code, status and latency. Never a header, query or body
// value beyond these ids.
import type { Context } from "hono";
import { errorCodeIn, intentIdIn, type RequestLogFields } from "../log";

/** How much of a path no route took the request line quotes: an id-bearing path fits; a URL's worth (16 KB at the edge) of a client's choosing is not copied into every line. */
export const LOGGED_PATH_LENGTH = 256;

export async function requestLine(c: Context, fields: RequestLogFields, requestId: string, latencyMs: number): Promise<Record<string, unknown>> {
  const status = c.res.status;
  const route = c.req.routePath && c.req.routePath !== "*" && c.req.routePath !== "/*" ? c.req.routePath : null;
  let intent = fields.intent ?? intentIdIn(route ? c.req.param() : {});
  let errorCode: string | null = null;
  const json = (c.res.headers.get("content-type") ?? "").includes("json");
  // Errors: their code. Creations (POST) of an intent: its id from the answer.
  if (json && (status >= 400 || (!intent && c.req.method === "POST" && /intent|payment/i.test(route ?? "")))) {
    try {
      const body: unknown = await c.res.clone().json();
      if (status >= 400) errorCode = errorCodeIn(body);
      else if (body && typeof body === "object") intent = intentIdIn(body as Record<string, unknown>);
    } catch {
      // not JSON after all
    }
  }
  return {
    request_id: requestId,
    method: c.req.method,
    route: route ?? loggedPath(new URL(c.req.url).pathname),
    status,
    merchant: fields.merchant ?? null,
    actor: fields.actor ?? null,
    intent: intent ?? null,
    error_code: errorCode,
    latency_ms: latencyMs,
  };
}

function loggedPath(path: string): string {
  return path.length > LOGGED_PATH_LENGTH ? `${path.slice(0, LOGGED_PATH_LENGTH)}...` : path;
}
