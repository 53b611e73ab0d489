// Decimal surfaces (seeds 000, 002, 003) print amounts as JSON numbers with exactly the currency's
// digits: stringifyExact turns each DecimalOut into a bare number, and nothing else.
import { describe, expect, it } from "vitest";
import { decimalOut, DecimalOut, stringifyExact } from "../../src/api/common/exact-json";

describe("stringifyExact", () => {
  it("prints every DecimalOut as a bare number with its digits, at any depth and in lists", () => {
    const body = {
      amount: decimalOut(2000, "usd"),
      yen: decimalOut(500, "jpy"),
      dinar: decimalOut(-1234, "kwd"),
      items: Array.from({ length: 3 }, (_, i) => ({ id: i, amount: decimalOut(i * 101, "eur") })),
      label: "20.00",
    };
    expect(stringifyExact(body)).toBe(
      '{"amount":20.00,"yen":500,"dinar":-1.234,"items":[{"id":0,"amount":0.00},{"id":1,"amount":1.01},{"id":2,"amount":2.02}],"label":"20.00"}',
    );
  });

  it("leaves strings alone, even ones shaped like a marked decimal, and never leaks its marker", () => {
    const text = stringifyExact({ a: "dec0123456789abcdef20.00", b: new DecimalOut("7.50") });
    expect(text).toBe('{"a":"dec0123456789abcdef20.00","b":7.50}');
    // Outside stringifyExact a DecimalOut is its digits as a string: no marker to learn and forge.
    expect(JSON.stringify({ b: new DecimalOut("7.50") })).toBe('{"b":"7.50"}');
  });

  it("a failing stringify does not leave the marker on", () => {
    const cyclic: Record<string, unknown> = { amount: decimalOut(1, "usd") };
    cyclic.self = cyclic;
    expect(() => stringifyExact(cyclic)).toThrow();
    expect(JSON.stringify(decimalOut(1, "usd"))).toBe('"0.01"');
  });
});
