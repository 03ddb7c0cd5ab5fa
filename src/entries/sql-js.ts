/**
 * `stepwise-migrate/sql-js`: migrate an in-memory sql.js database (SQLite in WebAssembly, for browsers
 * and workers); the app saves `db.export()`. Rehearsal, baseline, verify and repair work; backups and
 * restore are refused (`openFile`). Loads no other driver, and none of sql.js itself.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync, defineMigration } from "../drivers/sql-js.js";
export type { Database } from "../drivers/sql-js.js";
