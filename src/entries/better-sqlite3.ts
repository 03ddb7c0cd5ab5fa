/**
 * `stepwise-migrate/better-sqlite3`: migrate a better-sqlite3 database. `migrate` and `MigrationManager`
 * take better-sqlite3's own `Database`; the safety nets (rehearsal, backups, restore, baseline,
 * verification, repair), imported from `stepwise-migrate`, take the manager. Importing this entry loads better-sqlite3 and no other
 * driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync } from "../drivers/better-sqlite3.js";
export type { Database } from "../drivers/better-sqlite3.js";
export { defineMigration } from "../drivers/better-sqlite3.js";
