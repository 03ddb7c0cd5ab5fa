/**
 * `stepwise-migrate/libsql`: migrate a local database through the `libsql` package (Turso's embedded
 * libSQL). `migrate` and `MigrationManager` take libsql's own `Database`. Every safety net is
 * exported here as from every entry (`safety-nets.ts`). libsql has no `serialize()`, so rehearsal reads
 * the database page by page (`sqlite_dbpage`) and opens the copy on a private temporary file; it has no
 * `backup()`, so the online backup and restore refuse with `DRIVER_CAPABILITY_MISSING`, while
 * `takeBackupSync`/`upWithBackup` work. Importing this entry loads no other driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync } from "../drivers/libsql.js";
export type { Database } from "../drivers/libsql.js";
// Safety nets: standalone functions that take the manager, so an app bundles only those it imports.
export * from "./safety-nets.js";
export { defineMigration } from "../drivers/libsql.js";
