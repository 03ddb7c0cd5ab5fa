/**
 * The safety nets, exported once, by the root entry `stepwise-migrate`. They take the manager of any
 * driver entry, read and write only through its driver's primitives and import no database library;
 * a driver that lacks what one needs is refused with `DRIVER_CAPABILITY_MISSING` (on PostgreSQL, a
 * backup names `pg_dump` or `pg_restore`) before anything runs. Standalone functions rather than
 * manager methods, so an app bundles only the nets it imports. Each takes a manager whose methods
 * return values and returns its result, or a manager whose methods return promises (`stepwise-migrate/pg`,
 * `stepwise-migrate/libsql-client`, `AsyncMigrationManager`) and returns a promise of the same result.
 *
 * Kept in blocks, one per net, sorted by module name.
 *
 * @packageDocumentation
 */

// Backups and restore of a SQLite file: they take a manager (or a driver) and open any other file
// through the driver's `openFile`; the online backup API where the driver has it, else `VACUUM INTO`.
export { listBackups, takeBackup, upWithBackup } from "./backup.js";
export type { BackupFile, BackupOptions, TakeBackupOptions, UpWithBackupOptions } from "./backup.js";
export type { BackupRecord } from "../core/backup-record.js";
export { restoreBackup } from "./restore.js";
export type { RestoreOptions, RestoreResult } from "./restore.js";

// Adopting a database made before stepwise: record migrations 1..N as applied when its schema matches.
export { baselineDatabase } from "./baseline.js";
export type { BaselineOptions, BaselineResult } from "./baseline.js";

// A dry run that runs: the pending migrations applied to a private copy of the database, or, for a
// manager whose methods return promises, in one transaction rolled back at the end.
export { rehearseUp } from "./rehearsal.js";
export type { Rehearsal, RehearsedPlan, RehearseOptions } from "./rehearsal.js";

// The way out after an interrupted `transaction: false` migration.
export { repairIncompleteMigration } from "./repair.js";
export type { RepairOptions, RepairResult } from "./repair.js";

// The way out of a CHECKSUM_MISMATCH after a deliberate edit: realign recorded checksums, recorded as an event.
export { listChecksumRepairs, repairChecksums } from "./checksum-repair.js";
export type { ChecksumRepairOptions, ChecksumRepairResult } from "./checksum-repair.js";

// The schema as plain data, and what differs between two schemas.
export { diffSchemas } from "./schema-snapshot.js";
export type { ReadSchemaOptions, SchemaDifference, SchemaSnapshot } from "./schema-snapshot.js";
export { readSchemaSnapshot } from "./schema-reader.js";

// Drift detection: the live schema against a replay of the applied migrations.
export { verifySchema } from "./verify.js";
export type { SchemaVerification, VerifySchemaOptions } from "./verify.js";
