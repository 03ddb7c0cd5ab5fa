/**
 * `stepwise/better-sqlite3`: migrate a better-sqlite3 database. `migrate` and `MigrationManager`
 * take better-sqlite3's own `Database`; the safety nets (rehearsal, backups, restore, baseline,
 * verification, repair) take the manager. Importing this entry loads better-sqlite3 and no other
 * driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createBetterSqlite3Driver, BETTER_SQLITE3_CAPABILITIES } from "../drivers/better-sqlite3.js";
export type { Database } from "../drivers/better-sqlite3.js";
// Safety nets: standalone functions that take the manager, so an app bundles only those it imports.
export { rehearseUp } from "../safety/rehearsal.js";
export type { Rehearsal, RehearsalFailure, RehearsalStep, RehearsedPlan, RehearseOptions, RowCountChange } from "../safety/rehearsal.js";
export { AlreadyManagedError, SchemaMismatchError, baselineDatabase } from "../safety/baseline.js";
export type { BaselineOptions, BaselineResult } from "../safety/baseline.js";
export { SchemaDriftError, verifySchema } from "../safety/verify.js";
export type { SchemaVerification, VerifySchemaOptions } from "../safety/verify.js";
export { describeRepair, repairIncompleteMigration } from "../safety/repair.js";
export type { RepairOptions, RepairResolution, RepairResult } from "../safety/repair.js";
export { describeSchemaDifference, diffSchemas, readSchemaSnapshot } from "../safety/schema-snapshot.js";
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
} from "../safety/schema-snapshot.js";
export type { NormalizeSqlOptions } from "../safety/schema-snapshot.js";
export * from "./safety-nets.js";
export { defineMigration } from "../drivers/better-sqlite3.js";
