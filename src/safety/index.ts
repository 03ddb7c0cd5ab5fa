/**
 * The safety nets, exported once by the root entry `stepwise-migrate`. Each takes the manager of any driver entry and returns its result, or a promise of it for a manager whose methods return
 * promises; a driver that lacks what a net needs is refused with `DRIVER_CAPABILITY_MISSING` before anything runs. Standalone functions, so an app bundles only the nets it imports.
 *
 * @packageDocumentation
 */
export { listBackups, takeBackup, upWithBackup } from "./backup.js";
export type { BackupFile, BackupOptions, TakeBackupOptions, UpWithBackupOptions } from "./backup.js";
export type { BackupRecord } from "../core/backup-record.js";
export { restoreBackup } from "./restore.js";
export type { RestoreOptions, RestoreResult } from "./restore.js";
export { baselineDatabase } from "./baseline.js";
export type { BaselineOptions, BaselineResult } from "./baseline.js";
export { rehearseUp } from "./rehearsal.js";
export type { Rehearsal, RehearsedPlan, RehearseOptions } from "./rehearsal.js";
export { repairIncompleteMigration } from "./repair.js";
export type { RepairOptions, RepairResult } from "./repair.js";
export { listChecksumRepairs, repairChecksums } from "./checksum-repair.js";
export type { ChecksumRepairOptions, ChecksumRepairResult } from "./checksum-repair.js";
export { diffSchemas } from "./schema-snapshot.js";
export type { ReadSchemaOptions, SchemaSnapshot } from "./schema-snapshot.js";
export type { SchemaDifference } from "../core/schema-difference.js";
export { readSchemaSnapshot } from "./schema-reader.js";
export { verifySchema } from "./verify.js";
export type { SchemaVerification, VerifySchemaOptions } from "./verify.js";
