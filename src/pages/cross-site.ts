// The shopper pages' POSTs (a card, a 3DS answer, a PayPal approval, a provider's return) are made
// only by the pages' own forms, on the gateway's origin. A POST another site makes a browser send
// (a hidden form on evil.example) is refused with a 403 before anything is read or attempted.
//
// Browsers say where a request comes from: `Sec-Fetch-Site` (same-origin, same-site, cross-site, or
// none when the user typed it) and `Origin`. The pages are served with Referrer-Policy: no-referrer,
// under which a browser's own same-origin form POST carries `Origin: null`: null is not refused (the
// Sec-Fetch-Site of such a POST still says same-origin). A client that is no browser (curl, a test)
// sends neither header and is let through: it could send any header it likes anyway.
import type { MiddlewareHandler } from "hono";
import type { Env } from "../env";

/** Whether a POST comes from another site: Sec-Fetch-Site says so, or Origin names another origin than ours. */
export function isCrossSite(request: Request, publicBaseUrl: string | null): boolean {
  const site = request.headers.get("sec-fetch-site")?.trim().toLowerCase();
  if (site === "cross-site" || site === "same-site") return true;
  const origin = request.headers.get("origin")?.trim();
  if (origin === undefined || origin === "" || origin === "null") return false;
  const ours = new Set([new URL(request.url).origin]);
  if (publicBaseUrl) {
    try {
      ours.add(new URL(publicBaseUrl).origin);
    } catch {
      // not a URL: the request's own origin alone is ours
    }
  }
  return !ours.has(origin.toLowerCase());
}

/** The answer to a refused POST: nothing was done, and the shopper is told how to go on. */
export function crossSiteRefusal(): Response {
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer">` +
    `<title>Request refused</title><style>body{font:16px/1.45 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}:root{color-scheme:light dark}</style></head>` +
    `<body><h1>Request refused</h1><p role="alert">This form was sent from another website, so nothing was done and nothing was charged. Open the payment page again from the shop to pay.</p></body></html>`;
  return new Response(html, {
    status: 403,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    },
  });
}

/** Refuses a POST from another site on every route of a shopper page's router; other methods pass. */
export const refuseCrossSitePosts: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  // PUBLIC_BASE_URL read as config() reads it, without needing the rest of the configuration.
  if (c.req.method === "POST" && isCrossSite(c.req.raw, c.env.PUBLIC_BASE_URL?.trim() || null)) return crossSiteRefusal();
  await next();
};
