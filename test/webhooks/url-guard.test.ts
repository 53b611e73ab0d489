// The webhook SSRF guard: live mode sends only to public https hosts. Every address form that leads
// to a private, loopback, link-local, documentation or tunnelled address is refused, at creation, at
// update and again before each delivery; their public neighbours stay allowed.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../../src/webhooks/url-guard";
import { createEndpoint, createIntent, expectError, get, newMerchant, post, receivedBy, receiverHook, seedMerchant, uniqueKey, waitFor, type CallOptions, type ListJson } from "../helpers";
import type { WebhookDeliveryJson } from "../../src/api/v1/webhook_endpoints";

const REFUSED_LIVE: Record<string, string> = {
  // The three the review found.
  "trailing-dot localhost": "https://localhost./hook",
  "6to4 of the metadata address": "https://[2002:a9fe:a9fe::1]/",
  "translated (RFC 6145) loopback": "https://[::ffff:0:127.0.0.1]/",
  // Names.
  localhost: "https://localhost/hook",
  "LOCALHOST with a port": "https://LOCALHOST:8443/hook",
  "a name under localhost": "https://api.localhost/hook",
  "localhost.localdomain": "https://localhost.localdomain/hook",
  "trailing-dot public name": "https://hooks.merchant.example./hook",
  "trailing dot after an address": "https://127.0.0.1./hook",
  ".local": "https://printer.local/hook",
  ".internal": "https://metadata.google.internal/computeMetadata/v1/",
  "home.arpa": "https://router.home.arpa/hook",
  "single label": "https://intranet/hook",
  // IPv4 special ranges.
  "loopback 127/8": "https://127.0.0.2/hook",
  "integer loopback": "https://2130706433/hook",
  "hex loopback": "https://0x7f.1/hook",
  "octal loopback": "https://017700000001/hook",
  "short-form loopback": "https://127.1/hook",
  "percent-encoded loopback": "https://%31%32%37.0.0.1/hook",
  "full-width digits loopback": "https://\uff11\uff12\uff17.0.0.1/hook",
  "unspecified 0.0.0.0": "https://0.0.0.0/hook",
  "this network 0/8": "https://0.1.2.3/hook",
  "private 10/8": "https://10.1.2.3/hook",
  "private 172.16/12": "https://172.31.255.255/hook",
  "private 192.168/16": "https://192.168.0.10/hook",
  "carrier-grade NAT": "https://100.64.0.1/hook",
  "link-local (metadata)": "https://169.254.169.254/latest/meta-data",
  "IETF protocol assignments 192.0.0/24": "https://192.0.0.8/hook",
  "documentation TEST-NET-1": "https://192.0.2.10/hook",
  "documentation TEST-NET-2": "https://198.51.100.7/hook",
  "documentation TEST-NET-3": "https://203.0.113.9/hook",
  "benchmarking 198.18/15": "https://198.19.0.1/hook",
  multicast: "https://224.0.0.1/hook",
  "reserved 240/4": "https://240.0.0.1/hook",
  broadcast: "https://255.255.255.255/hook",
  // IPv6 special ranges.
  "IPv6 loopback": "https://[::1]/hook",
  "IPv6 unspecified": "https://[::]/hook",
  "unique local": "https://[fd00::1]/hook",
  "link-local": "https://[fe80::1]/hook",
  "site-local (deprecated)": "https://[fec0::1]/hook",
  "IPv6 multicast": "https://[ff02::1]/hook",
  "documentation 2001:db8::/32": "https://[2001:db8::1]/hook",
  "documentation 3fff::/20": "https://[3fff::1]/hook",
  "discard-only 100::/64": "https://[100::1]/hook",
  // IPv4 embedded or tunnelled in IPv6.
  "IPv4-mapped private": "https://[::ffff:10.0.0.1]/hook",
  "IPv4-mapped loopback (hex)": "https://[::ffff:7f00:1]/hook",
  "IPv4-mapped public": "https://[::ffff:8.8.8.8]/hook",
  "translated public": "https://[::ffff:0:8.8.8.8]/hook",
  "IPv4-compatible loopback": "https://[::127.0.0.1]/hook",
  "IPv4-compatible metadata": "https://[::a9fe:a9fe]/hook",
  "NAT64 metadata": "https://[64:ff9b::a9fe:a9fe]/hook",
  "NAT64 public": "https://[64:ff9b::808:808]/hook",
  "local-use NAT64 64:ff9b:1::/48": "https://[64:ff9b:1::a9fe:a9fe]/hook",
  "6to4 of loopback": "https://[2002:7f00:1::]/hook",
  "6to4 of a public address": "https://[2002:808:808::1]/hook",
  "Teredo": "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
  "Teredo carrying loopback": "https://[2001::7f00:1]/hook",
  "outside 2000::/3": "https://[4000::1]/hook",
  // Not https, or not a URL.
  "http in live mode": "http://merchant.example/hook",
  credentials: "https://user:pass@merchant.example/hook",
  "userinfo before a loopback host": "https://evil@127.0.0.1/hook",
  "link-local with a zone id": "https://[fe80::1%25eth0]/hook",
  "NAT64 carrying 10.0.0.1": "https://[64:ff9b::a00:1]/hook",
  ftp: "ftp://merchant.example/hook",
  "not a URL": "not a url",
};

const ALLOWED_LIVE = [
  "https://hooks.merchant.example/payments",
  "https://merchant.example:8443/hook?x=1",
  "https://localhost-tools.example/hook",
  "https://8.8.8.8/hook",
  "https://1.1.1.1/hook",
  "https://192.0.3.1/hook", // next to TEST-NET-1
  "https://198.51.101.1/hook", // next to TEST-NET-2
  "https://203.0.112.1/hook", // next to TEST-NET-3
  "https://172.32.0.1/hook", // next to 172.16/12
  "https://100.128.0.1/hook", // next to 100.64/10
  "https://[2606:4700:4700::1111]/hook",
  "https://[2001:4860:4860::8888]/hook",
  "https://[2003::1]/hook", // next to 6to4
  "https://[2001:db9::1]/hook", // next to 2001:db8::/32
  "https://[3fff:1000::1]/hook", // next to 3fff::/20
];

describe("webhook URL guard (unit)", () => {
  it("live mode refuses every special-purpose address form and internal name", () => {
    for (const [name, url] of Object.entries(REFUSED_LIVE)) {
      for (const localDevelopment of [false, true]) expect(webhookUrlProblem(url, true, localDevelopment), name).not.toBeNull();
    }
  });

  it("live mode accepts public names and public addresses next to the refused ranges", () => {
    for (const url of ALLOWED_LIVE) expect(webhookUrlProblem(url, true, false), url).toBeNull();
  });

  it("test mode on a local gateway (npm run dev, the tests) also allows loopback, and nothing else that is internal", () => {
    for (const url of ["http://127.0.0.1:9999/hook", "http://localhost:9999/hook", "http://[::1]:9999/hook", "https://localhost/hook"]) {
      expect(webhookUrlProblem(url, false, true), url).toBeNull();
    }
    for (const url of ["http://10.0.0.8/hook", "https://169.254.169.254/", "https://[2002:a9fe:a9fe::1]/", "https://[::ffff:0:a9fe:a9fe]/", "http://merchant.example/hook"]) {
      expect(webhookUrlProblem(url, false, true), url).not.toBeNull();
    }
  });

  it("a deployed gateway refuses loopback in test mode too: it reaches no developer, only services beside the runtime", () => {
    for (const url of ["http://127.0.0.1:9999/hook", "http://localhost:9999/hook", "http://[::1]:9999/hook", "https://localhost/hook", "https://127.0.0.1/hook", "https://2130706433/", "https://0x7f.1/"]) {
      expect(webhookUrlProblem(url, false, false), url).not.toBeNull();
    }
    expect(webhookUrlProblem("https://merchant.example/hook", false, false)).toBeNull();
  });
});

async function liveMerchant(label: string): Promise<CallOptions> {
  const { id } = await newMerchant(label);
  const liveKey = `sk_live_${uniqueKey(label).replace(/[^A-Za-z0-9]/g, "")}`;
  await seedMerchant(id, label, `key_live_${id}`, liveKey, true);
  return { key: liveKey };
}

describe("webhook URL guard (API)", () => {
  it("creating or updating a live endpoint with the review's URLs is a 400 url_not_public", async () => {
    const live = await liveMerchant("guard-live");
    for (const url of ["https://localhost./", "https://[2002:a9fe:a9fe::1]/", "https://[::ffff:0:127.0.0.1]/"]) {
      const error = expectError(await post("/v1/webhook_endpoints", { url, enabled_events: ["*"] }, live), 400, "url_not_public");
      expect(error.param).toBe("url");
    }
    const endpoint = await createEndpoint("https://hooks.merchant.example/ok", ["*"], live);
    for (const url of ["https://localhost./", "https://[64:ff9b:1::a9fe:a9fe]/", "https://203.0.113.5/"]) {
      expectError(await post(`/v1/webhook_endpoints/${endpoint.id}`, { url }, live), 400, "url_not_public");
    }
    expect((await get<{ url: string }>(`/v1/webhook_endpoints/${endpoint.id}`, live)).body.url).toBe("https://hooks.merchant.example/ok");
  });

  it("a redirect is never followed: the 3xx is the attempt's answer (a failure), and its Location is not fetched", async () => {
    const { opts } = await newMerchant("guard-redirect");
    // The redirect's target is a receiver too, so a followed redirect would show there.
    const target = receiverHook("guard-redirect-target");
    const hook = receiverHook("guard-redirect", `status=302&location=${encodeURIComponent(target.url)}`);
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    await createIntent({}, opts);
    const delivery = await waitFor(
      async () => {
        const list = (await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${endpoint.id}/deliveries?limit=10`, opts)).body.data;
        return list[0]?.attempts.length ? list[0] : undefined;
      },
      20_000,
      "a delivery attempt",
    );
    expect(delivery.attempts[0]?.status_code).toBe(302);
    expect(delivery.attempts[0]?.error).toMatch(/^HTTP 302/);
    expect(delivery.status).not.toBe("succeeded");
    expect(await receivedBy(hook.name)).toHaveLength(1);
    expect(await receivedBy(target.name)).toHaveLength(0);
  });

  it("a stored URL the guard now refuses is not fetched at delivery time", async () => {
    const { opts } = await newMerchant("guard-delivery");
    const endpoint = await createEndpoint("http://127.0.0.1:9/hook", ["payment_intent.created"], opts);
    // As if the endpoint had been saved before the rule existed.
    await env.DB.prepare("UPDATE webhook_endpoints SET url = ? WHERE id = ?").bind("https://[2002:a9fe:a9fe::1]/latest/meta-data", endpoint.id).run();
    await createIntent({}, opts);
    const delivery = await waitFor(
      async () => {
        const list = (await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${endpoint.id}/deliveries?limit=10`, opts)).body.data;
        return list[0]?.attempts.length ? list[0] : undefined;
      },
      20_000,
      "a delivery attempt",
    );
    expect(delivery.attempts[0]?.status_code).toBeNull();
    expect(delivery.attempts[0]?.error).toMatch(/^not sent: Webhook URLs must point to a public host/);
  });
});
