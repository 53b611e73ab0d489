// Zod schemas validate every request; the first problem becomes one Stripe-style error naming the
// parameter in bracket form (payment_method_data[card][number]). Messages never echo input values.
import type { z } from "zod";
import { ApiError } from "../../core/errors";

export function paramName(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path.map(String);
  return (head ?? "") + rest.map((p) => `[${p}]`).join("");
}

/** The value at `path` in the request's fields (undefined: not sent). */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * The issue to report: a union's failure (Stripe's "" or an object, such as `shipping`) reports the
 * failure of the one branch that accepted the input's type and went deeper into it, with its path:
 * `Missing required param: shipping[name].`, not "Invalid shipping". Otherwise the union's own.
 */
export function innermost(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union") return issue;
  const deeper = issue.errors.filter((branch) => (branch[0]?.path.length ?? 0) > 0);
  // Else the one branch that took the input's type and refused its value as a whole (metadata with
  // 51 keys: "must have at most 50 keys", not "Invalid input").
  const typed = issue.errors.filter((branch) => branch[0] !== undefined && !["invalid_type", "invalid_value", "invalid_union"].includes(branch[0].code));
  const inner = deeper.length === 1 ? deeper[0]?.[0] : typed.length === 1 ? typed[0]?.[0] : undefined;
  return inner ? innermost({ ...inner, path: [...issue.path, ...inner.path] }) : issue;
}

/**
 * An enum's refusal as Stripe words it ("must be one of automatic, automatic_async, or manual"), in
 * place of the schema library's default ('Invalid option: expected one of "automatic"|...'). A
 * message a schema wrote itself is kept.
 */
function enumDetail(issue: z.core.$ZodIssue): string | null {
  if (issue.code !== "invalid_value" || !issue.message.startsWith("Invalid option")) return null;
  const values = issue.values.filter((v): v is string => typeof v === "string");
  if (values.length === 0 || values.length !== issue.values.length) return null;
  if (values.length === 1) return `must be ${values[0]}`;
  return `must be one of ${values.slice(0, -1).join(", ")}${values.length > 2 ? "," : ""} or ${values[values.length - 1]}`;
}

export function zodToApiError(error: z.ZodError, input?: unknown): ApiError {
  // A parameter refused on purpose is reported before anything else: it explains the rest (an
  // embedded session's ui_mode, not the success_url such a session does not take).
  const first = error.issues.find((i) => i.code === "custom" && i.params?.notSupported === true) ?? error.issues[0];
  const issue = first ? innermost(first) : undefined;
  if (!issue) return new ApiError({ status: 400, type: "invalid_request_error", message: "Invalid request." });
  if (issue.code === "unrecognized_keys") {
    const param = paramName([...issue.path, issue.keys[0] ?? ""]);
    return new ApiError({ status: 400, type: "invalid_request_error", code: "parameter_unknown", param, message: `Received unknown parameter: ${param}` });
  }
  const param = paramName(issue.path);
  if (issue.code === "custom" && issue.params?.notSupported === true) {
    // A Stripe parameter this gateway refuses on purpose (src/api/v1/stripe-params.ts says why).
    return new ApiError({ status: 400, type: "invalid_request_error", code: "parameter_not_supported", param, message: `The parameter ${param} is not supported: ${issue.message}.` });
  }
  if (issue.path.length > 0 && valueAt(input, issue.path) === undefined) {
    return new ApiError({ status: 400, type: "invalid_request_error", code: "parameter_missing", param, message: `Missing required param: ${param}.` });
  }
  const detail = enumDetail(issue) ?? issue.message.replace(/\s+/g, " ").slice(0, 200);
  // An amount out of bounds has Stripe's own codes, which clients branch on.
  const bounds = /(^|_|\[)amount/.test(param) && (issue.code === "too_big" || issue.code === "too_small") ? (issue.code === "too_big" ? "amount_too_large" : "amount_too_small") : null;
  // Not an integer where one is wanted (10.5, "abc"): Stripe's own code for it.
  const notInteger = detail === "expected an integer" ? "parameter_invalid_integer" : null;
  return new ApiError({
    status: 400,
    type: "invalid_request_error",
    code: bounds ?? notInteger ?? "parameter_invalid",
    param: param || undefined,
    message: param ? `Invalid ${param}: ${detail}` : `Invalid request: ${detail}`,
  });
}

export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw zodToApiError(result.error, input);
  return result.data;
}
