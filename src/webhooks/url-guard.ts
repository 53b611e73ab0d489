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

function internalIpv6(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (!h.includes(":")) return false;
  if (h === "::" || h === "::1") return true;
  if (/^f[cd]/.test(h) || /^fe[89ab]/.test(h) || /^ff/.test(h)) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped?.[1]) {
    const v4 = ipv4(mapped[1]);
    return v4 ? privateIpv4(v4) : true;
  }
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
