/**
 * `stepwise-migrate/pg`: migrate a PostgreSQL database through the `pg` package (node-postgres), from a
 * connected `pg.Client` or a `pg.Pool`. Every method returns a promise. Importing this entry loads
 * `pg` and no SQLite driver.
 *
 * The safety nets are the `...Async` forms every entry exports (same result shapes and error codes as
 * the sync ones): `verifySchemaAsync` and `baselineDatabaseAsync` replay the migrations in a scratch
 * database on the same server (dropped after), `rehearseUpAsync` runs the plan in a transaction
 * rolled back at the end, `repairIncompleteMigrationAsync` holds the run lock. Backups and restore
 * are refused by capability, naming `pg_dump` and `pg_restore`.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, defineMigration } from "../drivers/pg.js";
export type { PgConnection, PgMigrateOptions, PgMigrationDefinition, PgMigrationManagerProps } from "../drivers/pg.js";
// The failures only a server's connection meets (their codes are in the root entry's list too).
export type { ConnectionLossOutcome, ConnectionProblem } from "../core/connection-errors.js";
export type { LockHolderSession, LockWait } from "../core/lock-timeout-error.js";

// The safety nets, async (see the module note).
export { verifySchemaAsync } from "../safety/verify.js";
export type { SchemaVerification, VerifySchemaOptions } from "../safety/verify.js";
export { baselineDatabaseAsync } from "../safety/baseline.js";
export type { BaselineOptions, BaselineResult } from "../safety/baseline.js";
export { repairIncompleteMigrationAsync } from "../safety/repair.js";
export type { RepairOptions, RepairResolution, RepairResult } from "../safety/repair.js";
export { repairChecksumsAsync, listChecksumRepairs } from "../safety/checksum-repair.js";
export type { ChecksumRealignment, ChecksumRepairOptions, ChecksumRepairResult } from "../safety/checksum-repair.js";
export type { ChecksumRepairEvent } from "../core/checksum-repair-log.js";
export { rehearseUpAsync } from "../safety/rehearsal-in-transaction.js";
export type { Rehearsal, RehearsalFailure, RehearsalStep, RehearsedPlan, RehearseOptions, RowCountChange } from "../safety/rehearsal.js";
export { readPostgresSchema } from "../safety/postgres-schema.js";
export type { ReadPostgresSchemaOptions } from "../safety/postgres-schema.js";
export { diffSchemas } from "../safety/schema-snapshot.js";
export type { SchemaDifference, SchemaSnapshot, SchemaObjectType, SchemaAspectChange } from "../safety/schema-snapshot.js";
// Backups and restore: refused by capability on a server database, naming pg_dump and pg_restore.
export {
  restoreBackupOnServer as restoreBackup,
  takeBackupOnServer as takeBackup,
  upWithBackupOnServer as upWithBackup,
  upWithOnlineBackupOnServer as upWithOnlineBackup,
} from "../safety/server-backup.js";
export type { ServerManager } from "../safety/backup-capabilities.js";
export type { AsyncBatchHandler, AsyncMigrationContext } from "../core/async-batches.js";
