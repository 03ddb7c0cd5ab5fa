/** `stepwise repair --applied/--forget`: after an interrupted `transaction: false` migration, a person says whether its changes are all there (`applied`) or none are (`forget`: `up` runs it again). */
import { migrationInProgressError, invalidTargetError, usageError } from "../core/error-factories.js";
import type { InvalidIndex } from "../core/errors.js";
import { setUserVersion } from "../core/history.js";
import { describeInvalidIndexes } from "../core/error-factories.js";
import { SyncMigrationManager } from "../core/manager.js";
import { formatMigrationLabel } from "../core/migration-label.js";
import { ownerDetails, parseMigrationOwner } from "../core/migration-owner.js";
import { CALLS, text } from "../core/option-text.js";
import { highestAppliedVersion } from "../core/planner.js";
import type { Step } from "../core/step.js";
import type { MigrationRegistry } from "../core/types.js";
import { inWriteTransaction, runSafetyNet, type SafetyNetManager, requireManager } from "./schema-reader.js";
import { optionsObject } from "../core/options.js";
import { describeOption } from "../core/error-factories.js";

/** What the person found. */
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
  /** When the interrupted attempt started. */
  readonly startedAt: string;
  /** The newest applied version after the repair. */
  readonly currentVersion: number;
  /** PostgreSQL's invalid indexes (a failed `CREATE INDEX CONCURRENTLY` leaves one); empty on SQLite. */
  readonly invalidIndexes: readonly InvalidIndex[];
}

/**
 * Resolves an interrupted `transaction: false` migration in one write transaction.
 *
 * @example
 * repairIncompleteMigration(new MigrationManager(db, migrations), { version: 3, resolution: "forget" });
 * @throws `USAGE` for a `resolution` other than `"applied"` or `"forget"`, or a `version` that is no whole number of 1 or more; `INVALID_TARGET` when that version has no `started` row.
 * @throws `MIGRATION_IN_PROGRESS` when the process that started it still runs (its owner lock is held, or, for a row written without a lock, its pid is alive on this host).
 */
export function repairIncompleteMigration(manager: SyncMigrationManager<unknown>, options: RepairOptions): RepairResult;
/** Handed a manager whose methods return promises, a promise of the same result; on PostgreSQL it holds the run lock (`DATABASE_LOCKED` past the busy timeout). */
export function repairIncompleteMigration(manager: SafetyNetManager<MigrationRegistry, true>, options: RepairOptions): Promise<RepairResult>;
export function repairIncompleteMigration(manager: SafetyNetManager, options: RepairOptions): RepairResult | Promise<RepairResult> {
  requireManager(manager, "repairIncompleteMigration");
  // On PostgreSQL every run holds the run lock to its end, so once the repair holds it the owner is gone.
  const ownerGoneWhenLocked = !(manager instanceof SyncMigrationManager) && manager.executor.dialect.name === "postgres";
  return runSafetyNet(
    manager,
    () => inWriteTransaction(() => repair(manager, optionsObject(options, "repairIncompleteMigration", ["version", "resolution"]), ownerGoneWhenLocked)),
    "repairIncompleteMigration",
  );
}

function* repair(manager: SafetyNetManager, { version, resolution }: RepairOptions, ownerGoneWhenLocked: boolean): Step<RepairResult> {
  // Anything but "applied" would otherwise forget the attempt, and up would run a partly applied migration again.
  if (resolution !== "applied" && resolution !== "forget")
    throw usageError(`repairIncompleteMigration's resolution must be "applied" or "forget"; got ${describeOption(resolution)}. Nothing was changed.`);
  if (!Number.isSafeInteger(version) || version < 1)
    throw usageError(`repairIncompleteMigration's version must be a migration version, a whole number of 1 or more; got ${describeOption(version)}. Nothing was changed.`);
  const { executor, migrations } = manager;
  const store = executor.store;
  const row = (yield* store.readAll()).find((candidate) => candidate.version === version);
  if (row?.state !== "started") {
    const state = row ? "applied" : "not in the history";
    throw invalidTargetError(version, text`Migration ${version} has no interrupted attempt to repair (it is ${state}). Nothing was changed; ${CALLS.status} shows what needs attention.`);
  }
  const owner = parseMigrationOwner((yield* store.readStartedRow(version))?.owner ?? null);
  if (!ownerGoneWhenLocked && (yield* executor.assessOwner(owner)) === "alive") {
    const file = migrations[version - 1]?.file ?? `version ${version}`;
    throw migrationInProgressError({ version, file, startedAt: row.appliedAt, ...ownerDetails(owner), waitedMs: 0 });
  }
  if (resolution === "applied") yield* store.markApplied(version, new Date().toISOString(), null);
  else yield* store.deleteRow(version);
  const currentVersion = highestAppliedVersion(yield* store.readAll());
  if (manager.driver.capabilities.userVersion) yield* setUserVersion(currentVersion);
  const invalidIndexes = executor.dialect.readInvalidIndexes ? yield* executor.dialect.readInvalidIndexes() : [];
  return { version, name: row.name, resolution, startedAt: row.appliedAt, currentVersion, invalidIndexes };
}

/** The line a CLI or logger prints for a repair. */
export function describeRepair(result: RepairResult): string {
  const label = formatMigrationLabel(result.version, result.name);
  const line =
    result.resolution === "applied"
      ? `repaired ${label}: marked applied (interrupted attempt started ${result.startedAt}); schema version is ${result.currentVersion}`
      : `repaired ${label}: forgot the interrupted attempt started ${result.startedAt}; "up" will run it again; schema version is ${result.currentVersion}`;
  const indexes = describeInvalidIndexes(result.invalidIndexes ?? [], "The database holds");
  return indexes === "" ? line : `${line}\n${indexes.trimEnd()}`;
}
