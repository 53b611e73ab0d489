// Signatures of outgoing webhooks, two ways at once so either library verifies them:
// - Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature: "v1,<base64 HMAC-SHA256 of
//   id.timestamp.body>" keyed by the base64 part of the whsec_ secret;
// - Stripe: Stripe-Signature: "t=<timestamp>,v1=<hex HMAC-SHA256 of timestamp.body>" keyed by the
//   whole secret string, as stripe.webhooks.constructEvent expects.
// While a rolled secret's overlap lasts, both the new and the old signature are sent.
const encoder = new TextEncoder();

export function newSigningSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return `whsec_${btoa(s)}`;
}

async function hmac(key: Uint8Array, message: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function standardKey(secret: string): Uint8Array {
  const raw = secret.startsWith("whsec_") ? secret.slice(6) : secret;
  return Uint8Array.from(atob(raw), (ch) => ch.charCodeAt(0));
}

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
  "stripe-signature": string;
}

/** Headers for one delivery of `body`; `secrets` newest first. */
export async function signPayload(messageId: string, body: string, secrets: readonly string[], timestampSeconds: number): Promise<SignedHeaders> {
  const ts = String(timestampSeconds);
  const standard: string[] = [];
  const stripe: string[] = [`t=${ts}`];
  for (const secret of secrets) {
    standard.push(`v1,${base64(await hmac(standardKey(secret), `${messageId}.${ts}.${body}`))}`);
    stripe.push(`v1=${hex(await hmac(encoder.encode(secret), `${ts}.${body}`))}`);
  }
  return {
    "webhook-id": messageId,
    "webhook-timestamp": ts,
    "webhook-signature": standard.join(" "),
    "stripe-signature": stripe.join(","),
  };
}
