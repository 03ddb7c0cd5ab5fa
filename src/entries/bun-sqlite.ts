/**
 * `stepwise-migrate/bun-sqlite`: migrate a database opened with Bun's built-in `bun:sqlite` (`Database`).
 * `migrate` and `MigrationManager` take the app's own `Database`. Importing this entry loads no other
 * driver, and not even `bun:sqlite` itself: the app's connection brings it.
 *
 * The safety nets are imported from `stepwise-migrate` and take this entry's manager: rehearsal, baseline,
 * verification, repair, backups (`upWithBackup`, by `VACUUM INTO`: bun:sqlite has no online backup) and restore.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, AsyncMigrationManager, migrateAsync } from "../drivers/bun-sqlite.js";
export type { Database } from "../drivers/bun-sqlite.js";
export { defineMigration } from "../drivers/bun-sqlite.js";
