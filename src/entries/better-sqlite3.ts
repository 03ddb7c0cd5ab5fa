/**
 * `stepwise-migrate/better-sqlite3`: migrate a better-sqlite3 database. `migrate` and `MigrationManager`
 * take better-sqlite3's own `Database`; the safety nets (rehearsal, backups, restore, baseline,
 * verification, repair) take the manager. Importing this entry loads better-sqlite3 and no other
 * driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync } from "../drivers/better-sqlite3.js";
export type { Database } from "../drivers/better-sqlite3.js";
// Safety nets: standalone functions that take the manager, so an app bundles only those it imports.
export * from "./safety-nets.js";
export { defineMigration } from "../drivers/better-sqlite3.js";
