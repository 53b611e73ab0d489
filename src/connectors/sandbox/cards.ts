// The sandbox's test cards: Stripe's public test numbers and tokens, plus cards of our own for the
// outcomes Stripe cannot simulate (timeouts, provider errors). This table is documented in the README.
import type { CardDetails, SandboxScenario } from "../../core/types";
import { luhn } from "../../core/card-number";
import { ownEntry } from "../../core/own";

export interface TestCard {
  number: string;
  brand: string;
  funding: CardDetails["funding"];
  country: string;
  scenario: SandboxScenario;
  description: string;
}

export const TEST_CARDS: readonly TestCard[] = [
  { number: "4242424242424242", brand: "visa", funding: "credit", country: "US", scenario: "success", description: "Succeeds" },
  { number: "4000056655665556", brand: "visa", funding: "debit", country: "US", scenario: "success", description: "Succeeds (debit)" },
  { number: "5555555555554444", brand: "mastercard", funding: "credit", country: "US", scenario: "success", description: "Succeeds" },
  { number: "5200828282828210", brand: "mastercard", funding: "debit", country: "US", scenario: "success", description: "Succeeds (debit)" },
  { number: "378282246310005", brand: "amex", funding: "credit", country: "US", scenario: "success", description: "Succeeds" },
  { number: "6011111111111117", brand: "discover", funding: "credit", country: "US", scenario: "success", description: "Succeeds" },
  { number: "4000000000000002", brand: "visa", funding: "credit", country: "US", scenario: "generic_decline", description: "Declined: card_declined / generic_decline" },
  { number: "4000000000009995", brand: "visa", funding: "credit", country: "US", scenario: "insufficient_funds", description: "Declined: card_declined / insufficient_funds" },
  { number: "4000000000009987", brand: "visa", funding: "credit", country: "US", scenario: "lost_card", description: "Declined: card_declined / lost_card" },
  { number: "4000000000009979", brand: "visa", funding: "credit", country: "US", scenario: "stolen_card", description: "Declined: card_declined / stolen_card" },
  { number: "4000000000000069", brand: "visa", funding: "credit", country: "US", scenario: "expired_card", description: "Declined: expired_card" },
  { number: "4000000000000127", brand: "visa", funding: "credit", country: "US", scenario: "incorrect_cvc", description: "Declined: incorrect_cvc" },
  { number: "4000000000000119", brand: "visa", funding: "credit", country: "US", scenario: "processing_error", description: "Declined: processing_error" },
  { number: "4100000000000019", brand: "visa", funding: "credit", country: "US", scenario: "fraudulent", description: "Declined: card_declined / fraudulent" },
  { number: "4000000000006975", brand: "visa", funding: "credit", country: "US", scenario: "card_velocity_exceeded", description: "Declined: card_declined / card_velocity_exceeded" },
  { number: "4000002760003184", brand: "visa", funding: "credit", country: "DE", scenario: "requires_3ds", description: "Requires 3D Secure: approve or fail the challenge" },
  { number: "4000000000003220", brand: "visa", funding: "credit", country: "US", scenario: "requires_3ds", description: "Requires 3D Secure 2: approve or fail the challenge" },
  { number: "4000000000003055", brand: "visa", funding: "credit", country: "US", scenario: "success", description: "3D Secure supported but not required: succeeds" },
  { number: "4000000000000077", brand: "visa", funding: "credit", country: "US", scenario: "success", description: "Succeeds (Stripe's bypassPending: funds available at once; no balance is kept here)" },
  { number: "4000002500003155", brand: "visa", funding: "credit", country: "US", scenario: "requires_3ds_on_setup", description: "Requires 3D Secure, except off session once set up (a setup intent's challenge passed)" },
  { number: "4000000000000341", brand: "visa", funding: "credit", country: "US", scenario: "generic_decline", description: "Attaches to a customer; every charge is declined: card_declined / generic_decline" },
  { number: "4000000000000101", brand: "visa", funding: "credit", country: "US", scenario: "incorrect_cvc", description: "The CVC check fails: declined incorrect_cvc" },
  { number: "5105105105105100", brand: "mastercard", funding: "prepaid", country: "US", scenario: "success", description: "Succeeds (prepaid)" },
  { number: "2223003122003222", brand: "mastercard", funding: "credit", country: "US", scenario: "success", description: "Succeeds (2-series)" },
  { number: "3566002020360505", brand: "jcb", funding: "credit", country: "JP", scenario: "success", description: "Succeeds" },
  { number: "3056930009020004", brand: "diners", funding: "credit", country: "US", scenario: "success", description: "Succeeds" },
  { number: "36227206271667", brand: "diners", funding: "credit", country: "US", scenario: "success", description: "Succeeds (14 digits)" },
  { number: "6200000000000005", brand: "unionpay", funding: "credit", country: "CN", scenario: "success", description: "Succeeds" },
  { number: "4000000000007007", brand: "visa", funding: "credit", country: "US", scenario: "timeout_then_success", description: "PSP times out (unknown outcome, intent `processing`); the PSP later reports success" },
  { number: "4000000000007015", brand: "visa", funding: "credit", country: "US", scenario: "timeout_then_decline", description: "PSP times out (unknown outcome, intent `processing`); the PSP later reports a decline" },
  { number: "4000000000007023", brand: "visa", funding: "credit", country: "US", scenario: "provider_error", description: "PSP answers 5xx before any money moved (502 provider_error)" },
  { number: "4000000000005126", brand: "visa", funding: "credit", country: "US", scenario: "refund_fail", description: "Succeeds; a refund of it succeeds, then about a minute later fails (refund.failed, failure_reason declined), as Stripe's refund-failure card" },
  { number: "4000000000007031", brand: "visa", funding: "credit", country: "US", scenario: "increment_declined", description: "Authorizes (incremental authorization available when requested); every incremental authorization is declined: card_declined / insufficient_funds" },
];

/** Stripe-style test tokens (`tok_...`) and test payment methods (`pm_card_...`), each standing for a card above. */
export const TEST_TOKENS: Readonly<Record<string, string>> = {
  tok_visa: "4242424242424242",
  tok_visa_debit: "4000056655665556",
  tok_mastercard: "5555555555554444",
  tok_mastercard_debit: "5200828282828210",
  tok_amex: "378282246310005",
  tok_discover: "6011111111111117",
  tok_chargeDeclined: "4000000000000002",
  tok_chargeDeclinedInsufficientFunds: "4000000000009995",
  tok_chargeDeclinedLostCard: "4000000000009987",
  tok_chargeDeclinedStolenCard: "4000000000009979",
  tok_chargeDeclinedExpiredCard: "4000000000000069",
  tok_chargeDeclinedIncorrectCvc: "4000000000000127",
  tok_chargeDeclinedProcessingError: "4000000000000119",
  tok_chargeDeclinedFraudulent: "4100000000000019",
  tok_threeDSecure2Required: "4000000000003220",
  tok_threeDSecureRequired: "4000002760003184",
  tok_sandboxTimeoutThenSuccess: "4000000000007007",
  tok_sandboxTimeoutThenDecline: "4000000000007015",
  tok_sandboxProviderError: "4000000000007023",
  tok_sandboxIncrementDeclined: "4000000000007031",
  // Stripe's other names for the cards above, and its other test brands.
  tok_visa_chargeDeclined: "4000000000000002",
  tok_visa_chargeDeclinedInsufficientFunds: "4000000000009995",
  tok_visa_chargeDeclinedLostCard: "4000000000009987",
  tok_visa_chargeDeclinedStolenCard: "4000000000009979",
  tok_visa_chargeDeclinedExpiredCard: "4000000000000069",
  tok_visa_chargeDeclinedIncorrectCvc: "4000000000000127",
  tok_visa_chargeDeclinedProcessingError: "4000000000000119",
  tok_visa_chargeDeclinedVelocityLimitExceeded: "4000000000006975",
  tok_radarBlock: "4100000000000019",
  tok_threeDSecureOptional: "4000000000003055",
  tok_bypassPending: "4000000000000077",
  tok_chargeCustomerFail: "4000000000000341",
  tok_refundFail: "4000000000005126",
  tok_cvcCheckFail: "4000000000000101",
  tok_mastercard_prepaid: "5105105105105100",
  tok_jcb: "3566002020360505",
  tok_diners: "3056930009020004",
  tok_unionpay: "6200000000000005",
  tok_us: "4242424242424242",
};

export const TEST_PAYMENT_METHODS: Readonly<Record<string, string>> = {
  pm_card_visa: "4242424242424242",
  pm_card_visa_debit: "4000056655665556",
  pm_card_mastercard: "5555555555554444",
  pm_card_amex: "378282246310005",
  pm_card_discover: "6011111111111117",
  pm_card_chargeDeclined: "4000000000000002",
  pm_card_chargeDeclinedInsufficientFunds: "4000000000009995",
  pm_card_chargeDeclinedLostCard: "4000000000009987",
  pm_card_chargeDeclinedStolenCard: "4000000000009979",
  pm_card_chargeDeclinedExpiredCard: "4000000000000069",
  pm_card_chargeDeclinedIncorrectCvc: "4000000000000127",
  pm_card_chargeDeclinedProcessingError: "4000000000000119",
  pm_card_chargeDeclinedFraudulent: "4100000000000019",
  pm_card_threeDSecure2Required: "4000000000003220",
  pm_card_authenticationRequired: "4000002760003184",
  pm_card_sandboxTimeoutThenSuccess: "4000000000007007",
  pm_card_sandboxTimeoutThenDecline: "4000000000007015",
  pm_card_sandboxProviderError: "4000000000007023",
  pm_card_sandboxIncrementDeclined: "4000000000007031",
  // Stripe's other names for the cards above (its docs' table uses the pm_card_visa_... ones), and its other test brands.
  pm_card_visa_chargeDeclined: "4000000000000002",
  pm_card_visa_chargeDeclinedInsufficientFunds: "4000000000009995",
  pm_card_visa_chargeDeclinedLostCard: "4000000000009987",
  pm_card_visa_chargeDeclinedStolenCard: "4000000000009979",
  pm_card_visa_chargeDeclinedExpiredCard: "4000000000000069",
  pm_card_visa_chargeDeclinedIncorrectCvc: "4000000000000127",
  pm_card_visa_chargeDeclinedProcessingError: "4000000000000119",
  pm_card_visa_chargeDeclinedVelocityLimitExceeded: "4000000000006975",
  pm_card_radarBlock: "4100000000000019",
  pm_card_threeDSecureOptional: "4000000000003055",
  pm_card_threeDSecureRequired: "4000002760003184",
  pm_card_bypassPending: "4000000000000077",
  pm_card_authenticationRequiredOnSetup: "4000002500003155",
  pm_card_chargeCustomerFail: "4000000000000341",
  pm_card_refundFail: "4000000000005126",
  pm_card_cvcCheckFail: "4000000000000101",
  pm_card_mastercard_debit: "5200828282828210",
  pm_card_mastercard_prepaid: "5105105105105100",
  pm_card_jcb: "3566002020360505",
  pm_card_diners: "3056930009020004",
  pm_card_unionpay: "6200000000000005",
  pm_card_us: "4242424242424242",
  // Seed 000's documented example payment method: a client sending the seed's example verbatim pays in test mode.
  pm_123456789: "4242424242424242",
};

const BY_NUMBER = new Map(TEST_CARDS.map((c) => [c.number, c]));
const ALIAS_BY_NUMBER = new Map<string, string>();
for (const [alias, number] of Object.entries(TEST_PAYMENT_METHODS)) if (!ALIAS_BY_NUMBER.has(number)) ALIAS_BY_NUMBER.set(number, alias);

/** The Stripe test payment method (pm_card_...) that stands for a test card number, if any. */
/**
 * The card number a test token (`tok_visa`) or test payment method (`pm_card_visa`) stands for, or
 * undefined. Own keys only: a reference named after an Object property (`__proto__`, `constructor`)
 * is not a test card (it read the prototype's member and crashed the vault with a 500).
 */
export function testCardNumberOf(ref: string): string | undefined {
  return ownEntry(TEST_TOKENS, ref) ?? ownEntry(TEST_PAYMENT_METHODS, ref);
}

/** Whether `id` is one of the test payment methods (`pm_card_visa`, ...): own keys only. */
export function isTestPaymentMethod(id: string): boolean {
  return ownEntry(TEST_PAYMENT_METHODS, id) !== undefined;
}

export function testAliasOf(number: string): string | null {
  return ALIAS_BY_NUMBER.get(number) ?? null;
}

export function findTestCard(number: string): TestCard | undefined {
  return BY_NUMBER.get(number);
}

export function luhnValid(number: string): boolean {
  return /^\d{12,19}$/.test(number) && luhn(number);
}

export function brandOf(number: string): string {
  if (/^4/.test(number)) return "visa";
  if (/^(5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720))/.test(number)) return "mastercard";
  if (/^3[47]/.test(number)) return "amex";
  if (/^(6011|65|64[4-9])/.test(number)) return "discover";
  if (/^35/.test(number)) return "jcb";
  if (/^3(0|6|8)/.test(number)) return "diners";
  if (/^62/.test(number)) return "unionpay";
  return "unknown";
}

/** How many digits a card's CVC has, by its brand (American Express 4, the others 3); null when the brand is not known. */
export function cvcLengthOf(brand: string): number | null {
  if (brand === "unknown") return null;
  return brand === "amex" ? 4 : 3;
}

/**
 * Numeric vault tokens such as `9418594164541111`: 16 digits starting with 9, the second digit is the
 * card's first digit (its brand) and the last four are the card's. The last four choose the outcome
 * like the test card with the same last four (0002 declines, 3184 asks for 3DS, ...); others succeed.
 */
export function vaultTokenCard(token: string): { brand: string; last4: string; scenario: SandboxScenario } | undefined {
  if (!/^9\d{15}$/.test(token)) return undefined;
  const last4 = token.slice(-4);
  const firstDigit = token[1] ?? "4";
  const brand = { "3": "amex", "4": "visa", "5": "mastercard", "6": "discover" }[firstDigit] ?? "unknown";
  const matches = TEST_CARDS.filter((c) => c.number.endsWith(last4));
  const scenario = matches.length === 1 && matches[0] ? matches[0].scenario : "success";
  return { brand, last4, scenario };
}
