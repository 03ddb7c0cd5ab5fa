/**
 * A run of consecutive SQL migrations that cannot end the transaction they run in, applied by one
 * loop. Each still gets its own transaction, exactly as `apply-in-transaction.ts` gives it:
 * `BEGIN IMMEDIATE`, the change counter (re-planning when another connection committed), the
 * script, the prepared history `INSERT`, the `user_version` mirror, `COMMIT`, and the same events and
 * errors. What the loop saves is the JavaScript around those calls: the executor's outer loop, the
 * strategy's generator levels and their operation objects, per migration. The loop is a step like
 * any other, so the sync and the async runner both drive this one copy of it.
 *
 * Only the entries of the file drivers carry it (`dialects/sqlite-proving-no-op.ts`), where `npm run
 * bench` holds a fresh apply to the hand-written loop; the others apply the same migrations through
 * the strategy, so their budgeted bundles hold none of this.
 */
import type { ExecutorBase } from "./executor-base.js";
import { DROP_OR_RENAME } from "./foreign-key-rebuild.js";
import type { AppliedStep } from "./options.js";
import { driveDirectly, rollbackQuietly, type Operation, type Step } from "./step.js";
import { TRANSACTION_KEYWORD } from "./transaction-control.js";
import type { MigrationEntry } from "./types.js";

/*
 * The operations without arguments, made once: the runner only reads an operation, and the loop
 * yields these for every migration, so a new object each time would be garbage for nothing.
 */
const BEGIN_IMMEDIATE: Operation = { op: "begin", mode: "immediate" };
const CHANGE_COUNTER: Operation = { op: "changeCounter" };
const COMMIT: Operation = { op: "commit" };
const ROLLBACK: Operation = { op: "rollback" };

/**
 * The escape guard's keywords (`transaction-control.ts`) and those of the foreign-key parent check
 * (`foreign-key-rebuild.ts`) in one pattern, so each migration's text is scanned once: a match sends
 * the migration to the strategy, which runs the guard and the check as it always does.
 */
const NEEDS_STRATEGY = new RegExp(`${TRANSACTION_KEYWORD.source}|${DROP_OR_RENAME.source}`, "i");

/**
 * Whether `entry` can be applied by {@link applySqlRun}: a SQL migration in a transaction of its own,
 * with foreign keys as the connection has them, whose text names no transaction-control keyword (so it
 * needs no escape guard) and no `DROP` or `RENAME` (so no table a foreign key still references can go).
 */
function fitsRun(entry: MigrationEntry | undefined): entry is MigrationEntry & { kind: "sql" } {
  return entry !== undefined && entry.kind === "sql" && entry.transaction && !entry.disableForeignKeys && !NEEDS_STRATEGY.test(entry.upSql);
}

/**
 * Applies `queue[from]` in the transaction the executor opened for it (the change counter read there
 * was `counter`), then each following entry that fits the run, each in its own transaction, appending
 * what it applied to `ran`. Returns the index of the first entry it did not apply, with no
 * transaction open: the executor goes on from there. When another connection committed since the
 * plan, the loop stops before writing anything, so the executor's next transaction reads the counter
 * again and re-plans.
 *
 * @returns `from` when `queue[from]` does not fit: the executor applies it itself.
 */
export function* applySqlRun(executor: ExecutorBase, queue: readonly MigrationEntry[], from: number, counter: number | null, ran: AppliedStep[]): Step<number> {
  if (executor.settings.capabilities.atomicBatch || !fitsRun(queue[from])) return from;
  // Driven by the runner itself, so its operations pass no generator level of the executor's.
  return yield* driveDirectly(sqlRun(executor, queue, from, counter, ran));
}

function* sqlRun(executor: ExecutorBase, queue: readonly MigrationEntry[], from: number, counter: number | null, ran: AppliedStep[]): Step<number> {
  const { onEvent, logger, capabilities } = executor.settings;
  // Without a listener no event object is built; a logger or `onEvent` gets each, as the strategy sends them.
  const listening = onEvent !== undefined || logger !== null;
  const mirror = capabilities.userVersion;
  const store = executor.store;
  let next = from;
  for (;;) {
    const entry = queue[next];
    if (!fitsRun(entry)) break;
    if (next !== from) {
      // A driver without a counter re-reads the history in every transaction: the executor's loop does that.
      if (counter === null) break;
      try {
        yield BEGIN_IMMEDIATE;
      } catch (error) {
        throw executor.translateError(error);
      }
      if ((yield CHANGE_COUNTER) !== counter) {
        // Another connection committed: nothing is written yet, so end this transaction and let the
        // executor open the next one, where it sees the counter moved and plans again.
        yield ROLLBACK;
        break;
      }
    }
    const { version, name } = entry;
    if (listening) executor.emit({ type: "migrating", direction: "up", version, name });
    const started = performance.now();
    try {
      yield execOperation(entry.upSql);
    } catch (cause) {
      throw yield* executor.migrationFailed(entry, "up", cause, true, "body");
    }
    const durationMs = performance.now() - started;
    try {
      yield* store.insertApplied({ version, name, checksum: entry.checksum, appliedAt: new Date().toISOString(), durationMs: Math.round(durationMs) });
      if (mirror) yield execOperation(`PRAGMA user_version = ${Math.trunc(version)}`);
    } catch (cause) {
      throw yield* executor.migrationFailed(entry, "up", cause, true);
    }
    try {
      yield COMMIT;
    } catch (cause) {
      yield* rollbackQuietly();
      throw yield* executor.migrationFailed(entry, "up", cause, true);
    }
    if (listening) executor.emit({ type: "migrated", direction: "up", version, name, durationMs });
    ran.push({ version, name, durationMs });
    next++;
  }
  return next;
}

/** A statement without bound values, as the operation that runs it. */
function execOperation(sql: string): Operation {
  return { op: "exec", sql };
}
