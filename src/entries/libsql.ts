/**
 * `stepwise-migrate/libsql`: migrate a local database through the `libsql` package (Turso's embedded
 * libSQL). `migrate` and `MigrationManager` take libsql's own `Database`. The safety nets are
 * imported from `stepwise-migrate` and take this entry's manager. libsql has no `serialize()`, so rehearsal reads
 * the database page by page (`sqlite_dbpage`) and opens the copy on a private temporary file; it has no
 * `backup()`, so `upWithBackup` copies with `VACUUM INTO`. Importing this entry loads no other driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync } from "../drivers/libsql.js";
export type { Database } from "../drivers/libsql.js";
export { defineMigration } from "../drivers/libsql.js";
