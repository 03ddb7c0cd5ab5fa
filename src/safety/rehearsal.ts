/**
 * A dry run that actually runs: the pending migrations are applied to an in-memory copy of the
 * database through the same `MigrationManager.up()` a real run uses, so the report (durations,
 * schema diff, row counts, failure) is what the real run would produce, and nothing is written to the
 * file, not even by `transaction: false` migrations.
 *
 * The copy comes from the driver's `snapshot` primitive, which reads the database through SQLite (a
 * consistent snapshot, WAL content included) without writing, whatever the library. Inside the app's
 * own transaction the copy holds what that connection reads, its uncommitted writes included; a driver
 * that cannot copy those (capability `snapshotInTransaction`) refuses with `TRANSACTION_OPEN`.
 */
import { stepwiseTableNames } from "../core/checksum-repair-log.js";
import { SyncMigrationManager } from "../core/manager.js";
import { rehearseUpAsync } from "./rehearsal-in-transaction.js";
import { containCopy } from "./contained-copy.js";
import type { SafetyNetManager } from "./schema-reader.js";
import type { SyncDriver } from "../core/driver.js";
import { runSync } from "../core/runners.js";
import { exec, queryValue } from "../core/step.js";
import { requireCapabilities } from "../core/driver.js";
import { countRows, readSchema } from "./schema-snapshot.js";
import { composeRehearsal, describeFailure, type Rehearsal, type RehearsalFailure, type RehearsedPlan, type RehearseOptions } from "./rehearsal-result.js";

import type { MigrationRegistry, VersionOf } from "../core/types.js";
import { tempFolderUnusableError, transactionOpenError, isConnectionClosedError } from "../core/error-factories.js";
import { StepwiseError } from "../core/errors.js";

export { composeRehearsal, describeFailure } from "./rehearsal-result.js";
export type { Rehearsal, RehearsalFailure, RehearsalObservations, RehearsalStep, RehearsedPlan, RehearseOptions, RowCountChange } from "./rehearsal-result.js";

/**
 * What `manager.up({ to })` would run, plus a rehearsal of it on a private copy of `manager.db`:
 * durations, the schema diff, row counts and any failure. The database itself is only read.
 * Refusals that `planUp` throws are thrown; anything `up` would throw once running (an unmanaged
 * database, a failing migration, a foreign key violation) is reported in {@link Rehearsal.failure}
 * instead. The rehearsal's `progress` events reach the manager's `onEvent` and logger, so a long
 * rehearsal can show a bar; its other events would read as real applies and are kept back.
 *
 * This replaces `manager.planUp({ rehearse: true })`: as a method, the rehearsal code would be in
 * the bundle of every app that migrates, whether or not it ever rehearses.
 *
 * @example
 * const { steps, rehearsal } = rehearseUp(manager, { to: 5 });
 * if (!rehearsal.ok) console.log(rehearsal.failure?.message);
 */
export function rehearseUp<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, options?: RehearseOptions<VersionOf<R>>): RehearsedPlan<R[number]>;
/** Handed a manager whose methods return promises (`stepwise-migrate/pg`, `stepwise-migrate/libsql-client`, `AsyncMigrationManager`): the plan rehearsed in one transaction rolled back at the end, as a promise. */
export function rehearseUp<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, options?: RehearseOptions<VersionOf<R>>): Promise<RehearsedPlan<R[number]>>;
export function rehearseUp<Db, R extends MigrationRegistry>(
  manager: SyncMigrationManager<Db, R> | SafetyNetManager<R, true>,
  options: RehearseOptions<VersionOf<R>> = {},
): RehearsedPlan<R[number]> | Promise<RehearsedPlan<R[number]>> {
  if (!(manager instanceof SyncMigrationManager)) return rehearseUpAsync(manager, options);
  requireCapabilities(manager.driver, "rehearseUp", "snapshot");
  const to = options.to === undefined ? {} : { to: options.to };
  const plan = manager.planUp(to);
  return { ...plan, rehearsal: rehearse(manager, to) };
}

function rehearse<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, to: RehearseOptions<VersionOf<R>>): Rehearsal {
  const copyDriver = openDriverCopy(manager.driver);
  try {
    const durations = new Map<number, number>();
    const rehearsal = manager.withDriver(copyDriver, {
      onEvent: (event) => {
        if (event.type === "migrated") durations.set(event.version, event.durationMs);
        if (event.type === "progress") manager.executor.emit(event);
      },
      logger: null,
    });
    const plan = rehearsal.planUp(to);
    const exclude = { excludeTables: stepwiseTableNames(manager.tableName) };
    const schemaBefore = runSync(readSchema(exclude), copyDriver);
    const rowsBefore = runSync(countRows(schemaBefore), copyDriver);

    let failure: RehearsalFailure | null = null;
    let copyClosed = false;
    try {
      rehearsal.up(to);
    } catch (error) {
      failure = describeFailure(error);
      copyClosed = isConnectionClosedError(error);
    }

    // A migration that closed the copy's connection took the copy with it. What the real run leaves
    // (the migrations before it, each committed) is read from a second copy brought to that version.
    const reachedVersion = copyClosed ? Math.max(plan.fromVersion, ...durations.keys()) : rehearsal.currentVersion();
    const afterDriver = copyClosed ? replayedCopy(manager, plan.fromVersion, reachedVersion) : copyDriver;
    let schemaAfter: typeof schemaBefore;
    let rowsAfter: typeof rowsBefore;
    try {
      schemaAfter = runSync(readSchema(exclude), afterDriver);
      rowsAfter = runSync(countRows(schemaAfter), afterDriver);
    } finally {
      if (afterDriver !== copyDriver) afterDriver.close?.();
    }
    return composeRehearsal({ plan, durations, failure, reachedVersion, schemaBefore, schemaAfter, rowsBefore, rowsAfter });
  } finally {
    copyDriver.close?.();
  }
}

/** A fresh private copy of `manager`'s database with the migrations after `fromVersion` up to `version` applied. */
function replayedCopy<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, fromVersion: number, version: number): SyncDriver<Db> {
  const copy = openDriverCopy(manager.driver);
  try {
    if (version > fromVersion) manager.withDriver(copy, { onEvent: undefined, logger: null }).up({ to: version as VersionOf<R> });
    return copy;
  } catch (error) {
    copy.close?.();
    throw error;
  }
}

/**
 * A private copy of the driver's database, through its `snapshot` capability, with the
 * connection settings that change what migrations do copied over (they are not stored in the file).
 */
function openDriverCopy<Db>(driver: SyncDriver<Db>): SyncDriver<Db> {
  const image = asRehearsal(() => driver.snapshot!());
  // A WAL-mode header makes SQLite look for a `-wal` file an in-memory database cannot have.
  if (image.length > 19 && image[18] === 2 && image[19] === 2) {
    image[18] = 1;
    image[19] = 1;
  }
  // Contained: a migration there may not reach another file (contained-copy.ts).
  const copy = containCopy(asRehearsal(() => driver.openSnapshot!(image)));
  try {
    for (const setting of ["foreign_keys", "recursive_triggers"]) {
      const on = runSync(queryValue(`PRAGMA ${setting}`), driver) === 1;
      runSync(exec(`PRAGMA ${setting} = ${on ? "ON" : "OFF"}`), copy);
    }
  } catch (error) {
    // A copy on a temporary file (libsql) would outlive the rehearsal otherwise.
    copy.close?.();
    throw error;
  }
  return copy;
}

/**
 * Runs a snapshot primitive, naming `rehearseUp` in its refusals (the primitive knows only that it
 * was asked for a snapshot), so the message tells the caller what to call again.
 */
function asRehearsal<T>(primitive: () => T): T {
  try {
    return primitive();
  } catch (error) {
    if (!(error instanceof StepwiseError)) throw error;
    if (error.is("TRANSACTION_OPEN")) throw transactionOpenError({ driver: error.details.driver, operation: "rehearseUp", cause: error.cause });
    if (error.is("TEMP_FOLDER_UNUSABLE")) {
      throw tempFolderUnusableError({ folder: error.details.folder, systemCode: error.details.systemCode, operation: "rehearseUp", cause: error.cause });
    }
    throw error;
  }
}
