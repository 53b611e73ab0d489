// /sandbox/paypal/checkoutnow?token=ORDER — the sandbox acting as PayPal's approval page, for
// merchants (test mode) without a PayPal account. The GET only shows the order, and whom it pays; the
// payer's decision is a POST, which records it in the sandbox's ledger and sends the payer back (303)
// through the gateway's provider return (which completes the order, as it does after PayPal's own
// page). The page of an order already decided (Back after approving) links on to that same return,
// which leads where the decision's answer led: never a dead end. A POST from another site is
// refused (cross-site.ts).
import { Hono } from "hono";
import { decideSandboxOrder, findSandboxOrder, sandboxApproval } from "../connectors/sandbox/paypal";
import type { IntentRecord } from "../core/types";
import type { Env } from "../env";
import { readBodyParams } from "../http/body";
import { isSessionIntent, sessionOfIntent, successLocation } from "../checkout/sessions";
import { merchantEnv } from "../db/shards";
import { formatMoney, merchantName, unmatched } from "./checkout";
import { refuseCrossSitePosts } from "./cross-site";
import { cspOrigin, escape, page } from "./threeds";

const ORDER_ID = /^[0-9A-Z]{17}$/;
const notFound = () => page("Not found", "<h1>Order not found</h1><p>This PayPal link is not valid.</p>", 404);

/** The gateway's provider return for the intent, as PayPal's return (or cancel) link sends the payer back. */
const providerReturn = (intent: Pick<IntentRecord, "id" | "clientSecret">, approved: boolean) =>
  `/connectors/return/${encodeURIComponent(intent.id)}?client_secret=${encodeURIComponent(intent.clientSecret)}${approved ? "" : "&canceled=true"}`;

export function sandboxPayPalPages(): Hono<{ Bindings: Env }> {
  const pages = new Hono<{ Bindings: Env }>();
  pages.use("*", refuseCrossSitePosts);

  pages.get("/checkoutnow", async (c) => {
    const token = c.req.query("token") ?? "";
    if (!ORDER_ID.test(token)) return notFound();
    const order = await findSandboxOrder(c.env.DB, token);
    if (!order) return notFound();
    const decided = await sandboxApproval(c.env.DB, token);
    // The decision's POST is sent on (303s) through the gateway's return to the merchant's
    // return_url, or a Checkout Session's success or cancel page: form-action must allow where the
    // redirects end (Chromium checks the whole chain), or Cancel left the payer here.
    const intent = await c.env.PAYMENT_INTENTS.get(c.env.PAYMENT_INTENTS.idFromName(order.intentId)).retrieve({ merchantId: order.merchantId, livemode: false }, order.intentId);
    const session = intent && isSessionIntent(intent) ? await sessionOfIntent(merchantEnv(c.env, order.merchantId).DB, order.intentId) : null;
    const formAction = [cspOrigin(intent?.returnUrl), session ? cspOrigin(successLocation(session)) : null, cspOrigin(session?.cancelUrl)].filter((o): o is string => o !== null);
    // As the checkout pages write money: ¥1,234,567, $25.99, KWD 99,999.999.
    const amount = formatMoney(order.amount, order.currency);
    const merchant = await merchantName(c.env, order.merchantId);
    const payee = `<p class="muted">${escape(merchant)}</p>`;
    if (decided) {
      const approved = decided === "APPROVED";
      // On to where the decision's answer led: the gateway's return, which completes the order if that
      // is still to do, and sends the payer on (to the merchant, or the payment's own page).
      const onward = intent ? `<p><a class="onward" href="${escape(providerReturn(intent, approved))}">Continue</a></p>` : "";
      return page(
        "PayPal (sandbox)",
        `${payee}<h1>PayPal (sandbox)</h1><p>This order of ${escape(amount)} to ${escape(merchant)} was already ${approved ? "approved" : "canceled"}.</p>${onward}`,
      );
    }
    const form = (decision: string, label: string, cls: string) =>
      `<form method="post" action="/sandbox/paypal/checkoutnow"><input type="hidden" name="token" value="${escape(token)}"><input type="hidden" name="decision" value="${decision}"><button class="${cls}" type="submit">${label}</button></form>`;
    return page(
      "PayPal (sandbox)",
      `${payee}<h1>PayPal (sandbox)</h1><p>Pay <strong>${escape(amount)}</strong> to ${escape(merchant)}${order.description ? ` for ${escape(order.description)}` : ""}.</p>` +
        form("approve", "Approve payment", "approve") +
        form("cancel", "Cancel", "fail") +
        `<p class="muted">This is the gateway's sandbox standing in for PayPal: no money moves. Order ${escape(token)}.</p>`,
      200,
      { formAction: [...new Set(formAction)] },
    );
  });

  pages.post("/checkoutnow", async (c) => {
    let form: Record<string, unknown>;
    try {
      form = await readBodyParams(c.req.raw);
    } catch {
      return page("Bad request", "<h1>Bad request</h1>", 400);
    }
    const token = typeof form.token === "string" ? form.token : "";
    const decision = form.decision === "approve" ? true : form.decision === "cancel" ? false : null;
    if (!ORDER_ID.test(token) || decision === null) return page("Bad request", "<h1>Bad request</h1>", 400);
    const order = await findSandboxOrder(c.env.DB, token);
    if (!order) return notFound();
    const approved = await decideSandboxOrder(c.env.DB, token, order, decision);
    // Back through the gateway's return, as from PayPal's own page (the sandbox is test mode only).
    const stub = c.env.PAYMENT_INTENTS.get(c.env.PAYMENT_INTENTS.idFromName(order.intentId));
    const intent = await stub.retrieve({ merchantId: order.merchantId, livemode: false }, order.intentId);
    // Redirect-after-POST in every case: without its intent, the order's own page says how it was decided.
    if (!intent) return c.redirect(`/sandbox/paypal/checkoutnow?token=${encodeURIComponent(token)}`, 303);
    return c.redirect(providerReturn(intent, approved), 303);
  });

  // Another method on the approval page (405), any other path (404): HTML pages, never the API's JSON.
  unmatched(pages, { "/checkoutnow": "GET, HEAD, POST" });
  return pages;
}
