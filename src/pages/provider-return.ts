// /connectors/return/:intent — where a provider's page (PayPal's approval, Stripe's 3DS) sends the
// customer back. A page a browser opens by GET never changes an intent: the GET shows a page whose
// form POSTs back here (a small inline script, allowed by a CSP nonce, submits it at once), and the
// POST completes the payment at the provider, then sends the customer on to the merchant's
// return_url, or (without one) to the result page, GET /connectors/return/{pi}?client_secret=...&result=1,
// which only reads where the payment stands (redirect-after-POST: reloading it completes nothing).
// Authorized by the intent's client secret in the link we gave the provider. A POST from another site
// is refused (cross-site.ts): the page's own form is submitted from our origin (Sec-Fetch-Site: same-origin).
// The sandbox's own 3DS challenge is decided only on its challenge page (/sandbox/3ds), never here.
import { Hono } from "hono";
import { hasPrefix, randomToken } from "../core/ids";
import { isPaidOrPaying } from "../core/intent";
import type { IntentRecord, IntentStatus } from "../core/types";
import type { Env } from "../env";
import { refuseCrossSitePosts } from "./cross-site";
import { onwardLink, returnLocation } from "./return";
import { cspOrigin, escape, page, pageForm } from "./threeds";
import { givenBackInWords, lastAttemptError, unmatched } from "./checkout";
import { completeFromIntent, sessionGuard } from "../checkout/sessions";
import { merchantEnv } from "../db/shards";
import { checkoutSessionPageUrl } from "./urls";

/** What a customer reads about their payment: plain words, never a raw status. */
const IN_WORDS: Record<IntentStatus, string> = {
  requires_payment_method: "Your payment did not go through. You can try again with another payment method.",
  requires_confirmation: "Your payment has not been submitted yet.",
  requires_action: "Your payment is waiting for you to finish the provider's step.",
  processing: "Your payment is being processed. You will hear from the shop once it is complete.",
  requires_capture: "Your payment has been approved.",
  succeeded: "Your payment is complete. Thank you.",
  canceled: "This payment was canceled. Nothing was charged.",
  failed: "This payment could not be completed.",
};

const notFound = () => page("Not found", "<h1>Payment not found</h1><p>This link is not valid.</p>", 404);

function stub(env: Env, id: string) {
  return env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));
}

async function merchantName(env: Env, merchantId: string): Promise<string | null> {
  try {
    const row = await env.DB.prepare("SELECT name FROM merchants WHERE id = ?").bind(merchantId).first<{ name: string }>();
    return row?.name ?? null;
  } catch {
    return null;
  }
}

/** Whether the intent waits on a provider's own page (not the sandbox's challenge, decided on its page). */
export function waitsOnProvider(intent: IntentRecord): boolean {
  if (intent.status !== "requires_action") return false;
  const waiting = [...intent.attempts].reverse().find((a) => a.type === "authorize" && a.status === "requires_action");
  return waiting !== undefined && waiting.connector !== "sandbox" && waiting.providerReference !== null;
}

/** Where the payment stands (the intent has no return_url), with the way on to its own page: never a dead end. */
async function resultPage(env: Env, intent: IntentRecord): Promise<Response> {
  const shop = await merchantName(env, intent.merchantId);
  const heading = shop ? `Your payment to ${escape(shop)}` : "Your payment";
  const link = await onwardLink(env, intent, shop);
  const good = isPaidOrPaying(intent);
  // Paid, then given back since (released, refunded): said so, never "paid".
  const back = givenBackInWords(intent);
  // Not paid: the last attempt in the payment pages' words (a PayPal payment the shopper canceled is
  // their own choice, said as a notice that nothing was charged, as /pay says it), else the status's.
  const last = !good && !back && intent.status === "requires_payment_method" ? lastAttemptError(intent) : null;
  const words = back ? escape(back.message) : last ? escape(last.message) : IN_WORDS[intent.status];
  const role = good || back ? "" : last?.notice ? ' role="status"' : ' role="alert"';
  return page("Payment", `<h1>${heading}</h1><p${role}>${words}</p><p><a class="onward" href="${escape(link.href)}">${escape(link.text)}</a></p>`);
}

export function providerReturnPages(): Hono<{ Bindings: Env }> {
  const pages = new Hono<{ Bindings: Env }>();
  pages.use("*", refuseCrossSitePosts);

  pages.get("/:id", async (c) => {
    const id = c.req.param("id");
    const secret = c.req.query("client_secret") ?? "";
    if (!hasPrefix(id, "pi") || !secret) return notFound();
    const intent = await stub(c.env, id).retrieveWithClientSecret(id, secret);
    if (!intent) return notFound();
    // Where the POST leads without a return_url: the payment as it stands. Never the page that POSTs
    // again, so that reloading it completes nothing, and an order still waiting at the provider cannot loop.
    if (c.req.query("result") !== undefined) return resultPage(c.env, intent);
    // An intent with nothing to complete: nothing to do but show where things stand (or go on to the
    // merchant, which reads the intent itself).
    if (!waitsOnProvider(intent)) {
      const location = returnLocation(intent);
      if (location) return c.redirect(location, 303);
      return resultPage(c.env, intent);
    }
    // Back from the provider, through its return or its cancel link: what that means for the payment
    // is decided by a POST (a GET changes nothing), which this page sends at once.
    const canceled = c.req.query("canceled") === "true";
    const shop = await merchantName(c.env, intent.merchantId);
    const nonce = randomToken(22);
    const action = `/connectors/return/${encodeURIComponent(intent.id)}`;
    return page(
      "Finishing your payment",
      `<h1>Finishing your payment${shop ? ` to ${escape(shop)}` : ""}</h1>` +
        `<p>You are back from the payment provider. Continue to ${canceled ? "see where your payment stands" : "complete your payment"}.</p>` +
        `<form id="complete" method="post" action="${escape(action)}"><input type="hidden" name="client_secret" value="${escape(secret)}">` +
        (canceled ? `<input type="hidden" name="canceled" value="true">` : "") +
        `<button class="approve" type="submit">Continue</button></form>` +
        `<script nonce="${nonce}">document.getElementById("complete").submit();</script>`,
      200,
      // The POST's 303 goes on to the merchant's return_url, which form-action must allow.
      { scriptNonce: nonce, formAction: [cspOrigin(intent.returnUrl)].filter((o): o is string => o !== null) },
    );
  });

  pages.post("/:id", async (c) => {
    const id = c.req.param("id");
    if (!hasPrefix(id, "pi")) return notFound();
    const form = await pageForm(c.req.raw);
    if (form instanceof Response) return form;
    const secret = typeof form.client_secret === "string" ? form.client_secret : "";
    if (!secret) return notFound();
    const object = stub(c.env, id);
    const origin = new URL(c.req.url).origin;
    const before = await object.retrieveWithClientSecret(id, secret);
    if (!before) return notFound();
    // A Checkout Session's payment completes only while its session is open, as at Stripe: one past its
    // expires_at (the cron not come by yet) is expired first, which cancels the intent and the step
    // still open at the provider (a challenge passed there later takes nothing). Closed, the session's
    // page says where things stand. Only when the provider could no longer cancel it (the shopper
    // passed the challenge, money moved) does the session stay open: the return then records that
    // payment and completes the session, so the merchant is told of the money taken.
    const session = await sessionGuard(c.env, before, origin);
    if (session && session.status !== "open") return c.redirect(checkoutSessionPageUrl("", session.id), 303);
    const outcome = form.canceled === "true" ? await object.abandonRedirect(id, secret, origin) : await object.completeRedirect(id, secret, origin);
    const intent = outcome.intent ?? (await object.retrieveWithClientSecret(id, secret));
    if (!intent) return notFound();
    // A session's payment completes its session before the shopper lands on success_url (as the 3DS page's answer does).
    await completeFromIntent(merchantEnv(c.env, intent.merchantId), intent, origin);
    const location = returnLocation(intent);
    if (location) return c.redirect(location, 303);
    return c.redirect(`/connectors/return/${encodeURIComponent(intent.id)}?client_secret=${encodeURIComponent(intent.clientSecret)}&result=1`, 303);
  });

  // Another method on the return path (405), any other path (404): HTML pages, never the API's JSON.
  unmatched(pages, { "/:id": "GET, HEAD, POST" });
  return pages;
}
