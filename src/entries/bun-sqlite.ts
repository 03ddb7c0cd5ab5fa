/**
 * `stepwise/bun-sqlite`: migrate a database opened with Bun's built-in `bun:sqlite` (`Database`).
 * `migrate` and `MigrationManager` take the app's own `Database`. Importing this entry loads no other
 * driver, and not even `bun:sqlite` itself: the app's connection brings it.
 *
 * Backups, restore and `upWithBackup` are exported here as from every entry (`safety-nets.ts`);
 * bun:sqlite has no online backup, so `takeBackup`, `upWithOnlineBackup` and `restoreBackup` refuse
 * with `DRIVER_CAPABILITY_MISSING`. Rehearsal, baseline and verification are exported by
 * `stepwise/better-sqlite3` only, for now.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createBunSqliteDriver, BUN_SQLITE_CAPABILITIES } from "../drivers/bun-sqlite.js";
export type { Database, BunStatement } from "../drivers/bun-sqlite.js";
export { DriverCapabilityError } from "../core/driver.js";
export type { DriverCapabilities, DriverCapability } from "../core/driver.js";
export * from "./safety-nets.js";
export { defineMigration } from "../drivers/bun-sqlite.js";
