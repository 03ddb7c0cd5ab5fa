/**
 * `stepwise repair`: the way out after a `transaction: false` migration was interrupted. stepwise
 * cannot know how much of such a migration ran, so a person checks the database and says which of
 * two things is true, and this records it:
 *
 * - `applied`: the migration's changes are all in the database; the row becomes `applied`.
 * - `forget`: none of them are (or they were undone by hand); the row is deleted and `up` runs the
 *   migration again.
 *
 * For an interrupted `down` the same words describe the database: `applied` when the revert did
 * nothing, `forget` when it completed.
 */
import type { InvalidIndex } from "../core/errors.js";
import { describeInvalidIndexes } from "../core/invalid-indexes.js";
import { CALLS, text } from "../core/option-text.js";
import { highestAppliedVersion } from "../core/planner.js";
import { SyncMigrationManager } from "../core/manager.js";
import { setUserVersion } from "../core/history.js";
import { runSafetyNet, type SafetyNetManager } from "./schema-reader.js";
import type { MigrationRegistry } from "../core/types.js";
import { begin, commit, rollbackQuietly, type Step } from "../core/step.js";
import { formatMigrationLabel } from "../core/migration-label.js";
import { parseMigrationOwner } from "../core/migration-owner.js";
import { migrationInProgressError, invalidTargetError } from "../core/error-factories.js";

/** What the person found: the migration's changes are all there, or none are. */
export type RepairResolution = "applied" | "forget";

/** Options for {@link repairIncompleteMigration}. */
export interface RepairOptions {
  /** The version whose `started` row to resolve. */
  readonly version: number;
  readonly resolution: RepairResolution;
}

/** What {@link repairIncompleteMigration} changed: plain data, for logs and `--json`. */
export interface RepairResult {
  readonly version: number;
  readonly name: string;
  readonly resolution: RepairResolution;
  /** When the interrupted attempt started, as the row recorded it. */
  readonly startedAt: string;
  /** `PRAGMA user_version` after the repair: the newest applied version. */
  readonly currentVersion: number;
  /**
   * PostgreSQL's invalid indexes in the database (a `CREATE INDEX CONCURRENTLY` or `REINDEX
   * CONCURRENTLY` that failed part way left each), with the statement that removes each: an interrupted
   * attempt's, or an earlier one's. Running the migration again fails with "already exists" until they
   * are gone. Empty on SQLite.
   */
  readonly invalidIndexes: readonly InvalidIndex[];
}

/**
 * Resolves an interrupted `transaction: false` migration, in one write transaction, with the
 * manager's history table and busy timeout.
 *
 * @example
 * repairIncompleteMigration(new MigrationManager(db, migrations), { version: 3, resolution: "forget" });
 * @throws `INVALID_TARGET` when that version has no `started` row.
 * @throws `MIGRATION_IN_PROGRESS` when the process that started it still runs: its owner lock is
 * held (whatever its pid or host), or, for a row written without a lock, its pid is alive on this host.
 */
export function repairIncompleteMigration(manager: SyncMigrationManager<unknown>, options: RepairOptions): RepairResult;
/**
 * Handed a manager whose methods return promises (`stepwise-migrate/pg`, `stepwise-migrate/libsql-client`,
 * `AsyncMigrationManager`), a promise of the same result. On PostgreSQL it holds the run lock for the
 * whole call, and rejects with `DATABASE_LOCKED` when another session holds it past the busy timeout.
 */
export function repairIncompleteMigration(manager: SafetyNetManager<MigrationRegistry, true>, options: RepairOptions): Promise<RepairResult>;
export function repairIncompleteMigration(manager: SafetyNetManager, options: RepairOptions): RepairResult | Promise<RepairResult> {
  // On PostgreSQL every run holds the run lock from start to end, a `transaction: false` migration's
  // included, so once the repair holds it the attempt's owner is provably gone, whatever its recorded pid or host.
  const ownerGoneWhenLocked = !(manager instanceof SyncMigrationManager) && manager.executor.dialect.name === "postgres";
  return runSafetyNet(manager, () => repair(manager, options, ownerGoneWhenLocked), "repairIncompleteMigration");
}

function* repair(manager: SafetyNetManager, options: RepairOptions, ownerGoneWhenLocked: boolean): Step<RepairResult> {
  const { executor, migrations } = manager;
  const store = executor.store;
  {
    yield* begin("immediate");
    try {
      const row = (yield* store.readAll()).find((candidate) => candidate.version === options.version);
      if (!row || row.state !== "started") {
        throw invalidTargetError(
          options.version,
          text`Migration ${options.version} has no interrupted attempt to repair (it is ${row ? "applied" : "not in the history"}). Nothing was changed; ${CALLS.status} shows what needs attention.`,
        );
      }
      const file = migrations[options.version - 1]?.file ?? `version ${options.version}`;
      const owner = parseMigrationOwner((yield* store.readStartedRow(options.version))?.owner ?? null);
      // By the owner lock when the row has one: a pid reused by another process, or a pid from another
      // PID namespace, never blocks a repair once the owner is provably gone, nor allows one while it runs.
      if (!ownerGoneWhenLocked && (yield* executor.assessOwner(owner)) === "alive") {
        throw migrationInProgressError({ version: row.version, file, startedAt: row.appliedAt, owner, waitedMs: 0 });
      }
      if (options.resolution === "applied") yield* store.markApplied(row.version, new Date().toISOString(), null);
      else yield* store.deleteRow(row.version);
      const currentVersion = highestAppliedVersion(yield* store.readAll());
      if (manager.driver.capabilities.userVersion) yield* setUserVersion(currentVersion);
      // Read before the commit, so that a failure to read it leaves the history as it was.
      const invalidIndexes = executor.dialect.readInvalidIndexes ? yield* executor.dialect.readInvalidIndexes() : [];
      yield* commit();
      return { version: row.version, name: row.name, resolution: options.resolution, startedAt: row.appliedAt, currentVersion, invalidIndexes };
    } catch (error) {
      yield* rollbackQuietly();
      throw error;
    }
  }
}

/** The line a CLI or logger prints for a repair. */
export function describeRepair(result: RepairResult): string {
  const label = formatMigrationLabel(result.version, result.name);
  const line =
    result.resolution === "applied"
      ? `repaired ${label}: marked applied (interrupted attempt started ${result.startedAt}); schema version is ${result.currentVersion}`
      : `repaired ${label}: forgot the interrupted attempt started ${result.startedAt}; "up" will run it again; schema version is ${result.currentVersion}`;
  // An older result (or a hand-built one) may lack the field.
  const indexes = describeInvalidIndexes(result.invalidIndexes ?? [], "The database holds");
  return indexes === "" ? line : `${line}\n${indexes.trimEnd()}`;
}
