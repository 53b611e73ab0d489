// The sandbox's own webhooks, so that the incoming-webhook path can be exercised without a real
// PSP. Signed like Stripe's: header `Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "t.body">`, 5 minutes of tolerance. Body: {id, type, created, data: {intent, attempt, reference,
// captured, code, decline_code, message}} where type is one of the ProviderEventKinds.
import type { ProviderEvent, ProviderEventKind } from "../types";

export const SANDBOX_SIGNATURE_HEADER = "sandbox-signature";
const TOLERANCE_S = 300;
const KINDS: readonly ProviderEventKind[] = [
  "authorization.approved",
  "authorization.declined",
  "authorization.processing",
  "authorization.canceled",
  "capture.succeeded",
  "refund.succeeded",
  "refund.failed",
];

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message)));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function signSandboxWebhook(secret: string, body: string, timestampSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  return `t=${timestampSeconds},v1=${await hmacHex(secret, `${timestampSeconds}.${body}`)}`;
}

export class WebhookSignatureError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 && value.length <= 200 ? value : null;
}

export async function parseSandboxWebhook(secret: string, body: string, header: string | null, now = Date.now()): Promise<ProviderEvent[]> {
  const parts = new Map((header ?? "").split(",").map((p) => p.trim().split("=", 2) as [string, string]));
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1") ?? "";
  if (!Number.isInteger(t) || !v1) throw new WebhookSignatureError("missing or malformed Sandbox-Signature header");
  if (Math.abs(now / 1000 - t) > TOLERANCE_S) throw new WebhookSignatureError("the signature's timestamp is outside the tolerance");
  const expected = await hmacHex(secret, `${t}.${body}`);
  let diff = expected.length ^ v1.length;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ (v1.charCodeAt(i) || 0);
  if (diff !== 0) throw new WebhookSignatureError("the signature does not match");
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new WebhookSignatureError("the body is not JSON");
  }
  // Signed is not well-formed: `null`, an array or a number is refused like a body without an id.
  if (!isRecord(value)) throw new WebhookSignatureError("the body is not a JSON object");
  const id = str(value.id);
  const type = str(value.type);
  const data = isRecord(value.data) ? value.data : {};
  if (!id || !type) throw new WebhookSignatureError("the event has no id or type");
  return [
    {
      id,
      kind: (KINDS as readonly string[]).includes(type) ? (type as ProviderEventKind) : "ignored",
      intentId: str(data.intent),
      attemptId: str(data.attempt),
      providerReference: str(data.reference),
      captured: data.captured === true,
      capture: null,
      code: str(data.code),
      declineCode: str(data.decline_code),
      message: str(data.message),
    },
  ];
}
