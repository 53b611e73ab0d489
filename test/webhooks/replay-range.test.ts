// POST /v1/webhook_endpoints/{id}/replay: re-sends an endpoint's deliveries created in a range
// (failed ones by default, or all), oldest first; the range is checked (gte required, at most 14
// days, never in the future), the endpoint must be the caller's and enabled, and the route needs
// webhooks.manage. Deliveries are produced by real events, then dated and marked failed in D1.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { WebhookDeliveryJson, WebhookReplayJson } from "../../src/api/v1/webhook_endpoints";
import { bearer, createEndpoint, createIntent, expectError, get, hsToken, newMerchant, post, receivedBy, receiverHook, uniqueKey, waitFor, type CallOptions, type ListJson } from "../helpers";

const HOUR = 3600;
const DAY = 24 * HOUR;
const now = () => Math.floor(Date.now() / 1000);

async function deliveries(endpointId: string, opts: CallOptions): Promise<WebhookDeliveryJson[]> {
  return (await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${endpointId}/deliveries?limit=100`, opts)).body.data;
}

/** Dates a delivery `created` (Unix seconds) and, when `failed`, marks it failed as if its receiver had been down. */
async function backdate(id: string, created: number, failed: boolean): Promise<void> {
  await env.DB.prepare(`UPDATE webhook_deliveries SET created = ?, status = CASE WHEN ? THEN 'failed' ELSE status END, last_status_code = CASE WHEN ? THEN 503 ELSE last_status_code END WHERE id = ?`)
    .bind(created * 1000, failed ? 1 : 0, failed ? 1 : 0, id)
    .run();
}

/** An endpoint with `count` delivered payment_intent.created deliveries, oldest first. */
async function endpointWithDeliveries(label: string, count: number) {
  const merchant = await newMerchant(label);
  const hook = receiverHook(label);
  const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], merchant.opts);
  for (let i = 0; i < count; i += 1) await createIntent({}, merchant.opts);
  const list = await waitFor(
    async () => {
      const d = await deliveries(endpoint.id, merchant.opts);
      return d.length === count && d.every((x) => x.status === "succeeded") ? d : undefined;
    },
    20_000,
    "the deliveries to succeed",
  );
  return { merchant, hook, endpoint, list: [...list].reverse() };
}

const eventIdsOf = async (name: string) => (await receivedBy(name)).map((r) => r.headers["webhook-id"]);

describe.concurrent("POST /v1/webhook_endpoints/{id}/replay", () => {
  it("re-sends the failed deliveries in the range, oldest first, and not those outside it or succeeded", async () => {
    const { merchant, hook, endpoint, list } = await endpointWithDeliveries("replay", 4);
    const [old, first, ok, second] = list;
    if (!old || !first || !ok || !second) throw new Error("missing deliveries");
    const t = now();
    await backdate(old.id, t - 20 * DAY, true); // failed, outside the range
    await backdate(first.id, t - 2 * HOUR, true); // failed, in the range
    await backdate(ok.id, t - 90 * 60, false); // succeeded, in the range
    await backdate(second.id, t - HOUR, true); // failed, in the range
    expect(await eventIdsOf(hook.name)).toHaveLength(4);

    const res = await post<WebhookReplayJson>(`/v1/webhook_endpoints/${endpoint.id}/replay`, { created: { gte: t - 3 * HOUR, lte: t - 60 } }, merchant.opts);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ object: "webhook_replay", endpoint: endpoint.id, requested: 2, has_more: false, deliveries: [first.id, second.id] });

    const received = await waitFor(async () => {
      const ids = await eventIdsOf(hook.name);
      return ids.length >= 6 ? ids : undefined;
    }, 15_000, "the re-sends");
    expect(received.slice(4).sort()).toEqual([first.event, second.event].sort());
    const after = await waitFor(async () => {
      const d = await deliveries(endpoint.id, merchant.opts);
      return d.filter((x) => x.status === "succeeded").length === 3 ? d : undefined;
    }, 15_000, "the re-sent deliveries to succeed");
    const byId = new Map(after.map((d) => [d.id, d]));
    expect(byId.get(first.id)?.attempt_count).toBe(2);
    expect(byId.get(second.id)?.attempt_count).toBe(2);
    expect(byId.get(old.id)).toMatchObject({ status: "failed", attempt_count: 1 });
    expect(byId.get(ok.id)).toMatchObject({ status: "succeeded", attempt_count: 1 });

    // status=all, form-encoded as the stripe clients send it: the succeeded one too, still nothing outside.
    const all = await post<WebhookReplayJson>(`/v1/webhook_endpoints/${endpoint.id}/replay`, undefined, {
      ...merchant.opts,
      form: `created[gte]=${t - 3 * HOUR}&created[lte]=${t}&status=all`,
    });
    expect(all.status, JSON.stringify(all.body)).toBe(200);
    expect(all.body.deliveries).toEqual([first.id, ok.id, second.id]);
    await waitFor(async () => (await eventIdsOf(hook.name)).length >= 9, 15_000, "the second replay");
    await new Promise((r) => setTimeout(r, 1000));
    const ids = await eventIdsOf(hook.name);
    expect(ids).toHaveLength(9);
    expect(ids.filter((e) => e === old.event)).toHaveLength(1);
  }, 60_000);

  it("pages by starting_after, and an Idempotency-Key answers the same replay again", async () => {
    const { merchant, endpoint, list } = await endpointWithDeliveries("replay-page", 2);
    const t = now();
    for (const [i, d] of list.entries()) await backdate(d.id, t - HOUR + i, true);
    const path = `/v1/webhook_endpoints/${endpoint.id}/replay`;
    const key = uniqueKey("replay");
    const firstIds = list.map((d) => d.id);
    const once = await post<WebhookReplayJson>(path, { created: { gte: t - 2 * HOUR } }, { ...merchant.opts, idempotencyKey: key });
    expect(once.body.deliveries).toEqual(firstIds);
    const again = await post<WebhookReplayJson>(path, { created: { gte: t - 2 * HOUR } }, { ...merchant.opts, idempotencyKey: key });
    expect(again.body).toEqual(once.body);
    await waitFor(async () => (await deliveries(endpoint.id, merchant.opts)).every((d) => d.status === "succeeded"), 15_000, "the re-sends");
    const rest = await post<WebhookReplayJson>(path, { created: { gte: t - 2 * HOUR }, status: "all", starting_after: firstIds[0] }, merchant.opts);
    expect(rest.body).toMatchObject({ requested: 1, has_more: false, deliveries: [firstIds[1]] });
  }, 40_000);

  it("checks the range: gte required, not in the future, gte before lte, at most 14 days; and the status", async () => {
    const merchant = await newMerchant("replay-bounds");
    const endpoint = await createEndpoint(receiverHook("replay-bounds").url, ["*"], merchant.opts);
    const path = `/v1/webhook_endpoints/${endpoint.id}/replay`;
    const t = now();
    expect(expectError(await post(path, {}, merchant.opts), 400, "parameter_missing").param).toBe("created");
    expect(expectError(await post(path, { created: { lte: t } }, merchant.opts), 400, "parameter_missing").param).toBe("created[gte]");
    expect(expectError(await post(path, { created: { gte: t + 3600 } }, merchant.opts), 400).param).toBe("created[gte]");
    expect(expectError(await post(path, { created: { gte: t - 60, lte: t + 3600 } }, merchant.opts), 400).param).toBe("created[lte]");
    expect(expectError(await post(path, { created: { gte: t - 60, lte: t - 120 } }, merchant.opts), 400).param).toBe("created[gte]");
    expect(expectError(await post(path, { created: { gte: t - 15 * DAY } }, merchant.opts), 400).message).toContain("14 days");
    expect(expectError(await post(path, { created: { gte: t - 20 * DAY, lte: t - 5 * DAY } }, merchant.opts), 400).message).toContain("14 days");
    expect(expectError(await post(path, { created: { gte: t - 60 }, status: "succeeded" }, merchant.opts), 400, "parameter_invalid").param).toBe("status");
    expect(expectError(await post(path, { created: { gte: "yesterday" } }, merchant.opts), 400).param).toBe("created[gte]");
    // Exactly 14 days back is fine (nothing to re-send here).
    const edge = await post<WebhookReplayJson>(path, { created: { gte: t - 14 * DAY, lte: t } }, merchant.opts);
    expect(edge.status, JSON.stringify(edge.body)).toBe(200);
    expect(edge.body).toMatchObject({ requested: 0, has_more: false, deliveries: [] });
    // A disabled endpoint is not replayed.
    await post(`/v1/webhook_endpoints/${endpoint.id}`, { disabled: true }, merchant.opts);
    expectError(await post(path, { created: { gte: t - 60 } }, merchant.opts), 400, "webhook_endpoint_disabled");
  });

  it("another merchant's endpoint is a 404; a credential without webhooks.manage is a 403", async () => {
    const owner = await newMerchant("replay-owner");
    const other = await newMerchant("replay-other");
    const endpoint = await createEndpoint(receiverHook("replay-owner").url, ["*"], owner.opts);
    const body = { created: { gte: now() - HOUR } };
    expectError(await post(`/v1/webhook_endpoints/${endpoint.id}/replay`, body, other.opts), 404, "resource_missing");
    expectError(await post(`/v1/webhook_endpoints/we_doesnotexist123/replay`, body, owner.opts), 404, "resource_missing");
    const viewer = await hsToken({ roles: ["merchant"], merchant: owner.id, permissions: ["payments.transactions.view"] });
    expectError(await post(`/v1/webhook_endpoints/${endpoint.id}/replay`, body, bearer(viewer)), 403);
    const support = await hsToken({ roles: ["support"], merchant: owner.id });
    expectError(await post(`/v1/webhook_endpoints/${endpoint.id}/replay`, body, bearer(support)), 403);
    const manager = await hsToken({ roles: ["merchant"], merchant: owner.id, permissions: ["webhooks.manage"] });
    expect((await post(`/v1/webhook_endpoints/${endpoint.id}/replay`, body, bearer(manager))).status).toBe(200);
  });
});
