/**
 * How `up --backup` snapshots the database on the chosen driver. SQLite's online backup copies in
 * steps and lets other connections write in between, so it is used wherever the driver declares
 * `onlineBackup`; a driver that can only open a second file (`openFile`: libsql, bun:sqlite, a
 * node:sqlite without `backup()`) still gets a consistent snapshot from `VACUUM INTO`, which holds a
 * read lock for the copy. Refusing `--backup` there would leave those users with no snapshot at all.
 */
import { requireCapabilities } from "../core/driver.js";
import type { SyncMigrationManager } from "../core/manager.js";
import type { MigrationResult } from "../core/options.js";
import type { MigrationRegistry } from "../core/types.js";
import { upWithBackup, upWithOnlineBackup, type UpWithBackupOptions } from "../safety/up-with-backup.js";

/** Which snapshot `up --backup` takes, as its output and `--json` name it. */
export type CliBackupMethod = "online-backup" | "vacuum-into";

/**
 * The snapshot the driver supports, best first.
 *
 * @throws `DRIVER_CAPABILITY_MISSING` (`openFile`) when the driver can open no second file (sql.js), before anything runs.
 */
export function chooseBackupMethod<R extends MigrationRegistry>(manager: SyncMigrationManager<unknown, R>): CliBackupMethod {
  if (manager.driver.capabilities.onlineBackup && manager.driver.capabilities.openFile) return "online-backup";
  requireCapabilities(manager.driver, "upWithBackup", "openFile");
  return "vacuum-into";
}

/** `up` preceded by a snapshot taken with `method` (see {@link chooseBackupMethod}). */
export function upWithBackupMethod<R extends MigrationRegistry>(
  manager: SyncMigrationManager<unknown, R>,
  method: CliBackupMethod,
  options: UpWithBackupOptions,
): MigrationResult | Promise<MigrationResult> {
  return method === "online-backup" ? upWithOnlineBackup(manager, options as never) : upWithBackup(manager, options as never);
}
