// Prefixed public ids (pi_, ch_, re_, evt_, txn_, pm_, req_) and the hashing they are derived with.
// Uses only Web Crypto, which both workerd and Node provide.

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const ID_BODY_LENGTH = 24;

/** A random base62 string; rejection sampling keeps every character uniformly likely. */
export function randomToken(length = ID_BODY_LENGTH): string {
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const b of bytes) {
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
  }
  return out;
}

export function randomId(prefix: string, length = ID_BODY_LENGTH): string {
  return `${prefix}_${randomToken(length)}`;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Bytes(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

function bytesToBase62(bytes: Uint8Array, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[(bytes[i % bytes.length] ?? 0) % 62];
  return out;
}

/** A deterministic id: the same parts always give the same id (used for idempotent creates). */
export async function derivedId(prefix: string, ...parts: string[]): Promise<string> {
  const bytes = await sha256Bytes(parts.map((p) => `${p.length}:${p}`).join("|"));
  return `${prefix}_${bytesToBase62(bytes, ID_BODY_LENGTH)}`;
}

export async function hmacBase62(key: string, message: string, length = 16): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey("raw", new TextEncoder().encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, new TextEncoder().encode(message)));
  return bytesToBase62(mac, length);
}

const ID_PATTERN = /^[a-z]{2,5}_[A-Za-z0-9]{8,64}$/;

export function hasPrefix(id: string, prefix: string): boolean {
  return id.startsWith(`${prefix}_`) && ID_PATTERN.test(id);
}

/** A successful authorization is the intent's one charge; its id shares the intent's body, as Stripe's do. */
export function chargeIdForIntent(intentId: string): string {
  return `ch_${intentId.slice(3)}`;
}

export function intentIdForCharge(chargeId: string): string {
  return `pi_${chargeId.slice(3, 3 + ID_BODY_LENGTH)}`;
}

/**
 * A declined authorization is a failed charge, as at Stripe: its id is the intent's body followed by
 * the attempt's, so it leads back to both (ch_<intent body><attempt body>).
 */
export function failedChargeId(intentId: string, attemptId: string): string {
  return `ch_${intentId.slice(3)}${attemptId.slice(attemptId.indexOf("_") + 1)}`;
}

/** The attempt a failed charge id names (null for an intent's one successful charge). */
export function attemptIdForCharge(chargeId: string): string | null {
  const rest = chargeId.slice(3 + ID_BODY_LENGTH);
  return rest ? `txn_${rest}` : null;
}

/** Constant-time string comparison for secrets. */
export function timingSafeEqual(a: string, b: string): boolean {
  const ab = new TextEncoder().encode(a);
  const bb = new TextEncoder().encode(b);
  let diff = ab.length ^ bb.length;
  for (let i = 0; i < Math.max(ab.length, bb.length); i++) diff |= (ab[i] ?? 0) ^ (bb[i] ?? 0);
  return diff === 0;
}
