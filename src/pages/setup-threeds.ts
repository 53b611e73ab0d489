// The sandbox's 3D Secure challenge of a setup intent (/sandbox/3ds/{seti}, served by threeds.ts's
// router, with its look and its refusal of cross-site POSTs). A setup whose card requires 3D Secure
// waits in requires_action; its next_action.redirect_to_url.url sends the customer here (the address
// carries the client secret and the attempt it was asked for). Approved, the card is saved; failed, the
// setup goes back to requires_payment_method (completeSetupChallenge, one batch conditional on the
// version read: two answers complete it once). The answer's 303 goes to the confirmation's return_url
// with Stripe's query parameters (setup_intent, setup_intent_client_secret, redirect_status), or to the
// challenge's result page, a GET that only reads. A GET never changes the setup.
import { eq } from "drizzle-orm";
import { timingSafeEqual } from "../core/ids";
import type { Scope } from "../core/types";
import {
  completeSetupChallenge,
  findSetupIntent,
  setupChallengeUrl,
  setupClientSecret,
  storedChallenge,
  type SetupIntentRow,
} from "../billing/setup-intents";
import { db, findPaymentMethod, parseDetails } from "../billing/store";
import { setupIntents } from "../db/schema";
import { findOnShards, merchantEnv } from "../db/shards";
import type { Env } from "../env";
import { brandName, escapeHtml as escape, merchantName } from "./checkout";
import { cspOrigin, page, pageForm } from "./threeds";

const notFound = () => page("Not found", "<h1>Challenge not found</h1><p>This link is not valid.</p>", 404);

/** The setup `id` whose client secret is `secret` (any merchant's: the secret is the credential), in its merchant's env; else null. */
async function setupOf(env: Env, id: string, secret: string): Promise<{ env: Env; row: SetupIntentRow } | null> {
  if (!/^seti_[A-Za-z0-9]{1,64}$/.test(id) || !secret || secret.length > 200) return null;
  const found = await findOnShards(env, async (d1) => (await db(d1).select().from(setupIntents).where(eq(setupIntents.id, id)).limit(1))[0]);
  if (!found || !timingSafeEqual(await setupClientSecret(env, found.id), secret)) return null;
  return { env: merchantEnv(env, found.merchantId), row: found };
}

const scopeOf = (row: SetupIntentRow): Scope => ({ merchantId: row.merchantId, livemode: row.livemode });

/** The attempt a challenge's form (or its address) names. */
function attemptOf(value: unknown): string | null {
  return typeof value === "string" && /^setatt_[A-Za-z0-9]{1,64}$/.test(value) ? value : null;
}

/** The merchant's return_url with Stripe's parameters of a setup's redirect, or null without one. */
function returnLocation(row: SetupIntentRow, secret: string): string | null {
  const back = storedChallenge(row)?.return_url;
  if (!back) return null;
  const url = new URL(back);
  url.searchParams.set("setup_intent", row.id);
  url.searchParams.set("setup_intent_client_secret", secret);
  url.searchParams.set("redirect_status", row.status === "succeeded" ? "succeeded" : "failed");
  return url.toString();
}

/** Where the setup stands in plain words (announced when it is not good news), and the way back to the merchant when there is one. */
async function outcomePage(env: Env, row: SetupIntentRow, secret: string, heading: string, message: string, ok: boolean, onward?: { href: string; text: string }): Promise<Response> {
  const merchant = await merchantName(env, row.merchantId);
  const back = returnLocation(row, secret);
  const link = onward ?? (back ? { href: back, text: `Back to ${merchant}` } : null);
  return page(
    heading,
    `<p class="muted">${escape(merchant)}</p><h1>${escape(heading)}</h1><p${ok ? "" : ' role="alert"'}>${escape(message)}</p>` +
      (link ? `<p><a class="onward" href="${escape(link.href)}">${escape(link.text)}</a></p>` : `<p>You can close this page and go back to ${escape(merchant)}.</p>`),
  );
}

/** The page after an answer (or of an answered challenge): how the setup stands now, read only, never a form. */
async function setupOutcome(env: Env, row: SetupIntentRow, secret: string): Promise<Response> {
  switch (row.status) {
    case "succeeded":
      return outcomePage(env, row, secret, "Card saved", "Your card was authenticated and saved for later payments. Nothing was charged.", true);
    case "canceled":
      return outcomePage(env, row, secret, "Card not saved", "Saving this card was canceled. Nothing was charged.", false);
    case "requires_action": {
      // A challenge still to answer: only the way to it.
      const attempt = row.latestAttempt ?? "";
      return outcomePage(env, row, secret, "Confirm with your bank", "Your bank asks you to confirm this card.", true, { href: setupChallengeUrl("", row.id, secret, attempt), text: "Continue" });
    }
    default: {
      const failed = row.lastSetupError !== null && (JSON.parse(row.lastSetupError) as { code?: string }).code === "setup_intent_authentication_failure";
      const words = failed ? "Your bank could not authenticate the card (3D Secure failed), so it was not saved. Nothing was charged." : "This card was not saved. Nothing was charged.";
      return outcomePage(env, row, secret, "Card not saved", words, false);
    }
  }
}

/** A challenge a newer confirmation replaced (or that is not this setup's): said plainly, nothing changed. */
async function replacedPage(env: Env, row: SetupIntentRow, answered: boolean): Promise<Response> {
  const merchant = await merchantName(env, row.merchantId);
  const heading = "This challenge was replaced";
  return page(
    heading,
    `<p class="muted">${escape(merchant)}</p><h1>${escape(heading)}</h1>` +
      `<p role="alert">This card was confirmed again after this challenge was shown, so this challenge no longer applies. ${answered ? "Your answer was not used: nothing" : "Nothing"} was saved or changed.</p>` +
      `<p>Go back to ${escape(merchant)} to save your card.</p>`,
    409,
  );
}

/** GET /sandbox/3ds/{seti}: the challenge (while it waits), or where the setup stands. Only reads. */
export async function setupChallengePage(env: Env, request: Request, id: string): Promise<Response> {
  const url = new URL(request.url);
  const secret = url.searchParams.get("client_secret") ?? "";
  const found = await setupOf(env, id, secret);
  if (!found) return notFound();
  const { row } = found;
  if (url.searchParams.has("result")) return setupOutcome(found.env, row, secret);
  const given = url.searchParams.get("attempt");
  const attempt = given === null ? row.latestAttempt : attemptOf(given);
  // Another attempt's challenge (replaced by a newer confirmation): said so, never the newer card's challenge.
  if (attempt !== row.latestAttempt) return replacedPage(found.env, row, false);
  if (row.status !== "requires_action") return setupOutcome(found.env, row, secret);
  const pm = row.paymentMethod ? await findPaymentMethod(found.env.DB, scopeOf(row), row.paymentMethod).catch(() => null) : null;
  const details = pm ? parseDetails(pm).card : undefined;
  const card = details ? `${escape(brandName(details.brand))} •••• ${escape(details.last4)}` : "your card";
  const merchant = await merchantName(found.env, row.merchantId);
  const form = (outcome: string, label: string) =>
    `<form method="post" class="answer"><input type="hidden" name="client_secret" value="${escape(secret)}">` +
    `<input type="hidden" name="attempt" value="${escape(row.latestAttempt ?? "")}">` +
    `<input type="hidden" name="outcome" value="${outcome}"><button class="${outcome}" type="submit">${label}</button></form>`;
  return page(
    "3D Secure test challenge",
    `<p class="muted">${escape(merchant)}</p><h1>3D Secure test challenge</h1><p>Authenticate ${card} to save it with ${escape(merchant)} for later payments. Nothing is charged now.</p>` +
      `${form("approve", "Complete authentication")}${form("fail", "Fail authentication")}` +
      `<p class="muted">This is the gateway's sandbox: no bank is involved.</p>`,
    200,
    // The answer's 303 goes on to the merchant's return_url: the form may lead there.
    { formAction: [cspOrigin(storedChallenge(row)?.return_url)].filter((o): o is string => o !== null) },
  );
}

/** POST /sandbox/3ds/{seti}: the customer's answer, applied once; then the way back (Redirect-after-POST). */
export async function answerSetupChallenge(env: Env, request: Request, id: string): Promise<Response> {
  const url = new URL(request.url);
  const form = await pageForm(request);
  if (form instanceof Response) return form;
  const secret = typeof form.client_secret === "string" ? form.client_secret : "";
  const outcome = form.outcome;
  if (!secret || (outcome !== "approve" && outcome !== "fail")) return page("Bad request", "<h1>Bad request</h1><p>Choose approve or fail.</p>", 400);
  const given = form.attempt ?? url.searchParams.get("attempt") ?? undefined;
  const named = attemptOf(given);
  if (given !== undefined && given !== "" && named === null) return page("Bad request", "<h1>Bad request</h1><p>This challenge's address is not valid. Go back to the shop and save your card again.</p>", 400);
  const found = await setupOf(env, id, secret);
  if (!found) return notFound();
  let row = found.row;
  const attempt = named ?? row.latestAttempt;
  if (attempt !== row.latestAttempt) return replacedPage(found.env, row, true);
  if (row.status === "requires_action" && attempt !== null) {
    const done = await completeSetupChallenge(found.env, scopeOf(row), row, attempt, outcome === "approve", null);
    // Answered, canceled or replaced meanwhile (another tab, a double click): nothing written by this one.
    row = done.kind === "lost" ? await findSetupIntent(found.env.DB, scopeOf(row), row.id) : done.row;
    if (row.latestAttempt !== attempt) return replacedPage(found.env, row, true);
    if (done.kind === "lost" && row.status === "requires_action") {
      // Still waiting: the card was removed, or its customer deleted, since the confirmation; nothing was saved.
      const merchant = await merchantName(found.env, row.merchantId);
      return page("Card not saved", `<p class="muted">${escape(merchant)}</p><h1>Card not saved</h1><p role="alert">This card can no longer be saved (it was removed, or the account it was for was closed). Nothing was saved or charged.</p><p>Go back to ${escape(merchant)} to save a card.</p>`, 409);
    }
  }
  const location = returnLocation(row, secret) ?? `${setupChallengeUrl("", row.id, secret, attempt ?? "")}&result=1`;
  return new Response(null, { status: 303, headers: { location, "cache-control": "no-store" } });
}
