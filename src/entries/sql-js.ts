/**
 * `stepwise/sql-js`: migrate an in-memory sql.js database (SQLite in WebAssembly, for browsers and
 * workers). `migrate` and `MigrationManager` take sql.js's own `Database`; the app loads sql.js with
 * `initSqlJs()` and saves `db.export()` wherever it keeps its data. sql.js has no file, locking or
 * online backup, and stepwise cannot yet rehearse on it, so rehearsal is not exported here. Backups,
 * restore and `upWithBackup` are exported as from every entry (`safety-nets.ts`) and, for want of a
 * file (capability `openFile`), refuse with `DRIVER_CAPABILITY_MISSING` before anything runs. Importing this entry loads no
 * other driver, and none of sql.js itself.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createSqlJsDriver, SQL_JS_CAPABILITIES, sqliteCodeOfMessage } from "../drivers/sql-js.js";
export type { Database } from "../drivers/sql-js.js";
export * from "./safety-nets.js";
export { defineMigration } from "../drivers/sql-js.js";
