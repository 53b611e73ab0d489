// A /v1 list's filter that names another object by id (`customer=`, `payment_intent=`, `charge=`,
// `price=`...) names one of the caller's objects, as at Stripe: an unknown id, or another merchant's
// (the same answer), is a 400 resource_missing naming the parameter, "No such <object>: '<id>'" (a
// 404 only for an id in the URL's path). A real id still lists; a deleted customer is still known
// (retrieved as {deleted: true}), so a list by it lists (empty or its objects).
import { beforeAll, describe, expect, it } from "vitest";
import { call, expectError, get, newMerchant, ok, post, rawCall, type CallOptions, type ListJson } from "../helpers";

interface Ids {
  customer: string;
  deletedCustomer: string;
  intent: string;
  charge: string;
  failedCharge: string;
  refund: string;
  card: string;
  price: string;
  product: string;
  deletedProduct: string;
  subscription: string;
  invoice: string;
  clock: string;
  setup: string;
  setupCard: string;
  session: string;
  sessionIntent: string;
}

/** A merchant with one of each object a filter names. */
async function world(label: string): Promise<{ opts: CallOptions; ids: Ids }> {
  const { opts } = await newMerchant(label);
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: Math.floor(Date.now() / 1000), name: label }, opts));
  const customer = (await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, opts))).id;
  const card = (await ok(post<{ id: string }>(`/v1/customers/${customer}/payment_methods`, { payment_method: "tok_visa", set_default: true }, opts))).id;
  const paid = await ok(post<{ id: string; latest_charge: string }>("/v1/payment_intents", { amount: 1500, currency: "usd", customer, payment_method: card, confirm: true }, opts));
  const refund = (await ok(post<{ id: string }>("/v1/refunds", { payment_intent: paid.id, amount: 100 }, opts))).id;
  const declined = await post<{ error: { charge: string } }>("/v1/payment_intents", { amount: 700, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true }, opts);
  expect(declined.status, JSON.stringify(declined.body)).toBe(402);
  const price = await ok(post<{ id: string; product: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: `${label} plan` } }, opts));
  const gone = await ok(post<{ id: string }>("/v1/products", { name: `${label} gone` }, opts));
  await ok(call("DELETE", `/v1/products/${gone.id}`, opts));
  const sub = await ok(post<{ id: string; latest_invoice: string }>("/v1/subscriptions", { customer, price: price.id }, opts));
  const setup = await ok(post<{ id: string; payment_method: string }>("/v1/setup_intents", { customer, payment_method: "pm_card_visa", confirm: true }, opts));
  const session = await ok(
    post<{ id: string }>(
      "/v1/checkout/sessions",
      { mode: "payment", customer, success_url: "https://shop.example/ok", line_items: [{ price_data: { currency: "usd", unit_amount: 500, product_data: { name: "Mug" } }, quantity: 1 }] },
      opts,
    ),
  );
  const sessionIntent = (await ok(get<{ payment_intent: string }>(`/v1/checkout/sessions/${session.id}`, opts))).payment_intent;
  // A customer with a payment, a card, a setup, a session and an invoice, deleted since.
  const doomed = (await ok(post<{ id: string }>("/v1/customers", { email: `${label}-gone@example.com` }, opts))).id;
  const doomedCard = (await ok(post<{ id: string }>(`/v1/customers/${doomed}/payment_methods`, { payment_method: "tok_visa", set_default: true }, opts))).id;
  await ok(post("/v1/payment_intents", { amount: 900, currency: "usd", customer: doomed, payment_method: doomedCard, confirm: true }, opts));
  await ok(post("/v1/subscriptions", { customer: doomed, price: price.id }, opts));
  await ok(post("/v1/setup_intents", { customer: doomed }, opts));
  await ok(call("DELETE", `/v1/customers/${doomed}`, opts));
  return {
    opts,
    ids: {
      customer,
      deletedCustomer: doomed,
      intent: paid.id,
      charge: paid.latest_charge,
      failedCharge: declined.body.error.charge,
      refund,
      card,
      price: price.id,
      product: price.product,
      deletedProduct: gone.id,
      subscription: sub.id,
      invoice: sub.latest_invoice,
      clock: clock.id,
      setup: setup.id,
      setupCard: setup.payment_method,
      session: session.id,
      sessionIntent,
    },
  };
}

let mine: { opts: CallOptions; ids: Ids };
let theirs: { opts: CallOptions; ids: Ids };

beforeAll(async () => {
  mine = await world("filters-mine");
  theirs = await world("filters-theirs");
});

/** Each list filter: the list, its parameter, the object it names, the id of the caller's own object, and some of what that lists. */
interface Filter {
  list: string;
  param: string;
  object: string;
  own: (ids: Ids) => string;
  lists: (ids: Ids) => string[];
  /** An unknown id of the object's form. */
  unknown: string;
}

const FILTERS: Filter[] = [
  { list: "/v1/payment_intents", param: "customer", object: "customer", own: (i) => i.customer, lists: (i) => [i.intent], unknown: "cus_nope000000000000000000" },
  { list: "/v1/charges", param: "customer", object: "customer", own: (i) => i.customer, lists: (i) => [i.charge], unknown: "cus_nope000000000000000000" },
  { list: "/v1/charges", param: "payment_intent", object: "payment_intent", own: (i) => i.intent, lists: (i) => [i.charge], unknown: "pi_nope0000000000000000000" },
  { list: "/v1/refunds", param: "payment_intent", object: "payment_intent", own: (i) => i.intent, lists: (i) => [i.refund], unknown: "pi_nope0000000000000000000" },
  { list: "/v1/refunds", param: "charge", object: "charge", own: (i) => i.charge, lists: (i) => [i.refund], unknown: "ch_nope0000000000000000000" },
  { list: "/v1/payment_methods", param: "customer", object: "customer", own: (i) => i.customer, lists: (i) => [i.card], unknown: "cus_nope000000000000000000" },
  { list: "/v1/invoices", param: "customer", object: "customer", own: (i) => i.customer, lists: (i) => [i.invoice], unknown: "cus_nope000000000000000000" },
  { list: "/v1/invoices", param: "subscription", object: "subscription", own: (i) => i.subscription, lists: (i) => [i.invoice], unknown: "sub_nope000000000000000000" },
  { list: "/v1/subscriptions", param: "customer", object: "customer", own: (i) => i.customer, lists: (i) => [i.subscription], unknown: "cus_nope000000000000000000" },
  { list: "/v1/subscriptions", param: "price", object: "price", own: (i) => i.price, lists: (i) => [i.subscription], unknown: "price_nope0000000000000000" },
  { list: "/v1/subscriptions", param: "test_clock", object: "test_clock", own: (i) => i.clock, lists: (i) => [i.subscription], unknown: "clock_nope0000000000000000" },
  { list: "/v1/customers", param: "test_clock", object: "test_clock", own: (i) => i.clock, lists: (i) => [i.customer], unknown: "clock_nope0000000000000000" },
  { list: "/v1/prices", param: "product", object: "product", own: (i) => i.product, lists: (i) => [i.price], unknown: "prod_nope00000000000000000" },
  { list: "/v1/setup_intents", param: "customer", object: "customer", own: (i) => i.customer, lists: (i) => [i.setup], unknown: "cus_nope000000000000000000" },
  { list: "/v1/setup_intents", param: "payment_method", object: "payment_method", own: (i) => i.setupCard, lists: (i) => [i.setup], unknown: "pm_nope0000000000000000000" },
  { list: "/v1/checkout/sessions", param: "customer", object: "customer", own: (i) => i.customer, lists: (i) => [i.session], unknown: "cus_nope000000000000000000" },
  { list: "/v1/checkout/sessions", param: "payment_intent", object: "payment_intent", own: (i) => i.sessionIntent, lists: (i) => [i.session], unknown: "pi_nope0000000000000000000" },
  { list: "/v1/subscription_items", param: "subscription", object: "subscription", own: (i) => i.subscription, lists: (i) => [`si_${i.subscription.slice(4)}`], unknown: "sub_nope000000000000000000" },
];

const url = (f: Filter, id: string, extra = "") => `${f.list}?${f.param}=${encodeURIComponent(id)}${extra}`;

function expectMissing(res: Awaited<ReturnType<typeof get>>, f: Filter, id: string): void {
  const err = expectError(res, 400, "resource_missing");
  expect(err.param, `${f.list}?${f.param}`).toBe(f.param);
  expect(err.message, `${f.list}?${f.param}`).toBe(`No such ${f.object}: '${id}'`);
  expect(err.type).toBe("invalid_request_error");
}

describe("a list's filter by an object's id", () => {
  for (const f of FILTERS) {
    it(`${f.list}?${f.param}=: an unknown id and another merchant's are a 400 resource_missing naming ${f.param}; its own lists`, async () => {
      expectMissing(await get(url(f, f.unknown), mine.opts), f, f.unknown);
      // Not of the object's form at all: no such object either (but an intent's customer, which may be
      // another surface's own reference: see below).
      if (!(f.param === "customer" && (f.list === "/v1/payment_intents" || f.list === "/v1/charges"))) expectMissing(await get(url(f, "nope"), mine.opts), f, "nope");
      const other = f.own(theirs.ids);
      expectMissing(await get(url(f, other), mine.opts), f, other);
      const listed = await ok(get<ListJson<{ id: string }>>(url(f, f.own(mine.ids)), mine.opts));
      expect(listed.data.map((o) => o.id), url(f, f.own(mine.ids))).toEqual(expect.arrayContaining(f.lists(mine.ids)));
      // The same filter is its owner's: the other merchant lists its own with it.
      expect((await ok(get<ListJson<{ id: string }>>(url(f, other), theirs.opts))).data.map((o) => o.id)).toEqual(expect.arrayContaining(f.lists(theirs.ids)));
    });
  }

  it("a deleted customer is still known: each list by it lists (its objects, or none)", async () => {
    const id = mine.ids.deletedCustomer;
    for (const f of FILTERS.filter((x) => x.param === "customer")) {
      const res = await get<ListJson<{ id: string; customer?: string | null }>>(url(f, id), mine.opts);
      expect(res.status, `${url(f, id)}: ${JSON.stringify(res.body)}`).toBe(200);
      for (const o of res.body.data) expect(o.customer, url(f, id)).toBe(id);
    }
    // Its payments, charges, (canceled) subscription and invoice are still listed by it.
    for (const path of [`/v1/payment_intents?customer=${id}`, `/v1/charges?customer=${id}`, `/v1/invoices?customer=${id}`, `/v1/setup_intents?customer=${id}`]) {
      expect((await ok(get<ListJson<{ id: string }>>(path, mine.opts))).data.length, path).toBeGreaterThan(0);
    }
    expect((await ok(get<ListJson<{ id: string; status: string }>>(`/v1/subscriptions?customer=${id}&status=all`, mine.opts))).data.map((s) => s.status)).toEqual(["canceled"]);
    // Another merchant's deleted customer is no more known than its live ones.
    const theirsGone = theirs.ids.deletedCustomer;
    expectMissing(await get(`/v1/payment_intents?customer=${theirsGone}`, mine.opts), FILTERS[0] as Filter, theirsGone);
  });

  it("a deleted product is gone (a 404 to GET, as at Stripe): prices by it are a 400", async () => {
    const f = FILTERS.find((x) => x.list === "/v1/prices") as Filter;
    expectMissing(await get(url(f, mine.ids.deletedProduct), mine.opts), f, mine.ids.deletedProduct);
  });

  it("a declined charge (ch_ + the intent's and the attempt's ids) is a charge: refunds by it list none; a made-up attempt of a real intent is none", async () => {
    const f = FILTERS.find((x) => x.list === "/v1/refunds" && x.param === "charge") as Filter;
    expect(mine.ids.failedCharge).toMatch(/^ch_/);
    expect((await ok(get<ListJson<{ id: string }>>(url(f, mine.ids.failedCharge), mine.opts))).data).toEqual([]);
    const madeUp = `${mine.ids.charge}zzzzzzzzzzzzzzzzzzzzzzzz`;
    expectMissing(await get(url(f, madeUp), mine.opts), f, madeUp);
  });

  it("a filter's missing object wins over a missing cursor; a real filter with a missing cursor is the cursor's 400; both filters of one list are checked, the first missing named", async () => {
    const res = await get(`/v1/refunds?payment_intent=pi_nope0000000000000000000&starting_after=re_nope0000000000000000000`, mine.opts);
    expect(expectError(res, 400, "resource_missing").param).toBe("payment_intent");
    const cursor = expectError(await get(`/v1/refunds?payment_intent=${mine.ids.intent}&starting_after=re_nope0000000000000000000`, mine.opts), 400, "resource_missing");
    expect(cursor.param).toBe("starting_after");
    const both = expectError(await get(`/v1/charges?customer=cus_nope000000000000000000&payment_intent=pi_nope0000000000000000000`, mine.opts), 400, "resource_missing");
    expect(both.param).toBe("customer");
    const second = expectError(await get(`/v1/charges?customer=${mine.ids.customer}&payment_intent=${theirs.ids.intent}`, mine.opts), 400, "resource_missing");
    expect(second.param).toBe("payment_intent");
    // Filters that list none whatever the id (transfer_group, attach_to_self) still check it.
    expect(expectError(await get(`/v1/charges?customer=cus_nope000000000000000000&transfer_group=g`, mine.opts), 400, "resource_missing").param).toBe("customer");
    expect(expectError(await get(`/v1/setup_intents?payment_method=${theirs.ids.card}&attach_to_self=true`, mine.opts), 400, "resource_missing").param).toBe("payment_method");
  });

  it("an empty id: no filter where the list takes it for none (payment intents, charges, refunds, sessions, prices), no such object where it filters on it", async () => {
    for (const path of ["/v1/payment_intents?customer=", "/v1/charges?payment_intent=", "/v1/refunds?charge=", "/v1/checkout/sessions?customer=", "/v1/prices?product="]) {
      expect((await get(path, mine.opts)).status, path).toBe(200);
    }
    const err = expectError(await get("/v1/payment_methods?customer=", mine.opts), 400, "resource_missing");
    expect(err).toMatchObject({ param: "customer", message: "No such customer: ''" });
  });

  it("an intent's customer that is another surface's own reference (the POS API's userId, seed 000's number) lists its payments; a cus_ id is checked", async () => {
    const app = (await post<{ application_id: string; access_token: string }>("/v1/api_keys", { type: "application", permissions: ["payments.transactions.create", "payments.transactions.view"] }, mine.opts)).body;
    const made = await rawCall("POST", "/payments/create-payment-intent", { "X-Application-Id": app.application_id, "X-Access-Token": app.access_token }, JSON.stringify({ userId: "user_ref_42", productId: "product_1", currency: "EUR", amount: 9.0, manualCapture: false }));
    expect(made.status, made.text).toBe(200);
    const intent = (made.json as { paymentIntentId: string }).paymentIntentId;
    const listed = await get<ListJson<{ id: string }>>("/v1/payment_intents?customer=user_ref_42", mine.opts);
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body.data.map((p) => p.id)).toEqual([intent]);
    expect((await get("/v1/charges?customer=user_ref_42", mine.opts)).status).toBe(200);
    expect(expectError(await get("/v1/payment_intents?customer=cus_nope000000000000000000", mine.opts), 400, "resource_missing").param).toBe("customer");
    expect(expectError(await get("/v1/payment_intents?customer=cus_nope", mine.opts), 400, "resource_missing").param).toBe("customer");
  });

  it("an id in the path stays a 404 (a customer's cards, a charge's refunds)", async () => {
    expectError(await get("/v1/customers/cus_nope000000000000000000/payment_methods", mine.opts), 404, "resource_missing");
    expectError(await get(`/v1/charges/${theirs.ids.charge}/refunds`, mine.opts), 404, "resource_missing");
  });
});
