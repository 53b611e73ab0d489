// Two projects: `workers` runs inside workerd with real D1, Durable Objects and Queues
// (@cloudflare/vitest-pool-workers); `e2e` runs in Node against a real `wrangler dev`.
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig, type Plugin } from "vitest/config";

/** stripe ships source maps Vite cannot read; its ~200 warnings hide real output. */
function quietSourcemapWarnings(): Plugin {
  return {
    name: "quiet-sourcemap-warnings",
    configResolved(config) {
      const warnOnce = config.logger.warnOnce.bind(config.logger);
      config.logger.warnOnce = (msg, options) => {
        if (!msg.includes("Sourcemap for")) warnOnce(msg, options);
      };
    },
  };
}

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    test: {
      projects: [
        {
          plugins: [
            quietSourcemapWarnings(),
            cloudflareTest(({ inject }) => ({
              main: "./src/index.ts",
              wrangler: { configPath: "./wrangler.toml" },
              remoteBindings: false,
              miniflare: {
                // A second read-model database: test/db/sharding.test.ts's merchant lives there
                // (D1_SHARDS below); every other merchant of the suite stays on DB.
                d1Databases: { DB_SHARD_1: "gateway-shard-1" },
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  D1_SHARDS: JSON.stringify({ acct_shard_far: "DB_SHARD_1" }),
                  // Short waits keep timing-dependent tests fast; production defaults are in wrangler.toml.
                  SANDBOX_TIMEOUT_MS: "1500",
                  // A request waits this long for the first with its Idempotency-Key (a loaded machine's create
                  // can take a second); under the connector's timeout, so a held call can outlast it.
                  IDEMPOTENCY_WAIT_MS: "2000",
                  LOG_LEVEL: "error",
                  // Webhook retries after 1, 2 and 3 seconds instead of minutes and hours.
                  WEBHOOK_RETRY_SCHEDULE: "1s,2s,3s",
                  // Long enough that a loaded machine's receiver answers in time (a timed-out delivery that did
                  // arrive is sent again: a duplicate the chaos suite would count).
                  WEBHOOK_TIMEOUT_MS: "5000",
                  RECEIVER_URL: `http://127.0.0.1:${inject("receiverPort")}`,
                  // Reconciliation after 1 s, then 1 s, 2 s; fakes of Stripe and PayPal on loopback.
                  RECONCILE_SCHEDULE: "1s,1s,2s",
                  // A loopback call on a busy machine can take a second; the fakes' late answers wait
                  // until the caller gives up, so a longer timeout makes no test wait for nothing.
                  CONNECTOR_TIMEOUT_MS: "3000",
                  // The Stripe fake's search sees a payment at once: a search that finds none after a 5xx is final.
                  STRIPE_SEARCH_SETTLE_MS: "0",
                  STRIPE_API_BASE: `http://127.0.0.1:${inject("stripePort")}`,
                  PAYPAL_API_BASE: `http://127.0.0.1:${inject("paypalPort")}`,
                  BREAKER_FAILURE_THRESHOLD: "3",
                  BREAKER_COOLDOWN_MS: "1000",
                  JWT_SECRET: "test-jwt-secret-for-the-suite-only",
                  // The gateway refuses to serve without its secrets (no fallback). The suite is a
                  // development environment: it may use the sandbox's public development webhook secret.
                  GATEWAY_ENV: "development",
                  ENCRYPTION_KEY: "test-encryption-key-for-the-suite-only",
                  FINGERPRINT_KEY: "test-fingerprint-key-for-the-suite-only",
                  SANDBOX_WEBHOOK_SECRET: "sandbox_webhook_secret_for_development",
                  JWT_JWKS_URL: `http://127.0.0.1:${inject("jwksPort")}/.well-known/jwks.json`,
                  JWKS_PRIVATE_KEY: inject("jwksPrivateKey"),
                  // The suite's own keys are busy; the rate-limit tests give keys low limits of their own.
                  RATE_LIMIT_PER_KEY: "5000",
                  RATE_LIMIT_BURST_PER_KEY: "10000",
                  RATE_LIMIT_PER_MERCHANT: "20000",
                  RATE_LIMIT_BURST_PER_MERCHANT: "40000",
                  RATE_LIMIT_PER_IP: "20",
                  RATE_LIMIT_BURST_PER_IP: "40",
                  // Every test file's requests share the IP "unknown"; the failure test uses an IP of its own.
                  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "60000",
                  RATE_LIMIT_AUTH_FAILURES_BURST: "100",
                },
              },
            })),
          ],
          test: {
            name: "workers",
            include: ["test/**/*.test.ts"],
            globalSetup: ["./test/global-setup.ts"],
            exclude: ["test/e2e/**"],
            setupFiles: ["./test/setup.ts"],
            // Generous: a slow or busy CI machine must not fail a correct test (waitFor polls allow up to 20 s).
            testTimeout: 30_000,
          },
        },
        {
          plugins: [quietSourcemapWarnings()],
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            environment: "node",
            globalSetup: ["./test/e2e/global-setup.ts"],
            // A browser test's waits allow 90 s each on a loaded machine (test/e2e/dashboard.browser.e2e.test.ts WAIT_MS).
            testTimeout: 240_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
