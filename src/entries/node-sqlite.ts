/**
 * `stepwise/node-sqlite`: migrate a database opened with Node's built-in `node:sqlite`
 * (`DatabaseSync`, Node 22.16 or newer). `migrate` and `MigrationManager` take the app's own
 * `DatabaseSync`. Importing this entry loads no other driver, and not even `node:sqlite` itself: the
 * app's connection brings it.
 *
 * The safety nets that read through the driver (rehearsal, baseline, verification, repair, the schema
 * snapshot) are exported here as from every entry; backups and restore are exported by
 * `stepwise/better-sqlite3` only, for now. Rehearsal, baseline and verification copy the database
 * with `DatabaseSync#serialize` where Node has it (24.21 does), and by `VACUUM INTO` a private
 * temporary file where it does not.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createNodeSqliteDriver, nodeSqliteCapabilities } from "../drivers/node-sqlite.js";
export type { DatabaseSync, StatementSync } from "../drivers/node-sqlite.js";
export { SqliteCodedError } from "../drivers/sqlite-shared.js";
// Safety nets: standalone functions that take the manager, so an app bundles only those it imports.
export * from "./safety-nets.js";
