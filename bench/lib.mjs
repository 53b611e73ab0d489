// Small helpers the scale benchmark (bench/scale.mjs) needs to run `wrangler dev` on its own: free
// loopback ports, servers in their own process groups (stopped by group), a temporary state dir
// removed on exit, and percentiles.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const baseEnv = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const liveGroups = new Set();
let tmpRoot = null;

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

export async function stopGroup(pgid) {
  if (!liveGroups.has(pgid)) return;
  killGroup(pgid, "SIGTERM");
  const deadline = Date.now() + 5000;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(pgid)) killGroup(pgid, "SIGKILL");
  const hard = Date.now() + 3000;
  while (groupAlive(pgid) && Date.now() < hard) await sleep(50);
  liveGroups.delete(pgid);
}

/** A fresh temporary directory, removed when the process exits (and the servers stopped). */
export function tempDir(prefix) {
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), prefix));
  return tmpRoot;
}

let handlersInstalled = false;
export function installExitHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const cleanup = () => {
    for (const pgid of liveGroups) {
      killGroup(pgid, "SIGTERM");
      killGroup(pgid, "SIGKILL");
    }
    liveGroups.clear();
    if (tmpRoot && !process.env.BENCH_SCALE_KEEP) rmSync(tmpRoot, { recursive: true, force: true });
  };
  process.on("exit", cleanup);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, stopping servers`);
      cleanup();
      process.exit(130);
    });
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a command in its own process group and polls `readyPath` until it answers over HTTP. */
export async function startServer({ name, command, args, env, port, readyPath, readyHeaders, timeoutMs = 120_000, cwd = root }) {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const pgid = child.pid;
  liveGroups.add(pgid);
  let output = "";
  const keep = (chunk) => {
    output += chunk.toString();
    if (output.length > 64_000) output = output.slice(-32_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  const started = Date.now();
  for (;;) {
    if (exited) {
      await stopGroup(pgid);
      throw new Error(`${name} exited before it was ready (${JSON.stringify(exited)}):\n${output.slice(-4000)}`);
    }
    if (Date.now() - started > timeoutMs) {
      await stopGroup(pgid);
      throw new Error(`${name} not ready after ${timeoutMs / 1000} s:\n${output.slice(-4000)}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}${readyPath}`, { headers: readyHeaders, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      break;
    } catch {
      await sleep(250);
    }
  }
  return { name, pgid, port, origin: `http://127.0.0.1:${port}`, readyMs: Date.now() - started, output: () => output };
}

/** The q-th percentile (0..100) of ascending `sorted`, nearest rank. */
export function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[rank];
}
