// The chaos suite's faults, as the PSP fakes take them (test/fakes/stripe.ts, test/fakes/paypal.ts):
// armed per key (a Stripe secret key, a PayPal client id) and operation, each for the next such request.
//   POST /__faults {key, op, kind}   arms one:
//     error        500, nothing done                      timeout   hangs until the caller gives up, nothing done
//     lost         done, answered after the caller gave up   hold_before / hold_after   waits (before / after doing it)
//                                                          until POST /__release?key=... (GET /__held?key=... says one waits)
//     pending      (PayPal's fake only) done, but PayPal reports the payment PENDING until POST /__settle settles it
//     error_after  (Stripe's fake only) done, but answers 500, and keeps that 500 as the idempotency key's answer, as Stripe does
//     slow         waits until POST /__release?key=..., then is done and answered (a request still running at the
//                  provider after its caller gave up; Stripe's fake answers 409 to its key meanwhile)
//     rate_limit   (Stripe's fake only) 429 rate_limit, nothing done, and nothing kept for its idempotency key
//   DELETE /__faults?key=...          forgets the key's faults and releases its held requests
import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody, untilGone } from "./http";

export type FaultKind = "error" | "timeout" | "lost" | "hold_before" | "hold_after" | "pending" | "error_after" | "slow" | "rate_limit";
const FAULT_KINDS: readonly string[] = ["error", "timeout", "lost", "hold_before", "hold_after", "pending", "error_after", "slow", "rate_limit"];
/** A held request gives up after HOLD_MAX_MS; a late one waits until its caller gave up. */
const HOLD_MAX_MS = 15_000;

export interface Answer {
  status: number;
  body: unknown;
}

export class FaultInjector {
  private readonly faults = new Map<string, FaultKind[]>();
  private readonly held = new Map<string, (() => void)[]>();

  /** Answers a control request (arming, clearing, holding, releasing); null for any other request. */
  async control(req: IncomingMessage, path: string, url: URL): Promise<Answer | null> {
    const method = req.method ?? "GET";
    const key = url.searchParams.get("key") ?? "";
    if (path === "/__faults" && method === "POST") {
      const plan = JSON.parse((await readBody(req)) || "{}") as { key?: string; op?: string; kind?: string };
      if (!plan.key || !plan.op || !plan.kind || !FAULT_KINDS.includes(plan.kind)) return { status: 400, body: { error: "key, op and kind (error, timeout, lost, hold_before, hold_after, pending, error_after, slow, rate_limit) are required" } };
      const list = this.faults.get(`${plan.key}|${plan.op}`) ?? [];
      list.push(plan.kind as FaultKind);
      this.faults.set(`${plan.key}|${plan.op}`, list);
      return { status: 200, body: { armed: list.length } };
    }
    if (path === "/__faults" && method === "DELETE") {
      for (const k of [...this.faults.keys()]) if (k.startsWith(`${key}|`)) this.faults.delete(k);
      return { status: 200, body: { released: this.releaseAll(key) } };
    }
    if (path === "/__held" && method === "GET") return { status: 200, body: { held: (this.held.get(key) ?? []).length } };
    if (path === "/__release" && method === "POST") return { status: 200, body: { released: this.releaseAll(key) } };
    return null;
  }

  /** The fault armed for this key's next `op` request, taken (so it fires once); none for other requests. */
  take(key: string, op: string | null): FaultKind | undefined {
    return op ? this.faults.get(`${key}|${op}`)?.shift() : undefined;
  }

  /**
   * Before the request is done: true when the fault keeps it from being done (an error at once; a
   * timeout or a hold, then an error too late for the caller), so the fake answers `failure` instead.
   */
  async refuses(fault: FaultKind | undefined, key: string, res: ServerResponse): Promise<boolean> {
    if (fault === "error") return true;
    if (fault === "slow") {
      await this.hold(key);
      return false;
    }
    if (fault === "timeout") await untilGone(res);
    else if (fault === "hold_before") await this.hold(key);
    else return false;
    return true;
  }

  /** After the request was done: a lost answer comes too late, a held one waits for its release. */
  async delays(fault: FaultKind | undefined, key: string, res: ServerResponse): Promise<void> {
    if (fault === "lost") await untilGone(res);
    if (fault === "hold_after") await this.hold(key);
  }

  private hold(key: string): Promise<void> {
    return new Promise((resolve) => {
      const waiting = this.held.get(key) ?? [];
      this.held.set(key, waiting);
      const release = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.held.set(key, (this.held.get(key) ?? []).filter((r) => r !== release));
        resolve();
      }, HOLD_MAX_MS);
      waiting.push(release);
    });
  }

  private releaseAll(key: string): number {
    const waiting = this.held.get(key) ?? [];
    this.held.delete(key);
    for (const release of waiting) release();
    return waiting.length;
  }
}
