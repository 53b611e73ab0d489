#!/usr/bin/env node
// `npm run dev`: applies the D1 migrations locally, seeds the demo merchants (local only), and starts
// `wrangler dev` on 127.0.0.1:$PORT (default 8787). Extra arguments go to `wrangler dev`, for example
// `npm run dev -- --var LOG_LEVEL:warn`. GATEWAY_STATE_DIR keeps the local state somewhere else than
// .wrangler/state (the end-to-end tests use a fresh one). The cron sweep is ticked once a minute.
// It marks the Worker as local development (GATEWAY_ENV=development) and passes the public
// development secrets of dev-secrets.mjs: a Worker without its secrets refuses to serve, and one with
// these public values refuses too unless it is in development.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEV_SECRETS } from "./dev-secrets.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = path.join(root, "node_modules", ".bin", "wrangler");
const port = process.env.PORT || "8787";
const stateDir = process.env.GATEWAY_STATE_DIR;
const persist = stateDir ? ["--persist-to", stateDir] : [];
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

function run(args, label) {
  // CI=true: wrangler applies migrations without asking for confirmation.
  const result = spawnSync(wrangler, args, { cwd: root, env: { ...env, CI: "true" }, encoding: "utf8" });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    console.error(`dev: ${label} failed`);
    process.exit(result.status ?? 1);
  }
}

const demo = JSON.parse(readFileSync(path.join(root, "scripts", "demo-merchants.json"), "utf8"));
const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;
const now = Date.now();
const seed = demo.merchants
  .flatMap((m) => [
    `INSERT OR IGNORE INTO merchants (id, name, created) VALUES (${sqlString(m.id)}, ${sqlString(m.name)}, ${now});`,
    `INSERT OR IGNORE INTO api_keys (id, merchant_id, key_hash, redacted, livemode, created) VALUES (${sqlString(m.key.id)}, ${sqlString(m.id)}, ` +
      `${sqlString(createHash("sha256").update(m.key.secret).digest("hex"))}, ${sqlString(m.key.secret.slice(0, 8) + "***" + m.key.secret.slice(-4))}, ${m.key.livemode ? 1 : 0}, ${now});`,
  ])
  .join("\n");
const seedDir = path.join(root, ".wrangler");
mkdirSync(seedDir, { recursive: true });
const seedFile = path.join(seedDir, "seed-demo-merchants.sql");
writeFileSync(seedFile, seed + "\n");

run(["d1", "migrations", "apply", "DB", "--local", ...persist], "applying D1 migrations");
run(["d1", "execute", "DB", "--local", "--file", seedFile, ...persist], "seeding demo merchants");

console.log(`
  Edge payment gateway (local development)
  API:      http://127.0.0.1:${port}/v1     OpenAPI: http://127.0.0.1:${port}/openapi.json
  Demo test keys (local only):
${demo.merchants.map((m) => `    ${m.key.secret}   ${m.name} (${m.id})`).join("\n")}
  Tokens: npm run token -- --role admin   (or --role merchant --merchant acct_merchant_a, --role support, ...)
  Try:  curl http://127.0.0.1:${port}/v1/payment_intents -u sk_test_merchant_a: -d amount=2000 -d currency=usd -d payment_method=pm_card_visa -d confirm=true
`);

const child = spawn(
  wrangler,
  [
    "dev", "--ip", "127.0.0.1", "--port", port, "--show-interactive-dev-session=false", "--test-scheduled",
    "--var", "GATEWAY_ENV:development",
    ...Object.entries(DEV_SECRETS).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    ...persist, ...process.argv.slice(2),
  ],
  { cwd: root, env, stdio: "inherit" },
);
// `wrangler dev` does not fire cron triggers by itself: this ticks the Worker's cron sweep (renewals,
// payment retries, re-queued deliveries) as Cloudflare would, once a minute (GATEWAY_CRON_INTERVAL_MS).
const cronEvery = Number(process.env.GATEWAY_CRON_INTERVAL_MS || 60_000);
const ticker = setInterval(() => {
  fetch(`http://127.0.0.1:${port}/__scheduled?cron=${encodeURIComponent("* * * * *")}`).catch(() => {});
}, cronEvery);
ticker.unref();
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
