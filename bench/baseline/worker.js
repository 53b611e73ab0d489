// A bare Worker with the same kinds of bindings as the gateway (a D1 database and a SQLite-backed
// Durable Object class), used by `npm run bench` as the platform ceiling our flows are compared to.
//   GET  /hello  -> a small JSON body, no storage at all.
//   POST /do-d1  -> one NEW Durable Object (idFromName(random uuid)) doing one storage put, plus one
//                   D1 insert: the least storage work a "create payment intent" must do.
import { DurableObject } from "cloudflare:workers";

export class BenchObject extends DurableObject {
  async touch(value) {
    await this.ctx.storage.put("state", value);
    return value;
  }
}

const SCHEMA = "CREATE TABLE IF NOT EXISTS bench_rows (id TEXT PRIMARY KEY, amount INTEGER NOT NULL, created INTEGER NOT NULL)";
let schemaReady = null; // once per isolate

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/hello") return json({ ok: true, hello: "world" });
    if (url.pathname === "/do-d1") {
      schemaReady ??= env.DB.prepare(SCHEMA).run().catch((err) => {
        schemaReady = null;
        throw err;
      });
      await schemaReady;
      const id = crypto.randomUUID();
      const created = Date.now();
      const stub = env.BENCH_OBJECTS.get(env.BENCH_OBJECTS.idFromName(id));
      const state = await stub.touch({ id, amount: 2000, currency: "usd", status: "requires_payment_method", created });
      await env.DB.prepare("INSERT INTO bench_rows (id, amount, created) VALUES (?1, ?2, ?3)").bind(id, 2000, created).run();
      return json({ id, object: "bench_row", status: state.status, created });
    }
    return json({ error: { message: "not found" } }, 404);
  },
};
