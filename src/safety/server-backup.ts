/**
 * Backups of a database that lives on a server (PostgreSQL) are the server's tools' job: `pg_dump`
 * takes a consistent copy without stopping writers, `pg_restore` (or `psql` for a plain dump) puts one
 * back, and both know roles, extensions, large objects and everything else a copy has to carry.
 * stepwise's backups copy a SQLite file; on a server they are refused by capability, before anything
 * is read, written or created, with the tool to use named.
 */
import type { MigrationResult } from "../core/options.js";
import type { BackupOptions } from "./backup.js";
import type { BackupRecord } from "../core/backup-record.js";
import type { RestoreResult } from "./restore.js";
import type { UpWithBackupOptions } from "./up-with-backup.js";
import { requireBackupCapabilities, type ServerManager } from "./backup-capabilities.js";
import { usageError } from "../core/error-factories.js";

/**
 * `upWithBackup` on a server database: refused with `DRIVER_CAPABILITY_MISSING` (naming
 * `pg_dump`) before anything runs; no migration is applied. Take the dump first, then call `up`.
 *
 * @example
 * // in a deploy script: pg_dump --format=custom --file=before.dump "$DATABASE_URL" && node migrate.js
 */
export async function upWithBackupOnServer(manager: ServerManager, _options: UpWithBackupOptions): Promise<MigrationResult> {
  requireBackupCapabilities(manager.driver, "upWithBackup", "openFile");
  throw usageError(`upWithBackup here is for server databases; for a SQLite database import upWithBackup from its driver's entry (such as "stepwise-migrate/better-sqlite3").`);
}

/** `upWithOnlineBackup` on a server database: refused as {@link upWithBackupOnServer} is. */
export async function upWithOnlineBackupOnServer(manager: ServerManager, _options: UpWithBackupOptions): Promise<MigrationResult> {
  requireBackupCapabilities(manager.driver, "upWithOnlineBackup", "onlineBackup", "openFile");
  throw usageError(`upWithOnlineBackup here is for server databases; for a SQLite database import upWithOnlineBackup from its driver's entry (such as "stepwise-migrate/better-sqlite3").`);
}

/** `takeBackup` on a server database: refused with `DRIVER_CAPABILITY_MISSING` (naming `pg_dump`); no folder or file is created. */
export async function takeBackupOnServer(manager: ServerManager, _options: BackupOptions & { readonly version: number }): Promise<BackupRecord> {
  requireBackupCapabilities(manager.driver, "takeBackup", "onlineBackup", "openFile");
  throw usageError(`takeBackup here is for server databases; for a SQLite database import takeBackup from its driver's entry (such as "stepwise-migrate/better-sqlite3").`);
}

/** `restoreBackup` on a server database: refused with `DRIVER_CAPABILITY_MISSING` (naming `pg_restore`); nothing is read or changed. */
export async function restoreBackupOnServer(manager: ServerManager, _options: { readonly backupFile: string }): Promise<RestoreResult> {
  requireBackupCapabilities(manager.driver, "restoreBackup", "openFile", "onlineBackup");
  throw usageError(`restoreBackup here is for server databases; for a SQLite database import restoreBackup from its driver's entry (such as "stepwise-migrate/better-sqlite3").`);
}
