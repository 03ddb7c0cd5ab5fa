/**
 * `stepwise/node-sqlite`: migrate a database opened with Node's built-in `node:sqlite`
 * (`DatabaseSync`, Node 22.16 or newer). `migrate` and `MigrationManager` take the app's own
 * `DatabaseSync`. Importing this entry loads no other driver, and not even `node:sqlite` itself: the
 * app's connection brings it.
 *
 * Backups, restore and `upWithBackup` are exported here as from every entry (`safety-nets.ts`); the
 * online ones need node:sqlite's `backup()` (Node 24 has it) and refuse with
 * `DRIVER_CAPABILITY_MISSING` without it. Rehearsal, baseline and verification are exported by
 * `stepwise/better-sqlite3` only, for now.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createNodeSqliteDriver, nodeSqliteCapabilities } from "../drivers/node-sqlite.js";
export type { DatabaseSync, StatementSync } from "../drivers/node-sqlite.js";
export { DriverCapabilityError } from "../core/driver.js";
export type { DriverCapabilities, DriverCapability } from "../core/driver.js";
export * from "./safety-nets.js";
export { defineMigration } from "../drivers/node-sqlite.js";
