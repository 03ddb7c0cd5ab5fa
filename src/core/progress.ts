/**
 * Progress for long data migrations: the throttled `progress(done, total)` reporter (a migration may
 * call it once per row) and the sync batch walker a TypeScript migration receives in its context.
 */
import { SQLITE_BATCH_DIALECT, walkBatches, type BatchOrigin, type BatchRequest, type BatchWalk } from "./batch-walk.js";
import { buildMigrationContext } from "./migration-context.js";
import type { BatchConnection as Database, BatchOptions, BatchSummary, MigrationContext, MigrationDirection, MigrationEntry } from "./types.js";

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

/** A throttled `progress(done, total)`: the first call, the one that reaches `total`, and calls `intervalMs` apart are reported. */
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
  return buildMigrationContext(entry, direction, progress, (options, handle) => runWalk(db, options, handle as (rows: Record<string, unknown>[]) => void, progress, origin));
}

/** Drives the walk on a sync connection, each statement prepared once per walk. */
function runWalk<Row extends Record<string, unknown>>(
  db: Database,
  options: BatchOptions,
  handle: (rows: Row[]) => void,
  progress: (done: number, total: number | null) => void,
  origin: BatchOrigin,
): BatchSummary {
  const walk: BatchWalk<BatchSummary> = walkBatches(SQLITE_BATCH_DIALECT, options, origin, db.inTransaction, progress);
  const statements = new Map<string, ReturnType<Database["prepare"]>>();
  let answer: { ok: true; value: unknown } | { ok: false; error: unknown } = { ok: true, value: undefined };
  for (;;) {
    const step: IteratorResult<BatchRequest, BatchSummary> = answer.ok ? walk.next(answer.value) : walk.throw(answer.error);
    if (step.done) return step.value;
    const request: BatchRequest = step.value;
    answer = { ok: true, value: undefined };
    if (request.kind === "rows") {
      try {
        let statement = statements.get(request.sql);
        if (statement === undefined) {
          statement = db.prepare(request.sql);
          statements.set(request.sql, statement);
        }
        answer = { ok: true, value: statement.all(...request.params) };
      } catch (error) {
        answer = { ok: false, error };
      }
    } else {
      const rows = request.rows as Row[];
      if (request.ownTransaction) db.transaction(() => handle(rows))();
      else handle(rows);
    }
  }
}
