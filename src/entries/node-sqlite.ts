/**
 * `stepwise-migrate/node-sqlite`: migrate a database opened with Node's built-in `node:sqlite`
 * (`DatabaseSync`, Node 22.16 or newer). `migrate` and `MigrationManager` take the app's own
 * `DatabaseSync`. Importing this entry loads no other driver, and not even `node:sqlite` itself: the
 * app's connection brings it.
 *
 * Every safety net is exported here as from every entry (`safety-nets.ts`). Rehearsal, baseline and
 * verification copy the database with `DatabaseSync#serialize` where Node has it (24.21 does), and
 * by `VACUUM INTO` a private temporary file where it does not. The online backup and restore need
 * node:sqlite's `backup()` (Node 24 has it) and refuse with `DRIVER_CAPABILITY_MISSING` without it.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync } from "../drivers/node-sqlite.js";
export type { DatabaseSync, StatementSync } from "../drivers/node-sqlite.js";
// Safety nets: standalone functions that take the manager, so an app bundles only those it imports.
export * from "./safety-nets.js";
export { defineMigration } from "../drivers/node-sqlite.js";
