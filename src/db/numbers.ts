// The integers seeds 000 and 003 name payments and payment gateways by. An intent's number comes
// from an AUTOINCREMENT table (never reused): surfaces that need it at once allocate it before the
// creation and hand it to the intent's object; every other intent gets one on its first read-model
// write. Gateway 1 is every merchant's built-in sandbox; connector accounts are numbered as created.
import { and, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { IntentRecord, Scope } from "../core/types";
import { gatewayNumbers, intentNumbers } from "./schema";
import { intentFromRow, intentRowSql, intentSummarySql, summaryFromCells, summaryOf, type IntentRow, type IntentSummary } from "./intent-row";

export const SANDBOX_GATEWAY = 1;
export const SANDBOX_ACCOUNT = "sandbox";

export interface NumberRow {
  number: number;
  intentId: string;
  merchantId: string;
  livemode: boolean;
}

/** The number of the intent `intentId` (allocated now, or the one it already has). */
export async function allocateIntentNumber(d1: D1Database, intentId: string, scope: Scope, now: number): Promise<number> {
  const row = await d1
    .prepare(
      "INSERT INTO intent_numbers (intent_id, merchant_id, livemode, created) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (intent_id) DO UPDATE SET intent_id = excluded.intent_id RETURNING number",
    )
    .bind(intentId, scope.merchantId, scope.livemode ? 1 : 0, now)
    .first<{ number: number }>();
  if (!row) throw new Error("allocating an intent number returned nothing");
  return row.number;
}

export async function intentByNumber(d1: D1Database, number: number): Promise<NumberRow | null> {
  const [row] = await drizzle(d1).select().from(intentNumbers).where(eq(intentNumbers.number, number)).limit(1);
  return row ?? null;
}

export async function numberOfIntent(d1: D1Database, intentId: string): Promise<NumberRow | null> {
  const [row] = await drizzle(d1).select().from(intentNumbers).where(eq(intentNumbers.intentId, intentId)).limit(1);
  return row ?? null;
}

/** The numbers of these intents (those that have one), by intent id. */
export async function numbersOf(d1: D1Database, intents: readonly IntentRecord[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const missing: string[] = [];
  for (const intent of intents) {
    if (intent.number != null) out.set(intent.id, intent.number);
    else missing.push(intent.id);
  }
  for (let i = 0; i < missing.length; i += 90) {
    const rows = await drizzle(d1)
      .select({ number: intentNumbers.number, intentId: intentNumbers.intentId })
      .from(intentNumbers)
      .where(inArray(intentNumbers.intentId, missing.slice(i, i + 90)));
    for (const r of rows) out.set(r.intentId, r.number);
  }
  return out;
}

/**
 * An intent's number, for an intent just created or read through its object: the one it carries, or
 * the read model's, or (if the read-model write has not landed yet) one allocated now.
 */
export async function ensureIntentNumber(d1: D1Database, intent: IntentRecord): Promise<number> {
  if (intent.number != null) return intent.number;
  return allocateIntentNumber(d1, intent.id, intent, intent.created);
}

/** An intent's place in a list in creation order (newest first): its created time, then its id. */
export interface ListPosition {
  created: number;
  id: string;
}

/** The list position of the intent numbered `number`, or null when this database has no such intent. */
export async function listPositionOf(d1: D1Database, number: number): Promise<ListPosition | null> {
  const row = await d1
    .prepare("SELECT p.created AS created, p.id AS id FROM intent_numbers n JOIN payment_intents p ON p.id = n.intent_id WHERE n.number = ?")
    .bind(number)
    .first<{ created: number; id: string }>();
  return row ? { created: Number(row.created), id: String(row.id) } : null;
}

/** The newest intents, with their numbers: of one merchant, or of every merchant (`merchantId` null). */
export async function listNumberedIntents(
  d1: D1Database,
  filter: { merchantId: string | null; livemode: boolean; customer?: string; before?: number; after?: ListPosition },
  limit: number,
): Promise<{ number: number; intent: IntentSummary }[]> {
  const where: string[] = [];
  const binds: (string | number)[] = [];
  if (filter.customer !== undefined) {
    // On the intent's own columns alone (its number row has the same merchant and mode), so a
    // merchant's customer is a range of payment_intents_customer and each number is read from the
    // covering index intent_numbers_intent, without a lookup of its row.
    where.push("p.customer = ?", "p.livemode = ?");
    binds.push(filter.customer, filter.livemode ? 1 : 0);
    if (filter.merchantId !== null) {
      where.push("p.merchant_id = ?");
      binds.push(filter.merchantId);
    }
  } else {
    where.push("n.livemode = ?");
    binds.push(filter.livemode ? 1 : 0);
    if (filter.merchantId !== null) {
      where.push("n.merchant_id = ?");
      binds.push(filter.merchantId);
    }
  }
  if (filter.customer !== undefined && filter.after !== undefined) {
    // A customer's list is in creation order: its next page goes on after the last row's place in it.
    where.push("(p.created, p.id) < (?, ?)");
    binds.push(filter.after.created, filter.after.id);
  } else if (filter.before !== undefined) {
    where.push("n.number < ?");
    binds.push(filter.before);
  }
  // By customer: a range of payment_intents_customer (one merchant) or payment_intents_customer_all
  // (every merchant; its id column since migration 0044), read in order; otherwise the number indexes,
  // newest first. Ties on created in (created, id) order, as the merge across databases (newestFirst)
  // and the cursor.
  const order = "p.created DESC, p.id DESC";
  const sql =
    filter.customer !== undefined
      ? `SELECT n.number AS number, ${intentSummarySql("p")} FROM payment_intents p JOIN intent_numbers n ON n.intent_id = p.id WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ?`
      : `SELECT n.number AS number, ${intentSummarySql("p")} FROM intent_numbers n JOIN payment_intents p ON p.id = n.intent_id WHERE ${where.join(" AND ")} ORDER BY n.number DESC LIMIT ?`;
  const rows = await d1
    .prepare(sql)
    .bind(...binds, limit)
    .raw<(string | number | null)[]>();
  const summaries = rows.map((cells) => summaryFromCells(cells, 1));
  // Rows whose summary columns are not current: their records, read the usual way, in one query
  // whatever their number (the ids travel as one JSON array).
  const older = rows.filter((_, i) => summaries[i] === null).map((cells) => String(cells[1]));
  const records = new Map<string, IntentSummary>();
  if (older.length > 0) {
    const found = await d1
      .prepare(`SELECT ${intentRowSql("p")} FROM payment_intents p WHERE p.id IN (SELECT value FROM json_each(?))`)
      .bind(JSON.stringify(older))
      .all<IntentRow>();
    for (const row of found.results) records.set(row.id, summaryOf(intentFromRow(row)));
  }
  return rows.flatMap((cells, i) => {
    const intent = summaries[i] ?? records.get(String(cells[1]));
    return intent ? [{ number: Number(cells[0]), intent }] : [];
  });
}

/** The gateway number of a connector account ("sandbox": 1). */
export async function gatewayNumberOf(d1: D1Database, accountId: string | null): Promise<number | null> {
  if (accountId === null || accountId === SANDBOX_ACCOUNT) return SANDBOX_GATEWAY;
  const [row] = await drizzle(d1).select({ number: gatewayNumbers.number }).from(gatewayNumbers).where(eq(gatewayNumbers.accountId, accountId)).limit(1);
  return row?.number ?? null;
}

/** The connector account of a gateway number ("sandbox" for 1), or null. */
export async function accountOfGateway(d1: D1Database, number: number): Promise<string | null> {
  if (number === SANDBOX_GATEWAY) return SANDBOX_ACCOUNT;
  const [row] = await drizzle(d1).select({ accountId: gatewayNumbers.accountId }).from(gatewayNumbers).where(and(eq(gatewayNumbers.number, number))).limit(1);
  return row?.accountId ?? null;
}

/** Numbers a new connector account (from its creation; idempotent). */
export function numberGatewayStatement(d1: D1Database, accountId: string, now: number): D1PreparedStatement {
  return d1.prepare("INSERT INTO gateway_numbers (account_id, created) VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING").bind(accountId, now);
}

/** The gateway numbers of these connector accounts, by account id. */
export async function gatewayNumbersOf(d1: D1Database, accountIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < accountIds.length; i += 90) {
    const rows = await drizzle(d1)
      .select({ number: gatewayNumbers.number, accountId: gatewayNumbers.accountId })
      .from(gatewayNumbers)
      .where(inArray(gatewayNumbers.accountId, accountIds.slice(i, i + 90)));
    for (const r of rows) out.set(r.accountId, r.number);
  }
  return out;
}
