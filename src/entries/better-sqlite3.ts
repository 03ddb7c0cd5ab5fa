/**
 * `stepwise-migrate/better-sqlite3`: migrate a better-sqlite3 `Database`. The safety nets, imported from
 * `stepwise-migrate`, take this entry's manager. Loads better-sqlite3 and no other driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync, defineMigration } from "../drivers/better-sqlite3.js";
export type { Database } from "../drivers/better-sqlite3.js";
