import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoTimestamp } from "../../src/core/iso-time";

const viaDate = (ms: number, drop: boolean): string => {
  const iso = new Date(ms).toISOString();
  return drop && iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
};

describe("isoTimestamp", () => {
  it("writes what Date.prototype.toISOString writes, for any millisecond from year 0 to beyond 9999", () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000 - 10 * 86_400_000, max: 253_402_300_799_999 + 10 * 86_400_000 }), fc.boolean(), (ms, drop) => {
        expect(isoTimestamp(ms, drop)).toBe(viaDate(ms, drop));
      }),
      { numRuns: 20_000 },
    );
  });

  it("gets every day right, leap days and century years included (one time a day over 1600-2500, twice)", () => {
    // Twice: the second pass reads the cached dates.
    for (let pass = 0; pass < 2; pass++) {
      for (let ms = Date.UTC(1600, 0, 1) + 45_296_789; ms < Date.UTC(2500, 0, 1); ms += 86_400_000) {
        if (isoTimestamp(ms) !== viaDate(ms, false)) expect(isoTimestamp(ms)).toBe(viaDate(ms, false));
      }
    }
    expect(isoTimestamp(Date.UTC(2000, 1, 29, 23, 59, 59, 999))).toBe("2000-02-29T23:59:59.999Z");
    expect(isoTimestamp(Date.UTC(1900, 2, 1))).toBe("1900-03-01T00:00:00.000Z");
    expect(isoTimestamp(Date.UTC(2100, 1, 28, 12), true)).toBe("2100-02-28T12:00:00Z");
  });

  it("edges: the epoch, before it, the first and last representable four-digit years, and millisecond padding", () => {
    expect(isoTimestamp(0)).toBe("1970-01-01T00:00:00.000Z");
    expect(isoTimestamp(0, true)).toBe("1970-01-01T00:00:00Z");
    expect(isoTimestamp(-1)).toBe("1969-12-31T23:59:59.999Z");
    expect(isoTimestamp(5)).toBe("1970-01-01T00:00:00.005Z");
    expect(isoTimestamp(50, true)).toBe("1970-01-01T00:00:00.050Z");
    expect(isoTimestamp(-62_167_219_200_000)).toBe("0000-01-01T00:00:00.000Z");
    expect(isoTimestamp(253_402_300_799_999)).toBe("9999-12-31T23:59:59.999Z");
    expect(isoTimestamp(253_402_300_800_000)).toBe("+010000-01-01T00:00:00.000Z");
  });
});
