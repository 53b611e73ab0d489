// Parameters in shapes a route does not expect never make a 500: every body parameter of every /v1
// POST operation in the OpenAPI document, and every query parameter of its GET lists, sent as an
// object whose keys are named like prototype properties (toString, valueOf, constructor), which
// once made a string of it throw. And such keys are kept where any key is allowed (metadata), as
// Stripe keeps them.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createIntent, KEY_A, post } from "../helpers";

type Json = Record<string, unknown>;
interface Doc {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Json }> }; parameters?: { name: string; in: string }[] }>>;
  components?: { schemas?: Record<string, Json> };
}

/** The parameter `p` as an object of prototype-named keys (and a __proto__ that must go nowhere). */
const shaped = (p: string) => `${p}[toString]=1&${p}[valueOf]=2&${p}[constructor]=3&${p}[hasOwnProperty]=x&${p}[__proto__][polluted]=1`;

function bodyProperties(doc: Doc, schema: Json | undefined): string[] {
  let s = schema;
  for (let i = 0; s && typeof s.$ref === "string" && i < 5; i++) s = doc.components?.schemas?.[s.$ref.split("/").pop() ?? ""];
  const props = s?.properties;
  return props && typeof props === "object" ? Object.keys(props) : [];
}

async function send(method: string, url: string, form: string | null): Promise<number> {
  const res = await exports.default.fetch(
    new Request(url, { method, headers: { authorization: `Bearer ${KEY_A}`, ...(form !== null ? { "content-type": "application/x-www-form-urlencoded" } : {}) }, body: form }),
  );
  await res.arrayBuffer();
  return res.status;
}

describe("parameter shapes", () => {
  it("no /v1 operation answers 500 to a parameter sent as an object with prototype-named keys", { timeout: 240_000 }, async () => {
    const pi = (await createIntent({ amount: 2000, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" })).body;
    const doc = (await (await exports.default.fetch("http://gateway.test/openapi.json")).json()) as Doc;
    const requests: { method: string; url: string; form: string | null; label: string }[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!path.startsWith("/v1/")) continue;
      const url = `http://gateway.test${path.replace(/\{[^}]+\}/g, path.startsWith("/v1/payment_intents") ? pi.id : "x_missing")}`;
      for (const name of bodyProperties(doc, methods.post?.requestBody?.content?.["application/x-www-form-urlencoded"]?.schema)) {
        requests.push({ method: "POST", url, form: shaped(name), label: `POST ${path} ${name}` });
      }
      if (methods.get && !path.includes("{")) {
        for (const q of (methods.get.parameters ?? []).filter((p) => p.in === "query")) requests.push({ method: "GET", url: `${url}?${shaped(q.name)}`, form: null, label: `GET ${path} ${q.name}` });
      }
    }
    // A few at a time: each answer below 500.
    const failures: string[] = [];
    for (let i = 0; i < requests.length; i += 8) {
      await Promise.all(
        requests.slice(i, i + 8).map(async (r) => {
          const status = await send(r.method, r.url, r.form);
          if (status >= 500) failures.push(`${r.label}: ${status}`);
        }),
      );
    }
    expect(failures).toEqual([]);
    const sent = requests.length;
    // Enough of the document was reached to mean something.
    expect(sent, `${sent} requests`).toBeGreaterThan(400);
    // Nothing leaked onto Object.prototype.
    expect(({} as Json).polluted).toBeUndefined();
  });

  it("metadata keys named like prototype properties are kept, from forms as from JSON", async () => {
    const form = await exports.default.fetch(
      new Request("http://gateway.test/v1/customers", {
        method: "POST",
        headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/x-www-form-urlencoded" },
        body: "metadata[constructor]=a&metadata[toString]=b&metadata[valueOf]=c&metadata[order]=42",
      }),
    );
    expect(form.status).toBe(200);
    expect(((await form.json()) as { metadata: Json }).metadata).toEqual({ constructor: "a", toString: "b", valueOf: "c", order: "42" });
    const json = await post<{ metadata: Json }>("/v1/customers", { metadata: { constructor: "a", hasOwnProperty: "d" } });
    expect(json.body.metadata).toEqual({ constructor: "a", hasOwnProperty: "d" });
    // And on a payment intent.
    const created = await post<{ id: string; metadata: Json }>("/v1/payment_intents", { amount: 500, currency: "usd", metadata: { constructor: "k9" } });
    expect(created.body.metadata).toEqual({ constructor: "k9" });
  });

  it("metadata keys made of digits stay keys (stripe-node sends {metadata: {\"42\": \"x\"}} as metadata[42]=x), wherever metadata is", async () => {
    const form = (body: string, path = "/v1/customers") =>
      exports.default.fetch(new Request(`http://gateway.test${path}`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/x-www-form-urlencoded" }, body }));
    const customer = await form("metadata[42]=x&metadata[0]=zero&metadata[b]=c");
    expect(customer.status).toBe(200);
    expect(((await customer.json()) as { metadata: Json }).metadata).toEqual({ "42": "x", "0": "zero", b: "c" });
    // Alone and sparse: `metadata[1]=a` is the key "1", not the first element of an array.
    const intent = await form("amount=500&currency=usd&metadata%5B1%5D=a", "/v1/payment_intents");
    expect(intent.status).toBe(200);
    expect(((await intent.json()) as { metadata: Json }).metadata).toEqual({ "1": "a" });
    // Arrays stay arrays: expand[0], and expand[] beside a digit metadata key.
    const listed = await exports.default.fetch(new Request("http://gateway.test/v1/customers?limit=1&expand[0]=data.invoice_settings.default_payment_method", { headers: { authorization: `Bearer ${KEY_A}` } }));
    expect(listed.status).toBe(200);
    await listed.body?.cancel();
  });
});
