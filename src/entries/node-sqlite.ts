/**
 * `stepwise-migrate/node-sqlite`: migrate a database opened with Node's built-in `node:sqlite`
 * (`DatabaseSync`, Node 22.16 or newer). `migrate` and `MigrationManager` take the app's own
 * `DatabaseSync`. Importing this entry loads no other driver, and not even `node:sqlite` itself: the
 * app's connection brings it.
 *
 * The safety nets are imported from `stepwise-migrate` and take this entry's manager. Rehearsal, baseline and
 * verification copy the database with `DatabaseSync#serialize` where Node has it (24.21 does), and
 * by `VACUUM INTO` a private temporary file where it does not. The online backup and restore need
 * node:sqlite's `backup()` (Node 24 has it) and refuse with `DRIVER_CAPABILITY_MISSING` without it.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync } from "../drivers/node-sqlite.js";
export type { DatabaseSync } from "../drivers/node-sqlite.js";
export { defineMigration } from "../drivers/node-sqlite.js";
