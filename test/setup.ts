// Runs before each test file inside workerd: applies the D1 migrations and seeds the demo merchants.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { seedMerchant } from "./helpers";
import demo from "../scripts/demo-merchants.json";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
for (const m of demo.merchants) await seedMerchant(m.id, m.name, m.key.id, m.key.secret, m.key.livemode);
