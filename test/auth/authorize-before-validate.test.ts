// Who may call a route is settled before its body is read: a caller without the right gets the 403,
// whatever it sends, never a 400 that describes the body schema of a route it may not use. Beside the
// permission and role every route declares, some routes refuse credentials by what they are: creating a
// merchant (every permission), approving a refund or a settings change (a person's token), capture and
// increment_authorization (never a customer's token). Each is checked here with bodies that fail
// validation, and the caller with the right still gets its 400 for the same body.
import { describe, expect, it } from "vitest";
import { authorizedIntent, bearer, expectError, hsToken, KEY_A, MERCHANT_A, newMerchant, post } from "../helpers";

const BAD_BODIES: Record<string, unknown>[] = [{ unknown_field: "x" }, { reason: { not: "a string" } }, { name: 42, settings: "nope" }];

describe("authorization comes before body validation", () => {
  it("an admin token narrowed below every permission cannot create a merchant: 403 for any body", async () => {
    const narrowed = bearer(await hsToken({ roles: ["admin"], merchant: null, permissions: ["billing.view", "keys.manage"] }));
    for (const body of BAD_BODIES) expect(expectError(await post("/v1/admin/merchants", body, narrowed), 403).message).toContain("every permission");
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    expectError(await post("/v1/admin/merchants", { name: 42 }, admin), 400);
  });

  it("an API key never approves a refund or a settings change (nor withdraws one): 403 for any body, on every path form", async () => {
    const { opts } = await newMerchant("authz-first-approve");
    for (const path of ["/v1/admin/refunds/re_doesnotexist0001/approve", "/v1/admin/refunds/re_doesnotexist0001:approve", "/v1/admin/settings_changes/msc_doesnotexist0001/approve", "/v1/admin/settings_changes/msc_doesnotexist0001/withdraw"]) {
      for (const body of BAD_BODIES) expectError(await post(path, body, opts), 403);
    }
    // A person with refunds.approve is told what is wrong with the body.
    const person = bearer(await hsToken({ roles: ["merchant"], merchant: MERCHANT_A, permissions: ["refunds.approve"], sub: "authz-first-approver" }));
    expectError(await post("/v1/admin/refunds/re_doesnotexist0001/approve", { reason: { not: "a string" } }, person), 400);
    // Rejecting stays open to a key holding refunds.approve (it moves no money): its bad body is a 400.
    expectError(await post("/v1/admin/refunds/re_doesnotexist0001/reject", { reason: { not: "a string" } }, { key: KEY_A }), 400);
  });

  it("a customer's token never captures or increments an authorization: 403 for any body", async () => {
    const intent = await authorizedIntent(1500);
    const shopper = bearer(await hsToken({ roles: ["customer"], merchant: MERCHANT_A, customer: "cus_authz_first", sub: "authz-first-shopper" }));
    for (const op of ["capture", "increment_authorization"]) {
      for (const body of [{ amount_to_capture: "lots" }, { amount: -1 }, { unknown_field: "x" }]) {
        expect(expectError(await post(`/v1/payment_intents/${intent.id}/${op}`, body, shopper), 403).message).toContain("customer's token");
      }
    }
    expectError(await post(`/v1/payment_intents/${intent.id}/capture`, { amount_to_capture: "lots" }, { key: KEY_A }), 400);
  });
});
