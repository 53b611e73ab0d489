// Runs before each test file inside workerd: applies the D1 migrations and seeds the demo merchants.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { seedMerchant } from "./helpers";
import demo from "../scripts/demo-merchants.json";

// Every database of the read model gets the same schema (src/db/shards.ts; DB is also the directory).
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.DB_SHARD_1, env.TEST_MIGRATIONS);
for (const m of demo.merchants) await seedMerchant(m.id, m.name, m.key.id, m.key.secret, m.key.livemode);
