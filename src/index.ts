// Worker entry: the HTTP app, and the Durable Object classes the runtime instantiates.
import { buildApp } from "./app";
import type { Env } from "./env";

export { PaymentIntentObject } from "./intents/object";

const app = buildApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
