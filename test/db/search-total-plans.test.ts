// A search's `expand[]=total_count` counts the matches from the same index ranges the search reads
// (one per branch of an OR, at most 10,000 ids each): every statement the count adds is a range,
// never a SCAN of the searched table or of the metadata tables, whatever the clause.
import { beforeAll, describe, expect, it } from "vitest";
import { newMerchant, post, type CallOptions } from "../helpers";
import { throughWorker } from "./recording";

const TABLES = ["payment_intents", "payment_intent_metadata", "customers", "products", "prices", "subscriptions", "invoices", "object_metadata"];

let opts: CallOptions;
let customer = "";

beforeAll(async () => {
  ({ opts } = await newMerchant("search-total-plans"));
  customer = String((await post<{ id: string }>("/v1/customers", { email: "total@example.com", metadata: { tier: "gold" } }, opts)).body.id);
  for (const amount of [500, 700]) {
    await post("/v1/payment_intents", { amount, currency: "usd", customer, metadata: { order: "o-1" } }, opts);
  }
  const product = (await post<{ id: string }>("/v1/products", { name: "Counted", metadata: { line: "a" } }, opts)).body.id;
  await post("/v1/prices", { product, unit_amount: 900, currency: "usd", lookup_key: "counted_monthly", recurring: { interval: "month" } }, opts);
});

/** The count's statements: the selects of a searched table with no ORDER BY (the page's own read has one). */
const counting = (sql: string) => /^\s*select/i.test(sql) && !/order by/i.test(sql) && TABLES.some((t) => sql.includes(`"${t}"`));

describe("expand[]=total_count", () => {
  it("is counted from index ranges, never a scan, on every search", async () => {
    const q = (resource: string, query: string) => `/v1/${resource}/search?query=${encodeURIComponent(query)}&expand[]=total_count`;
    for (const [path, total] of [
      [q("payment_intents", `customer:'${customer}'`), 2],
      [q("payment_intents", "metadata['order']:'o-1'"), 2],
      [q("payment_intents", `amount:500 OR customer:'${customer}'`), 2],
      // No charge among them (none was confirmed): each status's partial index is read, not the table.
      [q("charges", `customer:'${customer}'`), 0],
      [q("charges", "metadata['order']:'o-1' AND status:'failed'"), 0],
      [q("charges", `amount:500 OR customer:'${customer}'`), 0],
      [q("customers", "email:'total@example.com'"), 1],
      [q("customers", "metadata['tier']:'gold'"), 1],
      [q("products", "metadata['line']:'a'"), 1],
      [q("prices", "lookup_key:'counted_monthly'"), 1],
      [q("subscriptions", "status:'active'"), 0],
      [q("invoices", `customer:'${customer}'`), 0],
    ] as const) {
      const r = await throughWorker(path, opts.key ?? "", counting);
      expect(r.status, `${path}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(200);
      expect(r.body.total_count, path).toBe(total);
      expect(r.plans.length, `${path}: the count read nothing`).toBeGreaterThan(0);
      for (const { sql, plan } of r.plans) {
        for (const line of plan) {
          const scanned = /^SCAN (\w+)/.exec(line)?.[1];
          expect(scanned !== undefined && TABLES.includes(scanned), `${path}\n${sql}\n${plan.join("\n")}`).toBe(false);
        }
      }
    }
  });
});
