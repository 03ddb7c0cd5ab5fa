/**
 * Putting a backup back, and proving it happened. A restore that "succeeds" without copying is worse
 * than one that fails, so the copy is read back through a fresh connection and compared with the
 * backup before anything reports success.
 *
 * The copy goes through SQLite's backup API into the live database: one write transaction on it, so
 * other connections see the old or the new content, a crash leaves the old content, and no stale
 * `-wal` of the target can be replayed over the new content (as after copying or renaming files).
 * The API gives up at once when another connection holds a lock (the driver's `backupTo` then
 * resolves having copied nothing), so the lock is waited for here, within the busy timeout.
 *
 * Every file is opened through the app's own library (the driver's `openFile`), so a restore needs
 * the capabilities `openFile` and `onlineBackup`; a driver without them is refused before anything
 * is read or written.
 */
import type { statSync } from "node:fs";
import { nodeFs, nodePath } from "../core/node-builtins.js";
import { assertAbsolutePathOption, freeBytesIn, takeBackup } from "./backup.js";
import type { BackupRecord } from "../core/backup-record.js";
import { inspectOpenBackup, openBackupOrThrow, type BackupInspection } from "./backup-check.js";
import { createFileExclusively, privateModeFor, realDatabaseFileOrThrow } from "../drivers/database-file.js";
import { compareFingerprints, fingerprintDatabase } from "./database-fingerprint.js";
import { type ForeignBackupReason, StepwiseError } from "../core/errors.js";
import { DEFAULT_TABLE_NAME, HistoryStore } from "../core/history.js";
import { runSync } from "../core/runners.js";
import { findLockHolders } from "../drivers/lock-holders.js";
import { DEFAULT_BUSY_TIMEOUT_MS } from "../core/options.js";
import { assessMigrationOwner, parseMigrationOwner } from "../core/migration-owner.js";
import { highestRecordedVersion, matchesRecordedChecksum } from "../core/planner.js";
import { translateSqliteError } from "../core/sqlite-errors.js";
import type { SyncDriver } from "../core/driver.js";
import { closeQuietly, driverWith, isLockError, sqliteCodeFrom, type DriverSource } from "./driver-source.js";
import { readValue } from "./database-fingerprint.js";
import type { MigrationRegistry } from "../core/types.js";
import {
  databaseLockedError,
  restoreUnverifiedError,
  migrationInProgressError,
  backupFolderUnwritableError,
  backupDiskFullError,
  backupIsDatabaseError,
  transactionOpenError,
  databaseFolderMissingError,
  foreignBackupError,
} from "../core/error-factories.js";

/**
 * Where a backup's history disagrees with a registry: versions the registry lacks, and names or
 * checksums that differ. Empty when every recorded migration is one of the registry's.
 */
export function compareBackupWithRegistry(inspection: BackupInspection, migrations: MigrationRegistry): ForeignBackupReason[] {
  const byVersion = new Map(migrations.map((entry) => [entry.version, entry]));
  const reasons: ForeignBackupReason[] = [];
  for (const row of inspection.history) {
    const entry = byVersion.get(row.version);
    if (!entry) reasons.push({ version: row.version, kind: "unknown-version", backup: row.name, registry: null });
    else if (entry.name !== row.name) reasons.push({ version: row.version, kind: "name", backup: row.name, registry: entry.name });
    else if (!matchesRecordedChecksum(entry, row.checksum)) reasons.push({ version: row.version, kind: "checksum", backup: row.checksum, registry: entry.checksum });
  }
  return reasons;
}

/** Options for {@link restoreBackup}. */
export interface RestoreOptions {
  /**
   * A connection of the app's SQLite library (a driver or a manager; an in-memory connection will do),
   * whose driver opens the backup and the database. It needs the capabilities `openFile` and
   * `onlineBackup` (better-sqlite3, node:sqlite where Node has `backup()`); others are refused with
   * `DRIVER_CAPABILITY_MISSING` before anything is read or written. Its own connection is only the
   * way to the library: if it is open on the database being restored, it counts as another
   * connection (leaving WAL mode for a backup with another page size waits for it to close).
   */
  readonly driver: DriverSource;
  /** The backup file to put back, as an absolute path. */
  readonly backupFile: string;
  /**
   * The database to overwrite, as an absolute path; created when missing (its folder must exist).
   * Through a symlink, the file it points to is restored and the link kept.
   */
  readonly databasePath: string;
  /** Default `schema_migrations`. */
  readonly tableName?: string;
  /** How long to wait for other connections' locks on the database. Default 30,000 ms. */
  readonly busyTimeoutMs?: number;
  /**
   * This app's migrations. When given, a backup whose history records migrations the registry lacks,
   * or with other names or checksums, is refused with `BACKUP_FOREIGN`. Without it that check is
   * skipped (any stepwise backup is accepted), so pass it unless the registry is truly unknown; the
   * CLI always does.
   */
  readonly migrations?: MigrationRegistry;
  /** Restore even when the backup's history does not match `migrations`. Default `false`. */
  readonly dangerouslyAllowForeignBackup?: boolean;
}

/** What {@link restoreBackup} did. */
export interface RestoreResult {
  /** The database file restored: `databasePath` with symlinks resolved. */
  readonly databasePath: string;
  readonly restoredFrom: string;
  /** The version the database is at now. */
  readonly version: number;
  /**
   * A snapshot of the database as it was before the restore, next to the restored backup (or next to
   * the database when the backup's folder cannot be written), so the restore itself can be undone;
   * `null` when there was no database.
   */
  readonly previous: BackupRecord | null;
  /**
   * When the database was not readable as SQLite (`SQLITE_NOTADB`, `SQLITE_CORRUPT`), the copy of its
   * bytes (and journals, with their suffixes) kept where `previous` would be; `null` otherwise.
   */
  readonly setAside: string | null;
  /** Differences from `migrations` that `dangerouslyAllowForeignBackup` let through; empty otherwise. */
  readonly foreignReasons: readonly ForeignBackupReason[];
}

/**
 * Puts a backup back, after checking it (the checks `verify` and `up --backup` make of a backup) and, given `migrations`, that it
 * is this app's. The database it replaces is first saved next to the backup. Success is reported
 * only after the database, read back through a fresh connection, matches the backup (page size and
 * count, `user_version`, schema and every row).
 *
 * @example
 * await restoreBackup({ backupFile: path.join(dataDir, "backups", name), databasePath: path.join(dataDir, "app.db"), migrations });
 *
 * @throws `DRIVER_CAPABILITY_MISSING` before anything else when `driver` lacks
 *   `openFile` or `onlineBackup`; `DATABASE_PATH_INVALID` when `databasePath` is
 *   a folder, FIFO, socket or device (its `kind`), a link to nothing, or its `-journal`, `-wal` or
 *   `-shm` is a link; `BACKUP_INVALID` for a missing, unfinished, damaged or non-stepwise
 *   file, or one that is no regular file (its `kind`);
 *   `BACKUP_FOREIGN` for another app's backup; `DATABASE_FOLDER_MISSING` when the
 *   database's folder does not exist; `DATABASE_LOCKED` when another connection kept a lock on the
 *   database or the backup past the busy timeout; `BACKUP_IS_DATABASE` when the backup is the
 *   database file itself; `MIGRATION_IN_PROGRESS` when another process is still running a
 *   `transaction: false` migration on it; `BACKUP_DISK_FULL` or `BACKUP_FOLDER_UNWRITABLE` when an
 *   unreadable database cannot be set aside; `RESTORE_UNVERIFIED` when the copy cannot be
 *   confirmed. In each case the database is as it was.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const opener = driverWith(options.driver, "restoreBackup", "openFile", "onlineBackup");
  assertAbsolutePathOption("backupFile", options.backupFile);
  assertAbsolutePathOption("databasePath", options.databasePath);
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const { backupFile } = options;
  // Resolved once: through a link, the file it points to is restored and the link kept, and the
  // journals, lock sidecars and names beside it are the real file's.
  const databasePath = realDatabaseFileOrThrow(options.databasePath);
  refuseRestoreOntoItself(backupFile, databasePath);
  refuseRestoreUnderOwnTransaction(opener, databasePath);
  const source = openBackupOrThrow(opener, backupFile, busyTimeoutMs);
  try {
    // One read transaction from the check to the comparison: what was checked is what gets copied
    // and what the copy is compared with, even if something rewrites the backup file meanwhile.
    source.exec("BEGIN");
    const inspection = inspectOpenBackup(source, backupFile, tableName, busyTimeoutMs);
    const foreignReasons = options.migrations ? compareBackupWithRegistry(inspection, options.migrations) : [];
    if (foreignReasons.length > 0 && !options.dangerouslyAllowForeignBackup) throw foreignBackupError(backupFile, foreignReasons);
    const folder = nodePath().dirname(databasePath);
    if (!nodeFs().existsSync(folder) || !nodeFs().statSync(folder).isDirectory()) throw databaseFolderMissingError(databasePath, folder);

    const existed = nodeFs().existsSync(databasePath);
    let previous: BackupRecord | null = null;
    let setAside: string | null = null;
    const keepDirectory = folderForReplacedDatabase(backupFile, databasePath);
    if (!existed) {
      try {
        // A database restored where there was none holds the backup's data: made with the backup's mode.
        createFileExclusively(databasePath, privateModeFor(backupFile));
      } catch {
        // SQLite says why, typed, as it opens the path.
      }
    } else {
      try {
        previous = await snapshotCurrent(opener, databasePath, keepDirectory, tableName, busyTimeoutMs);
      } catch (error) {
        // A database too broken to snapshot, or whose snapshot restore would refuse, is what a restore
        // is for: keep its bytes, then replace it.
        if (!(error instanceof StepwiseError && (error.is("DATABASE_DAMAGED") || (error.is("DATABASE_UNUSABLE") && UNREADABLE_CODES.has(error.details.sqliteCode ?? ""))))) throw error;
        setAside = setAsideUnusable(databasePath, keepDirectory);
      }
    }
    try {
      await copyAndConfirm(opener, source, { backupFile, databasePath, busyTimeoutMs, previous, tableName, migrations: options.migrations ?? null });
    } catch (error) {
      if (!(error instanceof StepwiseError && error.is("RESTORE_UNVERIFIED"))) {
        // The database is as it was, so its snapshot is only clutter that pruning would count, and a
        // database that did not exist must not be left behind as an empty file.
        if (previous) nodeFs().rmSync(previous.path, { force: true });
        if (!existed || setAside) removeDatabaseFiles(databasePath);
        if (setAside) putBack(setAside, databasePath);
      }
      throw error;
    }
    return { databasePath, restoredFrom: backupFile, version: inspection.version, previous, setAside, foreignReasons };
  } finally {
    // Ends the read transaction: it wrote nothing, and on a damaged file a COMMIT can fail with
    // SQLITE_CORRUPT and hide the BACKUP_INVALID being thrown; the driver's rollback never throws.
    source.rollback();
    closeQuietly(source);
  }
}

/**
 * The app's connection, open on the very database being restored and inside a transaction, holds a
 * lock the restore would wait on until the busy timeout, and a restore under it would pull the
 * content from under that transaction. Refused at once instead; a connection on another database
 * (the usual in-memory opener) does not count.
 *
 * @throws `TRANSACTION_OPEN` when `opener` is inside a transaction on `databasePath`.
 */
function refuseRestoreUnderOwnTransaction(opener: SyncDriver, databasePath: string): void {
  if (!opener.inTransaction()) return;
  const openerFile = opener.filePath;
  if (openerFile === null) return;
  try {
    const open = nodeFs().statSync(openerFile);
    const target = nodeFs().statSync(databasePath);
    if (open.dev !== target.dev || open.ino !== target.ino) return;
  } catch {
    // One of them does not exist: the opener cannot be open on the database being restored.
    return;
  }
  throw transactionOpenError({ driver: opener.name, operation: "restoreBackup" });
}

/**
 * The same file under two names (a hard link, a symlink, the same path) is caught by device and inode:
 * the copy would read and write one file, and its own read lock would look like another connection's.
 *
 * @throws `BACKUP_IS_DATABASE` when `backupFile` is the database file.
 */
function refuseRestoreOntoItself(backupFile: string, databasePath: string): void {
  let backup: ReturnType<typeof statSync>;
  let database: ReturnType<typeof statSync>;
  try {
    backup = nodeFs().statSync(backupFile);
    database = nodeFs().statSync(databasePath);
  } catch {
    // One of them does not exist: they cannot be the same file (the backup's absence is reported later).
    return;
  }
  if (backup.dev === database.dev && backup.ino === database.ino) throw backupIsDatabaseError(backupFile, databasePath);
}

/**
 * Where the replaced database is kept: next to the backup, where the user is already looking; when
 * that folder cannot be written (a read-only mount of archived backups), next to the database, which
 * a restore must be able to write anyway.
 */
function folderForReplacedDatabase(backupFile: string, databasePath: string): string {
  const besideBackup = nodePath().dirname(backupFile);
  try {
    nodeFs().accessSync(besideBackup, nodeFs().constants.W_OK);
    return besideBackup;
  } catch {
    return nodePath().dirname(databasePath);
  }
}

const UNREADABLE_CODES = new Set(["SQLITE_NOTADB", "SQLITE_CORRUPT"]);
const DATABASE_FILE_SUFFIXES = ["", "-journal", "-wal", "-shm"];

function removeDatabaseFiles(databasePath: string): void {
  for (const suffix of DATABASE_FILE_SUFFIXES) nodeFs().rmSync(`${databasePath}${suffix}`, { force: true });
}

/**
 * Copies an unusable database file (and any journal beside it, which must not be replayed into the
 * restored content) next to the backup, byte for byte, then removes them. Returns the copy's path.
 * The originals are removed only once every copy is complete; a copy that fails (no room, a size
 * limit, no permission) is removed, the database is left as it was, and the failure is typed.
 *
 * @throws `BACKUP_DISK_FULL` or `BACKUP_FOLDER_UNWRITABLE` naming `directory`.
 */
function setAsideUnusable(databasePath: string, directory: string): string {
  const aside = nodePath().join(directory, `${nodePath().basename(databasePath)}.unusable.${new Date().toISOString().replace(/[:.]/g, "-")}`);
  try {
    for (const suffix of DATABASE_FILE_SUFFIXES) {
      // Exclusive: a link planted under the new name is not written through; the copy keeps the file's mode.
      if (nodeFs().existsSync(`${databasePath}${suffix}`)) nodeFs().copyFileSync(`${databasePath}${suffix}`, `${aside}${suffix}`, nodeFs().constants.COPYFILE_EXCL);
    }
  } catch (error) {
    for (const suffix of DATABASE_FILE_SUFFIXES) nodeFs().rmSync(`${aside}${suffix}`, { force: true });
    throw setAsideError(error, directory, aside, databasePath);
  }
  removeDatabaseFiles(databasePath);
  return aside;
}

/** restore has no --backup option: the replaced database goes beside the backup, or else beside the database. */
const RESTORE_FOLDER_REMEDY = "restore keeps the database it replaces there (or, when that folder is read-only, next to the database); make one of them writable.";

const NO_ROOM_ERRNOS = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);
const UNWRITABLE_ERRNOS = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "ENOENT", "EISDIR", "EEXIST"]);

function setAsideError(error: unknown, directory: string, aside: string, databasePath: string): unknown {
  const errno = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof errno !== "string") return error;
  if (NO_ROOM_ERRNOS.has(errno)) {
    return backupDiskFullError({ directory, path: aside, systemCode: errno, availableBytes: freeBytesIn(directory), neededBytes: sizeOf(databasePath), cause: error });
  }
  if (UNWRITABLE_ERRNOS.has(errno)) return backupFolderUnwritableError(directory, errno, error, RESTORE_FOLDER_REMEDY);
  return error;
}

function sizeOf(file: string): number | null {
  try {
    return nodeFs().statSync(file).size;
  } catch {
    return null;
  }
}

function putBack(aside: string, databasePath: string): void {
  for (const suffix of DATABASE_FILE_SUFFIXES) {
    if (nodeFs().existsSync(`${aside}${suffix}`)) nodeFs().copyFileSync(`${aside}${suffix}`, `${databasePath}${suffix}`);
  }
}

async function snapshotCurrent(opener: SyncDriver, databasePath: string, directory: string, tableName: string, busyTimeoutMs: number): Promise<BackupRecord> {
  const current = openTarget(opener, databasePath, busyTimeoutMs);
  try {
    const store = new HistoryStore(tableName);
    const keys = runSync(store.exists(), current) ? runSync(store.readKeys(), current) : [];
    // The restored file must survive; pruning could pick it as the oldest.
    return await takeBackup(current, { directory, version: highestRecordedVersion(keys), keep: Number.MAX_SAFE_INTEGER, tableName });
  } catch (error) {
    if (error instanceof StepwiseError && error.is("BACKUP_FOLDER_UNWRITABLE"))
      throw backupFolderUnwritableError(error.details.directory, error.details.systemCode, error.cause, RESTORE_FOLDER_REMEDY);
    throw translateSqliteError(error, busyTimeoutMs, sqliteCodeFrom(current, error));
  } finally {
    closeQuietly(current);
  }
}

function openTarget(opener: SyncDriver, databasePath: string, busyTimeoutMs: number): SyncDriver {
  try {
    return opener.openFile!(databasePath, { readonly: false, busyTimeoutMs });
  } catch (error) {
    throw translateSqliteError(error, busyTimeoutMs, sqliteCodeFrom(opener, error));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** After this many copies that read back wrong although no lock was in the way, stop retrying. */
const UNEXPLAINED_MISMATCH_LIMIT = 3;

async function copyAndConfirm(
  opener: SyncDriver,
  source: SyncDriver,
  target: {
    backupFile: string;
    databasePath: string;
    busyTimeoutMs: number;
    previous: BackupRecord | null;
    tableName: string;
    migrations: MigrationRegistry | null;
  },
): Promise<void> {
  const deadline = Date.now() + target.busyTimeoutMs;
  let unexplained = 0;
  // Sticky across attempts: once left, the database is in rollback-journal mode until put back.
  let leftWal = false;
  try {
    for (;;) {
      waitForExclusiveAccess(opener, target.databasePath, target.busyTimeoutMs, deadline);
      const inProgress = migrationInProgress(opener, target.databasePath, target.tableName, target.migrations);
      if (inProgress !== null) {
        if (Date.now() >= deadline) throw migrationInProgressError({ ...inProgress, waitedMs: target.busyTimeoutMs });
        await sleep(Math.min(25, Math.max(0, deadline - Date.now())));
        continue;
      }
      const journal = leaveWalForOtherPageSize(opener, source, target.databasePath, target.busyTimeoutMs);
      if (journal === "busy") {
        // Leaving WAL needs every other connection closed, and SQLite does not wait for that itself.
        if (Date.now() >= deadline) throw databaseLockedError(target.busyTimeoutMs, null, findLockHolders(target.databasePath), waitedUntil(deadline, target.busyTimeoutMs));
        await sleep(Math.min(25, Math.max(0, deadline - Date.now())));
        continue;
      }
      if (journal === "left") leftWal = true;
      let copied = false;
      try {
        // 0 pages when the first step found the database locked and copied nothing.
        copied = (await source.backupTo!(target.databasePath)) > 0;
      } catch (error) {
        if (!isLockError(source, error)) throw translateSqliteError(error, target.busyTimeoutMs, sqliteCodeFrom(source, error));
      }
      const mismatches = compareWithTarget(opener, source, target.databasePath);
      if (mismatches.length === 0) {
        if (leftWal) {
          setJournalMode(opener, target.databasePath, "WAL", target.busyTimeoutMs);
          leftWal = false;
        }
        return;
      }
      if (copied) unexplained++;
      if (Date.now() >= deadline) {
        throw databaseLockedError(target.busyTimeoutMs, null, findLockHolders(target.databasePath), waitedUntil(deadline, target.busyTimeoutMs));
      }
      if (unexplained >= UNEXPLAINED_MISMATCH_LIMIT) {
        throw restoreUnverifiedError({ databasePath: target.databasePath, backupFile: target.backupFile, mismatches, previousBackup: target.previous?.path ?? null });
      }
      await sleep(Math.min(25, Math.max(0, deadline - Date.now())));
    }
  } catch (error) {
    // A failed restore leaves the database as it was, journal mode included.
    if (leftWal) {
      try {
        setJournalMode(opener, target.databasePath, "WAL", target.busyTimeoutMs);
      } catch {
        // The error being thrown says why the restore failed; this one would only hide it.
      }
    }
    throw error;
  }
}

/**
 * A `transaction: false` migration that another process is still running, read from the database's
 * `started` rows and judged by its owner lock (see `migration-owner.ts`); `null` when there is none.
 * Copying under it would let it keep writing into the restored content, so restore waits for it, as
 * `up` and `repair` do. A `started` row whose owner is gone is an interrupted migration, which a
 * restore is a legitimate way out of.
 */
function migrationInProgress(
  opener: SyncDriver,
  databasePath: string,
  tableName: string,
  migrations: MigrationRegistry | null,
): { version: number; file: string; startedAt: string; owner: { pid: number; host: string } | null } | null {
  let db: SyncDriver;
  try {
    db = opener.openFile!(databasePath, { readonly: true, busyTimeoutMs: 0 });
  } catch {
    return null;
  }
  try {
    const store = new HistoryStore(tableName);
    if (!runSync(store.exists(), db)) return null;
    for (const key of runSync(store.readKeys(), db)) {
      if (key.startedAt === null) continue;
      const owner = parseMigrationOwner(runSync(store.readStartedRow(key.version), db)?.owner ?? null);
      // The owner lock when the row names one, else the pid, as `up` judges a recorded owner.
      const lock = owner?.lockFile && db.probeOwnerLock ? db.probeOwnerLock(owner.lockFile) : null;
      if (assessMigrationOwner(owner, lock) === "alive") {
        const file = migrations?.find((entry) => entry.version === key.version)?.file ?? `version ${key.version}`;
        return { version: key.version, file, startedAt: key.startedAt, owner: owner === null ? null : { pid: owner.pid, host: owner.host } };
      }
    }
    return null;
  } catch {
    // Unreadable history: the copy replaces it; the checks around the copy report real trouble.
    return null;
  } finally {
    closeQuietly(db);
  }
}

/**
 * Waits, up to the deadline, until no other connection holds a lock that would make the copy give up:
 * an exclusive lock needs every rollback-journal reader gone, and in WAL mode the write lock free.
 */
function waitForExclusiveAccess(opener: SyncDriver, databasePath: string, busyTimeoutMs: number, deadline: number): void {
  const probe = openTarget(opener, databasePath, Math.max(0, deadline - Date.now()));
  try {
    probe.exec("BEGIN EXCLUSIVE");
    probe.exec("COMMIT");
  } catch (error) {
    if (isLockError(probe, error)) throw databaseLockedError(busyTimeoutMs, error, findLockHolders(databasePath), waitedUntil(deadline, busyTimeoutMs));
    throw translateSqliteError(error, busyTimeoutMs, sqliteCodeFrom(probe, error));
  } finally {
    closeQuietly(probe);
  }
}

/**
 * A WAL-mode database cannot change its page size, so the backup API refuses to copy a backup with
 * another one into it (SQLITE_READONLY, as if the file were read-only). Leaving WAL mode for the
 * copy lifts that; the caller switches back once the copy is confirmed (or has failed). `busy` when
 * another connection is open, which leaving WAL mode needs gone; the caller retries within the busy timeout.
 */
function leaveWalForOtherPageSize(opener: SyncDriver, source: SyncDriver, databasePath: string, busyTimeoutMs: number): "unchanged" | "left" | "busy" {
  const target = openTarget(opener, databasePath, busyTimeoutMs);
  try {
    if (String(readValue(target, "PRAGMA journal_mode")).toLowerCase() !== "wal") return "unchanged";
    if (Number(readValue(target, "PRAGMA page_size")) === Number(readValue(source, "PRAGMA page_size"))) return "unchanged";
    // SQLite answers with the mode it is in, and does not throw, when others keep it from leaving WAL.
    if (String(readValue(target, "PRAGMA journal_mode = DELETE")).toLowerCase() === "wal") return "busy";
    return "left";
  } catch (error) {
    if (isLockError(target, error)) return "busy";
    throw translateSqliteError(error, busyTimeoutMs, sqliteCodeFrom(target, error));
  } finally {
    closeQuietly(target);
  }
}

function setJournalMode(opener: SyncDriver, databasePath: string, mode: "WAL", busyTimeoutMs: number): void {
  const target = openTarget(opener, databasePath, busyTimeoutMs);
  try {
    readValue(target, `PRAGMA journal_mode = ${mode}`);
  } catch (error) {
    throw translateSqliteError(error, busyTimeoutMs, sqliteCodeFrom(target, error));
  } finally {
    closeQuietly(target);
  }
}

function compareWithTarget(opener: SyncDriver, source: SyncDriver, databasePath: string): string[] {
  const expected = fingerprintDatabase(source);
  let fresh: SyncDriver | null = null;
  try {
    fresh = opener.openFile!(databasePath, { readonly: true, busyTimeoutMs: 0 });
    const check = readValue(fresh, "PRAGMA quick_check");
    const mismatches = compareFingerprints(expected, fingerprintDatabase(fresh));
    return check === "ok" ? mismatches : ["integrity", ...mismatches];
  } catch (error) {
    // Read back while another connection holds an exclusive lock: the copy cannot be confirmed yet.
    if (isLockError(fresh ?? opener, error)) return ["unreadable while locked"];
    throw translateSqliteError(error, 0, sqliteCodeFrom(fresh ?? opener, error));
  } finally {
    if (fresh !== null) closeQuietly(fresh);
  }
}

/** How long a wait that ends now has lasted, given the deadline it had when it began `busyTimeoutMs` before it. */
function waitedUntil(deadline: number, busyTimeoutMs: number): number {
  return Math.max(0, Date.now() - deadline + busyTimeoutMs);
}
