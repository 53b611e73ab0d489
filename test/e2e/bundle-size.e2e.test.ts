// Safe, small deploys: wrangler.toml minifies, and scripts/bundle-size.mjs (run by .ci/run) fails
// a bundle over 1 MiB gzip after `wrangler deploy --dry-run --outdir`, printing the size.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { LIMIT_BYTES, measure, verdict } from "../../scripts/bundle-size.mjs";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
type Size = { raw: number; gzip: number };
const measureDir = measure as (dir: string) => Size;
const judge = verdict as (size: Size, limit?: number) => { ok: boolean; line: string };

describe("bundle size", () => {
  it("wrangler.toml minifies the deployed bundle and CI checks its size", () => {
    expect(readFileSync(path.join(ROOT, "wrangler.toml"), "utf8")).toMatch(/^minify = true$/m);
    expect(readFileSync(path.join(ROOT, ".ci", "run"), "utf8")).toContain("scripts/bundle-size.mjs");
    expect(LIMIT_BYTES).toBe(1024 * 1024);
  });

  it("measures the uploaded modules gzipped (not source maps) and refuses more than the limit", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "bundle-size-test-"));
    try {
      // Random bytes do not compress: 1.1 MiB of them is over 1 MiB gzip.
      writeFileSync(path.join(dir, "index.js"), randomBytes(1.1 * 1024 * 1024));
      writeFileSync(path.join(dir, "index.js.map"), randomBytes(4 * 1024 * 1024));
      const size = measureDir(dir);
      expect(size.raw).toBe(Math.floor(1.1 * 1024 * 1024));
      expect(judge(size)).toMatchObject({ ok: false });
      expect(judge(size).line).toMatch(/gzip.*TOO LARGE/);
      writeFileSync(path.join(dir, "index.js"), "x".repeat(2 * 1024 * 1024));
      expect(judge(measureDir(dir)).ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the real bundle is under 1 MiB gzip (wrangler deploy --dry-run), and a lower limit fails the script", () => {
    const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
    const ok = spawnSync(process.execPath, [path.join(ROOT, "scripts", "bundle-size.mjs")], { cwd: ROOT, encoding: "utf8", env });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/bundle: [\d.]+ KiB raw, [\d.]+ KiB gzip/);
    const tight = spawnSync(process.execPath, [path.join(ROOT, "scripts", "bundle-size.mjs"), "--limit-kib", "100"], { cwd: ROOT, encoding: "utf8", env });
    expect(tight.status).toBe(1);
    expect(tight.stdout).toContain("TOO LARGE");
  });
});
