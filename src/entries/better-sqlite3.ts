/**
 * `stepwise/better-sqlite3`: migrate a better-sqlite3 database. `migrate` and `MigrationManager`
 * take better-sqlite3's own `Database`; the safety nets (rehearsal, backups, restore, baseline,
 * verification, repair) take the manager. Importing this entry loads better-sqlite3 and no other
 * driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createBetterSqlite3Driver, BETTER_SQLITE3_CAPABILITIES } from "../drivers/better-sqlite3.js";
export type { Database } from "../drivers/better-sqlite3.js";
// Safety nets: standalone functions that take the manager, so an app bundles only those it imports.
export * from "./safety-nets.js";
export { upWithBackup, upWithOnlineBackup } from "../safety/up-with-backup.js";
export type { UpWithBackupOptions } from "../safety/up-with-backup.js";
export { DEFAULT_BACKUP_KEEP, InvalidBackupError, listBackups, pruneBackups, takeBackup, takeBackupSync } from "../safety/backup.js";
export type { BackupFile, BackupIdentityOptions, BackupOptions, BackupRecord, PruneBackupsOptions, TakeBackupOptions } from "../safety/backup.js";
export { compareBackupWithRegistry, inspectBackupOrThrow, restoreBackup } from "../safety/restore.js";
export type { BackupInspection, RestoreOptions, RestoreResult } from "../safety/restore.js";
