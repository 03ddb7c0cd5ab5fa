/**
 * `stepwise-migrate/libsql-client`: migrate a libSQL database through `@libsql/client`, a local `file:` URL
 * or a remote one (Turso, sqld). `migrate` and `MigrationManager` take the app's `Client`; every
 * method returns a promise. The safety nets are the `...Async` forms (as on `stepwise-migrate/pg`):
 * `rehearseUpAsync` runs the plan in a write transaction rolled back at the end,
 * `verifySchemaAsync` and `baselineDatabaseAsync` replay on the manager's `scratchClient`,
 * `repairIncompleteMigrationAsync` and `repairChecksumsAsync` write the history. Backups and restore
 * are refused by capability (`openFile`): the client reaches no second file. Importing this entry
 * loads no database library: the app brings its own client.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, defineMigration } from "../drivers/libsql-client.js";
export type { LibsqlClientConnection, LibsqlClientMigrationDefinition, LibsqlClientMigrationManagerProps } from "../drivers/libsql-client.js";

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
export { diffSchemas, readSchemaSnapshot } from "../safety/schema-snapshot.js";
export type { SchemaDifference, SchemaSnapshot, SchemaObjectType, SchemaAspectChange } from "../safety/schema-snapshot.js";
// Backups and restore: refused by capability (openFile) before anything is read, written or created.
export {
  restoreBackupOnServer as restoreBackup,
  takeBackupOnServer as takeBackup,
  upWithBackupOnServer as upWithBackup,
  upWithOnlineBackupOnServer as upWithOnlineBackup,
} from "../safety/server-backup.js";
export type { AsyncBatchHandler, AsyncMigrationContext } from "../core/async-batches.js";
