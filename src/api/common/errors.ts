// The error hook of a surface's sub-app: an unexpected error is logged (never an ApiError, which is
// the caller's fault and already says so), and every error is rendered in the surface's own format.
import type { Context } from "hono";
import { ApiError, toErrorData, type ApiErrorData } from "../../core/errors";
import { log } from "../../log";
import type { AppEnv } from "../v1/route";

export function surfaceErrors(surface: string, render: (c: Context<AppEnv>, data: ApiErrorData) => Response | Promise<Response>) {
  return (err: Error, c: Context<AppEnv>): Response | Promise<Response> => {
    if (!(err instanceof ApiError)) log("error", "unhandled error", { request_id: c.get("requestId"), surface, error: `${err.name}: ${err.message}` });
    return render(c, toErrorData(err));
  };
}
