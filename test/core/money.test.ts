import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/core/errors";
import { assertAmount, currencyExponent, decimalToMinor, MAX_AMOUNT, minorToDecimal, normalizeCurrency } from "../../src/core/money";

describe("currencies", () => {
  it("knows zero-, two- and three-decimal currencies", () => {
    expect(currencyExponent("jpy")).toBe(0);
    expect(currencyExponent("KRW")).toBe(0);
    expect(currencyExponent("usd")).toBe(2);
    expect(currencyExponent("eur")).toBe(2);
    for (const c of ["bhd", "jod", "kwd", "omr", "tnd"]) expect(currencyExponent(c)).toBe(3);
    expect(currencyExponent("xyz")).toBeUndefined();
    // As Stripe counts them (the Stripe connector sends the same integer): MGA has no minor unit,
    // ISK two decimals (1 krona is 100), whatever ISO says.
    expect(currencyExponent("mga")).toBe(0);
    expect(currencyExponent("isk")).toBe(2);
    expect(minorToDecimal(10000, "mga")).toBe("10000");
    expect(decimalToMinor("40", "isk")).toBe(4000);
  });

  it("normalizes seed 001's upper-case codes and rejects unknown ones", () => {
    expect(normalizeCurrency("EUR")).toBe("eur");
    expect(() => normalizeCurrency("XYZ")).toThrow(ApiError);
    expect(() => normalizeCurrency("us")).toThrow(ApiError);
    expect(() => normalizeCurrency("")).toThrow(ApiError);
  });
});

describe("amounts in minor units", () => {
  it("accepts 1..MAX_AMOUNT integers only", () => {
    expect(assertAmount(1)).toBe(1);
    expect(assertAmount(MAX_AMOUNT)).toBe(MAX_AMOUNT);
    for (const bad of [0, -1, 1.5, MAX_AMOUNT + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => assertAmount(bad)).toThrow(ApiError);
    }
  });
});

describe("decimal amounts convert exactly", () => {
  it("converts by the currency's exponent", () => {
    expect(decimalToMinor("99.99", "usd")).toBe(9999);
    expect(decimalToMinor(99.99, "usd")).toBe(9999);
    expect(decimalToMinor("0.1", "usd")).toBe(10);
    expect(decimalToMinor(0.29, "usd")).toBe(29); // 0.29 * 100 is 28.999999999999996 in floating point
    expect(decimalToMinor("1500", "jpy")).toBe(1500);
    expect(decimalToMinor("1.234", "kwd")).toBe(1234);
    expect(decimalToMinor("10.500", "usd")).toBe(1050);
  });

  it("rejects more significant places than the currency has", () => {
    expect(() => decimalToMinor("1.5", "jpy")).toThrow(ApiError);
    expect(() => decimalToMinor("1.001", "usd")).toThrow(ApiError);
    expect(() => decimalToMinor("1.2345", "kwd")).toThrow(ApiError);
    expect(() => decimalToMinor("1e3", "usd")).toThrow(ApiError);
    expect(() => decimalToMinor(1e-7, "usd")).toThrow(ApiError);
    expect(() => decimalToMinor("-5", "usd")).toThrow(ApiError);
    expect(() => decimalToMinor("0.00", "usd")).toThrow(ApiError);
  });

  it("states its bounds in the currency's decimals (a decimal surface's client never sees minor units)", () => {
    expect(() => decimalToMinor("999999.99", "eur")).not.toThrow();
    expect(() => decimalToMinor("1000000.00", "eur")).toThrow("Amount must be no more than 999999.99 EUR.");
    expect(() => decimalToMinor("100000000", "jpy")).toThrow("Amount must be no more than 99999999 JPY.");
    expect(() => decimalToMinor("0.00", "kwd")).toThrow("Amount must be at least 0.001 KWD.");
  });

  it("tells exponent notation far out of range as too large or too precise, not as unreadable; in range it stays refused (the surfaces expand it)", () => {
    expect(() => decimalToMinor("1e308", "usd")).toThrow("Amount must be no more than 999999.99 USD.");
    expect(() => decimalToMinor("1.5E13", "jpy")).toThrow("Amount must be no more than 99999999 JPY.");
    expect(() => decimalToMinor("1e-400", "usd")).toThrow("Amount 1e-400 has more decimal places than USD allows (2).");
    expect(() => decimalToMinor("1e-3", "kwd")).toThrow("Invalid decimal amount");
    expect(() => decimalToMinor("0e500", "usd")).toThrow("Amount must be at least 0.01 USD.");
    expect(() => decimalToMinor("1e3", "usd")).toThrow("Invalid decimal amount");
  });

  it("reads a plain decimal of any length by its significant digits: zeros that change nothing are taken, too large or too precise is told as such", () => {
    expect(decimalToMinor(`29.99${"0".repeat(30)}`, "eur")).toBe(2999);
    expect(decimalToMinor(`${"0".repeat(70)}29.99`, "eur")).toBe(2999);
    expect(() => decimalToMinor(`1${"0".repeat(70)}`, "usd")).toThrow("Amount must be no more than 999999.99 USD.");
    expect(() => decimalToMinor(`0.${"0".repeat(38)}1`, "usd")).toThrow("Amount 0.0000000000000000000000... has more decimal places than USD allows (2).");
    expect(() => decimalToMinor(`0.${"0".repeat(60000)}`, "usd")).toThrow("Amount must be at least 0.01 USD.");
  });

  it("round-trips every valid amount through its decimal form (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_AMOUNT }), fc.constantFrom("usd", "jpy", "kwd", "eur", "bhd", "krw"), (minor, currency) => {
        expect(decimalToMinor(minorToDecimal(minor, currency), currency)).toBe(minor);
      }),
    );
  });

  it("never accepts a value with too many decimals, whatever the digits (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 1, max: 9 }), fc.constantFrom("usd", "jpy", "kwd"), (whole, lastDigit, currency) => {
        const places = (currencyExponent(currency) ?? 2) + 1;
        const text = `${whole}.${"0".repeat(places - 1)}${lastDigit}`;
        expect(() => decimalToMinor(text, currency)).toThrow(ApiError);
      }),
    );
  });
});
