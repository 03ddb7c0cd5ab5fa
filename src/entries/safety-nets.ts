/**
 * The safety nets every driver entry exports (`export *`), listed once so each entry has the same
 * surface. They read and write only through a driver's primitives and import no database library; a
 * driver that lacks what one needs is refused with `DRIVER_CAPABILITY_MISSING` before anything runs.
 * Standalone functions rather than manager methods, so an app bundles only the nets it imports.
 * Each net with a sync form also has an `...Async` one, for a manager whose methods return promises
 * (`AsyncMigrationManager`, and `stepwise-migrate/pg`'s, which exports the same `...Async` names).
 *
 * Kept in blocks, one per net, sorted by module name.
 *
 * @packageDocumentation
 */

// Backups, restore and up-with-backup: they take a manager (or a driver) and open any other file
// through the driver's `openFile`.
export { upWithBackup, upWithOnlineBackup } from "../safety/up-with-backup.js";
export type { UpWithBackupOptions } from "../safety/up-with-backup.js";
export { listBackups, pruneBackups, takeBackup, takeBackupSync } from "../safety/backup.js";
export type { BackupDatabase, BackupFile, BackupIdentityOptions, BackupOptions, PruneBackupsOptions, TakeBackupOptions } from "../safety/backup.js";
export type { BackupRecord } from "../core/backup-record.js";
export { restoreBackup } from "../safety/restore.js";
export type { RestoreOptions, RestoreResult } from "../safety/restore.js";
export type { BackupInspection } from "../safety/backup-check.js";
export type { DatabaseFingerprint } from "../safety/database-fingerprint.js";
export type { DriverSource } from "../safety/driver-source.js";
export type { SafetyNetManager } from "../safety/schema-reader.js";
export type { ServerBackupTool } from "../safety/backup-capabilities.js";

// Adopting a database made before stepwise: record migrations 1..N as applied when its schema matches.
export { baselineDatabase, baselineDatabaseAsync } from "../safety/baseline.js";
export type { BaselineOptions, BaselineResult } from "../safety/baseline.js";

// The refusal every net throws for a capability its driver lacks.
export type { DriverCapabilities, DriverCapability } from "../core/driver.js";

// A dry run that runs: the pending migrations applied to a private copy of the database.
export { rehearseUp } from "../safety/rehearsal.js";
// The same for a manager whose methods return promises: in one transaction rolled back at the end.
export { rehearseUpAsync } from "../safety/rehearsal-in-transaction.js";
export type { Rehearsal, RehearsalFailure, RehearsalStep, RehearsedPlan, RehearseOptions, RowCountChange } from "../safety/rehearsal.js";

// The way out after an interrupted `transaction: false` migration.
export { repairIncompleteMigration, repairIncompleteMigrationAsync } from "../safety/repair.js";
export type { RepairOptions, RepairResolution, RepairResult } from "../safety/repair.js";

// The way out of a CHECKSUM_MISMATCH after a deliberate edit: realign recorded checksums, recorded as an event.
export { listChecksumRepairs, repairChecksums, repairChecksumsAsync } from "../safety/checksum-repair.js";
export type { ChecksumRealignment, ChecksumRepairOptions, ChecksumRepairResult } from "../safety/checksum-repair.js";
export type { ChecksumRepairEvent } from "../core/checksum-repair-log.js";

// The schema as plain data, and what differs between two schemas.
export { diffSchemas, readSchemaSnapshot } from "../safety/schema-snapshot.js";
export type {
  ColumnSnapshot,
  ForeignKeySnapshot,
  NormalizeSqlOptions,
  ReadSchemaOptions,
  SchemaAspectChange,
  SchemaDifference,
  SchemaObjectType,
  SchemaSnapshot,
  SqlObjectSnapshot,
  TableSnapshot,
} from "../safety/schema-snapshot.js";

// Drift detection: the live schema against a replay of the applied migrations.
export { verifySchema, verifySchemaAsync } from "../safety/verify.js";
export type { SchemaVerification, VerifySchemaOptions } from "../safety/verify.js";
