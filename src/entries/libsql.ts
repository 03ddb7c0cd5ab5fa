/**
 * `stepwise/libsql`: migrate a local database through the `libsql` package (Turso's embedded
 * libSQL). `migrate` and `MigrationManager` take libsql's own `Database`. libsql has no
 * `serialize()` or `backup()`, so the safety nets that need them (rehearsal, schema replay and
 * verification, online backup) are not exported here; given a libsql manager they refuse with
 * `DRIVER_CAPABILITY_MISSING`. Importing this entry loads no other driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createLibsqlDriver, LIBSQL_CAPABILITIES } from "../drivers/libsql.js";
export type { Database } from "../drivers/libsql.js";
export { defineMigration } from "../drivers/libsql.js";
