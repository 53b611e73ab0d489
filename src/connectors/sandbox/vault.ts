// Turns what a merchant sends as a payment method (a token, a test payment method id, a vault token,
// or raw test card details) into PaymentMethodDetails. The card number and CVC stop here: only brand,
// last4, expiry, funding and a keyed fingerprint are kept.
import { ApiError, invalidRequest, resourceMissing } from "../../core/errors";
import { hmacBase62, randomId } from "../../core/ids";
import type { CardDetails, PaymentMethodDetails, SandboxScenario } from "../../core/types";
import { brandOf, cvcLengthOf, findTestCard, luhnValid, testAliasOf, testCardNumberOf, vaultTokenCard } from "./cards";

export type PaymentMethodInput =
  | { kind: "reference"; value: string; param: string }
  | { kind: "card"; number: string; expMonth: number; expYear: number; cvc: string | null; param: string }
  | { kind: "paypal"; param: string };

export interface VaultContext {
  merchantId: string;
  livemode: boolean;
  fingerprintKey: string;
  now: number;
}

/** Sandbox test tokens expire far in the future so that demo data keeps working. */
const TEST_TOKEN_EXPIRY = { expMonth: 12, expYear: 2034 };

/**
 * A card refused before anything reaches an issuer. As at Stripe, only a decline carries a
 * decline_code (an expired card); a number, expiry or CVC that is not valid is a card_error without one.
 */
function cardError(code: string, message: string, param: string): ApiError {
  return new ApiError({ status: 402, type: "card_error", code, ...(code === "expired_card" ? { declineCode: code } : {}), message, param });
}

export async function resolvePaymentMethod(input: PaymentMethodInput, ctx: VaultContext): Promise<PaymentMethodDetails> {
  // A PayPal payment is approved by the payer at PayPal: nothing to tokenize here, in either mode.
  if (input.kind === "paypal") {
    return { id: randomId("pm"), type: "paypal", card: null, source: "wallet", sandboxScenario: "success", testAlias: null, created: ctx.now };
  }
  if (ctx.livemode) {
    throw invalidRequest(
      "Test payment methods and raw card details are accepted only with a test-mode key (sk_test_...). Live payments need a live connector.",
      input.param,
      "livemode_mismatch",
    );
  }
  if (input.kind === "card") return fromCardDetails(input, ctx);

  const ref = input.value.trim();
  const tokenCard = testCardNumberOf(ref);
  if (tokenCard) {
    const card = findTestCard(tokenCard);
    const source = ref.startsWith("tok_") ? "token" : "test_payment_method";
    return build(tokenCard, card?.brand ?? brandOf(tokenCard), card?.funding ?? "credit", card?.country ?? "US", card?.scenario ?? "success", TEST_TOKEN_EXPIRY, source, ctx);
  }
  const vault = vaultTokenCard(ref);
  if (vault) {
    return {
      id: randomId("pm"),
      type: "card",
      card: { brand: vault.brand, last4: vault.last4, ...TEST_TOKEN_EXPIRY, funding: "credit", country: "US", fingerprint: await fingerprint(ref, ctx) },
      source: "vault_token",
      sandboxScenario: vault.scenario,
      testAlias: null,
      created: ctx.now,
    };
  }
  if (ref.startsWith("tok_")) throw resourceMissing("token", ref.slice(0, 64), input.param);
  if (ref.startsWith("pm_")) throw resourceMissing("PaymentMethod", ref.slice(0, 64), input.param);
  // A client_secret sent where a payment method belongs is said to be one, never quoted back.
  if (/_secret_/.test(ref)) throw invalidRequest("A client_secret is not a payment method. Send a token (tok_visa), a test payment method (pm_card_visa), a vault token, or card details in test mode.", input.param, "payment_method_invalid");
  throw invalidRequest(
    `Unrecognized payment method '${ref.slice(0, 64)}'. Send a token (tok_visa), a test payment method (pm_card_visa), a vault token, or card details in test mode.`,
    input.param,
    "payment_method_invalid",
  );
}

async function fromCardDetails(input: Extract<PaymentMethodInput, { kind: "card" }>, ctx: VaultContext): Promise<PaymentMethodDetails> {
  const number = input.number.replace(/[\s-]/g, "");
  if (!luhnValid(number)) throw cardError("incorrect_number", "Your card number is incorrect.", `${input.param}[number]`);
  if (input.expMonth < 1 || input.expMonth > 12) throw cardError("invalid_expiry_month", "Your card's expiration month is invalid.", `${input.param}[exp_month]`);
  const year = input.expYear < 100 ? 2000 + input.expYear : input.expYear;
  const today = new Date(ctx.now);
  const currentYear = today.getUTCFullYear();
  if (year < currentYear || year > currentYear + 50) throw cardError("invalid_expiry_year", "Your card's expiration year is invalid.", `${input.param}[exp_year]`);
  if (year === currentYear && input.expMonth < today.getUTCMonth() + 1) {
    throw cardError("expired_card", "Your card has expired.", `${input.param}[exp_month]`);
  }
  const known = findTestCard(number);
  const brand = known?.brand ?? brandOf(number);
  if (input.cvc !== null) {
    // 3 digits, or 4 on an American Express card (its CID): another length is a typo, refused before anything is attempted.
    const length = cvcLengthOf(brand);
    if (!/^\d+$/.test(input.cvc) || (length === null ? !/^\d{3,4}$/.test(input.cvc) : input.cvc.length !== length)) {
      throw cardError("invalid_cvc", "Your card's security code is invalid.", `${input.param}[cvc]`);
    }
  }
  // Like Stripe's test mode: a real-looking card that is not a test card is declined, so nobody types a live card into the sandbox.
  const scenario: SandboxScenario = known?.scenario ?? "test_mode_live_card";
  return build(number, brand, known?.funding ?? "unknown", known?.country ?? null, scenario, { expMonth: input.expMonth, expYear: year }, "card_details", ctx);
}

async function build(
  number: string,
  brand: string,
  funding: CardDetails["funding"],
  country: string | null,
  scenario: SandboxScenario,
  expiry: { expMonth: number; expYear: number },
  source: PaymentMethodDetails["source"],
  ctx: VaultContext,
): Promise<PaymentMethodDetails> {
  return {
    id: randomId("pm"),
    type: "card",
    card: { brand, last4: number.slice(-4), ...expiry, funding, country, fingerprint: await fingerprint(number, ctx) },
    source,
    sandboxScenario: scenario,
    testAlias: testAliasOf(number),
    created: ctx.now,
  };
}

/** A per-merchant keyed hash of the card: equal for the same card, useless for recovering it. */
function fingerprint(number: string, ctx: VaultContext): Promise<string> {
  return hmacBase62(ctx.fingerprintKey, `${ctx.merchantId}:${number}`);
}
