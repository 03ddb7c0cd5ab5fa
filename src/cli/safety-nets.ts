/**
 * The safety nets as the CLI calls them, on whichever manager it opened: a SQLite driver's sync one,
 * the same driver's `AsyncMigrationManager` (a registry holding async migrations), or pg's. Each
 * returns a promise, so every command is written once and awaits the result; the nets themselves
 * (`src/safety/`) choose nothing here, they are simply called in their sync or `…Async` form.
 */
import { SyncMigrationManager } from "../core/manager.js";
import type { MigrationRegistry, VersionOf } from "../core/types.js";
import { baselineDatabase, baselineDatabaseAsync, type BaselineOptions, type BaselineResult } from "../safety/baseline.js";
import { rehearseUp, type RehearsedPlan, type RehearseOptions } from "../safety/rehearsal.js";
import { rehearseUpAsync } from "../safety/rehearsal-in-transaction.js";
import { repairIncompleteMigration, repairIncompleteMigrationAsync, type RepairOptions, type RepairResult } from "../safety/repair.js";
import type { SafetyNetManager } from "../safety/schema-reader.js";
import { verifySchema, verifySchemaAsync, type SchemaVerification } from "../safety/verify.js";
import type { CliManager } from "./open-database.js";

/** Whether the manager replays on an in-memory copy (sync SQLite) rather than in a transaction rolled back (async). */
export function rehearsesOnCopy<R extends MigrationRegistry>(manager: CliManager<R>): boolean {
  return manager instanceof SyncMigrationManager;
}

/** `verify`: {@link verifySchema} or {@link verifySchemaAsync}. */
export async function verifyWith<R extends MigrationRegistry>(manager: CliManager<R>): Promise<SchemaVerification> {
  if (manager instanceof SyncMigrationManager) return verifySchema(manager as SyncMigrationManager<unknown, R>);
  return verifySchemaAsync(asAsync(manager));
}

/** `baseline N`: {@link baselineDatabase} or {@link baselineDatabaseAsync}. */
export async function baselineWith<R extends MigrationRegistry>(manager: CliManager<R>, version: number, options: BaselineOptions): Promise<BaselineResult> {
  if (manager instanceof SyncMigrationManager) return baselineDatabase(manager as SyncMigrationManager<unknown, R>, version as VersionOf<R>, options);
  return baselineDatabaseAsync(asAsync(manager), version as VersionOf<R>, options);
}

/** `up --dry-run`: {@link rehearseUp} (an in-memory copy) or {@link rehearseUpAsync} (a transaction rolled back). */
export async function rehearseWith<R extends MigrationRegistry>(manager: CliManager<R>, options: RehearseOptions<VersionOf<R>>): Promise<RehearsedPlan<R[number]>> {
  if (manager instanceof SyncMigrationManager) return rehearseUp(manager as SyncMigrationManager<unknown, R>, options);
  return rehearseUpAsync(asAsync(manager), options);
}

/** `repair`: {@link repairIncompleteMigration} or {@link repairIncompleteMigrationAsync}. */
export async function repairWith<R extends MigrationRegistry>(manager: CliManager<R>, options: RepairOptions): Promise<RepairResult> {
  if (manager instanceof SyncMigrationManager) return repairIncompleteMigration(manager as SyncMigrationManager<unknown>, options);
  return repairIncompleteMigrationAsync(asAsync(manager) as SafetyNetManager<MigrationRegistry, true>, options);
}

/** Every manager that is not a `SyncMigrationManager` returns promises (pg's, `AsyncMigrationManager`). */
function asAsync<R extends MigrationRegistry>(manager: CliManager<R>): SafetyNetManager<R, true> {
  return manager as unknown as SafetyNetManager<R, true>;
}
