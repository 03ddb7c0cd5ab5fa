/**
 * `up` preceded by a snapshot, taken only when something is pending. Standalone functions rather
 * than manager options, so an app that never backs up does not bundle the backup code.
 *
 * The plan is read before the snapshot and `up` plans again under the write lock, so a run that
 * another process finished in between still returns the snapshot it took, and applies nothing twice.
 */
import { assertAbsoluteBackupDirectory, takeBackup, takeBackupSync, type BackupOptions } from "./backup.js";
import type { BackupRecord } from "../core/backup-record.js";
import { refuseDamagedDatabase } from "./backup-check.js";
import type { SyncMigrationManager } from "../core/manager.js";
import type { MigrationResult, UpOptions } from "../core/options.js";
import { requireBackupCapabilities } from "./backup-capabilities.js";
import { refuseOpenTransactionOn } from "../core/transaction-open.js";
import { inline } from "../core/manager.js";
import type { MigrationRegistry, VersionOf } from "../core/types.js";
import { refuseWholeRunObstacles } from "../core/whole-run-transaction.js";
import { StepwiseError } from "../core/errors.js";
import { withBackupPath } from "../core/error-factories.js";

/** Options for {@link upWithBackup} and {@link upWithOnlineBackup}: those of `up`, plus where the snapshot goes. */
export interface UpWithBackupOptions<V extends number = number> extends UpOptions<V> {
  /** The folder for snapshots (an absolute path) and how many to keep. */
  readonly backup: BackupOptions;
  /**
   * Migrate, and keep the snapshot, even when SQLite's `quick_check` finds the database damaged.
   * Default `false`: a damaged database is refused with `DATABASE_DAMAGED` before the snapshot, since
   * migrating builds on the damage and `restore` refuses a damaged snapshot. Plain `up` runs no check
   * (it would read the whole file at every start); this one costs about half the snapshot's own read.
   */
  readonly dangerouslySkipIntegrityCheck?: boolean;
}

/**
 * `manager.up(options)` preceded, when something is pending, by a snapshot taken synchronously with
 * `VACUUM INTO` (compacted, same schema, rows and `user_version`). Emits `backed-up`. The result
 * carries the snapshot as `backup`; a failed migration's error carries `backupPath`.
 *
 * @example
 * upWithBackup(new MigrationManager(db, migrations, { logger: console }), { backup: { directory: path.join(dataDir, "backups"), keep: 10 } });
 *
 * @throws `DRIVER_CAPABILITY_MISSING` before anything else when the driver has
 *   no real files (capability `openFile`: sql.js); `USAGE` before anything else when
 *   `backup.directory` is not absolute; `UNMANAGED_DATABASE` before any snapshot when the database
 *   has tables but no history; `WHOLE_RUN_TRANSACTION_REFUSED` before any snapshot when
 *   `transaction: "all"` and the run cannot share one transaction; `DATABASE_DAMAGED` before any
 *   snapshot when `quick_check` finds the database damaged (see `dangerouslySkipIntegrityCheck`);
 *   otherwise whatever `up` throws.
 */
export function upWithBackup<R extends MigrationRegistry>(manager: SyncMigrationManager<unknown, R>, options: UpWithBackupOptions<VersionOf<R>>): MigrationResult {
  const { backup: where, dangerouslySkipIntegrityCheck = false, ...upOptions } = options;
  // Refused before anything is read or written: a driver without files cannot hold the snapshot.
  requireBackupCapabilities(manager.driver, "upWithBackup", "openFile");
  // Neither the snapshot nor up can run inside the app's transaction: refused before either starts.
  refuseOpenTransactionOn(manager.driver, "upWithBackup");
  assertAbsoluteBackupDirectory(where.directory);
  const { executor } = manager;
  return manager.run(
    executor.withConnectionSettings(
      (function* () {
        const plan = manager.planUp(upOptions.to === undefined ? {} : { to: upOptions.to });
        if (plan.steps.length === 0) return manager.up(upOptions);
        yield* executor.refuseUnmanagedDatabase();
        // A run that cannot share one transaction is refused before the snapshot, as up refuses it before anything runs.
        if (upOptions.transaction === "all") yield* refuseWholeRunObstacles(executor, plan.steps, "up");
        if (!dangerouslySkipIntegrityCheck) refuseDamagedDatabase(manager.driver);
        const backup = takeBackupSync(manager.driver, { ...where, version: plan.fromVersion, tableName: manager.tableName, dangerouslySkipIntegrityCheck });
        executor.emit({ type: "backed-up", backup });
        return yield* inline(() => upAfterBackup(manager, upOptions, backup));
      })(),
    ),
  );
}

/**
 * `manager.up(options)` preceded, when something is pending, by a snapshot taken with SQLite's online
 * backup API, which copies in steps and lets other connections write in between; it is asynchronous,
 * hence a separate function from {@link upWithBackup}. Emits `backed-up`. The result carries the
 * snapshot as `backup`; a failed migration's error carries `backupPath`.
 *
 * @example
 * await upWithOnlineBackup(manager, { backup: { directory: path.join(dataDir, "backups") } });
 *
 * @throws `DRIVER_CAPABILITY_MISSING` before anything else when the driver
 *   lacks `onlineBackup` (bun:sqlite, libsql, sql.js) or `openFile`; `USAGE` before anything else
 *   when `backup.directory` is not absolute; `UNMANAGED_DATABASE` before any snapshot when the
 *   database has tables but no history; `WHOLE_RUN_TRANSACTION_REFUSED` before any snapshot when
 *   `transaction: "all"` and the run cannot share one transaction; `DATABASE_DAMAGED` as
 *   {@link upWithBackup}; otherwise whatever `up` throws.
 */
export async function upWithOnlineBackup<R extends MigrationRegistry>(manager: SyncMigrationManager<unknown, R>, options: UpWithBackupOptions<VersionOf<R>>): Promise<MigrationResult> {
  const { backup: where, dangerouslySkipIntegrityCheck = false, ...upOptions } = options;
  requireBackupCapabilities(manager.driver, "upWithOnlineBackup", "onlineBackup", "openFile");
  refuseOpenTransactionOn(manager.driver, "upWithOnlineBackup");
  assertAbsoluteBackupDirectory(where.directory);
  const plan = manager.planUp(upOptions.to === undefined ? {} : { to: upOptions.to });
  if (plan.steps.length === 0) return manager.up(upOptions);
  // The online copy runs across awaits, outside the manager's connection settings, so it is told
  // the manager's busy timeout rather than left with the connection's.
  manager.run(manager.executor.withConnectionSettings(manager.executor.refuseUnmanagedDatabase()));
  if (upOptions.transaction === "all") manager.run(manager.executor.withConnectionSettings(refuseWholeRunObstacles(manager.executor, plan.steps, "up")));
  if (!dangerouslySkipIntegrityCheck) manager.run(manager.executor.withConnectionSettings(inline(() => refuseDamagedDatabase(manager.driver))));
  const busyTimeoutMs = Math.max(0, Math.trunc(manager.busyTimeoutMs));
  const backup = await takeBackup(manager.driver, { ...where, version: plan.fromVersion, busyTimeoutMs, tableName: manager.tableName, dangerouslySkipIntegrityCheck });
  manager.executor.emit({ type: "backed-up", backup });
  return upAfterBackup(manager, upOptions, backup);
}

function upAfterBackup<R extends MigrationRegistry>(manager: SyncMigrationManager<unknown, R>, options: UpOptions<VersionOf<R>>, backup: BackupRecord): MigrationResult {
  try {
    return { ...manager.up(options), backup };
  } catch (error) {
    throw error instanceof StepwiseError && error.is("MIGRATION_FAILED") ? withBackupPath(error, backup.path) : error;
  }
}
