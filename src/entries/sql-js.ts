/**
 * `stepwise-migrate/sql-js`: migrate an in-memory sql.js database (SQLite in WebAssembly, for browsers and
 * workers). `migrate` and `MigrationManager` take sql.js's own `Database`; the app loads sql.js with
 * `initSqlJs()` and saves `db.export()` wherever it keeps its data. The safety nets are imported from
 * `stepwise-migrate` and take this entry's manager: rehearsal (on a copy made by `export()`), baseline,
 * verification and repair work; sql.js has no file, locking or online backup, so backups, restore
 * and `upWithBackup` refuse with `DRIVER_CAPABILITY_MISSING` (capability `openFile`) before anything
 * runs. Importing this entry loads no other driver, and none of sql.js itself.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync } from "../drivers/sql-js.js";
export type { Database } from "../drivers/sql-js.js";
export { defineMigration } from "../drivers/sql-js.js";
