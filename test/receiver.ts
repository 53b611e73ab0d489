// A loopback HTTP server standing in for merchants' webhook receivers, shared by the test files.
// POST /hooks/<name>?fail=N     answers 500 to the first N requests, then 200
//                   ?status=S   always answers S (with ?retry_after=X: a Retry-After header)
//                   ?sleep=MS   waits before answering
//                   ?location=U a Location header (with ?status=302: a redirect to U)
// GET  /__received/<name>       what <name> received: [{ at, headers, body, answered }]
import { createServer, type IncomingMessage, type Server } from "node:http";

export interface Received {
  at: number;
  headers: Record<string, string>;
  body: string;
  answered: number;
}

export function startReceiver(): Promise<{ server: Server; port: number }> {
  const received = new Map<string, Received[]>();
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => resolve(body));
    });
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const [, kind, name = ""] = url.pathname.split("/");
    if (req.method === "GET" && kind === "__received") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(received.get(name) ?? []));
      return;
    }
    if (req.method !== "POST" || kind !== "hooks") {
      res.writeHead(404).end();
      return;
    }
    const body = await read(req);
    const list = received.get(name) ?? [];
    received.set(name, list);
    const fail = Number(url.searchParams.get("fail") ?? "0");
    const fixed = url.searchParams.get("status");
    const answered = fixed ? Number(fixed) : list.length < fail ? 500 : 200;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
    list.push({ at: Date.now(), headers, body, answered });
    const sleep = Number(url.searchParams.get("sleep") ?? "0");
    if (sleep > 0) await new Promise((r) => setTimeout(r, sleep));
    const extra: Record<string, string> = {};
    const retryAfter = url.searchParams.get("retry_after");
    if (retryAfter) extra["retry-after"] = retryAfter;
    const location = url.searchParams.get("location");
    if (location) extra.location = location;
    res.writeHead(answered, { "content-type": "text/plain", ...extra });
    res.end(answered >= 200 && answered < 300 ? "ok" : "nope");
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : 0 });
    });
  });
}
