// Where we may send webhooks. Live mode: https only, to a public host: never a private, loopback,
// link-local, documentation or otherwise special address (the SSRF guard). Addresses are classified
// by ipaddr.js (a maintained table of the IANA special-purpose registries), not by hand. Test mode
// may also use loopback, so that a developer's local receiver works, but only where the gateway itself
// runs on that developer's machine (`npm run dev`, the tests): deployed, loopback reaches no
// developer, only whatever listens beside the runtime, and a failed delivery's error shows the start
// of the answer, which would let an endpoint read such services. The guard runs when an endpoint
// is created or updated and again before every delivery. (Workers cannot resolve DNS before a fetch;
// names are checked as written, and Cloudflare's own egress refuses private addresses in production.)
import ipaddr from "ipaddr.js";
import { invalidRequest } from "../core/errors";

/** Names that never lead to a public receiver: the last label, or the whole name. */
const INTERNAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home|lan|intranet|corp|arpa)$/i;
/** 2000::/3: the only IPv6 space allocated for global unicast. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parse("2000::");

type Address = ReturnType<typeof ipaddr.parse>;

/** The address a URL's host names literally (IPv4 as the URL parser normalized it, or [IPv6]), or null for a name. */
function literalAddress(host: string): Address | null {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare !== host) return ipaddr.IPv6.isValid(bare) ? ipaddr.IPv6.parse(bare) : null;
  return ipaddr.IPv4.isValidFourPartDecimal(bare) ? ipaddr.IPv4.parse(bare) : null;
}

/**
 * Why `addr` is not a public unicast address, or null when it is. Everything ipaddr.js does not call
 * `unicast` is refused: private, loopback, link-local, CGNAT, documentation and benchmarking ranges,
 * and every IPv6 form that embeds or tunnels an IPv4 address (IPv4-mapped, translated, NAT64, 6to4,
 * Teredo), whatever address it carries. IPv6 must also be inside 2000::/3, which leaves out the
 * deprecated IPv4-compatible ::a.b.c.d and the unassigned space.
 */
function nonPublicReason(addr: Address): string | null {
  const range: string = addr.range();
  if (range !== "unicast") return range;
  if (addr instanceof ipaddr.IPv6 && !addr.match(GLOBAL_UNICAST_V6, 3)) return "outside global unicast 2000::/3";
  return null;
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  const addr = literalAddress(h);
  if (!addr) return false;
  const plain = addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress() ? addr.toIPv4Address() : addr;
  return plain.range() === "loopback";
}

export interface UrlProblem {
  message: string;
  code: "url_invalid" | "url_not_public";
}

/**
 * What is wrong with `raw` as a webhook endpoint URL in this mode, or null when it may be used.
 * `localDevelopment`: the gateway runs as local development (isDevelopment), where test mode may
 * send to loopback.
 */
export function webhookUrlProblem(raw: string, livemode: boolean, localDevelopment: boolean): UrlProblem | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { message: "Invalid URL: it must be an absolute https URL.", code: "url_invalid" };
  }
  if (url.username || url.password) return { message: "Webhook URLs must not contain credentials.", code: "url_invalid" };
  const host = url.hostname.toLowerCase();
  const loopbackAllowed = !livemode && localDevelopment;
  if (loopbackAllowed && url.protocol === "http:" && isLoopback(host)) return null;
  if (url.protocol !== "https:") {
    return {
      message: livemode ? "Live webhook endpoints must use https." : loopbackAllowed ? "Webhook URLs must use https (test mode also allows http on loopback)." : "Webhook URLs must use https.",
      code: "url_invalid",
    };
  }
  if (loopbackAllowed && isLoopback(host)) return null;
  const notPublic = (why: string): UrlProblem => ({
    message: `Webhook URLs must point to a public host, not ${why}.`,
    code: "url_not_public",
  });
  // `localhost.` and other fully qualified names resolve like their dotless forms: refuse the trailing dot.
  if (host.endsWith(".")) return notPublic("a name ending in a dot (write it without the trailing dot)");
  const addr = literalAddress(host);
  if (addr) {
    const reason = nonPublicReason(addr);
    return reason ? notPublic(`an address in a special-purpose range (${reason})`) : null;
  }
  if (host.includes(":") || host.startsWith("[")) return notPublic("an address that cannot be read");
  if (!host.includes(".")) return notPublic("a single-label name");
  if (INTERNAL_NAMES.test(host)) return notPublic("a local or internal name");
  return null;
}

/** Throws a 400 naming `url` when the endpoint URL is not allowed in this mode. */
export function assertWebhookUrl(raw: string, livemode: boolean, localDevelopment: boolean): void {
  const problem = webhookUrlProblem(raw, livemode, localDevelopment);
  if (problem) throw invalidRequest(problem.message, "url", problem.code);
}
