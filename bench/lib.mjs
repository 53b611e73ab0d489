// The helpers both benchmarks (bench/run.mjs and bench/scale.mjs) need to run `wrangler dev` on their
// own: free loopback ports, servers in their own process groups (stopped by group), a temporary state
// dir removed on exit (and on a signal: a first one stops the servers, a second one stops waiting),
// and percentiles.
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
  if (groupAlive(pgid)) {
    killGroup(pgid, "SIGKILL");
    const hard = Date.now() + 3000;
    while (groupAlive(pgid) && Date.now() < hard) await sleep(50);
  }
  liveGroups.delete(pgid);
}

/** Kills every server at once, without waiting (on exit, or after a failure). */
export function killAllSync() {
  for (const pgid of liveGroups) {
    killGroup(pgid, "SIGTERM");
    killGroup(pgid, "SIGKILL");
  }
  liveGroups.clear();
}

/** A fresh temporary directory, removed when the process exits (and the servers stopped). */
export function tempDir(prefix) {
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), prefix));
  return tmpRoot;
}

/** Removes the temporary directory now (BENCH_SCALE_KEEP keeps it). */
export function removeTmp() {
  if (tmpRoot && !process.env.BENCH_SCALE_KEEP) rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = null;
}

let handlersInstalled = false;
/** On exit: kill the servers and remove the temporary directory. On a signal: stop them first. */
export function installExitHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", () => {
    killAllSync();
    removeTmp();
  });
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, async () => {
      if (interrupted) {
        killAllSync(); // second signal: no more waiting
        process.exit(130);
      }
      interrupted = true;
      console.error(`\nbench: ${signal}, stopping servers`);
      await Promise.all([...liveGroups].map(stopGroup));
      removeTmp();
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

/** A server that exited or never answered: the benchmarks exit with their own code for it. */
export class ServerStartError extends Error {}

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
  child.on("error", (err) => (exited = { code: null, signal: null, error: err.message }));
  const started = Date.now();
  for (;;) {
    if (exited) {
      await stopGroup(pgid);
      throw new ServerStartError(`${name} exited before it was ready (${JSON.stringify(exited)}):\n${output.slice(-4000)}`);
    }
    if (Date.now() - started > timeoutMs) {
      await stopGroup(pgid);
      throw new ServerStartError(`${name} not ready after ${timeoutMs / 1000} s:\n${output.slice(-4000)}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}${readyPath}`, { headers: readyHeaders, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      break; // any HTTP answer: wrangler dev is serving
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
