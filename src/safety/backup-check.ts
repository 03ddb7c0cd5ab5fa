/**
 * The one check a backup passes: before `up --backup` (or any snapshot) gives it its name, and before
 * `restore` puts it back. A backup that restore would refuse is no backup, so both ask the same
 * question: is it a regular file SQLite opens, does `quick_check` find it intact, and (for restore)
 * does it hold a stepwise history.
 *
 * `quick_check`, not `integrity_check`: it reads every page of every b-tree, which finds a truncated,
 * overwritten or torn file, but does not cross-check each index against its table. Measured on a
 * 1 GB database (4 million rows, one index): quick_check 5-9 s, integrity_check 38-63 s, the online
 * copy itself 10 s. The full check would make every `up --backup` several times slower for the one
 * kind of damage (an index out of step with its table) that `REINDEX` repairs in place.
 */
import { readAllHistory } from "../core/history-reads.js";
import { nodeFs } from "../core/node-builtins.js";
import { describeFileKind, StepwiseError, type FileKind } from "../core/errors.js";
import { CALLS, text } from "../core/option-text.js";
import { DEFAULT_TABLE_NAME, HistoryStore } from "../core/history.js";
import { runSync } from "../core/runners.js";
import { DEFAULT_BUSY_TIMEOUT_MS } from "../core/options.js";
import { highestRecordedVersion, type AppliedMigration } from "../core/planner.js";
import type { SyncDriver } from "../core/driver.js";
import { elapsedOf } from "../core/elapsed.js";
import { fileKindAt } from "../drivers/database-file.js";
import { findLockHolders } from "../drivers/lock-holders.js";
import { closeQuietly, driverWith, isLockError, sqliteCodeFrom, type DriverSource } from "./driver-source.js";
import { readValue } from "./database-fingerprint.js";
import { isUnfinishedBackup } from "./backup-name.js";
import { backupLockedError, databaseDamagedError } from "../core/error-factories.js";

/** A file offered to `restore` is not a usable stepwise backup; nothing was changed. */
export function invalidBackupError(file: string, reason: string, cause?: unknown, kind: FileKind | null = null): StepwiseError<"BACKUP_INVALID"> {
  return new StepwiseError(
    "BACKUP_INVALID",
    text`${file} cannot be restored: ${reason}. Nothing was changed. Pick a file written by ${CALLS.upWithBackup}.`,
    { file, reason, kind },
    cause === undefined ? undefined : { cause },
  );
}

/** What `PRAGMA quick_check` reports about the database `driver` has open: nothing when it is intact, else a line per problem (at most 20). */
export function quickCheckProblems(driver: SyncDriver): string[] {
  const lines = driver.query("PRAGMA quick_check(20)", []).flatMap((row) => String(Object.values(row)[0]).split("\n"));
  return lines.length === 1 && lines[0] === "ok" ? [] : lines.filter((line) => line !== "*** in database main ***");
}

/**
 * Refuses, before a snapshot or a migration, a database `quick_check` finds damaged: migrating would
 * build on the damage, and a backup of it is one restore refuses. With `file`, the check is of that
 * file (a copy just written of `databaseFile`), opened read-only through `driver`'s library.
 *
 * @throws `DATABASE_DAMAGED` naming `databaseFile` (default: the driver's own) with the check's output.
 */
export function refuseDamagedDatabase(driver: SyncDriver, file: string | null = null, databaseFile: string | null = driver.filePath): void {
  const checked = file === null ? driver : driver.openFile!(file, { readonly: true, busyTimeoutMs: 0 });
  try {
    const problems = quickCheckProblems(checked);
    if (problems.length > 0) throw databaseDamagedError({ databasePath: databaseFile ?? ":memory:", problems });
  } finally {
    if (checked !== driver) closeQuietly(checked);
  }
}

/** What a backup file holds, checked before it is restored. */
export interface BackupInspection {
  readonly file: string;
  /** The newest applied version in its history. */
  readonly version: number;
  /** Its history rows, ascending by version. */
  readonly history: readonly Pick<AppliedMigration, "version" | "name" | "checksum">[];
}

/**
 * Checks that `file` is an intact SQLite database (`quick_check`, see the module note) with a
 * stepwise history table, and reads its history. Never writes, and never opens what is not a regular
 * file (a FIFO would block the read forever). An empty database (no schema object at all,
 * `user_version` 0) is the version-0 backup `up --backup` writes of a fresh database, and reads as
 * version 0 with no history; anything with a schema but no history table was not made by stepwise.
 *
 * `source` is a connection of the app's SQLite library (a driver or manager; an in-memory one will do),
 * whose driver opens the file.
 *
 * @throws `DRIVER_CAPABILITY_MISSING` when that driver cannot open files.
 * @throws `BACKUP_INVALID` when it is missing, no regular file, an unfinished backup (`.partial`),
 *   not SQLite, truncated, damaged, or has no history table.
 * @throws `DATABASE_LOCKED` when another process keeps the file locked past `busyTimeoutMs`.
 */
export function inspectBackupOrThrow(source: DriverSource, file: string, tableName: string = DEFAULT_TABLE_NAME, busyTimeoutMs: number = DEFAULT_BUSY_TIMEOUT_MS): BackupInspection {
  const opener = driverWith(source, "inspectBackupOrThrow", "openFile");
  const db = openBackupOrThrow(opener, file, busyTimeoutMs);
  try {
    return inspectOpenBackup(db, file, tableName, busyTimeoutMs);
  } finally {
    closeQuietly(db);
  }
}

/** Opens `file` read-only with `opener`'s library once it is known to be a finished backup's regular file. */
export function openBackupOrThrow(opener: SyncDriver, file: string, busyTimeoutMs: number): SyncDriver {
  const kind = fileKindAt(file);
  if (kind !== "file") throw invalidBackupError(file, kind === "missing" ? "there is no such file" : `it is ${describeFileKind(kind)}, not a file`, undefined, kind);
  // What an interrupted backup left may read as a database, and is still no backup, under any link's name.
  if (isUnfinishedBackup(file) || isUnfinishedBackup(nodeFs().realpathSync(file))) throw invalidBackupError(file, "it is an unfinished backup (what an interrupted one left), never a backup");
  const started = performance.now();
  try {
    // The busy timeout applies to the backup too: another process may be reading or writing it.
    return opener.openFile!(file, { readonly: true, busyTimeoutMs });
  } catch (error) {
    if (isLockError(opener, error)) throw backupLockedError(file, busyTimeoutMs, error, findLockHolders(file), Math.round(performance.now() - started));
    throw invalidBackupError(file, `SQLite cannot open it (${sqliteCodeFrom(opener, error) ?? "unknown error"})`, error);
  }
}

/** {@link inspectBackupOrThrow} on a backup already open. */
export function inspectOpenBackup(driver: SyncDriver, file: string, tableName: string, busyTimeoutMs: number): BackupInspection {
  const started = performance.now();
  try {
    const problems = quickCheckProblems(driver);
    if (problems.length > 0) throw invalidBackupError(file, `it is damaged (quick_check: ${problems.slice(0, 3).join("; ")})`);
    const store = new HistoryStore(tableName);
    const hasHistory = runSync(store.exists(), driver);
    if (!hasHistory && isEmptyDatabase(driver)) return { file, version: 0, history: [] };
    if (!hasHistory) throw invalidBackupError(file, `it has no "${tableName}" history table, so it was not made by stepwise`);
    runSync(store.assertShape(), driver);
    const history = runSync(readAllHistory(store), driver).map(({ version, name, checksum }) => ({ version, name, checksum }));
    return { file, version: highestRecordedVersion(history), history };
  } catch (error) {
    if (error instanceof StepwiseError) throw error;
    // Locked by another process is not damaged: waiting, or retrying later, will do.
    if (isLockError(driver, error)) throw backupLockedError(file, busyTimeoutMs, error, findLockHolders(file), elapsedOf(error) ?? Math.round(performance.now() - started));
    throw invalidBackupError(file, `it is not a readable SQLite database (${sqliteCodeFrom(driver, error) ?? String(error)})`, error);
  }
}

/** No schema object of any kind and `user_version` 0: a snapshot of a database before its first migration. */
function isEmptyDatabase(driver: SyncDriver): boolean {
  return Number(readValue(driver, "SELECT count(*) FROM sqlite_master")) === 0 && Number(readValue(driver, "PRAGMA user_version")) === 0;
}
