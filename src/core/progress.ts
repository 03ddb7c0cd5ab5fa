/** Progress for long data migrations: the throttled `progress(done, total)` reporter, and the context with the sync batch walker. */
import { driveWalk, SQLITE_BATCH_DIALECT, walkBatches } from "./batch-walk.js";
import type { BatchConnection as Database, BatchSummary, MigrationContext, MigrationDirection, MigrationEntry } from "./types.js";

/** The shortest gap between two progress events, in milliseconds. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 100;

/** How far a migration has got, with the rate and the time left derived from it. */
export interface ProgressMeasure {
  readonly done: number;
  readonly total: number | null;
  readonly elapsedMs: number;
  /** Units (rows, usually) per second so far; `null` before any time has passed. */
  readonly ratePerSecond: number | null;
  /** Time left at the current rate; `null` without a total or a rate. */
  readonly etaMs: number | null;
}

/** A throttled `progress(done, total)` that reports the first call, the one that reaches `total`, and calls `intervalMs` apart (0: every call). */
export function createProgressReporter(options: {
  readonly intervalMs?: number;
  readonly report: (measure: ProgressMeasure) => void;
  readonly now?: () => number;
}): (done: number, total: number | null) => void {
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

/** The context a TypeScript migration receives on a sync connection; its walk prepares each statement once. `bigIntAdvice` tells how this library's connection reads integers as BigInt. */
export function createMigrationContext(
  db: Database,
  entry: MigrationEntry,
  direction: MigrationDirection,
  progress: (done: number, total: number | null) => void,
  bigIntAdvice?: string,
): MigrationContext {
  const dialect = bigIntAdvice === undefined ? SQLITE_BATCH_DIALECT : { ...SQLITE_BATCH_DIALECT, bigIntAdvice };
  const forEachBatch: MigrationContext["forEachBatch"] = (options, handle) => {
    const statements = new Map<string, ReturnType<Database["prepare"]>>();
    const prepare = (sql: string) => statements.get(sql) ?? statements.set(sql, db.prepare(sql)).get(sql)!;
    const walk = walkBatches(dialect, options, entry, db.inTransaction, progress);
    return driveWalk(walk, (request) => {
      if (request.kind === "rows") return prepare(request.sql).all(...request.params);
      if (request.ownTransaction) db.transaction(() => handle(request.rows as never))();
      else handle(request.rows as never);
    }) as BatchSummary;
  };
  return { version: entry.version, name: entry.name, direction, progress, forEachBatch };
}
