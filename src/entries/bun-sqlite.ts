/**
 * `stepwise/bun-sqlite`: migrate a database opened with Bun's built-in `bun:sqlite` (`Database`).
 * `migrate` and `MigrationManager` take the app's own `Database`. Importing this entry loads no other
 * driver, and not even `bun:sqlite` itself: the app's connection brings it.
 *
 * The safety nets that read through the driver (rehearsal, baseline, verification, repair, the schema
 * snapshot) are exported here as from every entry; backups and restore are exported by
 * `stepwise/better-sqlite3` only, for now.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createBunSqliteDriver, BUN_SQLITE_CAPABILITIES } from "../drivers/bun-sqlite.js";
export type { Database, BunStatement } from "../drivers/bun-sqlite.js";
// Safety nets: standalone functions that take the manager, so an app bundles only those it imports.
export * from "./safety-nets.js";
