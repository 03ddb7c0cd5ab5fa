/**
 * The safety nets every driver entry exports (`export *`), so each entry has the same surface. They
 * read and write only through a driver's primitives and import no database library; a driver that
 * lacks what one needs is refused with `DRIVER_CAPABILITY_MISSING` before anything runs.
 *
 * @packageDocumentation
 */

// Backups, restore and up-with-backup: they take a manager (or a driver) and open any other file
// through the driver's `openFile`.
export { upWithBackup, upWithOnlineBackup } from "../safety/up-with-backup.js";
export type { UpWithBackupOptions } from "../safety/up-with-backup.js";
export { DEFAULT_BACKUP_KEEP, InvalidBackupError, listBackups, pruneBackups, takeBackup, takeBackupSync } from "../safety/backup.js";
export type { BackupDatabase, BackupFile, BackupIdentityOptions, BackupOptions, BackupRecord, PruneBackupsOptions, TakeBackupOptions } from "../safety/backup.js";
export { compareBackupWithRegistry, inspectBackupOrThrow, restoreBackup } from "../safety/restore.js";
export type { BackupInspection, RestoreOptions, RestoreResult } from "../safety/restore.js";
export type { DatabaseFingerprint } from "../safety/database-fingerprint.js";
export type { DriverSource } from "../safety/driver-source.js";
