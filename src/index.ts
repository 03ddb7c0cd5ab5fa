/**
 * stepwise's driver-agnostic entry: `defineMigration`, the registry and result types, the errors and
 * the event text. It imports no driver; an app runs its registry through a driver's entry, such as
 * `stepwise-migrate/better-sqlite3` (`migrate`, `MigrationManager` and the safety nets).
 *
 * @packageDocumentation
 */
export { defineMigration } from "./core/types.js";
export type {
  BatchOptions,
  BatchSummary,
  DefineMigration,
  MigrationConnection,
  MigrationConnections,
  MigrationContext,
  MigrationDefinition,
  MigrationDirection,
  MigrationEntry,
  MigrationEntryBase,
  MigrationFunction,
  MigrationRegistry,
  ModuleMigrationEntry,
  SqlMigrationEntry,
  SqlDialect,
  VersionOf,
} from "./core/types.js";
export type { AppliedStep, DownOptions, ManagerPlanUpOptions, MigrateOptions, MigrationManagerProps, MigrationResult, TransactionMode, UpOptions } from "./core/options.js";
export type { MigrationEvent, MigrationLogger } from "./core/events.js";
export type { AppliedMigration, AppliedMigrationKey, MigrationPlan, MigrationState, MigrationStatus, MigrationStatusRow, PlanDownOptions, PlanUpOptions } from "./core/planner.js";
export type { StatusProblem } from "./core/plain-error.js";
export type { ProgressMeasure } from "./core/progress.js";
export type { DriverCapabilities, DriverCapability, ErrorClassification } from "./core/driver.js";
export type { ErrorKind } from "./core/error-kind.js";
export type { MigrateAsyncOptions } from "./core/async-manager.js";
export type { AsyncMigrationFunction, AsyncMigrationMark, SyncMigrationFunction, SyncMigrationRegistry } from "./core/types.js";
export * from "./core/errors.js";
export type { LockWait } from "./core/lock-timeout-error.js";
/**
 * The connection a migration receives, under its old name: kept so migration helpers typed
 * `(db: Database)` against `stepwise-migrate` (or `stepwise`, its earlier name) keep compiling. Prefer the driver entry's `Database`.
 */
export type { MigrationConnection as Database } from "./core/types.js";
