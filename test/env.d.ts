import type { D1Migration } from "cloudflare:test";
import type { Env as GatewayEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends GatewayEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** The second read-model database (vitest.config.ts): D1_SHARDS puts test/db/sharding.test.ts's merchant there. */
      DB_SHARD_1: D1Database;
      /** The loopback webhook receiver of test/receiver.ts. */
      RECEIVER_URL: string;
      /** The fakes of test/fakes (also read by the connectors, as their API base). */
      STRIPE_API_BASE: string;
      PAYPAL_API_BASE: string;
      /** The private key (JWK JSON) of the test identity provider whose JWKS the gateway trusts. */
      JWKS_PRIVATE_KEY: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index");
      durableNamespaces: "PaymentIntentObject";
    }
  }
}
