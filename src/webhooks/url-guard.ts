// Where we may send webhooks. Live mode: https only, and never to a private, loopback, link-local or
// otherwise internal address (the SSRF guard). Test mode may also use http on loopback, so that a
// developer's local receiver works. (Workers cannot resolve DNS before a fetch; names are checked as
// written, and Cloudflare's own egress refuses private addresses in production.)
import { invalidRequest } from "../core/errors";

function ipv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

function privateIpv4([a, b]: number[]): boolean {
  if (a === undefined || b === undefined) return true;
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

/** An IPv6 address as its eight 16-bit groups (URL parsing has already normalized it), or null. */
function ipv6Groups(host: string): number[] | null {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (!h.includes(":")) return null;
  let text = h;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const v4 = ipv4(dotted[1]);
    if (!v4) return null;
    text = text.slice(0, -dotted[1].length) + `${((v4[0] ?? 0) << 8 | (v4[1] ?? 0)).toString(16)}:${((v4[2] ?? 0) << 8 | (v4[3] ?? 0)).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = tail !== undefined && tail ? tail.split(":") : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...right].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

function internalIpv6(host: string): boolean {
  const g = ipv6Groups(host);
  if (!g) return host.includes(":");
  const [a = 0, b = 0] = g;
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  const embeddedV4 = [(g[6] ?? 0) >> 8, (g[6] ?? 0) & 255, (g[7] ?? 0) >> 8, (g[7] ?? 0) & 255];
  if (zeros(8) || (zeros(7) && g[7] === 1)) return true; // :: and ::1
  if (zeros(5) && g[5] === 0xffff) return privateIpv4(embeddedV4); // ::ffff:a.b.c.d
  if (zeros(6)) return true; // ::a.b.c.d (deprecated IPv4-compatible)
  if (a === 0x64 && b === 0xff9b) return privateIpv4(embeddedV4); // NAT64
  if ((a & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((a & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((a & 0xff00) === 0xff00) return true; // multicast
  if (a === 0x2001 && b === 0x0db8) return true; // documentation
  return false;
}

const INTERNAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home|lan|intranet|corp)$/i;

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = ipv4(h);
  return h === "localhost" || h === "::1" || (v4 !== null && v4[0] === 127);
}

/** Throws a 400 naming `url` when the endpoint URL is not allowed in this mode. */
export function assertWebhookUrl(raw: string, livemode: boolean): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidRequest("Invalid URL: it must be an absolute https URL.", "url", "url_invalid");
  }
  if (url.username || url.password) throw invalidRequest("Webhook URLs must not contain credentials.", "url", "url_invalid");
  const host = url.hostname;
  if (!livemode && url.protocol === "http:" && isLoopback(host)) return;
  if (url.protocol !== "https:") {
    throw invalidRequest(
      livemode ? "Live webhook endpoints must use https." : "Webhook URLs must use https (test mode also allows http on loopback).",
      "url",
      "url_invalid",
    );
  }
  if (!host.includes(".") && !host.includes(":")) throw invalidRequest("Webhook URLs need a public host name.", "url", "url_invalid");
  const v4 = ipv4(host);
  if ((v4 && privateIpv4(v4)) || internalIpv6(host) || INTERNAL_NAMES.test(host)) {
    if (!livemode && isLoopback(host)) return;
    throw invalidRequest("Webhook URLs must not point to private, loopback, link-local or internal addresses.", "url", "url_not_public");
  }
}
