// An error on our side behind a shopper's page is the pages' HTML error page (with the request's id),
// never the API's JSON; the API keeps its JSON for the same fault.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { createIntent, KEY_A } from "../helpers";

/** The environment with every intent's object unreachable (its stub cannot be made). */
function objectsDown(): typeof env {
  const intents = new Proxy(env.PAYMENT_INTENTS, {
    get(target, prop) {
      if (prop === "get") {
        return () => {
          throw new Error("the intent's object is unreachable (injected)");
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { ...env, PAYMENT_INTENTS: intents };
}

/** What these requests set (a RequestInit's `cf` would not fit an incoming request). */
interface Init {
  method?: string;
  headers?: Record<string, string>;
  body?: URLSearchParams;
}

async function fetchWith(url: string, init: Init, bindings: typeof env): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, init), bindings, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("a page whose request fails on our side", () => {
  it("is the pages' HTML 500 page with the request's id, on GET and on the card form's POST; the API answers the same fault in its JSON", async () => {
    const pi = (await createIntent({ amount: 1200 })).body;
    const page = `http://gateway.test/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`;
    const requests: [string, Init][] = [
      [page, {}],
      [
        `http://gateway.test/pay/${pi.id}`,
        {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" },
          body: new URLSearchParams({ client_secret: pi.client_secret, card_number: "4242424242424242", expiry: "12 / 34", cvc: "123" }),
        },
      ],
    ];
    for (const [url, init] of requests) {
      const res = await fetchWith(url, init, objectsDown());
      const html = await res.text();
      expect(res.status, `${init.method ?? "GET"} ${html.slice(0, 200)}`).toBe(500);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(html).toContain("Something went wrong");
      expect(html).toContain("a payment is never taken twice");
      const requestId = res.headers.get("request-id") ?? "";
      expect(requestId).toMatch(/^req_/);
      expect(html).toContain(`Reference: ${requestId}`);
      expect(html).not.toContain("api_error");
    }
    const api = await fetchWith(`http://gateway.test/v1/payment_intents/${pi.id}`, { headers: { authorization: `Bearer ${KEY_A}` } }, objectsDown());
    expect(api.status).toBe(500);
    expect(api.headers.get("content-type")).toContain("application/json");
    expect(((await api.json()) as { error: { type: string } }).error.type).toBe("api_error");
  });
});
