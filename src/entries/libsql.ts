/**
 * `stepwise-migrate/libsql`: migrate a local database through the `libsql` package's `Database`.
 * The safety nets, imported from `stepwise-migrate`, take this entry's manager (rehearsal copies page
 * by page, backups by `VACUUM INTO`: libsql has neither `serialize()` nor `backup()`).
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync, defineMigration } from "../drivers/libsql.js";
export type { Database } from "../drivers/libsql.js";
