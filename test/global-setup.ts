// Runs in Node before the workers project: starts the loopback webhook receiver and the fakes of
// Stripe's and PayPal's APIs, and hands their ports to the tests (env.RECEIVER_URL,
// env.STRIPE_API_BASE, env.PAYPAL_API_BASE).
import { createServer, type Server } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import type { TestProject } from "vitest/node";
import { startPayPalFake } from "./fakes/paypal";
import { startStripeFake } from "./fakes/stripe";
import { startReceiver } from "./receiver";

declare module "vitest" {
  export interface ProvidedContext {
    receiverPort: number;
    stripePort: number;
    paypalPort: number;
    /** An identity provider's JWKS on loopback, and the private key (JWK JSON) that signs its tokens. */
    jwksPort: number;
    jwksPrivateKey: string;
  }
}

const servers: Server[] = [];

export async function setup(project: TestProject): Promise<void> {
  const receiver = await startReceiver();
  const stripe = await startStripeFake();
  const paypal = await startPayPalFake();
  const idp = await startJwks();
  servers.push(receiver.server, stripe.server, paypal.server, idp.server);
  project.provide("jwksPort", idp.port);
  project.provide("jwksPrivateKey", idp.privateJwk);
  project.provide("receiverPort", receiver.port);
  project.provide("stripePort", stripe.port);
  project.provide("paypalPort", paypal.port);
}

export async function teardown(): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
}

/** A stand-in identity provider: an RS256 key pair whose public half is served as a JWKS. */
async function startJwks(): Promise<{ server: Server; port: number; privateJwk: string }> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "test-key-1", alg: "RS256", use: "sig" }] });
  const server = createServer((req, res) => {
    res.writeHead(req.url === "/.well-known/jwks.json" ? 200 : 404, { "content-type": "application/json" });
    res.end(req.url === "/.well-known/jwks.json" ? jwks : "{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0, privateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid: "test-key-1" }) };
}
