// A bare Worker with the same kinds of bindings as the gateway (a D1 database, a SQLite-backed
// Durable Object class and two queues), used by `npm run bench` as the platform floor our flows are
// compared to.
//   GET  /hello        -> a small JSON body, no storage at all.
//   POST /do-d1        -> one NEW Durable Object (idFromName(random uuid)) doing one storage put, plus one
//                         D1 insert: the least storage work a "create payment intent" must do.
//   POST /floor/event  -> the same as /do-d1, then one message {id, created_ms, url} on the first queue:
//                         the least work a create that emits an event must do. The queue floor of
//                         the webhook run: the first queue's consumer forwards each batch to the
//                         second queue with one sendBatch (the gateway's fan-out hop, without its
//                         logic); the second queue's consumer POSTs each message to its `url`, the
//                         whole batch at once, and acks it on a 2xx (the gateway's delivery hop).
//                         Both consumers have the gateway's batch settings (bench/run.mjs checks).
//   POST /floor/event-do -> the same, but the Durable Object sends the message after its storage put,
//                         as the gateway's intent object hands its outbox to the queue.
import { DurableObject } from "cloudflare:workers";

export class BenchObject extends DurableObject {
  async touch(value) {
    await this.ctx.storage.put("state", value);
    return value;
  }

  async touchAndSend(value, message) {
    await this.ctx.storage.put("state", value);
    await this.env.FLOOR_EVENTS.send(message, { contentType: "json" });
    return value;
  }
}

const SCHEMA = "CREATE TABLE IF NOT EXISTS bench_rows (id TEXT PRIMARY KEY, amount INTEGER NOT NULL, created INTEGER NOT NULL)";
let schemaReady = null; // once per isolate

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

async function doAndD1(env, target = null) {
  schemaReady ??= env.DB.prepare(SCHEMA).run().catch((err) => {
    schemaReady = null;
    throw err;
  });
  await schemaReady;
  const id = crypto.randomUUID();
  const created = Date.now();
  const stub = env.BENCH_OBJECTS.get(env.BENCH_OBJECTS.idFromName(id));
  const value = { id, amount: 2000, currency: "usd", status: "requires_payment_method", created };
  const state = target ? await stub.touchAndSend(value, { id: `evt_${id}`, created_ms: Date.now(), url: target }) : await stub.touch(value);
  await env.DB.prepare("INSERT INTO bench_rows (id, amount, created) VALUES (?1, ?2, ?3)").bind(id, 2000, created).run();
  return { id, object: "bench_row", status: state.status, created };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/hello") return json({ ok: true, hello: "world" });
    if (url.pathname === "/do-d1" && request.method === "POST") return json(await doAndD1(env));
    if (url.pathname === "/floor/event-do" && request.method === "POST") {
      const { url: target } = await request.json();
      return json(await doAndD1(env, target));
    }
    if (url.pathname === "/floor/event" && request.method === "POST") {
      const { url: target } = await request.json();
      const row = await doAndD1(env);
      await env.FLOOR_EVENTS.send({ id: `evt_${row.id}`, created_ms: Date.now(), url: target }, { contentType: "json" });
      return json(row);
    }
    return json({ error: { message: "not found" } }, 404);
  },

  async queue(batch, env) {
    if (batch.queue === "bench-floor-events") {
      await env.FLOOR_DELIVERIES.sendBatch(batch.messages.map((m) => ({ body: m.body, contentType: "json" })));
      batch.ackAll();
      return;
    }
    await Promise.all(
      batch.messages.map(async (m) => {
        try {
          const res = await fetch(m.body.url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ id: m.body.id, created_ms: m.body.created_ms }),
          });
          // Read to its end (the receiver's "ok"), as the gateway does: a cancelled body closes its
          // connection, and the next POST would pay for a new one.
          await res.arrayBuffer();
          if (res.ok) m.ack();
          else m.retry();
        } catch {
          m.retry();
        }
      }),
    );
  },
};
