/**
 * Progress for long data migrations: the `progress(done, total)` reporter and the keyed batch walker
 * that a TypeScript migration receives in its context. The reporter throttles, so a migration may
 * call it once per row without flooding the app's event handler or the terminal.
 */
import type { BatchOptions, BatchSummary, Database, MigrationContext, MigrationDirection, MigrationEntry } from "./types.js";

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
export function createMigrationContext(
  db: Database,
  entry: MigrationEntry,
  direction: MigrationDirection,
  progress: (done: number, total: number | null) => void,
): MigrationContext {
  return {
    version: entry.version,
    name: entry.name,
    direction,
    progress,
    forEachBatch: (options, handle) => forEachBatch(db, options, handle as (rows: Record<string, unknown>[]) => void, progress),
  };
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Walks `options.table` by its key in batches and reports progress after each. Keyset pagination
 * keeps every batch as cheap as the first (OFFSET would rescan), and rows the handler changes so
 * they no longer match `where` are not skipped or visited twice.
 */
export function forEachBatch<Row extends Record<string, unknown>>(
  db: Database,
  options: BatchOptions,
  handle: (rows: Row[]) => void,
  progress: (done: number, total: number | null) => void = () => {},
): BatchSummary {
  const key = options.key ?? "id";
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a whole number of at least 1, not ${batchSize}`);
  const columns = options.columns
    ? [...(options.columns.includes(key) ? [] : [key]), ...options.columns].map(quoteIdentifier).join(", ")
    : "*";
  const table = quoteIdentifier(options.table);
  const where = options.where ? `(${options.where})` : "1";
  const params = options.params ?? [];
  const total = (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get(...params) as { n: number }).n;
  const first = db.prepare(`SELECT ${columns} FROM ${table} WHERE ${where} ORDER BY ${quoteIdentifier(key)} LIMIT ?`);
  const next = db.prepare(
    `SELECT ${columns} FROM ${table} WHERE ${quoteIdentifier(key)} > ? AND ${where} ORDER BY ${quoteIdentifier(key)} LIMIT ?`,
  );
  // Outside a transaction (a `transaction: false` migration) every statement would commit alone;
  // one transaction per batch keeps that cost down while still committing as it goes.
  const ownTransactions = !db.inTransaction;
  let done = 0;
  let batches = 0;
  let last: unknown;
  // With nothing to walk there is no progress to show, and an event would only be noise in logs.
  if (total > 0) progress(0, total);
  for (;;) {
    const rows = (batches === 0 ? first.all(...params, batchSize) : next.all(last, ...params, batchSize)) as Row[];
    if (rows.length === 0) break;
    if (ownTransactions) db.transaction(() => handle(rows))();
    else handle(rows);
    batches++;
    done += rows.length;
    last = rows[rows.length - 1]![key];
    // The total was counted before the walk; rows added since (by the handler, or anything else in
    // this transaction) can take `done` past it, and a total below `done` would read as over 100%.
    progress(done, Math.max(total, done));
    if (rows.length < batchSize) break;
  }
  return { rows: done, batches };
}
