// The sandbox's 3D Secure challenge page. `next_action.redirect_to_url.url` sends the customer here;
// they approve or fail the challenge (or cancel, back to the payment page, where another card can be
// tried), the intent's DO completes the payment, and the browser goes back to the merchant's
// return_url with Stripe's query parameters (payment_intent, payment_intent_client_secret,
// redirect_status). Without a return_url the answer's 303 leads to the challenge's result page
// (GET /sandbox/3ds/{pi}?client_secret=...&result=1), which only reads where the intent stands: it
// says how it ended and links on to the payment's own page (the session's, or /pay). Reloading it
// answers nothing, not even a newer challenge of the same intent (it shows no form, only the way to
// it). A POST from another site is refused (cross-site.ts). A setup intent's challenge (seti_...) is
// served here too, by setup-threeds.ts.
import { Hono } from "hono";
import { hasPrefix } from "../core/ids";
import { awaitingMerchantConfirmation, isPaidOrPaying } from "../core/intent";
import type { Env } from "../env";
import { readBodyParams } from "../http/body";
import { onwardLink, paymentPagePath, returnLocation } from "./return";
import { refuseCrossSitePosts } from "./cross-site";
import type { IntentRecord } from "../core/types";
import { completeFromIntent, isOverdue, sessionGuard } from "../checkout/sessions";
import { merchantEnv } from "../db/shards";
import { PAGE_STYLE, brandName, escapeHtml, formatMoney, givenBackInWords, lastErrorInWords, merchantName, paidInWords, statusInWords } from "./checkout";
import { CHALLENGE_REPLACED, pendingChallenge } from "../intents/operations/authenticate";
import { answerSetupChallenge, setupChallengePage } from "./setup-threeds";

const escape = escapeHtml;

export interface PageOptions {
  /** Origins besides our own that a form on the page may reach, redirects included (a merchant's return_url). */
  formAction?: readonly string[];
  /** A nonce allowing the page's own inline script. */
  scriptNonce?: string;
}

/** The origin of a URL for a CSP source list, or null when it is not an http(s) URL. */
export function cspOrigin(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.origin : null;
  } catch {
    return null;
  }
}

function page(title: string, body: string, status = 200, options: PageOptions = {}): Response {
  // The checkout's own look (PAGE_STYLE), a <main> landmark, and a viewport that starts unzoomed.
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escape(title)}</title><style>${PAGE_STYLE}
form.answer{display:block}form.answer button{margin-top:.75rem}</style></head>
<body><main>${body}</main></body></html>`;
  return new Response(html, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy":
        // img-src 'self': the browser's own request for /favicon.ico, as on the checkout pages (blocked, it was a CSP violation in the shopper's console).
        `default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; ${options.scriptNonce ? `script-src 'nonce-${options.scriptNonce}'; ` : ""}` +
        `form-action ${["'self'", ...(options.formAction ?? [])].join(" ")}; frame-ancestors 'none'; base-uri 'none'`,
    },
  });
}

function stub(env: Env, id: string) {
  return env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));
}


const notFound = () => page("Not found", "<h1>Challenge not found</h1><p>This link is not valid.</p>", 404);

/** The outcome in plain words, announced when it is not good news, and the way on (never a dead end). */
async function outcomePage(env: Env, intent: IntentRecord, heading: string, message: string, ok: boolean, onward?: { href: string; text: string }): Promise<Response> {
  const merchant = await merchantName(env, intent.merchantId);
  const link = onward ?? (await onwardLink(env, intent, merchant));
  return page(
    heading,
    `<p class="muted">${escape(merchant)}</p><h1>${escape(heading)}</h1><p${ok ? "" : ' role="alert"'}>${escape(message)}</p>` +
      `<p><a class="onward" href="${escape(link.href)}">${escape(link.text)}</a></p>`,
  );
}

/** Where a confirmation_method=manual payment stands for its customer: the card confirmed (the merchant completes it), or not (nothing charged; the merchant takes it from there). */
function manualWords(intent: IntentRecord, confirmed: boolean): string {
  const amount = formatMoney(intent.amount, intent.currency);
  return confirmed
    ? `Your bank confirmed your card for this payment of ${amount}. The merchant completes the payment; nothing more is needed from you here.`
    : `${lastErrorInWords(intent) ?? "Your card was not confirmed."} Nothing was charged. To pay ${amount}, contact the merchant.`;
}


/** The page after the challenge's answer when there is no return_url to send the shopper to. */
async function challengeOutcome(env: Env, intent: IntentRecord): Promise<Response> {
  // Paid, then given back since (released, refunded): said so, never "has been made".
  const back = givenBackInWords(intent);
  if (back) return outcomePage(env, intent, back.title, back.message, true);
  switch (intent.status) {
    case "succeeded":
    case "requires_capture": {
      const done = paidInWords(intent, await merchantName(env, intent.merchantId), (amount) => `Your payment of ${amount} has been made.`);
      return outcomePage(env, intent, done.title, done.message, true);
    }
    case "processing":
      return outcomePage(env, intent, "Payment processing", statusInWords("processing"), true);
    case "requires_confirmation":
      // A passed challenge of a confirmation_method=manual payment: the merchant's server confirms it now.
      if (awaitingMerchantConfirmation(intent)) return outcomePage(env, intent, "Card confirmed", manualWords(intent, true), true);
      return outcomePage(env, intent, "Payment not completed", `${lastErrorInWords(intent) ?? "The payment did not go through. Try another card."} Nothing was charged.`, false);
    case "requires_payment_method":
      // Only the merchant pays a manual-confirmation payment again: no other card is offered here.
      if (intent.confirmationMethod === "manual") return outcomePage(env, intent, "Payment not completed", manualWords(intent, false), false);
      return outcomePage(env, intent, "Payment not completed", `${lastErrorInWords(intent) ?? "The payment did not go through. Try another card."} Nothing was charged.`, false);
    case "requires_action":
      // A challenge still to answer (this one, or a newer one): only the way to it, never an answer.
      return outcomePage(env, intent, "Confirm with your bank", statusInWords("requires_action"), true, intent.nextAction ? { href: intent.nextAction.url, text: "Continue" } : undefined);
    default:
      return outcomePage(env, intent, "Payment", statusInWords(intent.status), false);
  }
}

/**
 * Whether the challenge shown for authorization `attemptId` is no longer the intent's pending one: another
 * authorization waits on its own challenge, or this one was dropped by a newer attempt (another card, in
 * another tab). Without an attempt (an API client's answer, an address without it): never.
 */
function replacedChallenge(intent: IntentRecord, attemptId: string | null): boolean {
  if (!attemptId) return false;
  const waiting = pendingChallenge(intent);
  if (waiting) return waiting.id !== attemptId;
  const shown = intent.attempts.find((a) => a.id === attemptId && a.type === "authorize");
  return shown?.status === "canceled" && intent.status !== "canceled";
}

/** A stale challenge (replaced by a newer attempt): said plainly, nothing charged or changed, and the way to the payment's page. */
async function replacedPage(env: Env, intent: IntentRecord, answered: boolean): Promise<Response> {
  const merchant = await merchantName(env, intent.merchantId);
  const heading = "This challenge was replaced";
  return page(
    heading,
    `<p class="muted">${escape(merchant)}</p><h1>${escape(heading)}</h1>` +
      `<p role="alert">A payment was started with another card after this challenge was shown (in another tab or window), so this challenge no longer applies. ${answered ? "Your answer was not used: nothing" : "Nothing"} was charged or changed.</p>` +
      `<p><a class="onward" href="${escape(await paymentPagePath(env, intent))}">Go to the payment page</a></p>`,
    409,
  );
}

/** The attempt a challenge's form (or its address) names: the authorization it was shown for. */
function attemptOf(value: unknown): string | null {
  return typeof value === "string" && /^[A-Za-z0-9_]{1,64}$/.test(value) ? value : null;
}

/** The challenge's result page: where an answer without a return_url leads (a GET that only reads). */
const resultPath = (intent: Pick<IntentRecord, "id" | "clientSecret">) => `/sandbox/3ds/${encodeURIComponent(intent.id)}?client_secret=${encodeURIComponent(intent.clientSecret)}&result=1`;

/** A page's form POST, or the plain "Bad request" page when its body cannot be read. */
async function pageForm(request: Request): Promise<Record<string, unknown> | Response> {
  try {
    return await readBodyParams(request);
  } catch {
    return page("Bad request", "<h1>Bad request</h1>", 400);
  }
}

export { page, pageForm, escape };

export function threeDSecurePages(): Hono<{ Bindings: Env }> {
  const pages = new Hono<{ Bindings: Env }>();
  pages.use("*", refuseCrossSitePosts);

  pages.get("/:id", async (c) => {
    const id = c.req.param("id");
    // A setup intent's challenge (setup-threeds.ts): the same page, its answer saves a card.
    if (hasPrefix(id, "seti")) return setupChallengePage(c.env, c.req.raw, id);
    const secret = c.req.query("client_secret") ?? "";
    if (!hasPrefix(id, "pi") || !secret) return notFound();
    const intent = await stub(c.env, id).retrieveWithClientSecret(id, secret);
    if (!intent) return notFound();
    // The result page an answer without a return_url leads to: how the payment stands now, read from
    // the intent; never a form, so that reloading it cannot answer this challenge, or a newer one.
    if (c.req.query("result") !== undefined) return challengeOutcome(c.env, intent);
    // The address of a challenge another one has replaced (another card, in another tab): said so, never the newer card's challenge.
    if (intent.status === "requires_action" && replacedChallenge(intent, attemptOf(c.req.query("attempt")))) return replacedPage(c.env, intent, false);
    // Answered already (Back, or a second tab): where the payment stands, and the way on.
    if (intent.status !== "requires_action") {
      const words = givenBackInWords(intent)?.message ?? (intent.confirmationMethod === "manual" && !isPaidOrPaying(intent) && intent.status !== "canceled" ? manualWords(intent, awaitingMerchantConfirmation(intent)) : statusInWords(intent.status));
      return outcomePage(c.env, intent, "Nothing to confirm", words, true);
    }
    // A Checkout Session's challenge is answered only while the session can still be paid: one that
    // expired, or is past its expires_at (its page says "Checkout expired"), shows no challenge to
    // answer in vain; its page says where things stand. Read only: a GET expires nothing.
    const session = await sessionGuard(c.env, intent, new URL(c.req.url).origin, true);
    if (session && (session.status !== "open" || isOverdue(session, Date.now()))) return c.redirect(`/checkout/${encodeURIComponent(session.id)}`, 303);
    const amount = formatMoney(intent.amount, intent.currency);
    const details = intent.paymentMethod?.card;
    const card = details ? `${escape(brandName(details.brand))} •••• ${escape(details.last4)}` : "your card";
    const merchant = await merchantName(c.env, intent.merchantId);
    // The form names the authorization (the card) this page shows: an answer for it is refused once another has replaced it.
    const waiting = pendingChallenge(intent);
    const attempt = waiting ? `<input type="hidden" name="attempt" value="${escape(waiting.id)}">` : "";
    const form = (outcome: string, label: string) =>
      `<form method="post" class="answer"><input type="hidden" name="client_secret" value="${escape(secret)}">${attempt}` +
      `<input type="hidden" name="outcome" value="${outcome}"><button class="${outcome}" type="submit">${label}</button></form>`;
    // A way out that answers nothing: back to the payment's page, where another card can be tried
    // (paying with it abandons this challenge); this one stays open meanwhile.
    const cancel = await paymentPagePath(c.env, intent);
    return page(
      "3D Secure test challenge",
      `<p class="muted">${escape(merchant)}</p><h1>3D Secure test challenge</h1><p>Authenticate a payment of <b>${escape(amount)}</b> to ${escape(merchant)} with ${card}.</p>` +
        `${form("approve", "Complete authentication")}${form("fail", "Fail authentication")}` +
        `<p><a class="onward" href="${escape(cancel)}">Cancel and go back to the payment page</a></p>` +
        `<p class="muted">This is the gateway's sandbox: no bank is involved.</p>`,
      200,
      // The answer's 303 goes on to the merchant's return_url: the form may lead there.
      { formAction: [cspOrigin(intent.returnUrl)].filter((o): o is string => o !== null) },
    );
  });

  pages.post("/:id", async (c) => {
    const id = c.req.param("id");
    if (hasPrefix(id, "seti")) return answerSetupChallenge(c.env, c.req.raw, id);
    if (!hasPrefix(id, "pi")) return notFound();
    const form = await pageForm(c.req.raw);
    if (form instanceof Response) return form;
    const secret = typeof form.client_secret === "string" ? form.client_secret : "";
    const outcome = form.outcome;
    if (!secret || (outcome !== "approve" && outcome !== "fail")) return page("Bad request", "<h1>Bad request</h1><p>Choose approve or fail.</p>", 400);
    // A Checkout Session's payment is completed only while its session is open (one past its time is expired here first).
    const before = await stub(c.env, id).retrieveWithClientSecret(id, secret);
    if (!before) return notFound();
    // The authorization the challenge was shown for (its form's field, else its address's): a stale
    // challenge's answer is refused, never applied to the card of the attempt that replaced it.
    // An attempt given but not an attempt's id (tampered with) is refused, not taken as none (which
    // answers whichever challenge is pending).
    const given = form.attempt ?? c.req.query("attempt");
    const attempt = attemptOf(given);
    if (given !== undefined && given !== "" && attempt === null) return page("Bad request", "<h1>Bad request</h1><p>This challenge's address is not valid. Go back to the payment page and pay again.</p>", 400);
    const session = await sessionGuard(c.env, before, new URL(c.req.url).origin);
    // Closed (paid in another tab, or expired): nothing is charged now, and the session's own page
    // says where things stand, with the way back to the shop (success_url or cancel_url). This before
    // the replaced challenge's page: a session paid meanwhile is what the shopper needs to see.
    if (session && session.status !== "open") return c.redirect(`/checkout/${encodeURIComponent(session.id)}`, 303);
    if (replacedChallenge(before, attempt)) return replacedPage(c.env, before, true);
    const result = await stub(c.env, id).completeAuthentication(id, secret, outcome === "approve", new URL(c.req.url).origin, attempt);
    // Replaced between the check above and the answer (the Durable Object decides, one at a time).
    if (result.error?.code === CHALLENGE_REPLACED) return replacedPage(c.env, result.intent ?? before, true);
    const intent = result.intent ?? (await stub(c.env, id).retrieveWithClientSecret(id, secret));
    if (!intent) return notFound();
    // A Checkout Session's payment completes its session before the shopper lands on success_url.
    await completeFromIntent(merchantEnv(c.env, intent.merchantId), intent, new URL(c.req.url).origin);
    const location = returnLocation(intent);
    if (location) return c.redirect(location, 303);
    // Redirect-after-POST: the result page (a GET) says how it ended; reloading it answers nothing.
    return c.redirect(resultPath(intent), 303);
  });

  // Another method on the challenge's path (405, with the methods it takes), any other path: HTML pages, never the API's JSON.
  pages.all("/:id", () => {
    const res = page("Method not allowed", "<h1>Method not allowed</h1><p>This page can only be opened in a browser.</p>", 405);
    res.headers.set("allow", "GET, HEAD, POST");
    return res;
  });
  pages.all("*", () => notFound());
  return pages;
}
