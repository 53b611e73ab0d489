// The Stripe-Version header on /v1: validated (an unknown version is a 400, as at Stripe), resolved
// (the request's, else the merchant's default from its settings, else the gateway's) and echoed on
// every /v1 response.
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { GATEWAY_API_VERSION, isKnownApiVersion } from "../../core/api-version";
import { ApiError } from "../../core/errors";
import type { AppEnv } from "./route";

export function invalidApiVersion(version: string): ApiError {
  return new ApiError({
    status: 400,
    type: "invalid_request_error",
    code: "api_version_invalid",
    message: `Invalid Stripe API version: ${version.slice(0, 100)}. Use a version such as ${GATEWAY_API_VERSION} (the default), or none.`,
  });
}

/** A version field in a body (a merchant's default): a known version. */
export const apiVersionField = z.string().max(40).refine((v) => isKnownApiVersion(v), "must be a known Stripe API version, e.g. " + GATEWAY_API_VERSION);

/** Validates the request's Stripe-Version and echoes the version the response is rendered with. */
export const stripeVersion: MiddlewareHandler<AppEnv> = async (c, next) => {
  // A beta's flags after the version (`2025-03-31.basil; custom_checkout_beta=v1`, as stripe-node
  // sends a beta apiVersion) select previews this gateway does not have: the version before them decides.
  const given = c.req.header("stripe-version")?.split(";")[0]?.trim();
  if (given) {
    if (!isKnownApiVersion(given)) throw invalidApiVersion(given);
    c.set("apiVersion", given);
  }
  await next();
  c.header("Stripe-Version", c.get("apiVersion") ?? GATEWAY_API_VERSION);
};
