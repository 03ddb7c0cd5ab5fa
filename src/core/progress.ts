/**
 * Progress for long data migrations: the `progress(done, total)` reporter and the keyed batch walker
 * that a TypeScript migration receives in its context. The reporter throttles, so a migration may
 * call it once per row without flooding the app's event handler or the terminal.
 */
import { BatchKeyError, BatchOptionsInvalidError, type BatchKeyProblem } from "./errors.js";
import { compareBlobs, describeStoredValue } from "./stored-value.js";
import { quoteIdentifier, resolveBatchKey, type BatchOrigin } from "./batch-key.js";
import type { BatchConnection as Database, BatchOptions, BatchSummary, MigrationContext, MigrationDirection, MigrationEntry } from "./types.js";

/** Rows per batch when {@link BatchOptions.batchSize} is not given. */
export const DEFAULT_BATCH_SIZE = 500;

/** The shortest gap between two progress events, in milliseconds, unless configured. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 100;

/** How far a migration has got, with the rate and the time left derived from it. */
export interface ProgressMeasure {
  readonly done: number;
  /** `null` when the migration did not say. */
  readonly total: number | null;
  /** Since the migration started. */
  readonly elapsedMs: number;
  /** Units (rows, usually) per second so far; `null` before any time has passed. */
  readonly ratePerSecond: number | null;
  /** Estimated time left at the current rate; `null` without a total or a rate. */
  readonly etaMs: number | null;
}

/** Options for {@link createProgressReporter}. */
export interface ProgressReporterOptions {
  /** Default {@link DEFAULT_PROGRESS_INTERVAL_MS}; 0 reports every call. */
  readonly intervalMs?: number;
  /** Receives each report that passes the throttle. */
  readonly report: (measure: ProgressMeasure) => void;
  /** The clock, in milliseconds; default `performance.now`. */
  readonly now?: () => number;
}

/**
 * A throttled `progress(done, total)`: the first call, the call that reaches `total`, and calls at
 * least `intervalMs` apart are reported; the rest are dropped.
 */
export function createProgressReporter(options: ProgressReporterOptions): (done: number, total: number | null) => void {
  const now = options.now ?? (() => performance.now());
  const intervalMs = options.intervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  const started = now();
  let lastReported: number | null = null;
  return (done, total) => {
    const at = now();
    const finished = total !== null && done >= total;
    if (lastReported !== null && !finished && at - lastReported < intervalMs) return;
    lastReported = at;
    const elapsedMs = at - started;
    const ratePerSecond = elapsedMs > 0 ? (done / elapsedMs) * 1000 : null;
    const etaMs = total === null || !ratePerSecond ? null : Math.max(0, ((total - done) / ratePerSecond) * 1000);
    options.report({ done, total, elapsedMs, ratePerSecond, etaMs });
  };
}

/** Builds the context a TypeScript migration receives. */
export function createMigrationContext(db: Database, entry: MigrationEntry, direction: MigrationDirection, progress: (done: number, total: number | null) => void): MigrationContext {
  const origin: BatchOrigin = { version: entry.version, file: entry.file };
  return {
    version: entry.version,
    name: entry.name,
    direction,
    progress,
    forEachBatch: (options, handle) => walkBatches(db, options, handle as (rows: Record<string, unknown>[]) => void, progress, origin),
  };
}

/**
 * Walks `options.table` by its key in batches and reports progress after each. Keyset pagination
 * keeps every batch as cheap as the first (OFFSET would rescan), and rows the handler changes so
 * they no longer match `where` are not skipped or visited twice.
 *
 * The walk is bounded: it covers keys up to the largest matching key when it starts. A handler that
 * moves keys forward (`UPDATE t SET id = id + 1000`) or appends rows past that bound therefore ends
 * the walk instead of feeding it forever; those rows were visited already, or are new, and are not
 * visited (again). Rows added or moved to a key inside the bound, ahead of the walk, are new rows to
 * it and are visited. Keys only ever increase from batch to batch, so no key is handed twice.
 *
 * Every matching row is visited, or it throws {@link BatchKeyError}: before the first batch when the
 * key is not a column of the table (matched case-insensitively, as SQLite does) or a rowid it has, or
 * when a matching row's key is NULL or shared with another row; during the walk when a key turns out
 * repeated or cannot be held exactly in JavaScript. Rows carry the key under the spelling given, and
 * each listed column under its own spelling.
 *
 * @throws BatchKeyError as above; inside a migration's transaction, the whole migration rolls back.
 * @throws BatchOptionsInvalidError when `batchSize` is not a whole number from 1 to 2^53, before
 *   anything is read or written.
 */
export function forEachBatch<Row extends Record<string, unknown>>(
  db: Database,
  options: BatchOptions,
  handle: (rows: Row[]) => void,
  progress: (done: number, total: number | null) => void = () => {},
): BatchSummary {
  return walkBatches(db, options, handle, progress, null);
}

function walkBatches<Row extends Record<string, unknown>>(
  db: Database,
  options: BatchOptions,
  handle: (rows: Row[]) => void,
  progress: (done: number, total: number | null) => void,
  origin: BatchOrigin | null,
): BatchSummary {
  const key = options.key ?? "id";
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || (batchSize as number) < 1) {
    throw new BatchOptionsInvalidError({ option: "batchSize", value: batchSize, version: origin?.version ?? null, file: origin?.file ?? null });
  }
  const resolved = resolveBatchKey(db, options.table, key, origin);
  const fail = (problem: BatchKeyProblem, detail: string, value?: unknown): never => {
    throw new BatchKeyError({ table: options.table, key, problem, detail, value, columns: resolved.columns, version: origin?.version ?? null, file: origin?.file ?? null });
  };
  // The key is selected under the caller's spelling: SQLite names a result column after its declared
  // spelling (or, for rowid, after an INTEGER PRIMARY KEY), so `row[key]` would otherwise be undefined.
  const keyColumn = `${resolved.sql} AS ${quoteIdentifier(key)}`;
  const selected = options.columns
    ? [keyColumn, ...options.columns.filter((column) => column !== key).map((column) => `${quoteIdentifier(column)} AS ${quoteIdentifier(column)}`)].join(", ")
    : `*, ${keyColumn}`;
  const table = quoteIdentifier(options.table);
  const where = options.where ? `(${options.where})` : "1";
  const params = options.params ?? [];

  if (!resolved.isRowid) {
    // Both checked before the first batch, so a refused walk has written nothing: `key > NULL` matches
    // no row, and a key shared across a batch boundary would skip the rows after the first.
    const nulls = Number((db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${resolved.sql} IS NULL AND ${where}`).get(...params) as { n: number | bigint }).n);
    if (nulls > 0) fail("null-key", `${nulls} row${nulls === 1 ? " has" : "s have"} a NULL key`);
    const repeated = db.prepare(`SELECT ${resolved.sql} AS value, count(*) AS n FROM ${table} WHERE ${resolved.sql} IS NOT NULL AND ${where} GROUP BY 1 HAVING count(*) > 1 LIMIT 1`).get(...params) as
      { value: unknown; n: number | bigint } | undefined;
    if (repeated) fail("duplicate-key", `${Number(repeated.n)} rows share the key ${describeStoredValue(repeated.value)}`, repeated.value);
  }

  // Number(): a connection with defaultSafeIntegers(true) returns counts as bigint.
  const total = Number((db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get(...params) as { n: number | bigint }).n);
  // Exact (bigint) so a key beyond 2^53 does not round below the last row. MAX orders as ORDER BY
  // does, collation included, so every row the walk would reach is at or below it.
  // Read as text too: a driver's integers are numbers, which round beyond 2^53.
  const boundRow = db.prepare(`SELECT max(${resolved.sql}) AS bound, typeof(max(${resolved.sql})) AS type, CAST(max(${resolved.sql}) AS TEXT) AS text FROM ${table} WHERE ${where}`).get(...params) as
    { bound: unknown; type: string; text: string | null } | undefined;
  const bound = boundRow === undefined || boundRow.bound === null ? null : boundRow.type === "integer" && boundRow.text !== null ? exactInteger(boundRow.text) : boundRow.bound;
  if (bound === null) return { rows: 0, batches: 0 };
  const first = db.prepare(`SELECT ${selected} FROM ${table} WHERE ${resolved.sql} <= ? AND ${where} ORDER BY ${resolved.sql} LIMIT ?`);
  const next = db.prepare(`SELECT ${selected} FROM ${table} WHERE ${resolved.sql} > ? AND ${resolved.sql} <= ? AND ${where} ORDER BY ${resolved.sql} LIMIT ?`);
  const sharing = resolved.isRowid ? null : db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${resolved.sql} = ? AND ${where}`);
  // Outside a transaction (a `transaction: false` migration) every statement would commit alone;
  // one transaction per batch keeps that cost down while still committing as it goes.
  const ownTransactions = !db.inTransaction;
  let done = 0;
  let batches = 0;
  let last: unknown = undefined;
  // With nothing to walk there is no progress to show, and an event would only be noise in logs.
  if (total > 0) progress(0, total);
  for (;;) {
    const rows = (batches === 0 ? first.all(bound, ...params, batchSize) : next.all(last, bound, ...params, batchSize)) as Row[];
    if (rows.length === 0) break;
    // Read before the handler runs: it may change the row objects it is given.
    for (const row of rows) {
      const value = row[key];
      checkKeyOrder(value, last, fail);
      last = value;
    }
    if (ownTransactions) db.transaction(() => handle(rows))();
    else handle(rows);
    batches++;
    done += rows.length;
    // The handler may have added a row with the last key; the next batch would start past both.
    const shared = sharing ? Number((sharing.get(last, ...params) as { n: number | bigint }).n) : 0;
    if (shared > 1) fail("duplicate-key", `${shared} rows share the key ${describeStoredValue(last)} (added during the walk)`, last);
    // The total was counted before the walk; rows added since (by the handler, or anything else in
    // this transaction) can take `done` past it, and a total below `done` would read as over 100%.
    progress(done, Math.max(total, done));
    // No early exit on a short batch: the handler may have added rows past it, and the walk treats
    // them as it treats rows added during a full batch. The empty query that ends it is one index seek.
  }
  return { rows: done, batches };
}

/** SQLite orders NULL, then numbers, then text, then blobs. */
const storageRank = (value: unknown) => (typeof value === "number" || typeof value === "bigint" ? 1 : typeof value === "string" ? 2 : 3);

/**
 * Keyset pagination holds only if each key follows the one before it. Text is compared by identity
 * alone, since the column's collation (NOCASE, RTRIM…) is SQLite's to apply.
 */
function checkKeyOrder(value: unknown, previous: unknown, fail: (problem: BatchKeyProblem, detail: string, value?: unknown) => never): void {
  if (value === null || value === undefined) fail("null-key", "a row's key is NULL (added during the walk)");
  if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    fail("unsafe-integer", `the key ${value} is beyond 2^53, where JavaScript numbers cannot hold every integer; call db.defaultSafeIntegers(true) before migrating`, value);
  }
  if (typeof value !== "number" && typeof value !== "bigint" && typeof value !== "string" && !(value instanceof Uint8Array)) {
    fail("invalid-key", `a key of type ${typeof value} cannot be compared`, value);
  }
  if (previous === undefined) return;
  const rankOrder = storageRank(value) - storageRank(previous);
  const after =
    rankOrder !== 0
      ? rankOrder > 0
      : typeof value === "string"
        ? value !== previous
        : value instanceof Uint8Array
          ? compareBlobs(value, previous as Uint8Array) > 0
          : (value as number | bigint) > (previous as number | bigint);
  if (!after) {
    const same = value === previous || (value instanceof Uint8Array && compareBlobs(value, previous as Uint8Array) === 0);
    fail(same ? "duplicate-key" : "not-increasing", `the key ${describeStoredValue(value)} does not come after ${describeStoredValue(previous)}`, value);
  }
}

/** An integer SQLite printed as text: a number when that is exact, else a bigint. */
function exactInteger(text: string): number | bigint {
  const value = BigInt(text);
  return Number.isSafeInteger(Number(value)) ? Number(value) : value;
}
