// Development-only secrets shared by `npm run dev` and `npm run token`. A deployment sets its own
// (`wrangler secret put JWT_SECRET`); these are public and must never be deployed.
export const DEV_JWT_SECRET = "development-jwt-secret-do-not-deploy";
