/**
 * stepwise's runtime entry. It loads neither ts-morph nor prettier nor any file from disk: an app
 * imports its generated registry and hands it to {@link MigrationManager} or {@link migrate}.
 *
 * @packageDocumentation
 */
export { defineMigration } from "./types.js";
export type {
  Database,
  MigrationContext,
  MigrationDefinition,
  MigrationDirection,
  MigrationEntry,
  MigrationEntryBase,
  MigrationFunction,
  BatchOptions,
  BatchSummary,
  MigrationRegistry,
  ModuleMigrationEntry,
  SqlMigrationEntry,
  VersionOf,
} from "./types.js";
export {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_TRANSACTION_MODE,
  MigrationManager,
  describeEvent,
  migrate,
} from "./manager.js";
export type {
  AppliedStep,
  DownOptions,
  ManagerPlanUpOptions,
  MigrateOptions,
  MigrationEvent,
  MigrationLogger,
  MigrationManagerProps,
  MigrationResult,
  TransactionMode,
  UpOptions,
} from "./manager.js";
export { WholeRunTransactionRefusedError, assertWholeRunPossible, findWholeRunObstacle } from "./whole-run-transaction.js";
export type { WholeRunObstacle } from "./whole-run-transaction.js";
export { DEFAULT_TABLE_NAME, HistoryStore, isValidTableName } from "./history-store.js";
export { RESTORED_CONNECTION_SETTINGS } from "./connection-settings.js";
export type { RestoredConnectionSetting } from "./connection-settings.js";
export {
  DEFAULT_DOWN_STEPS,
  assertValidRegistry,
  describeStatus,
  findHistoryProblem,
  findRegistryProblems,
  planDown,
  planUp,
  verifyHistoryOrThrow,
} from "./planner.js";
export type {
  AppliedMigration,
  AppliedMigrationKey,
  MigrationPlan,
  MigrationState,
  MigrationStatus,
  MigrationStatusRow,
  PlanDownOptions,
  PlanUpOptions,
} from "./planner.js";
export { describeRepair, repairIncompleteMigration } from "./repair.js";
export type { RepairOptions, RepairResolution, RepairResult } from "./repair.js";
export * from "./errors.js";
// Safety nets: rehearsal, backups, baseline, verification, progress. Standalone functions that take
// the manager, so an app bundles only those it imports.
export { openInMemoryCopy, rehearseUp } from "./rehearsal.js";
export type { Rehearsal, RehearsalFailure, RehearsalStep, RehearsedPlan, RehearseOptions, RowCountChange } from "./rehearsal.js";
export { upWithBackup, upWithOnlineBackup } from "./up-with-backup.js";
export type { UpWithBackupOptions } from "./up-with-backup.js";
export {
  DEFAULT_BACKUP_KEEP,
  InvalidBackupError,
  formatBackupFileName,
  listBackups,
  pruneBackups,
  takeBackup,
  takeBackupSync,
} from "./backup.js";
export type { BackupFile, BackupOptions, BackupRecord, TakeBackupOptions } from "./backup.js";
export { databaseIdentity, parseBackupName } from "./backup-name.js";
export type { ParsedBackupName } from "./backup-name.js";
export { compareBackupWithRegistry, inspectBackupOrThrow, restoreBackup } from "./restore.js";
export type { BackupInspection, RestoreOptions, RestoreResult } from "./restore.js";
export { AlreadyManagedError, SchemaMismatchError, baselineDatabase } from "./baseline.js";
export type { BaselineOptions, BaselineResult } from "./baseline.js";
export { SchemaDriftError, verifySchema } from "./verify.js";
export type { SchemaVerification, VerifySchemaOptions } from "./verify.js";
export { replaySchema } from "./schema-replay.js";
export { countRows, describeSchemaDifference, diffSchemas, normalizeSql, readSchemaSnapshot } from "./schema-snapshot.js";
export type {
  ColumnSnapshot,
  ForeignKeySnapshot,
  ReadSchemaOptions,
  SchemaAspectChange,
  SchemaDifference,
  SchemaObjectType,
  SchemaSnapshot,
  SqlObjectSnapshot,
  TableSnapshot,
} from "./schema-snapshot.js";
export { DEFAULT_BATCH_SIZE, DEFAULT_PROGRESS_INTERVAL_MS, createProgressReporter, forEachBatch } from "./progress.js";
export type { ProgressMeasure, ProgressReporterOptions } from "./progress.js";
