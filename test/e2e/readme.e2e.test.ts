// The README as a newcomer uses it: the curl walk-through runs as written against the gateway on
// $PORT (its cancel step cancels an intent that can be canceled); the deploy section is one
// copy-paste sequence, walked through here with stand-ins for wrangler, npm and curl that record
// what it would run; headings name the surfaces by what they are.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";

const gateway = new URL(inject("gatewayUrl"));
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const README = readFileSync(path.join(ROOT, "README.md"), "utf8");

function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  expect(start, heading).toBeGreaterThan(0);
  const end = README.indexOf("\n## ", start + 4);
  return README.slice(start, end < 0 ? undefined : end);
}
const shBlocks = (text: string) => [...text.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");

describe("README", () => {
  it("the curl walk-through runs as written on $PORT, and its cancel step cancels", () => {
    const block = shBlocks(section("A payment with curl"))[0] ?? "";
    expect(block).toContain("PORT=${PORT:-8787}");
    expect(block.replace("${PORT:-8787}", "")).not.toContain("8787");
    const run = spawnSync("bash", ["-c", `set -e\n${block}`], { cwd: ROOT, encoding: "utf8", env: { ...process.env, PORT: gateway.port }, timeout: 60_000 });
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).not.toMatch(/"error"\s*:/);
    expect(run.stdout).toMatch(/"amount_received"\s*:\s*2000/);
    expect(run.stdout).toMatch(/"object"\s*:\s*"refund"/);
    // The last answer is the cancel's.
    const last = run.stdout.slice(run.stdout.lastIndexOf('{"id":"pi_'));
    expect(last).toMatch(/"status"\s*:\s*"canceled"/);
  });

  it("the deploy section is one sequence: database, migrations, queues, deploy, every secret, first merchant, first key", () => {
    const blocks = shBlocks(section("Deploying to Cloudflare"));
    expect(blocks).toHaveLength(1);
    const dir = mkdtempSync(path.join(os.tmpdir(), "readme-deploy-"));
    try {
      copyFileSync(path.join(ROOT, "wrangler.toml"), path.join(dir, "wrangler.toml"));
      const calls = path.join(dir, "calls.log");
      const bin = path.join(dir, "bin");
      spawnSync("mkdir", [bin]);
      const shim = (name: string, body: string) => {
        writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
        chmodSync(path.join(bin, name), 0o755);
      };
      // wrangler through npx: records each call (and a secret's value from stdin); d1 create prints an id, deploy a URL.
      shim(
        "npx",
        `if [ "$3" = "put" ]; then v=$(cat); echo "$* <<$v" >> ${calls}; else echo "$*" >> ${calls}; fi
case "$2 $3" in "d1 create") echo 'database_id = "0f0e0d0c-1111-2222-3333-444455556666"';; esac
case "$2" in deploy) echo "Deployed edge-payment-gateway https://edge-payment-gateway.example.workers.dev";; esac
exit 0`,
      );
      // npm records the credential the CLI would read from the environment, beside its arguments.
      shim("npm", `echo "npm $* [GATEWAY_JWT_SECRET=$GATEWAY_JWT_SECRET GATEWAY_API_KEY=$GATEWAY_API_KEY]" >> ${calls}`);
      shim("curl", `echo "curl $*" >> ${calls}; echo '{"ok":true}'`);
      const run = spawnSync("bash", ["-c", `set -e\n${blocks[0]}`], { cwd: dir, encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 60_000 });
      expect(run.status, run.stderr).toBe(0);
      const log = readFileSync(calls, "utf8").trim().split("\n");
      const at = (re: RegExp) => log.findIndex((l) => re.test(l));
      const order = [/^wrangler login/, /^wrangler d1 create gateway/, /^wrangler d1 migrations apply DB --remote/, /^wrangler queues create gateway-reconcile/, /^wrangler deploy/, /^wrangler secret put JWT_SECRET/, /^curl .*\/healthz/, /^npm run -s cli -- merchants create/, /^npm run -s cli -- keys create/];
      const positions = order.map(at);
      expect(positions.every((p) => p >= 0), log.join("\n")).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      // Every queue wrangler.toml names (as a producer, consumer or dead-letter queue) is created before the deploy.
      const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
      const queues = new Set([...toml.matchAll(/^\s*(?:queue|dead_letter_queue)\s*=\s*"([^"]+)"/gm)].map((m) => m[1] ?? ""));
      expect([...queues]).toEqual(expect.arrayContaining(["gateway-events", "gateway-events-dlq", "gateway-webhooks", "gateway-webhooks-dlq", "gateway-reconcile", "gateway-sweeps"]));
      for (const q of queues) {
        expect(log).toContain(`wrangler queues create ${q}`);
        expect(at(new RegExp(`^wrangler queues create ${q}$`)), q).toBeLessThan(at(/^wrangler deploy/));
      }
      const secrets = new Map(log.filter((l) => l.includes("secret put")).map((l) => [/secret put (\w+)/.exec(l)?.[1] ?? "", l.split("<<")[1] ?? ""]));
      expect([...secrets.keys()].sort()).toEqual(["ENCRYPTION_KEY", "FINGERPRINT_KEY", "JWT_SECRET", "SANDBOX_WEBHOOK_SECRET"]);
      for (const v of secrets.values()) expect(v.length).toBeGreaterThanOrEqual(40);
      expect(new Set(secrets.values()).size).toBe(4);
      // The first merchant is made on the deployed URL with the very JWT_SECRET the Worker got.
      const merchant = log[at(/merchants create/)] ?? "";
      expect(merchant).toContain("--api-base https://edge-payment-gateway.example.workers.dev");
      // From the environment, never on the command line (where ps and the shell history show it).
      expect(merchant).toContain(`[GATEWAY_JWT_SECRET=${secrets.get("JWT_SECRET")} `);
      expect(merchant).not.toContain(`--jwt-secret`);
      expect(readFileSync(path.join(dir, "wrangler.toml"), "utf8")).toContain('database_id = "0f0e0d0c-1111-2222-3333-444455556666"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("its commands use $PORT (default 8787), never a fixed port", () => {
    const commands = shBlocks(README)
      .flatMap((b) => b.split("\n"))
      .filter((l) => !l.trimStart().startsWith("#"))
      .map((l) => l.replace(/\s#.*$/, "").replaceAll("${PORT:-8787}", ""));
    expect(commands.filter((l) => l.includes("127.0.0.1:8787"))).toEqual([]);
  });

  it("names the surfaces by what they are in its headings", () => {
    const headings = README.split("\n").filter((l) => l.startsWith("#"));
    expect(headings.filter((h) => /seed \d/i.test(h))).toEqual([]);
    expect(README).toContain("/docs");
    expect(README).toContain("/dashboard");
  });

  it("shows the docs and the dashboard in screenshots that exist", () => {
    const images = [...README.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1] ?? "");
    expect(images).toEqual(expect.arrayContaining(["docs/api-reference.png", "docs/dashboard-payment.png"]));
    for (const image of images) expect(readFileSync(path.join(ROOT, image)).subarray(1, 4).toString(), image).toBe("PNG");
  });
});
