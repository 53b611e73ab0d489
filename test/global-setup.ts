// Runs in Node before the workers project: starts the loopback webhook receiver and hands its port
// to the tests (they read it as env.RECEIVER_URL).
import type { Server } from "node:http";
import type { TestProject } from "vitest/node";
import { startReceiver } from "./receiver";

declare module "vitest" {
  export interface ProvidedContext {
    receiverPort: number;
  }
}

let server: Server | undefined;

export async function setup(project: TestProject): Promise<void> {
  const started = await startReceiver();
  server = started.server;
  project.provide("receiverPort", started.port);
}

export async function teardown(): Promise<void> {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
