/**
 * stepwise's root entry: `defineMigration`, the registry, option and result types, the one error
 * class, and the safety nets (rehearsal, backups, restore, baseline, verification, repair), which
 * take the manager of any driver entry, and `migrateMany` for a fleet of databases. It imports no
 * driver; an app runs its registry through a driver's entry, such as `stepwise-migrate/better-sqlite3` (`migrate` and `MigrationManager`).
 *
 * @packageDocumentation
 */
export { defineMigration } from "./core/types.js";
export type { MigrationContext, MigrationDefinition, MigrationEntry, MigrationFunction, MigrationRegistry, ModuleMigrationEntry, SqlMigrationEntry, VersionOf } from "./core/types.js";
/**
 * The connection a migration receives: the driver's own connection, narrowed to what every driver
 * offers. Type a migration helper's parameter with it (`(db: Database) => void`) to share the helper
 * between migrations.
 */
export type { MigrationConnection as Database } from "./core/types.js";
export type { DownOptions, MigrateOptions, MigrationManagerProps, MigrationResult, TransactionMode, UpOptions } from "./core/options.js";
export type { MigrationEvent, MigrationLogger } from "./core/events.js";
export type { MigrationPlan, MigrationStatus } from "./core/planner.js";
export type { StatusProblem } from "./core/errors.js";
export { StepwiseError } from "./core/errors.js";
export type { StepwiseErrorCode, StepwiseErrorDetails } from "./core/errors.js";
export * from "./safety/index.js";
export { migrateMany } from "./fleet/migrate-many.js";
export type { FleetReport, MigrateManyOptions } from "./fleet/migrate-many.js";
