/**
 * The safety nets, exported by the root entry. Each takes the manager of any driver entry and returns its result (a promise for an async manager); a driver that lacks what a net needs is refused
 * with `DRIVER_CAPABILITY_MISSING` before anything runs.
 *
 * @packageDocumentation
 */
export { listBackups, takeBackup, upWithBackup, type BackupFile, type BackupOptions, type TakeBackupOptions, type UpWithBackupOptions } from "./backup.js";
export type { BackupRecord } from "../core/events.js";
export { restoreBackup, type RestoreOptions, type RestoreResult } from "./restore.js";
export { baselineDatabase, type BaselineOptions, type BaselineResult } from "./baseline.js";
export { rehearseUp, type Rehearsal, type RehearsedPlan, type RehearseOptions } from "./rehearsal.js";
export { repairIncompleteMigration, type RepairOptions, type RepairResult } from "./repair.js";
export { listChecksumRepairs, repairChecksums, type ChecksumRepairOptions, type ChecksumRepairResult } from "./checksum-repair.js";
export { diffSchemas, type ReadSchemaOptions, type SchemaSnapshot } from "./schema-snapshot.js";
export type { SchemaDifference } from "../core/errors.js";
export { readSchemaSnapshot } from "./schema-reader.js";
export { verifySchema, type SchemaVerification, type VerifySchemaOptions } from "./verify.js";
