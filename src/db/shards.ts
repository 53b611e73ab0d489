// Sharding the read model by merchant (docs/scaling.md). The `DB` binding is the directory: it keeps
// the tables read before a merchant is known or shared by all merchants (DIRECTORY_TABLES). Every
// other table lives on the merchant's shard, named by the `D1_SHARDS` var:
//   {"acct_b": "DB_SHARD_1",
//    "acct_big": {"binding": "DB_BIG", "months": {"2026-11": "DB_BIG_2026_11"}}}
// An unmapped merchant lives on `DB`. Without `D1_SHARDS` every function here answers `DB` (or the
// env itself) without a statement, so a one-database deployment runs exactly as before.
import type { Env } from "../env";

/** Tables that stay on the directory database (`DB`) whatever the shard map says. */
export const DIRECTORY_TABLES = [
  "merchants", // settings, read by every surface and by pages before a merchant's shard is chosen
  "api_keys", // looked up by hash: the merchant is what the lookup finds
  "connector_accounts", // incoming PSP webhooks name an account, not a merchant
  "gateway_numbers", // seed 002/003 gateway numbers of those accounts
  "psp_events", // PSP event ids, deduplicated before the account's merchant is known
  "sandbox_ledger", // the built-in sandbox PSP's own book, not a merchant's data
] as const;

/** The binding name of the directory database. */
export const DIRECTORY_BINDING = "DB";

/** D1_SHARDS read: each merchant's entry is one binding, or a home binding with month bindings (big merchants). */
export interface ShardMap {
  merchants: Map<string, { binding: string; months: Map<string, string> }>;
  /** Every binding the map names, `DB` first, each once. */
  bindings: string[];
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const BINDING = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Reads D1_SHARDS (JSON). Throws a configuration error naming what is wrong. */
export function parseShardMap(text: string | undefined): ShardMap | null {
  if (text === undefined || text.trim() === "") return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error("Configuration D1_SHARDS: not JSON (expected {\"acct_...\": \"DB_SHARD_1\", ...})");
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error("Configuration D1_SHARDS: expected an object of merchant id to binding");
  const merchants: ShardMap["merchants"] = new Map();
  const bindings = [DIRECTORY_BINDING];
  const name = (value: unknown, where: string): string => {
    if (typeof value !== "string" || !BINDING.test(value)) throw new Error(`Configuration D1_SHARDS: ${where} must name a D1 binding (A-Z, 0-9, _)`);
    if (!bindings.includes(value)) bindings.push(value);
    return value;
  };
  for (const [merchantId, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof entry === "string") {
      merchants.set(merchantId, { binding: name(entry, merchantId), months: new Map() });
      continue;
    }
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) throw new Error(`Configuration D1_SHARDS: ${merchantId} must be a binding name or {"binding", "months"}`);
    const { binding, months, ...rest } = entry as { binding?: unknown; months?: unknown };
    if (Object.keys(rest).length > 0) throw new Error(`Configuration D1_SHARDS: ${merchantId} has unknown fields ${Object.keys(rest).join(", ")}`);
    const home = name(binding, `${merchantId}.binding`);
    const byMonth = new Map<string, string>();
    if (months !== undefined) {
      if (months === null || typeof months !== "object" || Array.isArray(months)) throw new Error(`Configuration D1_SHARDS: ${merchantId}.months must map YYYY-MM to a binding`);
      for (const [month, b] of Object.entries(months as Record<string, unknown>)) {
        if (!MONTH.test(month)) throw new Error(`Configuration D1_SHARDS: ${merchantId}.months key '${month}' is not YYYY-MM`);
        byMonth.set(month, name(b, `${merchantId}.months.${month}`));
      }
    }
    merchants.set(merchantId, { binding: home, months: byMonth });
  }
  return { merchants, bindings };
}

const parsed = new WeakMap<object, ShardMap | null>();

/** The validated shard map of this env (null without D1_SHARDS); every binding it names must be a D1 database. */
export function shardMap(env: Env): ShardMap | null {
  const base = baseOf(env);
  if (base.D1_SHARDS === undefined) return null;
  if (parsed.has(base)) return parsed.get(base) ?? null;
  const map = parseShardMap(base.D1_SHARDS);
  for (const b of map?.bindings ?? []) d1Binding(base, b);
  parsed.set(base, map);
  return map;
}

function d1Binding(env: Env, binding: string): D1Database {
  const value: unknown = (env as unknown as Record<string, unknown>)[binding];
  if (value === null || typeof value !== "object" || typeof (value as D1Database).prepare !== "function" || typeof (value as D1Database).batch !== "function") {
    throw new Error(`Configuration D1_SHARDS: the binding ${binding} is not a D1 database (add it under [[d1_databases]])`);
  }
  return value as D1Database;
}

/** "2026-11" for a time in November 2026 (UTC). */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/**
 * The binding that holds a merchant's rows. `createdMs` picks a month binding of a merchant split by
 * month (the object's creation month; rows never move when they change later); without it, or for a
 * month the map does not name, the merchant's home binding.
 */
export function shardBinding(env: Env, merchantId: string, createdMs?: number): string {
  const entry = shardMap(env)?.merchants.get(merchantId);
  if (!entry) return DIRECTORY_BINDING;
  if (createdMs !== undefined && entry.months.size > 0) return entry.months.get(monthOf(createdMs)) ?? entry.binding;
  return entry.binding;
}

/** Every binding that holds one month of a merchant's rows, home first (what a read of that merchant fans out over). */
export function merchantBindings(env: Env, merchantId: string): string[] {
  const entry = shardMap(env)?.merchants.get(merchantId);
  if (!entry) return [DIRECTORY_BINDING];
  return [entry.binding, ...[...new Set(entry.months.values())].filter((b) => b !== entry.binding)];
}

/** The D1 database of a merchant's rows (see shardBinding). */
export function shardFor(env: Env, merchantId: string, createdMs?: number): D1Database {
  const base = baseOf(env);
  const binding = shardBinding(base, merchantId, createdMs);
  return binding === DIRECTORY_BINDING ? base.DB : d1Binding(base, binding);
}

// ---- envs whose DB is a shard --------------------------------------------------------------------

/** Queue messages sent from a shard's env carry the binding, so their consumer reads the same shard. */
export interface ShardStamp {
  shard?: string;
}

const baseEnvs = new WeakMap<object, Env>();
const derived = new WeakMap<object, Map<string, Env>>();

function baseOf(env: Env): Env {
  return baseEnvs.get(env) ?? env;
}

/** The directory database, whatever shard `env` was narrowed to. */
export function directoryDb(env: Env): D1Database {
  return baseOf(env).DB;
}

function stamped<T>(queue: Queue<T>, shard: string): Queue<T> {
  const stamp = (body: T): T => (body !== null && typeof body === "object" ? { ...body, shard } : body);
  return {
    metrics: () => queue.metrics(),
    send: (body, options) => queue.send(stamp(body), options),
    sendBatch: (messages, options) => queue.sendBatch([...messages].map((m) => ({ ...m, body: stamp(m.body) })), options),
  };
}

/**
 * `env` with `DB` bound to the shard `binding` (the same env for `DB`). Webhook messages sent
 * through it are stamped with the binding. One object per (env, binding), so config() stays cached.
 */
export function shardEnv(env: Env, binding: string): Env {
  const base = baseOf(env);
  if (binding === DIRECTORY_BINDING) return base;
  if (!shardMap(base)?.bindings.includes(binding)) throw new Error(`shard ${binding} is not named by D1_SHARDS`);
  let byBinding = derived.get(base);
  if (!byBinding) derived.set(base, (byBinding = new Map()));
  const hit = byBinding.get(binding);
  if (hit) return hit;
  const narrowed: Env = { ...base, DB: d1Binding(base, binding), WEBHOOK_QUEUE: stamped(base.WEBHOOK_QUEUE, binding), WEBHOOK_DLQ: stamped(base.WEBHOOK_DLQ, binding) };
  baseEnvs.set(narrowed, base);
  byBinding.set(binding, narrowed);
  return narrowed;
}

/**
 * `env` with every database it reaches seen through `wrap` (a counting or recording wrapper): its own
 * and the directory. Other shards, which a merchant's work never reaches, stay as they are.
 */
export function wrapDb(env: Env, wrap: (d1: D1Database) => D1Database): Env {
  const base = baseOf(env);
  const wrappedBase: Env = { ...base, DB: wrap(base.DB) };
  if (env === base) return wrappedBase;
  const narrowed: Env = { ...env, DB: wrap(env.DB) };
  baseEnvs.set(narrowed, wrappedBase);
  return narrowed;
}

/** The env of one merchant's requests, messages and sweeps: its DB is the merchant's home shard. */
export function merchantEnv(env: Env, merchantId: string): Env {
  const base = baseOf(env);
  if (base.D1_SHARDS === undefined) return base;
  return shardEnv(base, shardBinding(base, merchantId));
}

/** The env a queue message was sent from (its stamp), or the base env for an unstamped one. */
export function envOfMessage(env: Env, body: unknown): Env {
  const shard = body !== null && typeof body === "object" ? (body as ShardStamp).shard : undefined;
  return typeof shard === "string" ? shardEnv(env, shard) : baseOf(env);
}

/** One env per database (directory first): what sweeps and cross-merchant reads iterate. */
export function everyShard(env: Env): Env[] {
  const base = baseOf(env);
  const map = shardMap(base);
  return map ? map.bindings.map((b) => shardEnv(base, b)) : [base];
}

// ---- cross-merchant reads ------------------------------------------------------------------------

export interface Ordered {
  created: number;
  id: string;
}

/** Newest first: created descending, then id descending (the order of every list's cursor). */
export function newestFirst(a: Ordered, b: Ordered): number {
  return b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * One page across databases: `page(db, n)` answers a database's first n rows newest first, after the
 * caller's cursor; the merge keeps the newest `limit` and says whether more follow. Every database is
 * asked for limit + 1, so the next cursor (the last row's (created, id)) is exact: a row of any
 * database newer than it is on this page.
 */
export async function mergedPage<T extends Ordered>(dbs: D1Database[], limit: number, page: (d1: D1Database, n: number) => Promise<T[]>): Promise<{ rows: T[]; hasMore: boolean }> {
  const all = (await Promise.all(dbs.map((d1) => page(d1, limit + 1)))).flat().sort(newestFirst);
  return { rows: all.slice(0, limit), hasMore: all.length > limit };
}

/**
 * A lookup by an id whose merchant is unknown (the hosted checkout page, a PSP's event for an intent):
 * every database is asked at once, so the answer takes one round trip however many databases there
 * are (one after the other, a page on the 40th of 50 would wait 40), and the first database in the
 * map's order that has it answers (the directory first).
 */
export async function findOnShards<T>(env: Env, find: (d1: D1Database) => Promise<T | null | undefined>): Promise<T | null> {
  const answers = await Promise.all(everyShard(env).map((shard) => find(shard.DB)));
  for (const found of answers) if (found !== null && found !== undefined) return found;
  return null;
}
