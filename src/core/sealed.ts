// Secrets at rest (webhook signing secrets, connector credentials): AES-256-GCM under a key derived
// from the Worker secret ENCRYPTION_KEY. A sealed value is "v1.<iv>.<ciphertext>" in base64url.
const encoder = new TextEncoder();
// Keys, not pending promises, are cached: a promise begun in one request and awaited by another
// fails in workerd ("Cannot perform I/O on behalf of a different request").
const keys = new Map<string, CryptoKey>();

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
}

async function keyFor(secret: string): Promise<CryptoKey> {
  const hit = keys.get(secret);
  if (hit) return hit;
  const raw = await crypto.subtle.digest("SHA-256", encoder.encode(`gateway-seal-v1:${secret}`));
  const key = await crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  keys.set(secret, key);
  return key;
}

export async function seal(plaintext: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await keyFor(secret), encoder.encode(plaintext));
  return `v1.${b64url(iv)}.${b64url(new Uint8Array(ciphertext))}`;
}

export async function unseal(sealed: string, secret: string): Promise<string> {
  const [version, iv, data] = sealed.split(".");
  if (version !== "v1" || !iv || !data) throw new Error("not a sealed value");
  const plaintext = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromB64url(iv) }, await keyFor(secret), fromB64url(data));
  return new TextDecoder().decode(plaintext);
}
