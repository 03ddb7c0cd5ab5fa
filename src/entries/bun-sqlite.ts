/**
 * `stepwise/bun-sqlite`: migrate a database opened with Bun's built-in `bun:sqlite` (`Database`).
 * `migrate` and `MigrationManager` take the app's own `Database`. Importing this entry loads no other
 * driver, and not even `bun:sqlite` itself: the app's connection brings it.
 *
 * The safety nets (rehearsal, backups, restore, baseline, verification) still read the database
 * through better-sqlite3 and are exported by `stepwise/better-sqlite3` only, for now.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createBunSqliteDriver, BUN_SQLITE_CAPABILITIES } from "../drivers/bun-sqlite.js";
export type { Database, BunStatement } from "../drivers/bun-sqlite.js";
export { DriverCapabilityError } from "../core/driver.js";
export type { DriverCapabilities, DriverCapability } from "../core/driver.js";
export { defineMigration } from "../drivers/bun-sqlite.js";
