// `npm run bench -- scale [N]` (or BENCH_SCALE_N): the read model at scale. Starts the gateway under
// `wrangler dev` in a fresh temporary state dir, makes a set of real intents of every kind through
// the API (succeeded with a customer and metadata, manual capture, declined, canceled, refunded,
// unpaid) for two merchants, stops it, then copies those rows up to N intents in the local D1 file
// with the sqlite3 shell: multi-row INSERT ... SELECT batches (50,000 intents a transaction) into the
// tables the intent's object writes (payment_intents, payment_intent_metadata, charges, refunds,
// intent_numbers) and those written beside it (events, audit_log), with 1,000 customers and a year of
// `created`; and, for the lists that are not payments, N/10 more customers of the measured merchant,
// each with a card, a subscription, an invoice and a checkout session. It restarts the gateway on that file and measures p50/p99 of every list, filter and
// search route of every surface with the cursor 80% deep, each as a ratio to "list newest", then
// "list newest" again while two of the heaviest reads run in loops beside it. Prints a markdown table
// and writes bench/results/scale-latest.json.
//
// Env: BENCH_SCALE_N (intents, default 100000), BENCH_SCALE_SECONDS (per route, default 4),
// BENCH_SCALE_CONNECTIONS (default 4), BENCH_SCALE_KEEP=1 keeps the temporary state dir,
// BENCH_SCALE_ONLY (a regular expression: only the reads it matches, beside list newest),
// BENCH_SCALE_REF (default HEAD): the commit whose tree is served (exported to the temporary dir, so
// edits in progress in the working tree neither break nor reload the server), or `worktree`.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SignJWT } from "jose";
import { DEV_JWT_SECRET } from "../scripts/dev-secrets.mjs";
import { baseEnv, freePort, installExitHandlers, percentile, root, sleep, startServer, stopGroup, tempDir } from "./lib.mjs";

const argN = process.argv[3];
const N = Math.floor(Number(argN ?? process.env.BENCH_SCALE_N ?? 100_000));
const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 4);
const CONNECTIONS = Math.floor(Number(process.env.BENCH_SCALE_CONNECTIONS ?? 4));
// BENCH_SCALE_ONLY: a regular expression; only the reads whose "surface name" matches (and list newest).
const ONLY = process.env.BENCH_SCALE_ONLY ? new RegExp(process.env.BENCH_SCALE_ONLY, "i") : null;
if (!Number.isInteger(N) || N < 1000) {
  console.error(`bench scale: N must be an integer of at least 1000 (got ${argN ?? process.env.BENCH_SCALE_N})`);
  process.exit(2);
}
const DAY = 86_400_000;
const SPAN = 365 * DAY;
const CUSTOMERS = 1000;
/** Customers (each with a card, a subscription, an invoice and a checkout session) for the lists that are not payments. */
const BULK = Math.max(1000, Math.floor(N / 10));
const CHUNK = 50_000;
const MERCHANTS = ["acct_merchant_a", "acct_merchant_b"];
const KEYS = { acct_merchant_a: "sk_test_merchant_a", acct_merchant_b: "sk_test_merchant_b" };
const resultsFile = path.join(root, "bench", "results", "scale-latest.json");

installExitHandlers();
const tmp = tempDir("gateway-scale-");
const stateDir = path.join(tmp, "state");
const REF = process.env.BENCH_SCALE_REF || "HEAD";

/** The tree to serve: the working tree, or a commit exported next to the state (node_modules linked). */
function appTree() {
  if (REF === "worktree") return { dir: root, commit: "worktree" };
  const dir = path.join(tmp, "app");
  mkdirSync(dir, { recursive: true });
  const commit = spawnSync("git", ["rev-parse", REF], { cwd: root, encoding: "utf8" }).stdout.trim();
  const archive = spawnSync("sh", ["-c", `git archive --format=tar ${commit} | tar -x -C "${dir}"`], { cwd: root, encoding: "utf8" });
  if (archive.status !== 0 || !commit) throw new Error(`could not export ${REF}: ${archive.stderr}`);
  symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  return { dir, commit };
}
const app = appTree();

function sqlite(dbFile, sql, { json = false } = {}) {
  const res = spawnSync("sqlite3", [...(json ? ["-json"] : []), dbFile], { input: sql, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (res.status !== 0 || res.stderr.trim()) throw new Error(`sqlite3 failed (${res.status}): ${res.stderr.slice(0, 2000)}\n--- sql: ${sql.slice(0, 600)}`);
  return json ? (res.stdout.trim() ? JSON.parse(res.stdout) : []) : res.stdout;
}

function d1File() {
  const dir = path.join(stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (files.length === 0) throw new Error(`no D1 sqlite file in ${dir}`);
  return files.map((f) => path.join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

async function startGateway() {
  const port = await freePort();
  const inspectorPort = await freePort();
  return startServer({
    name: "gateway",
    command: process.execPath,
    cwd: app.dir,
    args: [
      path.join(app.dir, "scripts", "dev.mjs"),
      "--log-level", "warn", "--var", "LOG_LEVEL:warn", "--inspector-port", String(inspectorPort),
      "--var", "RATE_LIMIT_PER_KEY:1000000", "--var", "RATE_LIMIT_BURST_PER_KEY:1000000", "--var", "RATE_LIMIT_PER_MERCHANT:1000000", "--var", "RATE_LIMIT_BURST_PER_MERCHANT:1000000",
    ],
    // No cron ticks: the sweep would look for the seeded intents' objects, which do not exist.
    env: { ...baseEnv, PORT: String(port), GATEWAY_STATE_DIR: stateDir, GATEWAY_CRON_INTERVAL_MS: "2000000000" },
    port,
    readyPath: "/v1/payment_intents?limit=1",
    readyHeaders: { authorization: `Bearer ${KEYS.acct_merchant_a}` },
  });
}

// ---------------------------------------------------------------------------------------------
// Templates: real intents of each kind, per merchant, made through /v1.

async function call(server, key, method, p, form) {
  const res = await fetch(server.origin + p, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${method} ${p} -> ${res.status}: ${JSON.stringify(body).slice(0, 400)}`);
  return body;
}

async function makeTemplates(server) {
  for (const merchant of MERCHANTS) {
    const key = KEYS[merchant];
    const customer = await call(server, key, "POST", "/v1/customers", { email: `template@${merchant}.example`, name: "Template" });
    const base = { amount: "2000", currency: "usd", customer: customer.id, "metadata[order]": "tpl", "metadata[channel]": "web", description: "Scale template" };
    const kinds = [
      ...Array.from({ length: 6 }, () => ({ ...base, payment_method: "pm_card_visa", confirm: "true" })),
      { ...base, payment_method: "pm_card_visa", confirm: "true", capture_method: "manual" },
      { ...base, payment_method: "pm_card_chargeDeclined", confirm: "true" },
      { ...base },
    ];
    for (const form of kinds) {
      const res = await fetch(`${server.origin}/v1/payment_intents`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form).toString(),
      });
      if (res.status !== 200 && res.status !== 402) throw new Error(`template create -> ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
    const toCancel = await call(server, key, "POST", "/v1/payment_intents", base);
    await call(server, key, "POST", `/v1/payment_intents/${toCancel.id}/cancel`, {});
    const toRefund = await call(server, key, "POST", "/v1/payment_intents", { ...base, payment_method: "pm_card_visa", confirm: "true" });
    await call(server, key, "POST", "/v1/refunds", { payment_intent: toRefund.id, amount: "500" });
  }
  // The lists that are not payments: one customer of merchant A with a card, a subscription (and its
  // invoice) and a checkout session, copied up to BULK of each below.
  const keyA = KEYS[MERCHANTS[0]];
  const bulk = await call(server, keyA, "POST", "/v1/customers", { email: "bulk-template@example.com", name: "Bulk Template", phone: "+15550000000" });
  await call(server, keyA, "POST", `/v1/customers/${bulk.id}/payment_methods`, { payment_method: "tok_visa", set_default: "true" });
  const price = await call(server, keyA, "POST", "/v1/prices", { unit_amount: "1999", currency: "usd", "recurring[interval]": "month", "product_data[name]": "Bulk plan" });
  await call(server, keyA, "POST", "/v1/subscriptions", { customer: bulk.id, price: price.id });
  await call(server, keyA, "POST", "/v1/checkout/sessions", {
    mode: "payment",
    customer: bulk.id,
    success_url: "https://shop.example/ok",
    "line_items[0][price_data][currency]": "usd",
    "line_items[0][price_data][unit_amount]": "500",
    "line_items[0][price_data][product_data][name]": "Mug",
    "line_items[0][quantity]": "1",
  });
  // The read model and the events are written after the answers: wait until they are all there.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = await call(server, KEYS.acct_merchant_b, "GET", "/v1/events?limit=100");
    if (list.data.length >= 20 || Date.now() > deadline) break;
    await sleep(500);
  }
  await sleep(1500);
}

// ---------------------------------------------------------------------------------------------
// Seeding: every row derived in SQL from the templates, a chunk of intents per transaction.

function columns(db, table) {
  return sqlite(db, `PRAGMA table_info(${table});`, { json: true }).map((c) => c.name);
}

function copyInsert(table, cols, overrides, from) {
  const select = cols.map((c) => (c in overrides ? `${overrides[c]} AS ${c}` : `t.${c}`));
  return `INSERT INTO ${table} (${cols.join(", ")}) SELECT ${select.join(", ")} ${from};`;
}

function seed(db) {
  const t0 = Date.now() - SPAN - DAY;
  const cols = {
    payment_intents: columns(db, "payment_intents"),
    charges: columns(db, "charges"),
    refunds: columns(db, "refunds"),
    events: columns(db, "events"),
    audit_log: columns(db, "audit_log"),
    customers: columns(db, "customers"),
  };
  const setup = `
    CREATE TABLE IF NOT EXISTS scale_tpl AS
      SELECT p.merchant_id AS merchant_id, row_number() OVER (PARTITION BY p.merchant_id ORDER BY p.created, p.id) - 1 AS k, p.id AS id
      FROM payment_intents p WHERE p.merchant_id IN (${MERCHANTS.map((m) => `'${m}'`).join(", ")})
        AND p.invoice_id IS NULL AND p.id NOT IN (SELECT payment_intent FROM checkout_sessions);
    CREATE TABLE IF NOT EXISTS scale_tpl_count AS SELECT merchant_id, count(*) AS n FROM scale_tpl GROUP BY merchant_id;
    CREATE TABLE IF NOT EXISTS scale_tpl_event AS SELECT s.id AS intent_id, (SELECT e.id FROM events e WHERE e.payment_intent = s.id ORDER BY e.created DESC LIMIT 1) AS event_id FROM scale_tpl s;
    CREATE TABLE IF NOT EXISTS scale_tpl_audit AS SELECT s.id AS intent_id, (SELECT a.id FROM audit_log a WHERE a.object_id = s.id ORDER BY a.created LIMIT 1) AS audit_id FROM scale_tpl s;
    CREATE TABLE IF NOT EXISTS scale_tpl_customer AS SELECT merchant_id, min(id) AS id FROM customers WHERE email <> 'bulk-template@example.com' GROUP BY merchant_id;
  `;
  sqlite(db, setup);
  const counts = sqlite(db, "SELECT merchant_id, n FROM scale_tpl_count;", { json: true });
  if (counts.length !== 2 || counts.some((c) => c.n < 5)) throw new Error(`templates missing: ${JSON.stringify(counts)}`);

  // Customers: 500 per merchant, a year apart from each other.
  const perMerchant = CUSTOMERS / 2;
  const customersFrom = `FROM seq JOIN scale_tpl_customer tc ON tc.merchant_id = CASE WHEN seq.c < ${perMerchant} THEN '${MERCHANTS[0]}' ELSE '${MERCHANTS[1]}' END JOIN customers t ON t.id = tc.id`;
  const customerRows = copyInsert(
    "customers",
    cols.customers,
    {
      id: `printf('cus_scale%06d', seq.c)`,
      merchant_id: `CASE WHEN seq.c < ${perMerchant} THEN '${MERCHANTS[0]}' ELSE '${MERCHANTS[1]}' END`,
      email: `printf('shopper%04d@example.com', seq.c)`,
      created: `${t0} + seq.c * ${Math.floor(SPAN / CUSTOMERS)}`,
    },
    customersFrom,
  );
  sqlite(db, `BEGIN; WITH RECURSIVE seq(c) AS (SELECT 0 UNION ALL SELECT c + 1 FROM seq WHERE c < ${CUSTOMERS - 1}) ${customerRows.replace(/;$/, "")}; COMMIT;`);

  // Per intent n: merchant n % 2, template (n / 2) % count, customer, created through the year.
  const frame = (a, b) => `
    WITH RECURSIVE seq(n) AS (SELECT ${a} UNION ALL SELECT n + 1 FROM seq WHERE n < ${b}),
    gen AS (
      SELECT n,
        printf('pi_S%012d', n) AS id,
        CASE WHEN n % 2 = 0 THEN '${MERCHANTS[0]}' ELSE '${MERCHANTS[1]}' END AS merchant,
        printf('cus_scale%06d', ((n / 2) % ${perMerchant}) + (n % 2) * ${perMerchant}) AS customer,
        ${t0} + (n * ${SPAN}) / ${N} AS created,
        printf('ord_S%d', n) AS ord,
        CASE n % 3 WHEN 0 THEN 'web' WHEN 1 THEN 'pos' ELSE 'app' END AS channel,
        100 + ((n / 2) * 7919 + n) % 99900 AS amount,
        CASE WHEN n % 5000 = 10 THEN 'gbp' WHEN n % 50 = 3 THEN 'eur' ELSE 'usd' END AS currency,
        printf('loc_%02d', n % 20) AS location
      FROM seq
    ),
    src AS (
      SELECT g.*, s.id AS tpl_id FROM gen g
      JOIN scale_tpl_count c ON c.merchant_id = g.merchant
      JOIN scale_tpl s ON s.merchant_id = g.merchant AND s.k = (g.n / 2) % c.n
    )`;
  const intentStatus = `CASE WHEN src.n % 1000 = 8 AND t.status = 'requires_payment_method' THEN 'requires_confirmation' ELSE t.status END`;
  const refundRename = `, '$.refunds', json(CASE WHEN json_array_length(t.data, '$.refunds') = 0 THEN json('[]') ELSE json_array(json_set(json_extract(t.data, '$.refunds[0]'), '$.id', 're_' || substr(src.id, 4), '$.paymentIntentId', src.id, '$.chargeId', 'ch_' || substr(src.id, 4), '$.created', src.created + 2000)) END)`;
  const statements = (a, b) => [
    `${frame(a, b)} ${copyInsert(
      "payment_intents",
      cols.payment_intents,
      {
        id: "src.id",
        merchant_id: "src.merchant",
        status: intentStatus,
        amount: "src.amount",
        currency: "src.currency",
        customer: "src.customer",
        order_id: "src.ord",
        location_id: "src.location",
        ...(cols.payment_intents.includes("metadata") ? { metadata: `json_object('order', src.ord, 'channel', src.channel)` } : {}),
        created: "src.created",
        updated: "src.created + 1000",
        authorized_at: "CASE WHEN t.authorized_at IS NULL THEN NULL ELSE src.created + 500 END",
        card_last4: "CASE WHEN t.card_last4 IS NULL THEN NULL ELSE printf('%04d', (src.n * 37) % 10000) END",
        // The fields with columns are not in `data` (src/db/intent-row.ts); a template's one refund is
        // renamed in its intent's `refunds`, where its record lives (the refunds row is an index entry).
        data: `json_set(t.data, '$.metadata', json_object('order', src.ord, 'channel', src.channel), '$.number', NULL${refundRename})`,
      },
      "FROM src JOIN payment_intents t ON t.id = src.tpl_id",
    )}`,
    `${frame(a, b)} INSERT INTO payment_intent_metadata (intent_id, merchant_id, livemode, key, value, created)
       SELECT src.id, src.merchant, 0, 'order', src.ord, src.created FROM src
       UNION ALL SELECT src.id, src.merchant, 0, 'channel', src.channel, src.created FROM src;`,
    `${frame(a, b)} ${copyInsert(
      "charges",
      cols.charges,
      { id: "'ch_' || substr(src.id, 4)", merchant_id: "src.merchant", payment_intent: "src.id", customer: "src.customer", created: "src.created + 500" },
      "FROM src JOIN charges t ON t.payment_intent = src.tpl_id",
    )}`,
    `${frame(a, b)} ${copyInsert(
      "refunds",
      cols.refunds,
      {
        id: "'re_' || substr(src.id, 4)",
        merchant_id: "src.merchant",
        payment_intent: "src.id",
        charge: "'ch_' || substr(src.id, 4)",
        created: "src.created + 2000",
      },
      "FROM src JOIN refunds t ON t.payment_intent = src.tpl_id",
    )}`,
    `${frame(a, b)} INSERT INTO intent_numbers (intent_id, merchant_id, livemode, created) SELECT src.id, src.merchant, 0, src.created FROM src ORDER BY src.n;`,
    `${frame(a, b)} ${copyInsert(
      "events",
      cols.events,
      {
        id: "'evt_' || substr(src.id, 4)",
        merchant_id: "src.merchant",
        payment_intent: "src.id",
        created: "src.created + 1000",
      },
      "FROM src JOIN scale_tpl_event te ON te.intent_id = src.tpl_id JOIN events t ON t.id = te.event_id",
    )}`,
    `${frame(a, b)} ${copyInsert(
      "audit_log",
      cols.audit_log,
      { id: "'aud_' || substr(src.id, 4)", merchant_id: "src.merchant", object_id: "src.id", created: "src.created" },
      "FROM src JOIN scale_tpl_audit ta ON ta.intent_id = src.tpl_id JOIN audit_log t ON t.id = ta.audit_id",
    )}`,
  ];
  const started = Date.now();
  for (let a = 0; a < N; a += CHUNK) {
    const b = Math.min(N, a + CHUNK) - 1;
    sqlite(db, `PRAGMA cache_size = -400000; BEGIN;\n${statements(a, b).join("\n")}\nCOMMIT;`);
    process.stdout.write(`\rbench scale: seeded ${Math.min(N, a + CHUNK).toLocaleString("en-US")} / ${N.toLocaleString("en-US")} intents (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  process.stdout.write("\n");
  seedBulk(db, t0);
  sqlite(db, "DROP TABLE scale_tpl; DROP TABLE scale_tpl_count; DROP TABLE scale_tpl_event; DROP TABLE scale_tpl_audit; DROP TABLE scale_tpl_customer;");
  return { seedSeconds: (Date.now() - started) / 1000, t0 };
}

/**
 * The lists that are not payments, for merchant A: BULK customers through the year (one card, one
 * subscription with its invoice and one checkout session each), copied from the template customer's
 * rows. Few match the rare filters (1 in 1,000: subscriptions past_due, invoices open, sessions open),
 * so a filter that is not an index range would walk the whole list. Periods end and sessions expire
 * years ahead, so nothing is due.
 */
function seedBulk(db, t0) {
  const A = MERCHANTS[0];
  const one = (sql) => sqlite(db, sql, { json: true })[0] ?? null;
  const tpl = one(`SELECT c.id AS customer, pm.id AS pm, s.id AS sub, i.id AS invoice, cs.id AS session
    FROM customers c JOIN payment_methods pm ON pm.customer = c.id JOIN subscriptions s ON s.customer = c.id
    JOIN invoices i ON i.subscription = s.id JOIN checkout_sessions cs ON cs.customer = c.id
    WHERE c.email = 'bulk-template@example.com' AND c.merchant_id = '${A}'`);
  if (!tpl) throw new Error("bulk templates missing");
  const far = Date.now() + 10 * SPAN;
  const seq = `WITH RECURSIVE seq(c) AS (SELECT 0 UNION ALL SELECT c + 1 FROM seq WHERE c < ${BULK - 1})`;
  const created = (offset) => `${t0} + (seq.c * ${SPAN}) / ${BULK} + ${offset}`;
  const id = (prefix) => `printf('${prefix}_bulk%07d', seq.c)`;
  const from = (table, tplId) => `FROM seq JOIN ${table} t ON t.id = '${tplId}'`;
  const statements = [
    copyInsert(
      "customers",
      columns(db, "customers"),
      { id: id("cus"), email: "printf('bulk%07d@example.com', seq.c)", name: "printf('Bulk Shopper %07d', seq.c)", phone: "printf('+1555%07d', seq.c)", default_payment_method: id("pm"), created: created(0) },
      from("customers", tpl.customer),
    ),
    copyInsert("payment_methods", columns(db, "payment_methods"), { id: id("pm"), customer: id("cus"), fingerprint: id("fp"), created: created(100) }, from("payment_methods", tpl.pm)),
    copyInsert(
      "subscriptions",
      columns(db, "subscriptions"),
      {
        id: id("sub"),
        customer: id("cus"),
        default_payment_method: id("pm"),
        latest_invoice: id("in"),
        status: "CASE WHEN seq.c % 1000 = 7 THEN 'past_due' WHEN seq.c % 5 = 0 THEN 'active' ELSE 'canceled' END",
        current_period_end: String(far),
        created: created(200),
      },
      from("subscriptions", tpl.sub),
    ),
    copyInsert(
      "invoices",
      columns(db, "invoices"),
      { id: id("in"), subscription: id("sub"), customer: id("cus"), status: "CASE WHEN seq.c % 1000 = 7 THEN 'open' ELSE 'paid' END", next_payment_attempt: "NULL", created: created(300) },
      from("invoices", tpl.invoice),
    ),
    copyInsert(
      "checkout_sessions",
      columns(db, "checkout_sessions"),
      { id: id("cs"), customer: id("cus"), payment_intent: id("pi"), status: "CASE WHEN seq.c % 1000 = 7 THEN 'open' WHEN seq.c % 3 = 0 THEN 'complete' ELSE 'expired' END", expires_at: String(far), created: created(400) },
      from("checkout_sessions", tpl.session),
    ),
  ];
  const started = Date.now();
  sqlite(db, `PRAGMA cache_size = -400000; BEGIN;\n${statements.map((st) => `${seq} ${st}`).join("\n")}\nCOMMIT;`);
  console.log(`bench scale: seeded ${BULK.toLocaleString("en-US")} customers, cards, subscriptions, invoices and checkout sessions (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

// ---------------------------------------------------------------------------------------------
// Measuring.

async function timed(server, req) {
  const started = performance.now();
  const res = await fetch(server.origin + req.path, { headers: req.headers });
  const text = await res.text();
  return { ms: performance.now() - started, status: res.status, text };
}

/** `connections` loops for `seconds`, each request timed; the statuses must be `expect`. */
async function measure(server, req, { seconds = SECONDS, connections = CONNECTIONS, stop } = {}) {
  for (let i = 0; i < 3; i++) {
    const warm = await timed(server, req);
    if (warm.status !== (req.expect ?? 200)) throw new Error(`${req.name}: ${req.path} -> ${warm.status}: ${warm.text.slice(0, 400)}`);
  }
  const latencies = [];
  const statuses = {};
  const until = Date.now() + seconds * 1000;
  const loop = async () => {
    while (stop ? !stop.done : Date.now() < until) {
      const r = await timed(server, req);
      latencies.push(r.ms);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  latencies.sort((x, y) => x - y);
  return { requests: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), statuses };
}

function q(params) {
  return new URLSearchParams(params).toString();
}

async function routes(db, t0) {
  const A = MERCHANTS[0];
  const one = (sql) => sqlite(db, sql, { json: true })[0] ?? null;
  const countA = one(`SELECT count(*) AS n FROM payment_intents WHERE merchant_id = '${A}' AND livemode = 0`).n;
  const deepAt = (table) => one(`SELECT id, created FROM ${table} WHERE merchant_id = '${A}' AND livemode = 0 ORDER BY created DESC, id DESC LIMIT 1 OFFSET (SELECT CAST(count(*) * 0.8 AS INTEGER) FROM ${table} WHERE merchant_id = '${A}' AND livemode = 0)`);
  const deep = deepAt("payment_intents");
  const deepRow = one(`SELECT customer, amount, order_id, status FROM payment_intents WHERE id = '${deep.id}'`);
  const deepCharge = deepAt("charges");
  const deepRefund = deepAt("refunds");
  const deepEvent = deepAt("events");
  const eventType = one(`SELECT type FROM events WHERE id = '${deepEvent.id}'`).type;
  const deepNumber = one(`SELECT number FROM intent_numbers WHERE intent_id = '${deep.id}'`).number;
  // How many intents the deep customer has: seed 000's customer route answers all of them (up to 1,000).
  const customerIntents = Math.min(1000, one(`SELECT count(*) AS n FROM payment_intents WHERE merchant_id = '${A}' AND customer = '${deepRow.customer}'`).n);
  const failedCount = one(`SELECT count(*) AS n FROM payment_intents WHERE merchant_id = '${A}' AND failure_reason IS NOT NULL`).n;
  const token = (cursor) => Buffer.from(JSON.stringify([cursor.created, cursor.id])).toString("base64").replace(/=+$/, "");
  const deepToken = token(deep);
  const sec = (ms) => Math.floor(ms / 1000);
  // A window of a week ending at the deep cursor, and one of 30 days (bounded searches).
  const weekFrom = sec(deep.created - 7 * DAY);
  const monthFrom = sec(deep.created - 30 * DAY);
  const to = sec(deep.created);
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  // The lists that are not payments: a bulk customer 80% deep, and 80%-deep rows of each list.
  const deepCustomer = one(`SELECT id, created, email, name, phone FROM customers WHERE merchant_id = '${A}' AND id LIKE 'cus_bulk%' ORDER BY created DESC, id DESC LIMIT 1 OFFSET ${Math.floor(BULK * 0.8)}`);
  const deepOpenSub = one(`SELECT id FROM subscriptions WHERE merchant_id = '${A}' AND livemode = 0 AND status <> 'canceled' ORDER BY created DESC, id DESC LIMIT 1 OFFSET (SELECT CAST(count(*) * 0.8 AS INTEGER) FROM subscriptions WHERE merchant_id = '${A}' AND livemode = 0 AND status <> 'canceled')`);
  const deepInvoice = deepAt("invoices");
  const deepSession = deepAt("checkout_sessions");
  const customerSearch = (query) => `/v1/customers/search?${q({ query })}`;

  const key = { authorization: `Bearer ${KEYS[A]}` };
  const sign = (claims) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject("bench-scale").setIssuer("edge-gateway").setAudience("edge-gateway-api").setIssuedAt().setExpirationTime("3h").sign(new TextEncoder().encode(DEV_JWT_SECRET));
  const admin = { authorization: `Bearer ${await sign({ roles: ["admin"] })}` };
  const search = (query, extra = {}) => `/v1/payment_intents/search?${q({ query, ...extra })}`;
  const chargeSearch = (query) => `/v1/charges/search?${q({ query, limit: 10 })}`;
  const list = [
    ["v1", "list newest", "/v1/payment_intents?limit=10", key],
    ["v1", "list, starting_after 80% deep", `/v1/payment_intents?${q({ limit: 10, starting_after: deep.id })}`, key],
    ["v1", "list, ending_before 80% deep", `/v1/payment_intents?${q({ limit: 10, ending_before: deep.id })}`, key],
    ["v1", "status=succeeded, deep", `/v1/payment_intents?${q({ limit: 10, status: "succeeded", starting_after: deep.id })}`, key],
    ["v1", "status with few matches (requires_confirmation)", `/v1/payment_intents?${q({ limit: 10, status: "requires_confirmation" })}`, key],
    ["v1", "customer=, deep", `/v1/payment_intents?${q({ limit: 10, customer: deepRow.customer, starting_after: deep.id })}`, key],
    ["v1", "created window (a week), deep", `/v1/payment_intents?${q({ limit: 10, "created[gte]": weekFrom, "created[lte]": to })}`, key],
    ["v1", "a customer's payment intents, deep", `/v1/customers/${deepRow.customer}/payment_intents?${q({ limit: 10, starting_after: deep.id })}`, key],
    ["v1", "charges, deep", `/v1/charges?${q({ limit: 10, starting_after: deepCharge.id })}`, key],
    ["v1", "charges by customer, deep", `/v1/charges?${q({ limit: 10, customer: deepRow.customer, starting_after: deepCharge.id })}`, key],
    ["v1", "refunds, deep", `/v1/refunds?${q({ limit: 10, starting_after: deepRefund.id })}`, key],
    ["v1", "events, deep", `/v1/events?${q({ limit: 10, starting_after: deepEvent.id })}`, key],
    ["v1", `events type=${eventType}, deep`, `/v1/events?${q({ limit: 10, type: eventType, starting_after: deepEvent.id })}`, key],
    ["v1", "events of one intent", `/v1/events?${q({ limit: 10, payment_intent: deep.id })}`, key],
    ["v1", "search status, deep page", search("status:'succeeded'", { page: deepToken }), key],
    ["v1", "search customer, deep page", search(`customer:'${deepRow.customer}'`, { page: deepToken }), key],
    ["v1", "search order_id (one match)", search(`order_id:'${deepRow.order_id}'`), key],
    ["v1", "search amount equality", search(`amount:${deepRow.amount}`), key],
    ["v1", "search metadata['order'] (one match)", search(`metadata['order']:'${deepRow.order_id}'`), key],
    ["v1", "search metadata['channel'] AND status, deep page", search("metadata['channel']:'pos' AND status:'succeeded'", { page: deepToken }), key],
    ["v1", "search currency (rare) in a 30-day window", search(`currency:'gbp' AND created>=${monthFrom} AND created<${to}`), key],
    ["v1", "search amount range in a 30-day window", search(`amount>99000 AND created>=${monthFrom} AND created<${to}`), key],
    ["v1", "search negation in a 30-day window", search(`-status:'succeeded' AND created>=${monthFrom} AND created<${to}`), key],
    ["v1", "search OR of indexed clauses", search(`order_id:'${deepRow.order_id}' OR customer:'${deepRow.customer}'`), key],
    ["v1", "charge search status:'succeeded'", chargeSearch("status:'succeeded'"), key],
    ["v1", "charge search status:'failed'", chargeSearch("status:'failed'"), key],
    ["v1", "charge search customer (succeeded and failed)", chargeSearch(`customer:'${deepRow.customer}'`), key],
    ["v1", "charge search metadata['order'] (one match)", chargeSearch(`metadata['order']:'${deepRow.order_id}'`), key],
    ["pos", "transactions newest", "/api/v1/payments/transactions?limit=10", key],
    ["pos", "transactions by customer", `/api/v1/payments/transactions?${q({ limit: 10, customerId: deepRow.customer })}`, key],
    ["pos", "transactions by card last4", `/api/v1/payments/transactions?${q({ limit: 10, cardLast4: "0037" })}`, key],
    ["pos", "transactions by location, deep cursor", `/api/v1/payments/transactions?${q({ limit: 10, locationId: "loc_04", cursor: deep.id })}`, key],
    ["pos", "transactions status=authorized, deep cursor", `/api/v1/payments/transactions?${q({ limit: 10, status: "authorized", cursor: deep.id })}`, key],
    ["pos", "transactions status=refunded, deep cursor", `/api/v1/payments/transactions?${q({ limit: 10, status: "refunded", cursor: deep.id })}`, key],
    ["pos", "transactions status=voided (few), deep cursor", `/api/v1/payments/transactions?${q({ limit: 10, status: "voided", cursor: deep.id })}`, key],
    ["pos", "transactions amount range in 30 days", `/api/v1/payments/transactions?${q({ limit: 10, amountMinCents: 99000, dateFrom: day(deep.created - 30 * DAY), dateTo: day(deep.created) })}`, key],
    ["pos", "failed payments (30 days)", "/api/v1/payments/failed?limit=10", key],
    ["pos", "failed payments counts (30 days)", "/api/v1/payments/failed?counts=true", key],
    ["paymentintents", "list newest (admin)", `/api/v1/PaymentIntents?${q({ limit: 10 })}`, admin],
    ["paymentintents", "list before a deep number (admin)", `/api/v1/PaymentIntents?${q({ limit: 10, beforeId: deepNumber })}`, admin],
    // The seed's customer route answers every intent of the customer (up to 1,000, no limit parameter):
    // the same page size of the plain list is its fair comparison.
    ["paymentintents", "list newest, limit=1000 (admin)", `/api/v1/PaymentIntents?${q({ limit: 1000 })}`, admin],
    ["paymentintents", "a customer's intents, all of them (admin)", `/api/v1/PaymentIntents/customer/${deepRow.customer}`, admin, `list newest, limit=${customerIntents} (admin)`],
    // The newest page as long as that customer's answer: what the customer's read is also compared to.
    ...(customerIntents !== 1000 ? [["paymentintents", `list newest, limit=${customerIntents} (admin)`, `/api/v1/PaymentIntents?${q({ limit: customerIntents })}`, admin]] : []),
    ["admin", "payments search by status, merchant", `/v1/admin/payments/search?${q({ merchant: A, status: "succeeded", limit: 10 })}`, admin],
    ["admin", "payments search by customer", `/v1/admin/payments/search?${q({ merchant: A, customer: deepRow.customer, limit: 10 })}`, admin],
    ["admin", "payments search amount range in 30 days", `/v1/admin/payments/search?${q({ merchant: A, amount_gte: 99000, created_gte: monthFrom, created_lte: to, limit: 10 })}`, admin],
    ["admin", "failed payments with counts (30 days)", `/v1/admin/failed_payments?${q({ merchant: A, limit: 10 })}`, admin],
    ["admin", "audit log, merchant", `/v1/admin/audit_log?${q({ merchant: A, limit: 10 })}`, admin],
    ["admin", "refunds awaiting approval", `/v1/admin/refunds?${q({ merchant: A, limit: 10 })}`, admin],
    ["v1", "customers, deep", `/v1/customers?${q({ limit: 10, starting_after: deepCustomer.id })}`, key],
    ["v1", "customers by email (one match)", `/v1/customers?${q({ limit: 10, email: deepCustomer.email })}`, key],
    ["v1", "customer search email (one match)", customerSearch(`email:'${deepCustomer.email}'`), key],
    ["v1", "customer search name OR phone (exact)", customerSearch(`name:'${deepCustomer.name}' OR phone:'${deepCustomer.phone}'`), key],
    // One match in a 30-day window: the contains clause tests every customer of the window.
    ["v1", "customer search name~ (one match) in a 30-day window", customerSearch(`name~'${deepCustomer.name.slice(-7)}' AND created>=${sec(deepCustomer.created - 30 * DAY)} AND created<=${sec(deepCustomer.created)}`), key],
    ["v1", "a customer's cards", `/v1/customers/${deepCustomer.id}/payment_methods`, key],
    ["pos", "a customer's cards", `/api/v1/customers/${deepCustomer.id}/payment-methods`, key],
    ["v1", "subscriptions (all but canceled), deep", `/v1/subscriptions?${q({ limit: 10, starting_after: deepOpenSub.id })}`, key],
    ["v1", "subscriptions status with few matches (past_due)", `/v1/subscriptions?${q({ limit: 10, status: "past_due" })}`, key],
    ["v1", "subscriptions by customer", `/v1/subscriptions?${q({ limit: 10, customer: deepCustomer.id, status: "all" })}`, key],
    ["v1", "invoices, deep", `/v1/invoices?${q({ limit: 10, starting_after: deepInvoice.id })}`, key],
    ["v1", "invoices status with few matches (open)", `/v1/invoices?${q({ limit: 10, status: "open" })}`, key],
    ["v1", "invoices by customer", `/v1/invoices?${q({ limit: 10, customer: deepCustomer.id })}`, key],
    ["v1", "checkout sessions, deep", `/v1/checkout/sessions?${q({ limit: 10, starting_after: deepSession.id })}`, key],
    ["v1", "checkout sessions status with few matches (open)", `/v1/checkout/sessions?${q({ limit: 10, status: "open" })}`, key],
    ["v1", "checkout sessions by customer", `/v1/checkout/sessions?${q({ limit: 10, customer: deepCustomer.id })}`, key],
  ]
    // A fifth element names the read of the same page size this one is also compared to.
    .map(([surface, name, p, headers, sameSizeAs]) => ({ surface, name, path: p, headers, sameSizeAs }))
    .filter((r, i) => i === 0 || !ONLY || ONLY.test(`${r.surface} ${r.name}`));
  // Queries that cannot be served from an index without a window: refused, with what to add.
  const refused = [
    ["v1", "search currency alone", search("currency:'gbp'"), key],
    ["v1", "search amount range alone", search("amount>99000"), key],
    ["v1", "search negation alone", search("-status:'succeeded'"), key],
    ["v1", "customer search contains alone", customerSearch("name~'Shopper'"), key],
    ["pos", "transactions amount range, no dates", `/api/v1/payments/transactions?${q({ amountMinCents: 99000 })}`, key],
    ["admin", "payments search amount range, no window", `/v1/admin/payments/search?${q({ merchant: A, amount_gte: 99000 })}`, admin],
  ].map(([surface, name, p, headers]) => ({ surface, name, path: p, headers, expect: 400 }));
  return { list, refused, context: { countA, deep, failedCount } };
}

function fmt(ms) {
  return ms === null ? "-" : ms < 10 ? ms.toFixed(1) : ms.toFixed(0);
}

async function main() {
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  console.log(`bench scale: N = ${N.toLocaleString("en-US")} intents, ${CUSTOMERS} customers, 2 merchants, a year of created; state in ${tmp}`);
  let server = await startGateway();
  try {
    console.log("bench scale: making the template intents through the API…");
    await makeTemplates(server);
  } finally {
    await stopGroup(server.pgid);
  }
  const db = d1File();
  const seeded = seed(db);
  const dbBytes = statSync(db).size;
  console.log(`bench scale: D1 file ${(dbBytes / 1e9).toFixed(2)} GB (${Math.round(dbBytes / N)} bytes an intent all-in), seeded in ${seeded.seedSeconds.toFixed(0)} s`);
  const { list, refused, context } = await routes(db, seeded.t0);
  server = await startGateway();
  const rows = [];
  const refusals = [];
  let concurrent = null;
  let baseline = null;
  try {
    for (const req of refused) {
      const r = await timed(server, req);
      let message = r.text;
      try {
        const body = JSON.parse(r.text);
        message = body.error?.message ?? body.detail ?? body.message ?? r.text;
      } catch {
        // not JSON: kept as text
      }
      refusals.push({ surface: req.surface, name: req.name, status: r.status, ok: r.status === 400, message: String(message).slice(0, 300) });
      console.log(`bench scale: refused? ${req.surface} ${req.name}: ${r.status} ${String(message).slice(0, 160)}`);
    }
    // "list newest" is measured three times (first, halfway, last): the ratios are to the median of
    // the three, so one noisy slot of this shared machine does not decide them.
    const newestRuns = [];
    const measureNewest = async () => {
      const m = await measure(server, list[0]);
      newestRuns.push(m);
      console.log(`bench scale: list newest (run ${newestRuns.length}) p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms`);
    };
    for (const [i, req] of list.entries()) {
      if (i === Math.floor(list.length / 2)) await measureNewest();
      process.stdout.write(`bench scale: ${req.surface} ${req.name}… `);
      try {
        const m = await measure(server, req);
        rows.push({ surface: req.surface, name: req.name, path: req.path, sameSizeAs: req.sameSizeAs, ...m });
        console.log(`p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms (${m.requests} requests)`);
      } catch (err) {
        rows.push({ surface: req.surface, name: req.name, path: req.path, error: String(err.message ?? err).slice(0, 500) });
        console.log(`failed: ${String(err.message ?? err).slice(0, 300)}`);
      }
    }
    await measureNewest();
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    newestRuns.push(rows[0]);
    baseline = { p50: median(newestRuns.map((r) => r.p50)), p99: median(newestRuns.map((r) => r.p99)), runs: newestRuns.map((r) => ({ p50: r.p50, p99: r.p99, requests: r.requests })) };
    const newest = rows[0];
    // Two runs: beside the two heaviest pages of 10 (filters, searches), and beside the two routes
    // that answer 1,000 intents a call (seed 000's), each heavy read looping on one connection.
    const big = (r) => /1,?000|all of them|limit=\d+/.test(r.name);
    const heaviest = (pick) =>
      rows
        .filter((r, i) => i > 0 && r.p50 !== undefined && pick(r))
        .sort((x, y) => y.p50 - x.p50)
        .slice(0, 2);
    concurrent = [];
    for (const [label, heavy] of [
      ["the two heaviest pages of 10", heaviest((r) => !big(r))],
      ["two reads of 1,000 intents (seed 000)", heaviest(big)],
    ]) {
      if (heavy.length < 2) continue;
      console.log(`bench scale: list newest beside ${label} (${heavy.map((h) => h.name).join("; ")})…`);
      const stop = { done: false };
      const heavyRuns = heavy.map((h) => measure(server, list.find((r) => r.name === h.name), { connections: 1, stop }));
      const under = await measure(server, list[0]);
      stop.done = true;
      const heavyResults = await Promise.all(heavyRuns);
      concurrent.push({ label, heavy: heavy.map((h, i) => ({ name: h.name, ...heavyResults[i] })), newest: under, ratioP50: under.p50 / baseline.p50, ratioP99: under.p99 / baseline.p99 });
      console.log(`bench scale: list newest beside them p50 ${fmt(under.p50)} ms, p99 ${fmt(under.p99)} ms`);
    }
  } finally {
    await stopGroup(server.pgid);
  }
  const base = baseline ?? rows[0];
  // A read that answers a whole page of 1,000 costs what its rows cost whatever index serves it; beside
  // its ratio to a page of 10 it is also compared to the newest page of the same size, which tells an
  // index range from a scan. The target (2x of list newest) stays the one above.
  const sameSize = rows.flatMap((r) => {
    const other = r.sameSizeAs && !r.error ? rows.find((o) => o.name === r.sameSizeAs && !o.error) : undefined;
    return other ? [{ surface: r.surface, name: r.name, p50: r.p50, p99: r.p99, against: other.name, againstP50: other.p50, againstP99: other.p99, ratioP50: r.p50 / other.p50, ratioP99: r.p99 / other.p99 }] : [];
  });
  const ratio = (a, b) => (a === undefined || b === undefined || b === null ? null : a / b);
  const table = [
    `N = ${N.toLocaleString("en-US")} intents (${context.countA.toLocaleString("en-US")} for the measured merchant), ${CONNECTIONS} connections, ${SECONDS} s a route; D1 file ${(dbBytes / 1e9).toFixed(2)} GB`,
    "",
    "| surface | read | p50 ms | p99 ms | p50 / list newest | p99 / list newest |",
    "|---|---|---|---|---|---|",
    ...(baseline ? [`| v1 | list newest (median of 3 runs: ${baseline.runs.map((r) => fmt(r.p50)).join(", ")} ms p50) | ${fmt(baseline.p50)} | ${fmt(baseline.p99)} | 1.00x | 1.00x |`] : []),
    ...rows.slice(baseline ? 1 : 0).map((r) =>
      r.error
        ? `| ${r.surface} | ${r.name} | error | | | |`
        : `| ${r.surface} | ${r.name} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${ratio(r.p50, base.p50)?.toFixed(2)}x | ${ratio(r.p99, base.p99)?.toFixed(2)}x |`,
    ),
    ...(concurrent ?? []).map(
      (run) => `| v1 | list newest beside ${run.label} (${run.heavy.map((h) => h.name).join("; ")}) | ${fmt(run.newest.p50)} | ${fmt(run.newest.p99)} | ${run.ratioP50.toFixed(2)}x | ${run.ratioP99.toFixed(2)}x |`,
    ),
    ...(sameSize.length
      ? [
          "",
          "Long pages against list newest with as many rows (the ratios above are to a page of 10):",
          ...sameSize.map((c) => `- ${c.surface} ${c.name}: p50 ${fmt(c.p50)} ms, p99 ${fmt(c.p99)} ms against ${c.against} (${fmt(c.againstP50)} / ${fmt(c.againstP99)} ms): ${c.ratioP50.toFixed(2)}x p50, ${c.ratioP99.toFixed(2)}x p99`),
        ]
      : []),
    "",
    "Refused without a created window (400):",
    ...refusals.map((r) => `- ${r.surface} ${r.name}: ${r.status}${r.ok ? "" : " (EXPECTED 400)"}: ${r.message}`),
  ].join("\n");
  console.log(`\n${table}\n`);
  const misses = rows.filter((r, i) => !r.error && i > 0 && (r.p50 > 2 * base.p50 || r.p99 > 2 * base.p99)).map((r) => r.name);
  for (const run of concurrent ?? []) if (run.ratioP50 > 2 || run.ratioP99 > 2) misses.push(`list newest beside ${run.label}`);
  const result = {
    date: new Date().toISOString(),
    commit: app.commit,
    n: N,
    merchants: 2,
    customers: CUSTOMERS,
    connections: CONNECTIONS,
    secondsPerRoute: SECONDS,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? null, memGB: Math.round(os.totalmem() / 1e9), node: process.version, note: "shared with other sessions running tests at the same time; figures are noisy" },
    seedSeconds: seeded.seedSeconds,
    d1Bytes: dbBytes,
    bytesPerIntent: Math.round(dbBytes / N),
    context,
    baseline,
    rows,
    concurrent,
    refusals,
    sameSize,
    targetMisses: misses,
    table,
  };
  writeFileSync(resultsFile, JSON.stringify(result, null, 2) + "\n");
  console.log(`bench scale: ${misses.length ? `outside 2x of list newest: ${misses.join("; ")}` : "every read within 2x of list newest"}; wrote ${path.relative(root, resultsFile)}`);
}

await main();
