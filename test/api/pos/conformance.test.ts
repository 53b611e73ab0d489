// Seed 002 as its document words it: amount filters on the amount a row shows (the tip left out),
// the retry's permission, /failed's dates (YYYY-MM-DD or ISO 8601 date-times), tipCents in every
// payment answer, a sale's history as authorize + capture, and errors in the surface's status words.
import { describe, expect, it } from "vitest";
import { parseQueryDate } from "../../../src/api/pos/reads";
import { call, get, hsToken, newMerchant, post, uniqueKey, type CallOptions } from "../../helpers";

const EXPIRY = "1239";
type Data = { data: Record<string, unknown>; meta?: { cursor: string | null; hasMore: boolean } };
type Err = { error: { code: string; message: string; details: { field?: string; message: string }[] } };
type List = { data: { id: string; amountCents: number; tipCents: number }[]; meta: { cursor: string | null; hasMore: boolean } };
type History = { data: { transactions: Record<string, unknown>[] } };

const card = { token: "9418594164541111", expiry: EXPIRY, currency: "USD" };

async function sale(opts: CallOptions, body: Record<string, unknown> = {}) {
  const res = await post<Data>("/api/v1/payments/sale", { clientRequestId: uniqueKey("s"), amountCents: 1000, ...card, ...body }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data;
}

function expectError(res: { status: number; body: unknown }, status: number, code: string): Err["error"] {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const { error } = res.body as Err;
  expect(error.code).toBe(code);
  return error;
}

/** No /v1 status word, nor /v1's PaymentIntent or charge. */
function expectPosWords(message: string): void {
  expect(message).not.toMatch(/succeeded|requires_capture|requires_payment_method|requires_confirmation|requires_action|canceled|processing|PaymentIntent|payment_intent|[Cc]harge /);
}

describe("seed 002 amount filters compare the amount a row shows (amountCents, the tip left out)", () => {
  it("a sale of 1500 with a tip of 200 is 1500 to amountMinCents and amountMaxCents, in one query and in the walk", async () => {
    const { opts } = await newMerchant("pos-amount-tip");
    const tipped = await sale(opts, { amountCents: 1500, tipCents: 200, customerId: "cust-tip" });
    const plain = await sale(opts, { amountCents: 1650, customerId: "cust-tip" });
    const today = new Date().toISOString().slice(0, 10);
    // One query (a customer, or a window of at most 31 days), and the bounded walk (the range alone).
    for (const bound of ["&customerId=cust-tip", `&dateFrom=${today}&dateTo=${today}`, ""]) {
      const ids = async (range: string) => {
        const res = await get<List>(`/api/v1/payments/transactions?${range}${bound}`, opts);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body.data.map((r) => r.id).sort();
      };
      expect(await ids("amountMinCents=1600"), bound).toEqual([plain.id]);
      expect(await ids("amountMaxCents=1500"), bound).toEqual([tipped.id]);
      expect(await ids("amountMinCents=1500&amountMaxCents=1500"), bound).toEqual([tipped.id]);
      expect(await ids("amountMaxCents=1699"), bound).toEqual([tipped.id, plain.id].sort());
      expect(await ids("amountMinCents=1501&amountMaxCents=1649"), bound).toEqual([]);
      const rows = (await get<List>(`/api/v1/payments/transactions?amountMaxCents=1500${bound}`, opts)).body.data;
      expect(rows.map((r) => [r.amountCents, r.tipCents]), bound).toEqual([[1500, 200]]);
    }
  });
});

describe("seed 002 retry permission", () => {
  it("payments.transactions.void alone retries a failed payment (the document's permission); without it, 403", async () => {
    const { id, opts } = await newMerchant("pos-retry-void");
    const declined = await sale(opts, { amountCents: 2500, token: "9418594164540002" });
    expect(declined.status).toBe("declined");
    const path = `/api/v1/payments/failed/${String(declined.id)}/retry`;
    const createOnly = await hsToken({ merchant: id, permissions: ["payments.transactions.create", "payments.transactions.view"] });
    expectError(await post(path, { token: "9418594164549999", paymentMethodType: "card" }, { key: createOnly }), 403, "FORBIDDEN");
    const voidOnly = await hsToken({ merchant: id, permissions: ["payments.transactions.void"] });
    const retry = await post<Data>(path, { token: "9418594164549999", paymentMethodType: "card" }, { key: voidOnly });
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.body.data).toMatchObject({ status: "captured", amountCents: 2500, metadata: { retryOf: declined.id, originalIntentId: declined.id, retryAttempt: true } });
  });
});

describe("seed 002 dates of /failed and /transactions", () => {
  it("parses YYYY-MM-DD (a UTC day) and ISO 8601 date-times with Z or an offset; anything else is null", () => {
    const at = Date.parse("2026-12-05T00:00:00Z");
    expect(parseQueryDate("2026-12-05")).toEqual({ at, day: true });
    expect(parseQueryDate("2026-12-05T00:00:00Z")).toEqual({ at, day: false });
    expect(parseQueryDate("2026-12-05T00:00:00.000Z")).toEqual({ at, day: false });
    expect(parseQueryDate("2026-12-05T00:00Z")).toEqual({ at, day: false });
    expect(parseQueryDate("2026-12-05T02:00:00+02:00")).toEqual({ at, day: false });
    expect(parseQueryDate("2026-12-05T02:00:00 02:00")).toEqual({ at, day: false }); // an unencoded + in a query string
    expect(parseQueryDate("2026-12-04T19:00:00.5-05:00")).toEqual({ at: at + 500, day: false });
    expect(parseQueryDate("2026-12-04T19:00:00-0500")).toEqual({ at, day: false });
    for (const bad of ["2026-12-05T00:00:00", "2026-02-30", "2026-13-01", "2026-12-05T24:00:00Z", "2026-12-05T00:00:00+25:00", "05/12/2026", "yesterday", "2026-12-5", ""]) {
      expect(parseQueryDate(bad), bad).toBeNull();
    }
  });

  it("/failed takes ISO date-times (Z, .000Z, an offset) as well as days; a bad value is one detail", async () => {
    const { opts } = await newMerchant("pos-failed-iso");
    const declined = await sale(opts, { amountCents: 2500, token: "9418594164540002" });
    const created = Date.parse(String((await get<{ data: { intent: { createdAt: string } } }>(`/api/v1/payments/transactions/${String(declined.id)}`, opts)).body.data.intent.createdAt));
    const isoAt = (ms: number) => new Date(ms).toISOString();
    const ids = async (query: string) => {
      const res = await get<List>(`/api/v1/payments/failed?${query}`, opts);
      expect(res.status, `${query}: ${JSON.stringify(res.body)}`).toBe(200);
      return res.body.data.map((r) => r.id);
    };
    const dayAgo = created - 86_400_000;
    expect(await ids(`dateFrom=${isoAt(dayAgo).slice(0, 19)}Z`)).toEqual([declined.id]);
    expect(await ids(`dateFrom=${isoAt(dayAgo)}&dateTo=${isoAt(created + 60_000)}`)).toEqual([declined.id]);
    expect(await ids(`dateFrom=${isoAt(dayAgo)}&dateTo=${isoAt(created)}`)).toEqual([declined.id]); // dateTo is inclusive
    expect(await ids(`dateFrom=${isoAt(dayAgo)}&dateTo=${isoAt(created - 1)}`)).toEqual([]);
    expect(await ids(`dateFrom=${isoAt(created + 1)}`)).toEqual([]);
    // With an offset: the same instant, %2B-encoded or not.
    const plus2 = (ms: number) => `${new Date(ms + 7_200_000).toISOString().slice(0, 19)}+02:00`;
    expect(await ids(`dateFrom=${encodeURIComponent(plus2(created))}`)).toEqual([declined.id]);
    expect(await ids(`dateFrom=${plus2(created + 1000)}`)).toEqual([]);
    expect(await ids(`dateFrom=2026-12-05T00:00:00Z&dateTo=2026-12-05T00:00:00.000Z`)).toEqual([]);
    const counts = await get<Data>(`/api/v1/payments/failed?counts=true&dateFrom=${isoAt(dayAgo)}&dateTo=${isoAt(created)}`, opts);
    expect(counts.body).toEqual({ data: { total: 1, declined: 1, error: 0 } });
    // Days still work as before.
    const today = isoAt(created).slice(0, 10);
    expect(await ids(`dateFrom=${today}&dateTo=${today}`)).toEqual([declined.id]);
    // A bad value: one detail for that field.
    for (const [param, value] of [["dateFrom", "2026-12-05T00:00:00"], ["dateTo", "nope"], ["dateFrom", "2026-02-30"]]) {
      const error = expectError(await get(`/api/v1/payments/failed?${param}=${value}`, opts), 400, "VALIDATION_ERROR");
      expect(error.details, `${param}=${value}`).toHaveLength(1);
      expect(error.details[0]?.field).toBe(param);
      expect(error.message).toContain("YYYY-MM-DD");
    }
    expectError(await get(`/api/v1/payments/failed?dateFrom=${isoAt(created)}&dateTo=${isoAt(created - 1)}`, opts), 400, "VALIDATION_ERROR");
  });

  it("/transactions takes the same (its YYYY-MM-DD as before)", async () => {
    const { opts } = await newMerchant("pos-transactions-iso");
    const paid = await sale(opts);
    const today = new Date().toISOString().slice(0, 10);
    for (const query of [`dateFrom=${today}&dateTo=${today}`, `dateFrom=${today}T00:00:00Z`, `dateFrom=${today}T00:00:00.000Z&dateTo=${new Date(Date.now() + 60_000).toISOString()}`]) {
      const res = await get<List>(`/api/v1/payments/transactions?${query}`, opts);
      expect(res.status, `${query}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(res.body.data.map((r) => r.id)).toEqual([paid.id]);
    }
    const error = expectError(await get("/api/v1/payments/transactions?dateFrom=2026-13-01", opts), 400, "VALIDATION_ERROR");
    expect(error.details).toHaveLength(1);
  });
});

describe("seed 002 tipCents", () => {
  it("sale, authorize, retry and list answers always have tipCents (0 when none)", async () => {
    const { opts } = await newMerchant("pos-tip-zero");
    const s = await sale(opts);
    expect(s.tipCents).toBe(0);
    const a = await post<Data>("/api/v1/payments/authorize", { amountCents: 5000, ...card }, opts);
    expect(a.status).toBe(201);
    expect(a.body.data.tipCents).toBe(0);
    const tipped = await sale(opts, { amountCents: 1500, tipCents: 200 });
    expect(tipped).toMatchObject({ amountCents: 1500, tipCents: 200 });
    const declined = await sale(opts, { token: "9418594164540002" });
    expect(declined.tipCents).toBe(0);
    const retry = await post<Data>(`/api/v1/payments/failed/${String(declined.id)}/retry`, { token: "9418594164549999" }, opts);
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.body.data.tipCents).toBe(0);
    const list = (await get<List>("/api/v1/payments/transactions", opts)).body.data;
    expect(list).toHaveLength(5);
    for (const row of list) expect(row.tipCents, row.id).toBe(row.id === tipped.id ? 200 : 0);
    // /failed's rows too.
    const tippedDecline = await sale(opts, { token: "9418594164540002", amountCents: 1500, tipCents: 300 });
    const failed = (await get<List>("/api/v1/payments/failed", opts)).body.data;
    expect(failed.find((r) => r.id === tippedDecline.id)).toMatchObject({ amountCents: 1500, tipCents: 300 });
  });

  it("the capture of a tipped authorization answers amountCents without the tip and tipCents, as the authorization and the reads do; capturedAmountCents is the whole", async () => {
    const { opts } = await newMerchant("pos-tip-capture");
    const a = await post<Data>("/api/v1/payments/authorize", { amountCents: 1500, tipCents: 200, ...card }, opts);
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const cap = await post<Data>("/api/v1/payments/capture", { paymentIntentId: a.body.data.id }, opts);
    expect(cap.status, JSON.stringify(cap.body)).toBe(200);
    expect(cap.body.data).toMatchObject({ amountCents: 1500, tipCents: 200, capturedAmountCents: 1700 });
    const read = (await get<{ data: { intent: Record<string, unknown> } }>(`/api/v1/payments/transactions/${String(a.body.data.id)}`, opts)).body.data.intent;
    expect(read).toMatchObject({ amountCents: 1500, tipCents: 200, capturedAmountCents: 1700 });
  });

  it("a capture's amountCents is counted as the authorization's (the tip on top): the answer's amountCents is the one sent, and sending the whole amountCents captures the tip too", async () => {
    const { opts } = await newMerchant("pos-tip-capture-amount");
    const authorize = async () => {
      const a = await post<Data>("/api/v1/payments/authorize", { amountCents: 5000, tipCents: 200, ...card }, opts);
      expect(a.status, JSON.stringify(a.body)).toBe(201);
      expect(a.body.data).toMatchObject({ amountCents: 5000, tipCents: 200 });
      return String(a.body.data.id);
    };
    // The seed's partial capture: 4500 of the 5000 authorized; the tip is taken with it.
    const partial = await authorize();
    const cap = await post<Data>("/api/v1/payments/capture", { clientRequestId: uniqueKey("cap"), paymentIntentId: partial, amountCents: 4500 }, opts);
    expect(cap.status, JSON.stringify(cap.body)).toBe(200);
    expect(cap.body.data).toMatchObject({ status: "captured", amountCents: 4500, tipCents: 200, capturedAmountCents: 4700 });
    const read = (await get<{ data: { intent: Record<string, unknown> } }>(`/api/v1/payments/transactions/${partial}`, opts)).body.data.intent;
    expect(read).toMatchObject({ capturedAmountCents: 4700 });
    // The whole amountCents, sent explicitly, is the full capture, as leaving it out is: the tip is not released.
    const whole = await authorize();
    const full = await post<Data>("/api/v1/payments/capture", { paymentIntentId: whole, amountCents: 5000 }, opts);
    expect(full.status, JSON.stringify(full.body)).toBe(200);
    expect(full.body.data).toMatchObject({ amountCents: 5000, tipCents: 200, capturedAmountCents: 5200 });
    // More than the authorized amountCents is refused in the same terms, and nothing is captured.
    const over = await authorize();
    const error = expectError(await post("/api/v1/payments/capture", { paymentIntentId: over, amountCents: 5001 }, opts), 400, "VALIDATION_ERROR");
    expect(error.message).toBe("amountCents (5001) is greater than the authorized amount that can be captured (5000); the tip (tipCents 200) is captured on top of it.");
    expect(error.details[0]?.field).toBe("amountCents");
    const still = (await get<{ data: { intent: Record<string, unknown> } }>(`/api/v1/payments/transactions/${over}`, opts)).body.data.intent;
    expect(still).toMatchObject({ status: "authorized", capturedAmountCents: 0 });
  });
});

describe("seed 002 history of a sale", () => {
  it("a sale is an authorize row then a capture row (the document's vocabulary), then its void; a declined sale is its authorize row", async () => {
    const { opts } = await newMerchant("pos-sale-history");
    const s = await sale(opts, { amountCents: 5000 });
    const history = async (id: unknown) => (await get<History>(`/api/v1/payments/transactions/${String(id)}`, opts)).body.data.transactions;
    const rows = await history(s.id);
    expect(rows.map((r) => r.type)).toEqual(["authorize", "capture"]);
    const [auth, capture] = rows;
    for (const row of rows) {
      for (const field of ["id", "type", "status", "amountDollars", "providerReference", "responseCode", "responseText", "createdAt"]) expect(row, field).toHaveProperty(field);
      expect(row).toMatchObject({ status: "approved", amountDollars: "50.00", providerReference: s.providerReference, responseCode: "00" });
    }
    expect(auth?.id).not.toBe(capture?.id);
    expect(capture?.createdAt).toBe(auth?.createdAt);
    expect(capture?.responseText).toBe(auth?.responseText);

    expect((await post("/api/v1/payments/void", { paymentIntentId: s.id }, opts)).status).toBe(200);
    expect((await history(s.id)).map((r) => [r.type, r.status])).toEqual([
      ["authorize", "approved"],
      ["capture", "approved"],
      ["void", "approved"],
    ]);

    const refunded = await sale(opts, { amountCents: 2000 });
    expect((await post("/api/v1/payments/refund", { paymentIntentId: refunded.id, amountCents: 500 }, opts)).status).toBe(200);
    expect((await history(refunded.id)).map((r) => [r.type, r.amountCents])).toEqual([
      ["authorize", 2000],
      ["capture", 2000],
      ["refund", 500],
    ]);

    const declined = await sale(opts, { token: "9418594164540002" });
    expect((await history(declined.id)).map((r) => [r.type, r.status])).toEqual([["authorize", "declined"]]);
  });
});

describe("seed 002 errors in its own status words", () => {
  it("capture, void, refund, retry and resolve from the wrong state say the payment's status as this surface does; codes unchanged", async () => {
    const { opts } = await newMerchant("pos-state-words");
    const s = await sale(opts);
    const capture = expectError(await post("/api/v1/payments/capture", { paymentIntentId: s.id }, opts), 409, "INVALID_STATE");
    expect(capture.message).toBe("This payment's status is captured: only an authorized payment can be captured.");
    expectPosWords(capture.message);

    const auth = (await post<Data>("/api/v1/payments/authorize", { amountCents: 3000, ...card }, opts)).body.data;
    const refund = expectError(await post("/api/v1/payments/refund", { paymentIntentId: auth.id }, opts), 409, "INVALID_STATE");
    expect(refund.message).toBe("This payment's status is authorized: only a captured payment can be refunded.");
    const tooMuch = expectError(await post("/api/v1/payments/capture", { paymentIntentId: auth.id, amountCents: 3001 }, opts), 400, "VALIDATION_ERROR");
    expect(tooMuch.details.map((d) => d.field)).toEqual(["amountCents"]);
    expectPosWords(tooMuch.message);
    expect((await post("/api/v1/payments/void", { paymentIntentId: auth.id }, opts)).status).toBe(200);
    const voidAgain = expectError(await post("/api/v1/payments/void", { paymentIntentId: auth.id }, opts), 409, "INVALID_STATE");
    expect(voidAgain.message).toBe("This payment's status is voided: only an authorized payment, or a sale captured the same day, can be voided.");
    const captureVoided = expectError(await post("/api/v1/payments/capture", { paymentIntentId: auth.id }, opts), 409, "INVALID_STATE");
    expect(captureVoided.message).toContain("status is voided");

    const paid = await sale(opts, { amountCents: 800 });
    expect((await post("/api/v1/payments/refund", { paymentIntentId: paid.id }, opts)).status).toBe(200);
    const again = expectError(await post("/api/v1/payments/refund", { paymentIntentId: paid.id, amountCents: 1 }, opts), 409, "INVALID_STATE");
    expectPosWords(again.message);
    const partial = await sale(opts, { amountCents: 900 });
    const above = expectError(await post("/api/v1/payments/refund", { paymentIntentId: partial.id, amountCents: 901 }, opts), 400, "VALIDATION_ERROR");
    expect(above.message).toBe("amountCents (901) is greater than what remains refundable on this payment (900).");
    expect(above.details.map((d) => d.field)).toEqual(["amountCents"]);

    const resolve = expectError(await post(`/api/v1/payments/failed/${String(s.id)}/resolve`, { resolution: "dismissed" }, opts), 409, "INVALID_STATE");
    expect(resolve.message).toBe(`Payment ${String(s.id)}'s status is captured: only a failed payment (declined or error) can be resolved or dismissed.`);
    const retry = expectError(await post(`/api/v1/payments/failed/${String(s.id)}/retry`, {}, opts), 409, "INVALID_STATE");
    expect(retry.message).toBe(`Payment ${String(s.id)}'s status is captured: only a failed payment (declined or error) can be retried.`);

    const missing = expectError(await post("/api/v1/payments/capture", { paymentIntentId: "pi_doesnotexist00000000000" }, opts), 404, "NOT_FOUND");
    expect(missing.message).toBe("No such payment: 'pi_doesnotexist00000000000'.");
    expect(missing.details.map((d) => d.field)).toEqual(["paymentIntentId"]);
    const noCard = expectError(await post("/api/v1/payments/sale", { amountCents: 900, currency: "USD", paymentMethodId: "pm_doesnotexist000000" }, opts), 404, "NOT_FOUND");
    expect(noCard.message).toBe("No such payment method: 'pm_doesnotexist000000'.");
    for (const e of [refund, voidAgain, captureVoided, resolve, retry, missing]) expectPosWords(e.message);
    // Unknown routes keep their own wording (nothing else changes).
    expect((await call("GET", "/api/v1/payments/nowhere", opts)).status).toBe(404);
  });
});

describe("seed 002 a 404 names the body field that named what is missing", () => {
  it("an unknown paymentIntentId of capture, void and refund (any spelling), or an unknown paymentMethodId, is a NOT_FOUND whose details name that field; an unknown id of a path names none", async () => {
    const { opts } = await newMerchant("pos-404-field");
    for (const path of ["capture", "void", "refund"]) {
      for (const id of ["pi_doesnotexist00000000000", "pi_nope", "nope"]) {
        const error = expectError(await post(`/api/v1/payments/${path}`, { paymentIntentId: id }, opts), 404, "NOT_FOUND");
        expect(error.details, `${path} ${id}`).toEqual([{ field: "paymentIntentId", message: `No such payment: '${id}'.` }]);
      }
    }
    const withCurrency = expectError(await post("/api/v1/payments/refund", { paymentIntentId: "pi_doesnotexist00000000000", currency: "USD" }, opts), 404, "NOT_FOUND");
    expect(withCurrency.details.map((d) => d.field)).toEqual(["paymentIntentId"]);
    for (const pm of ["pm_doesnotexist000000", "card-1"]) {
      const error = expectError(await post("/api/v1/payments/sale", { amountCents: 900, currency: "USD", paymentMethodId: pm }, opts), 404, "NOT_FOUND");
      expect(error.details).toEqual([{ field: "paymentMethodId", message: `No such payment method: '${pm}'.` }]);
    }
    expect(expectError(await get("/api/v1/payments/transactions/pi_doesnotexist00000000000", opts), 404, "NOT_FOUND").details).toEqual([]);
  });
});

describe("seed 002 a void of a failed payment already resolved or dismissed", () => {
  it("is a 409 that offers no retry or resolve (both are refused too), and changes nothing; an open failed payment's void still points to them", async () => {
    const { opts } = await newMerchant("pos-void-resolved");
    const open = await sale(opts, { token: "9418594164540002" });
    const openVoid = expectError(await post("/api/v1/payments/void", { paymentIntentId: open.id }, opts), 409, "INVALID_STATE");
    expect(openVoid.message).toContain("Retry it, or resolve or dismiss it");
    for (const resolution of ["resolved", "dismissed"]) {
      const failed = await sale(opts, { token: "9418594164540002" });
      expect((await post(`/api/v1/payments/failed/${String(failed.id)}/resolve`, { resolution }, opts)).status).toBe(200);
      const voided = expectError(await post("/api/v1/payments/void", { paymentIntentId: failed.id }, opts), 409, "INVALID_STATE");
      expect(voided.message).toBe(`This payment was ${resolution}: nothing is held to void (it is a failed payment already ${resolution}).`);
      expect(voided.message).not.toMatch(/retry|resolve or dismiss/i);
      expectError(await post(`/api/v1/payments/failed/${String(failed.id)}/retry`, {}, opts), 409, "INVALID_STATE");
      expect((await get<Data>(`/api/v1/payments/transactions/${String(failed.id)}`, opts)).body.data).toMatchObject({ intent: { status: resolution } });
    }
  });
});

describe("seed 002 paths with a trailing slash", () => {
  it("every route also answers with a trailing slash (the API's Next.js app redirects it there with a 308 that clients follow); a wrong method is still a 405", async () => {
    const { opts } = await newMerchant("pos-trailing-slash");
    const made = await post<Data>("/api/v1/payments/authorize/", { clientRequestId: uniqueKey("auth"), amountCents: 5000, ...card }, opts);
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = String(made.body.data.id);
    const cap = await post<Data>("/api/v1/payments/capture/", { paymentIntentId: id, amountCents: 4500 }, opts);
    expect(cap.status, JSON.stringify(cap.body)).toBe(200);
    expect(cap.body.data).toMatchObject({ status: "captured", amountCents: 4500 });
    const refund = await post<Data>("/api/v1/payments/refund/", { paymentIntentId: id, amountCents: 500 }, opts);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    const one = await get<{ data: { intent: { id: string } } }>(`/api/v1/payments/transactions/${id}/`, opts);
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(one.body.data.intent.id).toBe(id);
    const list = await get<List>("/api/v1/payments/transactions/?limit=5", opts);
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    expect(list.body.data.map((r) => r.id)).toContain(id);
    const declined = await sale(opts, { token: "9418594164540002" });
    expect((await get("/api/v1/payments/failed/?counts=true", opts)).body).toEqual({ data: { total: 1, declined: 1, error: 0 } });
    const resolved = await post<Data>(`/api/v1/payments/failed/${String(declined.id)}/resolve/`, { resolution: "dismissed" }, opts);
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    const saved = await post<Data>("/api/v1/customers/cust-slash/payment-methods/", { token: "9418594164541111", expiry: EXPIRY }, opts);
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    expect((await get("/api/v1/customers/cust-slash/payment-methods/", opts)).status).toBe(200);
    expect((await call("DELETE", `/api/v1/customers/cust-slash/payment-methods/${String(saved.body.data.id)}/`, opts)).status).toBe(200);
    const wrong = await get("/api/v1/payments/sale/", opts);
    expectError(wrong, 405, "METHOD_NOT_ALLOWED");
  });
});
