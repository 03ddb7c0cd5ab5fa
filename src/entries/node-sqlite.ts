/**
 * `stepwise/node-sqlite`: migrate a database opened with Node's built-in `node:sqlite`
 * (`DatabaseSync`, Node 22.16 or newer). `migrate` and `MigrationManager` take the app's own
 * `DatabaseSync`. Importing this entry loads no other driver, and not even `node:sqlite` itself: the
 * app's connection brings it.
 *
 * The safety nets (rehearsal, backups, restore, baseline, verification) still read the database
 * through better-sqlite3 and are exported by `stepwise/better-sqlite3` only, for now.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createNodeSqliteDriver, nodeSqliteCapabilities } from "../drivers/node-sqlite.js";
export type { DatabaseSync, StatementSync } from "../drivers/node-sqlite.js";
export { DriverCapabilityError } from "../core/driver.js";
export type { DriverCapabilities, DriverCapability } from "../core/driver.js";
export { defineMigration } from "../drivers/node-sqlite.js";
