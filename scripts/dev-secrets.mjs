// Development-only secrets shared by `npm run dev` and `npm run token`. A deployment sets its own
// (`wrangler secret put <name>` for each, see README "Deploying to Cloudflare"); these are public and
// are refused by the gateway unless GATEWAY_ENV=development, which only `npm run dev` (and the test
// suite) sets. src/env.ts lists the same values as PUBLIC_DEVELOPMENT_VALUES.
export const DEV_JWT_SECRET = "development-jwt-secret-do-not-deploy";
export const DEV_SECRETS = {
  JWT_SECRET: DEV_JWT_SECRET,
  FINGERPRINT_KEY: "development-fingerprint-key-not-for-live-use",
  ENCRYPTION_KEY: "development-encryption-key-not-for-live-use",
  SANDBOX_WEBHOOK_SECRET: "sandbox_webhook_secret_for_development",
};
