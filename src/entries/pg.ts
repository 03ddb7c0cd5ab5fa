/**
 * `stepwise/pg`: migrate a PostgreSQL database through the `pg` package (node-postgres), from a
 * connected `pg.Client` or a `pg.Pool`. Every method returns a promise. Preview: the safety nets
 * (rehearsal, backups, restore, baseline, verification, repair) are not wired to it yet. Importing
 * this entry loads `pg` and no SQLite driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createPgDriver, runLockKey, toPositionalParameters, PG_CAPABILITIES, defineMigration } from "../drivers/pg.js";
export type { PgConnection, PgMigrationDefinition, PgMigrationManagerProps } from "../drivers/pg.js";
export { DEFAULT_POSTGRES_SCHEMA, createPostgresDialect } from "../core/dialects/postgres.js";
export { classifyPostgresError, kindOfSqlstate } from "../core/dialects/postgres-errors.js";
