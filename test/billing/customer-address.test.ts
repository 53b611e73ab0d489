// Customers keep Stripe's address and shipping (they were accepted and dropped): set on create and
// update, read back on retrieve, list, search and in the customer's events, with the stripe client
// and raw form encoding; an update replaces the whole of either, "" unsets it. Bad input is a
// Stripe-shaped 400 that stores nothing; another merchant sees none of it.
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { call, expectError, get, KEY_B, newMerchant, post, stripeClient, waitFor, type CallOptions, type ListJson } from "../helpers";

interface AddressJson {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postal_code: string | null;
  state: string | null;
}

interface CustomerJson {
  id: string;
  object: "customer";
  name: string | null;
  phone: string | null;
  address: AddressJson | null;
  shipping: { name: string; phone: string | null; address: AddressJson } | null;
}

interface EventJson {
  type: string;
  data: { object: CustomerJson };
}

const HOME = { line1: "510 Townsend St", line2: "Floor 2", city: "San Francisco", state: "CA", postal_code: "94103", country: "US" };
const WAREHOUSE = { line1: "1 Dock Rd", city: "Oakland", state: "CA", postal_code: "94607", country: "US" };
const nulls: AddressJson = { city: null, country: null, line1: null, line2: null, postal_code: null, state: null };

async function eventsOf(opts: CallOptions, id: string, count: number): Promise<EventJson[]> {
  return waitFor(async () => {
    const all = (await get<ListJson<EventJson>>("/v1/events?limit=100", opts)).body.data.filter((e) => e.data.object.id === id);
    return all.length >= count ? all.reverse() : undefined;
  }, 10_000, `${count} events of ${id}`);
}

describe("customers: address and shipping", () => {
  it("the stripe client sets them on create, reads them on retrieve, list and search, replaces and unsets them on update; the events carry them", async () => {
    const m = await newMerchant("cus-address");
    const stripe = stripeClient(m.key);
    const created = await stripe.customers.create({ name: "Jenny Rosen", email: "jenny.address@example.com", phone: "+15555550100", address: HOME, shipping: { name: "Jenny at home", phone: "+15555550111", address: HOME } });
    expect(created.address).toEqual({ ...HOME });
    expect(created.shipping).toEqual({ name: "Jenny at home", phone: "+15555550111", address: { ...HOME } });
    expect(created.phone).toBe("+15555550100");

    const read = await stripe.customers.retrieve(created.id);
    expect(read).toEqual(created);
    expect((await stripe.customers.list({ email: "jenny.address@example.com" })).data).toEqual([created]);
    const found = await stripe.customers.search({ query: "email:'jenny.address@example.com'" });
    expect(found.data.map((c) => [c.id, c.address?.city, c.shipping?.name])).toEqual([[created.id, "San Francisco", "Jenny at home"]]);

    // An address given on update replaces the whole address (line2 and the others not sent are null).
    const moved = await stripe.customers.update(created.id, { address: { line1: "1 Market St", city: "San Francisco", country: "US" } });
    expect(moved.address).toEqual({ ...nulls, line1: "1 Market St", city: "San Francisco", country: "US" });
    expect(moved.shipping).toEqual(created.shipping);
    // Shipping likewise; without its phone, the phone is null.
    const shipped = await stripe.customers.update(created.id, { shipping: { name: "Jenny at work", address: WAREHOUSE } });
    expect(shipped.shipping).toEqual({ name: "Jenny at work", phone: null, address: { ...nulls, ...WAREHOUSE } });
    expect(shipped.address).toEqual(moved.address);
    // An update that names neither keeps both.
    const renamed = await stripe.customers.update(created.id, { name: "Jenny R." });
    expect([renamed.address, renamed.shipping]).toEqual([shipped.address, shipped.shipping]);
    // "" unsets each (the stripe client sends an empty value).
    const cleared = await stripe.customers.update(created.id, { address: "", shipping: "" });
    expect([cleared.address, cleared.shipping]).toEqual([null, null]);
    expect(await stripe.customers.retrieve(created.id)).toMatchObject({ address: null, shipping: null, name: "Jenny R." });

    const events = await eventsOf(m.opts, created.id, 5);
    expect(events.map((e) => e.type)).toEqual(["customer.created", "customer.updated", "customer.updated", "customer.updated", "customer.updated"]);
    expect(events.map((e) => [e.data.object.address?.line1 ?? null, e.data.object.shipping?.name ?? null])).toEqual([
      ["510 Townsend St", "Jenny at home"],
      ["1 Market St", "Jenny at home"],
      ["1 Market St", "Jenny at work"],
      ["1 Market St", "Jenny at work"],
      [null, null],
    ]);
  });

  it("takes them form-encoded as the stripe client sends them (address[line1]=..., shipping[address][city]=...), and address= unsets", async () => {
    const m = await newMerchant("cus-address-form");
    const form = [
      "name=Ada",
      "address[line1]=12%20Rue%20de%20Rivoli",
      "address[city]=Paris",
      "address[postal_code]=75004",
      "address[country]=France", // free text, as Stripe takes it
      "shipping[name]=Ada%20Lovelace",
      "shipping[phone]=%2B33100000000",
      "shipping[address][line1]=3%20Quai%20Voltaire",
      "shipping[address][city]=Paris",
      "shipping[address][line2]=", // an empty line is null
    ].join("&");
    const created = await call<CustomerJson>("POST", "/v1/customers", { ...m.opts, form });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.address).toEqual({ ...nulls, line1: "12 Rue de Rivoli", city: "Paris", postal_code: "75004", country: "France" });
    expect(created.body.shipping).toEqual({ name: "Ada Lovelace", phone: "+33100000000", address: { ...nulls, line1: "3 Quai Voltaire", city: "Paris" } });

    const unset = await call<CustomerJson>("POST", `/v1/customers/${created.body.id}`, { ...m.opts, form: "address=&phone=%2B33199999999" });
    expect(unset.status, JSON.stringify(unset.body)).toBe(200);
    expect(unset.body).toMatchObject({ address: null, phone: "+33199999999", shipping: created.body.shipping });
    const unshipped = await call<CustomerJson>("POST", `/v1/customers/${created.body.id}`, { ...m.opts, form: "shipping=" });
    expect(unshipped.body).toMatchObject({ address: null, shipping: null });

    // A customer created without them, and one from before they were kept, read null.
    const bare = await post<CustomerJson>("/v1/customers", { name: "Bare" }, m.opts);
    expect(bare.body).toMatchObject({ address: null, shipping: null, phone: null });
    const listed = (await get<ListJson<CustomerJson>>("/v1/customers?limit=2", m.opts)).body.data;
    expect(listed.map((c) => [c.id, c.address, c.shipping])).toEqual([
      [bare.body.id, null, null],
      [created.body.id, null, null],
    ]);
  });

  it("bad input is a Stripe-shaped 400 naming the parameter, never a 500, and stores nothing", async () => {
    const m = await newMerchant("cus-address-bad");
    const cases: [unknown, number, string, string][] = [
      [{ address: 5 }, 400, "parameter_invalid", "address"],
      [{ address: "somewhere" }, 400, "parameter_invalid", "address"],
      [{ address: ["x"] }, 400, "parameter_invalid", "address"],
      [{ address: { line1: { nested: true } } }, 400, "parameter_invalid", "address[line1]"],
      [{ address: { line1: 42 } }, 400, "parameter_invalid", "address[line1]"],
      [{ address: { street: "1 Main St" } }, 400, "parameter_unknown", "address[street]"],
      [{ address: { line1: "x".repeat(5001) } }, 400, "parameter_invalid", "address[line1]"],
      [{ address: { country: "C".repeat(101) } }, 400, "parameter_invalid", "address[country]"],
      [{ shipping: { address: HOME } }, 400, "parameter_missing", "shipping[name]"],
      [{ shipping: { name: "Jenny" } }, 400, "parameter_missing", "shipping[address]"],
      [{ shipping: { name: "", address: HOME } }, 400, "parameter_invalid", "shipping[name]"],
      [{ shipping: { name: "Jenny", address: "" } }, 400, "parameter_invalid", "shipping[address]"],
      [{ shipping: { name: "Jenny", address: { postal_code: 94103 } } }, 400, "parameter_invalid", "shipping[address][postal_code]"],
      [{ shipping: { name: "Jenny", address: HOME, carrier: "UPS" } }, 400, "parameter_unknown", "shipping[carrier]"],
      [{ shipping: "home" }, 400, "parameter_invalid", "shipping"],
      [{ shipping: { name: "Jenny", address: HOME, phone: "9".repeat(5001) } }, 400, "parameter_invalid", "shipping[phone]"],
    ];
    const target = (await post<CustomerJson>("/v1/customers", { name: "Target", address: HOME }, m.opts)).body;
    for (const [body, status, code, param] of cases) {
      for (const path of ["/v1/customers", `/v1/customers/${target.id}`]) {
        const res = await post(path, body, m.opts);
        const error = expectError(res, status, code);
        expect(error.param, `${path} ${JSON.stringify(body).slice(0, 120)}`).toBe(param);
        expect(error.type).toBe("invalid_request_error");
      }
    }
    // Form-encoded too: a shipping without its name.
    const form = await call("POST", "/v1/customers", { ...m.opts, form: "shipping[address][line1]=1%20Main%20St" });
    expect(expectError(form, 400, "parameter_missing").param).toBe("shipping[name]");
    // The stripe client gets a StripeInvalidRequestError it can read.
    const error = await stripeClient(m.key)
      .customers.create({ shipping: { address: HOME } } as unknown as Stripe.CustomerCreateParams)
      .then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 400, code: "parameter_missing", param: "shipping[name]" });

    // Nothing was stored: the one customer, its address unchanged.
    const all = (await get<ListJson<CustomerJson>>("/v1/customers", m.opts)).body.data;
    expect(all.map((c) => [c.id, c.address])).toEqual([[target.id, { ...HOME }]]);
  });

  it("another merchant sees none of it: its retrieve, update and list answer as if the customer did not exist", async () => {
    const m = await newMerchant("cus-address-tenancy");
    const own = await stripeClient(m.key).customers.create({ name: "Private", address: HOME, shipping: { name: "Private", address: HOME } });
    const other = stripeClient(KEY_B);
    await expect(other.customers.retrieve(own.id)).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
    await expect(other.customers.update(own.id, { address: "" })).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
    expect((await other.customers.list({ limit: 100 })).data.map((c) => c.id)).not.toContain(own.id);
    // The owner's copy is untouched by the refused update.
    expect((await stripeClient(m.key).customers.retrieve(own.id)) as Stripe.Customer).toMatchObject({ address: { ...HOME }, shipping: { name: "Private" } });
  });

  it("an intent's expanded customer carries them", async () => {
    const m = await newMerchant("cus-address-expand");
    const cus = (await post<CustomerJson>("/v1/customers", { name: "Expanded", address: WAREHOUSE }, m.opts)).body;
    const intent = await post<{ customer: CustomerJson }>("/v1/payment_intents", { amount: 1000, currency: "usd", customer: cus.id, expand: ["customer"] }, m.opts);
    expect(intent.status, JSON.stringify(intent.body)).toBe(200);
    expect(intent.body.customer).toMatchObject({ id: cus.id, address: { ...nulls, ...WAREHOUSE }, shipping: null });
  });
});
