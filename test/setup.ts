// Runs before each test file inside workerd: applies the D1 migrations and seeds the demo merchants.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { seedMerchant } from "./helpers";
import demo from "../scripts/demo-merchants.json";

// Every database of the read model gets the same schema (src/db/shards.ts; DB is also the directory).
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.DB_SHARD_1, env.TEST_MIGRATIONS);
// Each database numbers intents (seeds 000 and 003) from a range of its own: the shard from 10^12.
// A row at the range's start, deleted at once, moves the AUTOINCREMENT sequence there.
await env.DB_SHARD_1.batch([
  env.DB_SHARD_1.prepare("INSERT OR IGNORE INTO intent_numbers (number, intent_id, merchant_id, livemode, created) VALUES (1000000000000, 'range_start', 'range_start', 0, 0)"),
  env.DB_SHARD_1.prepare("DELETE FROM intent_numbers WHERE intent_id = 'range_start'"),
]);
for (const m of demo.merchants) await seedMerchant(m.id, m.name, m.key.id, m.key.secret, m.key.livemode);
