/**
 * `stepwise-migrate/bun-sqlite`: migrate a `bun:sqlite` `Database`. The safety nets, imported from
 * `stepwise-migrate`, take this entry's manager (backups by `VACUUM INTO`: bun:sqlite has no online
 * backup). Loads no other driver, nor `bun:sqlite` itself: the app's connection brings it.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync, defineMigration } from "../drivers/bun-sqlite.js";
export type { Database } from "../drivers/bun-sqlite.js";
