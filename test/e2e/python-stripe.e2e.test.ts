// End to end with Debian's python3-stripe (5.0.0; `.ci/run` installs it when missing): the same flow
// as stripe-client.e2e.test.ts, run by test/e2e/python_stripe_flow.py against a running `wrangler dev`.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";

describe("the official Python client (python3-stripe) against the gateway", () => {
  it("runs the stripe-node flow unchanged: booleans as True/False, declines, refunds, Stripe-Version, search with OR", () => {
    // Debian's package is for the system's python3 (a pyenv or venv python3 earlier on PATH lacks it).
    const python = ["/usr/bin/python3", "python3"].find((bin) => spawnSync(bin, ["-c", "import stripe"], { encoding: "utf8" }).status === 0);
    expect(python, "python3-stripe is not installed (apt-get install -y python3-stripe)").toBeDefined();
    const script = path.join(import.meta.dirname, "python_stripe_flow.py");
    const run = spawnSync(python ?? "python3", [script], { encoding: "utf8", env: { ...process.env, GATEWAY_URL: inject("gatewayUrl") }, timeout: 120_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("python3-stripe flow: ok");
  });
});
