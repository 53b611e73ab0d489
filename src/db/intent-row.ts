// An intent's row in the read model stores each field once. The fields that have a column of their
// own (for indexes, filters, cursors, and the lists that render without the record) live only in that
// column; `data` holds the rest of the record (IntentRecord) as JSON. Reads select the columns with
// `data` and put the record back together. Rows written before a split still carry those fields in
// `data`: the columns win where they are set, and such a row shrinks on its intent's next write.
//
// Seed 000's lists (up to 1,000 intents a page) read an intent's summary instead: columns only, no
// `data` to fetch and parse (issue 15). The summary's milestones (authorized, captured, failed) are
// derived from the record's attempts when the row is written.
import { paymentMilestones } from "../core/intent";
import { withIcligoFields } from "../core/icligo-fields";
import type { IntentRecord, IntentStatus, PaymentError } from "../core/types";
import { paymentIntents } from "./schema";

/** The record's fields kept in columns since migration 0019, not in `data`. */
export const INTENT_FIELDS_IN_COLUMNS_0019 = [
  "id", "merchantId", "livemode", "version", "created", "updated", "status", "amount", "currency", "amountRefunded", "customer", "orderId", "locationId", "reconciledAt",
] as const satisfies readonly (keyof IntentRecord)[];

/**
 * Those moved to columns by migration 0023, for the summary. A writer from before it (an older row, or
 * an older version of the code still running during a deployment) keeps them in `data` and leaves the
 * columns alone: `data` then has them, and `summary_version` is not the row's version.
 */
export const INTENT_FIELDS_IN_COLUMNS_0023 = [
  "invoiceId", "clientSecret", "description", "gatewayAccount", "connectorAccount", "lastPaymentError",
] as const satisfies readonly (keyof IntentRecord)[];

/** The record's fields kept in columns, not in `data`. */
export const INTENT_FIELDS_IN_COLUMNS = [...INTENT_FIELDS_IN_COLUMNS_0019, ...INTENT_FIELDS_IN_COLUMNS_0023] as const;

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
  invoiceId: paymentIntents.invoiceId,
  clientSecret: paymentIntents.clientSecret,
  description: paymentIntents.description,
  gatewayAccount: paymentIntents.gatewayAccount,
  connectorAccount: paymentIntents.connectorAccount,
  lastPaymentError: paymentIntents.lastPaymentError,
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
  /** Null in a row written before migration 0023 (its `data` has the fields below). */
  clientSecret: string | null;
  invoiceId: string | null;
  description: string | null;
  gatewayAccount: string | null;
  connectorAccount: string | null;
  /** JSON. */
  lastPaymentError: string | null;
}

/** The `data` of an intent's row: its record without the fields that have columns. */
export function intentData(intent: IntentRecord): string {
  // The names of INTENT_FIELDS_IN_COLUMNS (the test of this file checks that they are all left out).
  const {
    id, merchantId, livemode, version, created, updated, status, amount, currency, amountRefunded, customer, orderId, locationId, reconciledAt,
    invoiceId, clientSecret, description, gatewayAccount, connectorAccount, lastPaymentError,
    ...rest
  } = intent;
  return JSON.stringify(rest);
}

/** The values of the columns of migration 0023 for this record (and the summary's milestones). */
export function intentSummaryColumns(intent: IntentRecord): {
  invoiceId: string | null;
  clientSecret: string;
  description: string | null;
  gatewayAccount: string | null;
  connectorAccount: string | null;
  lastPaymentError: string | null;
  chargeAuthorizedAt: number | null;
  chargeCapturedAt: number | null;
  failedAt: number | null;
  summaryVersion: number;
} {
  const times = paymentMilestones(intent);
  return {
    invoiceId: intent.invoiceId,
    clientSecret: intent.clientSecret,
    description: intent.description,
    gatewayAccount: intent.gatewayAccount ?? null,
    connectorAccount: intent.connectorAccount,
    lastPaymentError: intent.lastPaymentError ? JSON.stringify(intent.lastPaymentError) : null,
    chargeAuthorizedAt: times.authorizedAt,
    chargeCapturedAt: times.capturedAt,
    failedAt: times.failedAt,
    summaryVersion: intent.version,
  };
}

/**
 * The record of a row: `data` with the columns put back (they win over a field an older row kept in
 * `data`); a seed 003 payment's own fields taken from its metadata when its row is older than them.
 */
export function intentFromRow(row: IntentRow): IntentRecord {
  return withIcligoFields(recordOfRow(row));
}

function recordOfRow(row: IntentRow): IntentRecord {
  const rest = JSON.parse(row.data) as Omit<IntentRecord, ColumnField> & Partial<Pick<IntentRecord, ColumnField>>;
  // A row written since migration 0023 has these in columns; one written by older code in `data`.
  const fromData = Object.hasOwn(rest, "clientSecret") || row.clientSecret === null;
  const gatewayAccount = fromData ? rest.gatewayAccount : row.gatewayAccount;
  const moved: Pick<IntentRecord, Exclude<(typeof INTENT_FIELDS_IN_COLUMNS_0023)[number], "gatewayAccount">> = fromData
    ? {
        invoiceId: rest.invoiceId ?? null,
        clientSecret: rest.clientSecret ?? "",
        description: rest.description ?? null,
        connectorAccount: rest.connectorAccount ?? null,
        lastPaymentError: rest.lastPaymentError ?? null,
      }
    : {
        invoiceId: row.invoiceId,
        clientSecret: row.clientSecret ?? "",
        description: row.description,
        connectorAccount: row.connectorAccount,
        lastPaymentError: row.lastPaymentError === null ? null : (JSON.parse(row.lastPaymentError) as PaymentError),
      };
  return {
    ...rest,
    ...moved,
    // Optional in the record: absent when not set.
    ...(gatewayAccount == null ? {} : { gatewayAccount }),
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

/** What a list of seed 000 shows of an intent: read from columns alone, or taken from a record. */
export interface IntentSummary {
  id: string;
  created: number;
  status: IntentStatus;
  amount: number;
  currency: string;
  customer: string | null;
  orderId: string | null;
  invoiceId: string | null;
  clientSecret: string;
  description: string | null;
  gatewayAccount: string | null;
  connectorAccount: string | null;
  lastPaymentError: PaymentError | null;
  authorizedAt: number | null;
  capturedAt: number | null;
  failedAt: number | null;
}

export function summaryOf(intent: IntentRecord): IntentSummary {
  const times = paymentMilestones(intent);
  return {
    id: intent.id,
    created: intent.created,
    status: intent.status,
    amount: intent.amount,
    currency: intent.currency,
    customer: intent.customer,
    orderId: intent.orderId,
    invoiceId: intent.invoiceId,
    clientSecret: intent.clientSecret,
    description: intent.description,
    gatewayAccount: intent.gatewayAccount ?? null,
    connectorAccount: intent.connectorAccount,
    lastPaymentError: intent.lastPaymentError,
    ...times,
  };
}

/**
 * The columns of a summary, in the order `intentSummarySql` selects them. Lists of up to 1,000 read them
 * with `.raw()` (arrays, not objects: a list answers tens of thousands of values).
 */
const SUMMARY_COLUMNS = [
  paymentIntents.id, paymentIntents.created, paymentIntents.status, paymentIntents.amount, paymentIntents.currency, paymentIntents.customer,
  paymentIntents.orderId, paymentIntents.invoiceId, paymentIntents.clientSecret, paymentIntents.description, paymentIntents.gatewayAccount,
  paymentIntents.connectorAccount, paymentIntents.lastPaymentError, paymentIntents.chargeAuthorizedAt, paymentIntents.chargeCapturedAt, paymentIntents.failedAt,
] as const;

/**
 * A summary's columns for hand-written SQL over `payment_intents` aliased `alias`, then whether they
 * are the row's current version's (1) or were left by an older writer (0): 17 values.
 */
export function intentSummarySql(alias: string): string {
  const { summaryVersion, version } = paymentIntents;
  return [...SUMMARY_COLUMNS.map((column) => `${alias}.${column.name}`), `${alias}.${summaryVersion.name} IS ${alias}.${version.name}`].join(", ");
}

type Cell = string | number | null;
const text = (v: Cell): string | null => (v === null ? null : String(v));
const num = (v: Cell): number | null => (v === null ? null : Number(v));

/**
 * The summary in the 17 values of `intentSummarySql` from `cells[from]` on, or null when the row's summary columns
 * are not its current version's (written before migration 0023, or by older code since): read that
 * one with `intentRow` and take `summaryOf` its record.
 */
export function summaryFromCells(cells: readonly Cell[], from: number): IntentSummary | null {
  const at = (i: number): Cell => cells[from + i] ?? null;
  const clientSecret = text(at(8));
  if (at(16) !== 1 || clientSecret === null) return null;
  const lastPaymentError = text(at(12));
  return {
    id: String(at(0)),
    created: Number(at(1)),
    status: String(at(2)) as IntentStatus,
    amount: Number(at(3)),
    currency: String(at(4)),
    customer: text(at(5)),
    orderId: text(at(6)),
    invoiceId: text(at(7)),
    clientSecret,
    description: text(at(9)),
    gatewayAccount: text(at(10)),
    connectorAccount: text(at(11)),
    lastPaymentError: lastPaymentError === null ? null : (JSON.parse(lastPaymentError) as PaymentError),
    authorizedAt: num(at(13)),
    capturedAt: num(at(14)),
    failedAt: num(at(15)),
  };
}
