/**
 * `migrateMany`: one registry applied to many databases (a SQLite file, a libSQL database or a
 * PostgreSQL schema per tenant), each opened only when its turn comes, each failure reported and
 * isolated. It knows no driver: each target opens a manager from the app's own driver entry.
 */
import { StepwiseError, type StatusProblem } from "../core/errors.js";
import { invalidTargetError, toPlainError, translateSqliteError } from "../core/error-factories.js";
import { optionsObject, TRANSACTION_MODES, type AppliedStep, type MigrationResult, type TransactionMode, type UpOptions } from "../core/options.js";
import type { MigrationStatus } from "../core/planner.js";
import { ignoreRejection } from "../core/step.js";
import { describeTyped, runFleet, type FleetPoolOptions, type FleetProgress, type FleetStop } from "./run-fleet.js";

/** What a fleet run needs of a manager: any driver entry's, its methods returning values or promises. */
export interface FleetManager {
  status(): MigrationStatus | Promise<MigrationStatus>;
  up(options?: UpOptions): MigrationResult | Promise<MigrationResult>;
}

/** Why one target failed: the code and fields of the `StepwiseError`, or `UNEXPECTED` for any other throw. */
export type TargetError = StatusProblem | { readonly code: "UNEXPECTED"; readonly message: string };

/** One database's outcome in a {@link FleetReport}. */
export interface TargetReport {
  readonly id: string;
  /** Migrated, or already at the target version. */
  readonly ok: boolean;
  /** Its version before the run; `null` when it could not be read (it did not open, say). */
  readonly fromVersion: number | null;
  /** Its version after the run; `null` when it could not be read. */
  readonly toVersion: number | null;
  /** The migrations this run applied to it; those another process applied meanwhile are not listed. */
  readonly steps: readonly AppliedStep[];
  /** From opening it to closing it. */
  readonly durationMs: number;
  /** Why it failed (a refusal, such as `UNMANAGED_DATABASE`, or the error that stopped its run); `null` when `ok`. */
  readonly error: TargetError | null;
}

/** What `migrateMany` did: plain data, so it prints as JSON. */
export interface FleetReport {
  /** Every target started is `ok`, and nothing stopped the run early. */
  readonly ok: boolean;
  /** Why targets were left unstarted: `canary`, `fail-fast`, `aborted` or `ids-failed`; `null` when every target was tried. */
  readonly stopped: FleetStop | null;
  /** What the ids' iterable threw (a cursor that broke part way), when `stopped` is `ids-failed`; `null` otherwise. */
  readonly idsError: TargetError | null;
  /** From the first target's start to the last one's end. */
  readonly durationMs: number;
  /** A report per target started, in the order the targets came (an id given twice once); a failed one does not stop the others unless `failFast`. */
  readonly targets: readonly TargetReport[];
}

/** Options for `migrateMany`: how to close a target, how the fleet is paced, what `up` each target gets, and where events go. */
export interface MigrateManyOptions<M = unknown> extends FleetPoolOptions {
  /**
   * Closes what `open` opened (`manager.db.close()`, `manager.db.end()`); called after each
   * target's run, whatever its outcome. A throw here is ignored. Default: nothing is closed.
   */
  readonly close?: (manager: M, id: string) => unknown;
  /** Each target's `up` stops after this version. Default: the latest. */
  readonly to?: number;
  /** Each target's `up` transaction mode (see `UpOptions.transaction`). Default `"each"`. */
  readonly transaction?: TransactionMode;
  /**
   * Receives an event as each target starts and finishes (with the run's progress), and when the run
   * stops starting targets. A promise it returns is not awaited, and its rejection is ignored.
   */
  readonly onEvent?: (
    event:
      { readonly type: "started"; readonly id: string } | ({ readonly type: "finished"; readonly target: TargetReport } & FleetProgress) | { readonly type: "stopping"; readonly reason: FleetStop },
  ) => void;
}

/**
 * Applies the pending migrations to every database of a fleet, `concurrency` at once: `open(id)`,
 * `up`, `close`, next. `ids` is a list or a stream, read only as slots free, so a fleet of any size
 * never has more than `concurrency` connections open. `open` returns a manager made with the app's
 * own driver entry and registry, as for one database. A database that fails (locked, damaged,
 * another tool's, a failed migration) is reported with its code, and the others go on, unless
 * `failFast` or the `canary` batch says stop. Running it again after any stop applies only what is
 * still pending. An id given twice is opened once. A sync driver's manager blocks the thread while it
 * works: `stepwise fleet` runs those on worker threads.
 *
 * @throws `USAGE`, before any database is opened, for an unknown option or one of the wrong type or
 * value. `INVALID_TARGET`, once, for a `to` past the registry's newest version: found on the first
 * database opened, it starts no other.
 *
 * @example
 * import Database from "better-sqlite3";
 * import { migrateMany } from "stepwise-migrate";
 * import { MigrationManager } from "stepwise-migrate/better-sqlite3";
 *
 * const report = await migrateMany(tenantIds, (id) => new MigrationManager(new Database(`data/tenants/${id}.db`), migrations), {
 *   close: (manager) => manager.db.close(),
 *   canary: 10,
 * });
 * for (const tenant of report.targets) if (!tenant.ok) console.error(tenant.id, tenant.error?.code);
 */
export async function migrateMany<M extends FleetManager>(
  ids: Iterable<string> | AsyncIterable<string>,
  open: (id: string) => M | Promise<M>,
  options: MigrateManyOptions<M> = {},
): Promise<FleetReport> {
  const known = ["to", "transaction", "onEvent", "close", "concurrency", "canary", "failFast", "signal", "total"] as const;
  // A misspelt canary or failFast would migrate the whole fleet.
  const { to, transaction, onEvent, close, ...pool } = optionsObject(options, "migrateMany", known);
  // Checked once, before anything opens: found by each database, a wrong option would be reported once per tenant.
  const refuse = (option: string, wanted: string, value: unknown) => new StepwiseError("USAGE", `${option} must be ${wanted}; got ${describeTyped(value)}. Nothing was run.`, { option });
  if (to !== undefined && (!Number.isSafeInteger(to) || to < 0)) throw refuse("to", "a version: a whole number, 0 or more", to);
  if (transaction !== undefined && !TRANSACTION_MODES.includes(transaction)) throw refuse("transaction", TRANSACTION_MODES.map((mode) => JSON.stringify(mode)).join(" or "), transaction);
  const iterable = (ids as { [Symbol.iterator]?: unknown } | null)?.[Symbol.iterator] ?? (ids as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator];
  if (typeof ids === "string" || typeof iterable !== "function") throw refuse("ids", "a list or stream of database ids (strings)", ids);
  for (const [name, value] of [
    ["open", open],
    ["close", close],
    ["onEvent", onEvent],
  ] as const)
    if (value !== undefined && typeof value !== "function") throw refuse(name, "a function", value);
  const up: UpOptions = { ...(to === undefined ? {} : { to }), ...(transaction === undefined ? {} : { transaction }) };
  // A `to` the registry lacks is the call's mistake, the same on every database: the first database opened finds it, and the run rejects with it once.
  let pastLatest: StepwiseError | null = null;
  const task = async (manager: M) => {
    if (to !== undefined) {
      const { latestVersion } = await manager.status();
      if (to > latestVersion) throw (pastLatest ??= invalidTargetError(to, `There is no migration ${to}; the versions go from 1 to ${latestVersion}.`));
    }
    return upTarget(manager, up);
  };
  const { results, stopped, durationMs, idsFailure } = await runFleet(
    distinct(ids),
    async (id) => {
      const report = await runTarget(id, () => open(id), task, close && ((manager: M) => close(manager, id)));
      if (pastLatest !== null) throw pastLatest;
      return report;
    },
    { ...pool, total: pool.total ?? (Array.isArray(ids) ? new Set(ids).size : null) },
    onEvent && {
      started: (id) => ignoreRejection(onEvent({ type: "started", id })),
      finished: (target, progress) => ignoreRejection(onEvent({ type: "finished", target, ...progress })),
      stopping: (reason) => ignoreRejection(onEvent({ type: "stopping", reason })),
    },
  );
  return { ok: stopped === null && results.every((target) => target.ok), stopped, durationMs, idsError: idsFailure ? describeTargetError(idsFailure.error) : null, targets: results };
}

/** `ids` with each id once, in the order they first came: a tenant listed twice is one database, and would be opened twice at once. */
async function* distinct(ids: Iterable<string> | AsyncIterable<string>): AsyncIterable<string> {
  const seen = new Set<string>();
  for await (const id of ids) {
    // Read as the stream yields them, so a bad id stops the run as a failing stream does (`ids-failed`) instead of opening a database named "null".
    if (typeof id !== "string" || id === "") throw new StepwiseError("USAGE", `Each id must be a non-empty string; got ${describeTyped(id)}.`, { option: "ids" });
    if (seen.has(id)) continue;
    seen.add(id);
    yield id;
  }
}

/** What a task tells about a target: `up`'s outcome here; `status` and `verify` have their own in the CLI. */
type UpOutcome = Omit<TargetReport, "id" | "durationMs">;

/**
 * `up` on one target: its status first, so a refusal is reported without a write (nor, on
 * PostgreSQL, the run lock) and a target with nothing pending is not locked at all.
 */
export async function upTarget(manager: FleetManager, options: UpOptions): Promise<UpOutcome> {
  const status = await manager.status();
  const fromVersion = status.currentVersion;
  // A migration still running elsewhere is up's to wait for.
  if (status.problem !== null && status.problem.code !== "MIGRATION_IN_PROGRESS") return { ok: false, fromVersion, toVersion: fromVersion, steps: [], error: status.problem };
  if (status.problem === null && (options.to === undefined ? status.pendingCount === 0 : options.to === fromVersion)) return { ok: true, fromVersion, toVersion: fromVersion, steps: [], error: null };
  try {
    const result = await manager.up(options);
    return { ok: true, fromVersion: result.fromVersion, toVersion: result.toVersion, steps: result.steps, error: null };
  } catch (error) {
    let toVersion: number | null = null;
    let steps: AppliedStep[] = [];
    try {
      // The migrations committed before the failure were applied: the report counts them.
      const after = await manager.status();
      toVersion = after.currentVersion;
      steps = after.migrations
        .filter((row) => row.state === "applied" && row.version > fromVersion && row.version <= after.currentVersion)
        .map((row) => ({ version: row.version, name: row.name, durationMs: row.durationMs ?? 0 }));
    } catch {
      // Unreadable now (locked, gone): the report says so with null.
    }
    return { ok: false, fromVersion, toVersion, steps, error: describeTargetError(error) };
  }
}

/**
 * Opens one target, runs `task` on its manager, and closes it: a report with its id and how long it
 * took. A throw from `open` or `task` becomes the report's `error`, with `blank`'s fields.
 */
export async function runTarget<M, O extends { readonly ok: boolean; readonly error: TargetError | null }>(
  id: string,
  open: () => M | Promise<M>,
  task: (manager: M) => Promise<O>,
  close: ((manager: M) => unknown) | undefined,
  blank: Omit<O, "ok" | "error"> = { fromVersion: null, toVersion: null, steps: [] } as unknown as Omit<O, "ok" | "error">,
): Promise<O & { readonly id: string; readonly durationMs: number }> {
  const started = performance.now();
  let outcome: O;
  try {
    const manager = await open();
    try {
      outcome = await task(manager);
    } finally {
      try {
        await close?.(manager);
      } catch {
        // The outcome is the database's; a handle that would not close is the app's to notice.
      }
    }
  } catch (error) {
    outcome = { ...blank, ok: false, error: describeTargetError(error) } as O;
  }
  return { id, ...outcome, durationMs: performance.now() - started };
}

/** A thrown value as a report's error: a SQLite library's own error read as its driver would (a lock, a file that is no database). */
export function describeTargetError(error: unknown): TargetError {
  const typed = translateSqliteError(error, 0);
  return typed instanceof StepwiseError ? toPlainError(typed) : { message: error instanceof Error ? error.message : String(error), code: "UNEXPECTED" };
}
