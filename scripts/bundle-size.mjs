#!/usr/bin/env node
// The deployable bundle's size: `wrangler deploy --dry-run --outdir` (minified, as wrangler.toml
// says), then the gzip size of every module it would upload. Prints the size and exits 1 over the
// limit (1 MiB gzip by default; `--limit-kib N`). `.ci/run` runs it before the tests.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

export const LIMIT_BYTES = 1024 * 1024;

/** Raw and gzip bytes of the modules in a wrangler --outdir (source maps and the README are not uploaded). */
export function measure(dir) {
  let raw = 0;
  let gzip = 0;
  for (const name of readdirSync(dir)) {
    if (name.endsWith(".map") || name === "README.md") continue;
    const content = readFileSync(path.join(dir, name));
    raw += content.length;
    gzip += gzipSync(content, { level: 9 }).length;
  }
  return { raw, gzip };
}

/** One line saying the size, and whether it fits. */
export function verdict(size, limit = LIMIT_BYTES) {
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const ok = size.gzip <= limit;
  return { ok, line: `bundle: ${kib(size.raw)} raw, ${kib(size.gzip)} gzip (limit ${kib(limit)} gzip)${ok ? "" : ": TOO LARGE"}` };
}

function main() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const at = process.argv.indexOf("--limit-kib");
  const limit = at > 0 ? Number(process.argv[at + 1]) * 1024 : LIMIT_BYTES;
  const out = mkdtempSync(path.join(os.tmpdir(), "gateway-bundle-"));
  try {
    const run = spawnSync(path.join(root, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", out], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
    });
    if (run.status !== 0) {
      process.stderr.write(`${run.stdout}\n${run.stderr}\nwrangler deploy --dry-run failed\n`);
      return 1;
    }
    const { ok, line } = verdict(measure(out), limit);
    console.log(line);
    return ok ? 0 : 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exit(main());
