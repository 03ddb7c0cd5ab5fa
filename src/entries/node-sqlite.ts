/**
 * `stepwise-migrate/node-sqlite`: migrate a `node:sqlite` `DatabaseSync` (Node 22.16 or newer). The
 * safety nets, imported from `stepwise-migrate`, take this entry's manager (snapshots by `serialize()`
 * or `VACUUM INTO`; the online backup needs Node 24's `backup()`). Loads no other driver, nor
 * `node:sqlite` itself: the app's connection brings it.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync, defineMigration } from "../drivers/node-sqlite.js";
export type { DatabaseSync } from "../drivers/node-sqlite.js";
