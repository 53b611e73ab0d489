// An intent's row in the read model stores each field once. The fields that have a column of their
// own (for indexes, filters and cursors) live only in that column; `data` holds the rest of the
// record (IntentRecord) as JSON. Reads select the columns with `data` and put the record back
// together. Rows written before this split still carry every field in `data`: the columns win, and
// such a row shrinks on its intent's next write.
import type { IntentRecord, IntentStatus } from "../core/types";
import { paymentIntents } from "./schema";

/** The record's fields kept in columns, not in `data`. */
export const INTENT_FIELDS_IN_COLUMNS = [
  "id", "merchantId", "livemode", "version", "created", "updated", "status", "amount", "currency", "amountRefunded", "customer", "orderId", "locationId", "reconciledAt",
] as const satisfies readonly (keyof IntentRecord)[];

type ColumnField = (typeof INTENT_FIELDS_IN_COLUMNS)[number];

/** What a read selects to rebuild intents: `db.select(intentRow)`. */
export const intentRow = {
  data: paymentIntents.data,
  id: paymentIntents.id,
  merchantId: paymentIntents.merchantId,
  livemode: paymentIntents.livemode,
  version: paymentIntents.version,
  created: paymentIntents.created,
  updated: paymentIntents.updated,
  status: paymentIntents.status,
  amount: paymentIntents.amount,
  currency: paymentIntents.currency,
  amountRefunded: paymentIntents.amountRefunded,
  customer: paymentIntents.customer,
  orderId: paymentIntents.orderId,
  locationId: paymentIntents.locationId,
  reconciledAt: paymentIntents.reconciledAt,
};

/** The same columns for hand-written SQL over `payment_intents` aliased `alias`, named as `intentRow`'s keys. */
export function intentRowSql(alias: string): string {
  return Object.entries(intentRow)
    .map(([key, column]) => `${alias}.${column.name} AS ${key}`)
    .join(", ");
}

/** A row as selected by `intentRow` (livemode is 0/1 when read by hand-written SQL). */
export interface IntentRow {
  data: string;
  id: string;
  merchantId: string;
  livemode: boolean | number;
  version: number;
  created: number;
  updated: number | null;
  status: string;
  amount: number;
  currency: string;
  amountRefunded: number;
  customer: string | null;
  orderId: string | null;
  locationId: string | null;
  reconciledAt: number | null;
}

/** The `data` of an intent's row: its record without the fields that have columns. */
export function intentData(intent: IntentRecord): string {
  // The names of INTENT_FIELDS_IN_COLUMNS (the test of this file checks that they are all left out).
  const { id, merchantId, livemode, version, created, updated, status, amount, currency, amountRefunded, customer, orderId, locationId, reconciledAt, ...rest } = intent;
  return JSON.stringify(rest);
}

/** The record of a row: `data` with the columns put back (they win over a field an older row kept in `data`). */
export function intentFromRow(row: IntentRow): IntentRecord {
  const rest = JSON.parse(row.data) as Omit<IntentRecord, ColumnField> & Partial<Pick<IntentRecord, ColumnField>>;
  return {
    ...rest,
    id: row.id,
    merchantId: row.merchantId,
    livemode: Boolean(row.livemode),
    version: row.version,
    created: row.created,
    updated: row.updated ?? rest.updated ?? row.created,
    status: row.status as IntentStatus,
    amount: row.amount,
    currency: row.currency,
    amountRefunded: row.amountRefunded,
    customer: row.customer,
    orderId: row.orderId,
    locationId: row.locationId,
    reconciledAt: row.reconciledAt ?? rest.reconciledAt ?? null,
  };
}
