// Runs in Node before the workers project: starts the loopback webhook receiver and the fakes of
// Stripe's and PayPal's APIs, and hands their ports to the tests (env.RECEIVER_URL,
// env.STRIPE_API_BASE, env.PAYPAL_API_BASE).
import type { Server } from "node:http";
import type { TestProject } from "vitest/node";
import { startPayPalFake } from "./fakes/paypal";
import { startStripeFake } from "./fakes/stripe";
import { startReceiver } from "./receiver";

declare module "vitest" {
  export interface ProvidedContext {
    receiverPort: number;
    stripePort: number;
    paypalPort: number;
  }
}

const servers: Server[] = [];

export async function setup(project: TestProject): Promise<void> {
  const receiver = await startReceiver();
  const stripe = await startStripeFake();
  const paypal = await startPayPalFake();
  servers.push(receiver.server, stripe.server, paypal.server);
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
