/**
 * Putting a backup back: checked (intact, holding this app's history or nothing), copied with `VACUUM INTO` beside the database and renamed over it once its `-wal`, `-shm` and `-journal` are gone,
 * so the path holds the old database or the restored one, never a mix. The old one is kept as a backup; a restore refuses while the database is in use.
 */
import { tryOr } from "../shared/try-or.js";
import type { BackupRecord } from "../core/events.js";
import type { SyncDriver } from "../core/driver.js";
import { backupLockedError, databaseLockedError, migrationInProgressError, translateSqliteError, usageError } from "../core/error-factories.js";
import {
  describeFileKind,
  backupDiskFullError,
  backupRoomFix,
  backupFolderUnwritableError,
  backupInvalidError,
  backupIsDatabaseError,
  databaseFolderMissingError,
  databasePathInvalidError,
  foreignBackupError,
} from "./errors.js";
import { booleanOption } from "./schema-reader.js";
import { StepwiseError, type ForeignBackupReason } from "../core/errors.js";
import { DEFAULT_TABLE_NAME, HistoryStore } from "../core/history.js";
import { assessMigrationOwner, parseMigrationOwner } from "../core/migration-owner.js";
import { nodeFs, nodePath } from "../core/node-builtins.js";
import { checkBusyTimeout, DEFAULT_BUSY_TIMEOUT_MS, optionsObject } from "../core/options.js";
import { describeOption } from "../core/error-factories.js";
import { assertRegistryForDriver, highestRecordedVersion, matchesRecordedChecksum, matchesRecordedName } from "../core/planner.js";
import { runSync } from "../core/runners.js";
import { refuseOpenTransaction } from "../core/step.js";
import type { MigrationRegistry } from "../core/types.js";
import { fileKindAt } from "../drivers/database-file.js";
import { realDatabaseFileOrThrow } from "./real-database-file.js";
import { findLockHolders } from "../drivers/lock-holders.js";
import { assertAbsolute, backupDriverOf, backupWriteError, closeQuietly, createHiddenFile, quickCheckProblems, removeCopy, sqliteCodeFrom, takeBackup, type DriverSource } from "./backup.js";

/** Options for {@link restoreBackup}. */
export interface RestoreOptions {
  /** A connection of the app's SQLite library (driver or manager) not open on the database. */
  readonly driver: DriverSource;
  /** The backup file to put back, as an absolute path. */
  readonly backupFile: string;
  /** The database to replace, as an absolute path; created when missing. Through a symlink, its target is replaced. */
  readonly databasePath: string;
  /** Default `schema_migrations`. */
  readonly tableName?: string;
  /** How long to wait for the database to fall out of use. Default 30,000 ms. */
  readonly busyTimeoutMs?: number;
  /** This app's migrations: a backup whose history differs is refused with `BACKUP_FOREIGN`. */
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
  /** The replaced database, kept as a backup next to the backup restored (or the database, when that folder is read-only). */
  readonly previous: BackupRecord | null;
  /** When the replaced file was not readable as SQLite, its bytes, kept where `previous` would be, with its `-wal` and `-journal` copied beside them (`<setAside>-wal`). */
  readonly setAside: string | null;
  /** Differences from `migrations` that `dangerouslyAllowForeignBackup` let through. */
  readonly foreignReasons: readonly ForeignBackupReason[];
}

const WHERE_RESTORE_WRITES = "restore writes the restored database next to the database, and keeps the one it replaces next to the backup (or there)";

/** A folder error of the copies a restore writes, with restore's remedy: the backup's own (`--backup`, `--keep-backups`) are no options of a restore. */
function asRestoreError(error: unknown): unknown {
  if (!(error instanceof StepwiseError)) return error;
  if (error.is("BACKUP_FOLDER_UNWRITABLE")) return backupFolderUnwritableError(error.details.directory, error.details.systemCode, error.cause, `${WHERE_RESTORE_WRITES}; make the folder writable.`);
  if (error.is("BACKUP_DISK_FULL")) return backupDiskFullError({ ...error.details, cause: error.cause, remedy: `${WHERE_RESTORE_WRITES}; ${backupRoomFix(error.details)}, then restore again.` });
  return error;
}

/**
 * Puts a backup back in place of the database; the database it replaces is kept as a backup.
 *
 * @example
 * await restoreBackup({ driver: new MigrationManager(new Database(":memory:"), []), backupFile, databasePath, migrations });
 *
 * @throws with the database as it was: `DRIVER_CAPABILITY_MISSING`; `USAGE` when `driver` is open on the database (`TRANSACTION_OPEN` inside a transaction); `DATABASE_PATH_INVALID`;
 *   `BACKUP_IS_DATABASE`; `DATABASE_FOLDER_MISSING`; `BACKUP_INVALID`; `BACKUP_FOREIGN`; `DATABASE_LOCKED`; `MIGRATION_IN_PROGRESS`; `BACKUP_DISK_FULL` or `BACKUP_FOLDER_UNWRITABLE`.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const opener = backupDriverOf(
    optionsObject(options, "restoreBackup", ["driver", "backupFile", "databasePath", "tableName", "busyTimeoutMs", "migrations", "dangerouslyAllowForeignBackup"]).driver,
    "restoreBackup",
    "openFile",
  );
  const { backupFile, migrations } = options;
  const busyTimeoutMs = checkBusyTimeout(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
  // Checked as a manager checks it: the registry module itself, or a broken entry, would otherwise fail the comparison as a TypeError.
  if (migrations !== undefined) {
    if (!Array.isArray(migrations)) throw usageError(`restoreBackup's migrations must be the registry's array (the generated file's "migrations" export); got ${describeOption(migrations)}.`);
    assertRegistryForDriver(migrations, opener.dialect, opener.name);
  }
  const allowForeign = booleanOption(options.dangerouslyAllowForeignBackup, "dangerouslyAllowForeignBackup", "restoreBackup");
  assertAbsolute("backupFile", backupFile);
  assertAbsolute("databasePath", options.databasePath);
  const store = new HistoryStore(options.tableName ?? DEFAULT_TABLE_NAME);
  const databasePath = realDatabaseFileOrThrow(options.databasePath);
  if (opener.filePath !== null && isSameFile(opener.filePath, databasePath)) {
    runSync(refuseOpenTransaction(opener.name, "restoreBackup"), opener);
    throw usageError(
      `restoreBackup was handed a connection open on ${databasePath}, which would go on using the replaced file. Close the app's connections to it and pass one on another database (an in-memory one will do).`,
    );
  }
  if (isSameFile(backupFile, databasePath)) throw backupIsDatabaseError(backupFile, databasePath);
  const folder = nodePath().dirname(databasePath);
  if (fileKindAt(folder) !== "directory") throw databaseFolderMissingError(databasePath, folder);
  // A FIFO would block the open forever.
  const kind = fileKindAt(backupFile);
  if (kind !== "file") throw backupInvalidError(backupFile, kind === "missing" ? "there is no such file" : `it is ${describeFileKind(kind)}, not a file`, undefined, kind);
  // SQLite reads an empty file as an empty database, but every backup holds at least its first page: this is a copy that never got its bytes.
  if (nodeFs().statSync(backupFile).size === 0) throw backupInvalidError(backupFile, "it is empty (0 bytes), and every backup, even a fresh database's, holds at least one page");
  const exists = fileKindAt(databasePath) === "file";
  let source: SyncDriver | null = null;
  let replacement: string | null = null;
  let kept: Pick<RestoreResult, "previous" | "setAside"> = { previous: null, setAside: null };
  try {
    let history: Array<{ version: number; name: string; checksum: string }>;
    try {
      source = opener.openFile!(backupFile, { readonly: true, busyTimeoutMs });
      history = readBackupHistory(source, backupFile, store);
    } catch (error) {
      if (error instanceof StepwiseError && source !== null) throw error;
      if (isLocked(source ?? opener, error)) throw backupLockedError(backupFile, busyTimeoutMs, error, findLockHolders(backupFile));
      throw backupInvalidError(backupFile, `it is not a readable SQLite database (${sqliteCodeFrom(source ?? opener, error) ?? String(error)})`, error);
    }
    const foreignReasons = migrations === undefined ? [] : compareWithRegistry(history, migrations);
    if (foreignReasons.length > 0 && !allowForeign) throw foreignBackupError(backupFile, foreignReasons);
    try {
      replacement = createHiddenFile(folder, databasePath, "restoring", exists ? databasePath : backupFile);
      const { uid, gid } = nodeFs().statSync(exists ? databasePath : backupFile);
      // Only root may give a file away.
      tryOr(() => nodeFs().chownSync(replacement!, uid, gid), undefined);
      source.run("VACUUM INTO ?", [replacement]);
      // A backup is written in rollback-journal mode; the database it replaces keeps WAL, which belongs to the file and to how the app shares it.
      if (exists && isWalFile(databasePath)) inWalMode(opener, replacement, busyTimeoutMs);
    } catch (error) {
      // Removed before the error measures the room left, which the unfinished copy would take.
      const failed = replacement ?? folder;
      if (replacement !== null) removeCopy(replacement);
      replacement = null;
      throw backupWriteError(error, source, folder, failed, busyTimeoutMs);
    }
    if (exists) kept = await keepReplaced(opener, databasePath, canWrite(nodePath().dirname(backupFile)) ? nodePath().dirname(backupFile) : folder, store, options);
    // The old file's journals go aside, not away, until the rename succeeds: a crashed writer's -wal may hold its last commits.
    const aside = moveJournalsAside(databasePath);
    try {
      nodeFs().renameSync(replacement, databasePath);
    } catch (error) {
      for (const [journal, hidden] of aside) tryOr(() => nodeFs().renameSync(hidden, journal), undefined);
      // A mount point (a file bind-mounted into a container) cannot be renamed over.
      if (/^(EBUSY|EXDEV)$/.test((error as NodeJS.ErrnoException).code ?? "")) throw databasePathInvalidError(databasePath, "mount-point", "file");
      throw error;
    }
    replacement = null;
    for (const [, hidden] of aside) nodeFs().rmSync(hidden, { force: true });
    return { databasePath, restoredFrom: backupFile, version: highestRecordedVersion(history), ...kept, foreignReasons };
  } catch (error) {
    // SQLite deletes the -wal of a file it could not read when the connection that looked closes: the set-aside copy is then the only one, and goes back in its place (or stays, if it cannot).
    const keptCopies = new Set<string>();
    for (const suffix of kept.setAside === null ? [] : ["-wal", "-journal"]) {
      const [original, copy] = [`${databasePath}${suffix}`, `${kept.setAside}${suffix}`];
      if (nodeFs().existsSync(original) || !nodeFs().existsSync(copy)) continue;
      if (!tryOr(() => (nodeFs().renameSync(copy, original), true), false)) keptCopies.add(copy);
    }
    const aside = kept.setAside === null ? [] : [`${kept.setAside}-wal`, `${kept.setAside}-journal`].filter((copy) => !keptCopies.has(copy));
    if (kept.setAside !== null && keptCopies.size === 0) aside.push(kept.setAside);
    if (replacement !== null) removeCopy(replacement);
    for (const file of [kept.previous?.path ?? null, ...aside]) if (file !== null) nodeFs().rmSync(file, { force: true });
    throw asRestoreError(error);
  } finally {
    if (source !== null) closeQuietly(source);
  }
}

/** Renames `databasePath`'s `-wal`, `-shm` and `-journal` that exist to hidden names beside it; returns each pair, to put back or remove. */
function moveJournalsAside(databasePath: string): Array<[string, string]> {
  const moved: Array<[string, string]> = [];
  try {
    for (const suffix of ["-wal", "-shm", "-journal"]) {
      const journal = `${databasePath}${suffix}`;
      if (!nodeFs().existsSync(journal)) continue;
      const hidden = nodePath().join(nodePath().dirname(databasePath), `.${nodePath().basename(journal)}.${Math.random().toString(16).slice(2, 10)}.aside`);
      nodeFs().renameSync(journal, hidden);
      moved.push([journal, hidden]);
    }
  } catch (error) {
    for (const [journal, hidden] of moved) tryOr(() => nodeFs().renameSync(hidden, journal), undefined);
    throw error;
  }
  return moved;
}

/** Whether `file`'s SQLite header says WAL mode (its read and write versions, bytes 18 and 19, are 2), read from the bytes, so a file SQLite cannot open answers too. */
function isWalFile(file: string): boolean {
  const header = new Uint8Array(20);
  const descriptor = nodeFs().openSync(file, "r");
  try {
    const read = nodeFs().readSync(descriptor, header, 0, 20, 0);
    return read === 20 && String.fromCharCode(...header.subarray(0, 16)) === "SQLite format 3\0" && header[18] === 2 && header[19] === 2;
  } finally {
    nodeFs().closeSync(descriptor);
  }
}

/** Puts the private file `file` in WAL mode; closing it leaves no `-wal` or `-shm`. */
function inWalMode(opener: SyncDriver, file: string, busyTimeoutMs: number): void {
  const db = opener.openFile!(file, { readonly: false, busyTimeoutMs });
  try {
    db.query("PRAGMA journal_mode = WAL", []);
  } finally {
    closeQuietly(db);
  }
}

/** The same file under two names, by device and inode. */
function isSameFile(a: string, b: string): boolean {
  const [first, second] = [a, b].map((file) => nodeFs().statSync(file, { throwIfNoEntry: false }));
  return first !== undefined && second !== undefined && first.dev === second.dev && first.ino === second.ino;
}

const canWrite = (folder: string): boolean => tryOr(() => (nodeFs().accessSync(folder, nodeFs().constants.W_OK), true), false);

function isLocked(driver: SyncDriver, error: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test(sqliteCodeFrom(driver, error) ?? "") || driver.classifyError(error).kind === "locked";
}

/** The backup's history, once `quick_check` finds it intact; empty for a fresh database's backup. */
function readBackupHistory(db: SyncDriver, file: string, store: HistoryStore) {
  const problems = quickCheckProblems(db);
  if (problems.length > 0) throw backupInvalidError(file, `it is damaged (quick_check: ${problems.slice(0, 3).join("; ")})`);
  try {
    if (runSync(store.exists(), db)) {
      runSync(store.assertShape(), db);
      return runSync(store.readAll(), db);
    }
  } catch (error) {
    // The backup's table is at fault, not the database's: its advice (adopt, --table) would be for the database restored into.
    if (!(error instanceof StepwiseError && error.is("HISTORY_TABLE_INVALID"))) throw error;
    throw backupInvalidError(file, `its "${store.tableName}" history table is not one stepwise wrote (${error.message.split("\n")[0]!.replace(/\.$/, "")})`, error);
  }
  const [row] = db.query("SELECT (SELECT count(*) FROM sqlite_master) + (SELECT user_version FROM pragma_user_version) AS used", []);
  if (Number(row?.used) === 0) return [];
  throw backupInvalidError(file, `it has no "${store.tableName}" history table, so it was not made by stepwise`);
}

/** Where the backup's history disagrees with the registry. */
function compareWithRegistry(history: ReadonlyArray<{ version: number; name: string; checksum: string }>, migrations: MigrationRegistry): ForeignBackupReason[] {
  return history.flatMap(({ version, name, checksum }): ForeignBackupReason[] => {
    const entry = migrations.find((candidate) => candidate.version === version);
    if (!entry) return [{ version, kind: "unknown-version", backup: name, registry: null }];
    if (!matchesRecordedName(entry, name, checksum)) return [{ version, kind: "name", backup: name, registry: entry.name }];
    return matchesRecordedChecksum(entry, checksum) ? [] : [{ version, kind: "checksum", backup: checksum, registry: entry.checksum }];
  });
}

/** Refuses while the database is in use, then keeps it as a backup in `directory`, or as its bytes when SQLite cannot read it. */
async function keepReplaced(opener: SyncDriver, databasePath: string, directory: string, store: HistoryStore, options: RestoreOptions): Promise<Pick<RestoreResult, "previous" | "setAside">> {
  const { busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS } = options;
  let current: SyncDriver;
  try {
    current = opener.openFile!(databasePath, { readonly: false, busyTimeoutMs });
  } catch (error) {
    throw translateSqliteError(error, busyTimeoutMs, sqliteCodeFrom(opener, error));
  }
  let reader: SyncDriver | null = null;
  try {
    await waitUntilUnused(current, databasePath, store, options.migrations, busyTimeoutMs);
    // The write lock stays held while the copy is made (until just before the rename): a process that opens the database meanwhile waits, then finds the file replaced,
    // instead of committing to the one the rename takes away.
    current.exec("BEGIN IMMEDIATE");
    // A transaction: false migration may have recorded its start between the check and the lock.
    const started = runningMigration(current, store, options.migrations);
    if (started !== null) throw migrationInProgressError({ ...started, waitedMs: busyTimeoutMs });
    const version = runSync(store.exists(), current) ? highestRecordedVersion(runSync(store.readKeys(), current)) : 0;
    reader = opener.openFile!(databasePath, { readonly: true, busyTimeoutMs });
    return { previous: await takeBackup(reader, { directory, version, keep: Number.MAX_SAFE_INTEGER, busyTimeoutMs }), setAside: null };
  } catch (error) {
    const code = error instanceof StepwiseError ? (error.is("DATABASE_DAMAGED") ? "SQLITE_CORRUPT" : error.is("DATABASE_UNUSABLE") ? error.details.sqliteCode : null) : sqliteCodeFrom(current, error);
    if (!/^SQLITE_(NOTADB|CORRUPT)/.test(code ?? "")) throw translateSqliteError(error, busyTimeoutMs, code);
    const prefix = nodePath().join(directory, `${nodePath().basename(databasePath)}.unusable.${new Date().toISOString().replace(/[:.]/g, "-")}`);
    for (let counter = 0; ; counter++) {
      const aside = `${prefix}${counter > 0 ? `-${counter}` : ""}`;
      try {
        nodeFs().copyFileSync(databasePath, aside, nodeFs().constants.COPYFILE_EXCL);
        // Its last commits may sit in the -wal (or its pages before a crash in a hot -journal), which the restore removes: kept beside the copy, where SQLite reads them when it opens it.
        for (const suffix of ["-wal", "-journal"]) if (nodeFs().existsSync(`${databasePath}${suffix}`)) nodeFs().copyFileSync(`${databasePath}${suffix}`, `${aside}${suffix}`);
        return { previous: null, setAside: aside };
      } catch (copyError) {
        // Another restore's bytes of the same millisecond: kept, and this copy takes the next name.
        if ((copyError as NodeJS.ErrnoException).code === "EEXIST") continue;
        for (const file of [aside, `${aside}-wal`, `${aside}-journal`]) nodeFs().rmSync(file, { force: true });
        throw backupWriteError(copyError, current, directory, aside, busyTimeoutMs);
      }
    }
  } finally {
    if (reader !== null) closeQuietly(reader);
    // Released before the journals move aside and the rename: a connection's last close in WAL mode deletes the -wal at its path.
    tryOr(() => current.exec("ROLLBACK"), undefined);
    closeQuietly(current);
  }
}

/** Waits within the busy timeout until no `transaction: false` migration runs and no other process holds the database's locks (on Linux), then for `BEGIN EXCLUSIVE`. */
async function waitUntilUnused(current: SyncDriver, databasePath: string, store: HistoryStore, migrations: MigrationRegistry | undefined, busyTimeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + busyTimeoutMs; ; await new Promise((resolve) => setTimeout(resolve, 25))) {
    const running = runningMigration(current, store, migrations);
    const holders = findLockHolders(databasePath);
    if (running === null && holders.length === 0) break;
    if (Date.now() < deadline) continue;
    throw running !== null ? migrationInProgressError({ ...running, waitedMs: busyTimeoutMs }) : databaseLockedError(busyTimeoutMs, null, holders, busyTimeoutMs);
  }
  try {
    current.exec("BEGIN EXCLUSIVE");
    current.exec("COMMIT");
  } catch (error) {
    throw isLocked(current, error) ? databaseLockedError(busyTimeoutMs, error, findLockHolders(databasePath)) : error;
  }
}

/** A `transaction: false` migration whose owner is alive; one whose owner is gone was interrupted, which a restore may undo. */
function runningMigration(db: SyncDriver, store: HistoryStore, migrations: MigrationRegistry | undefined) {
  if (!runSync(store.exists(), db)) return null;
  for (const { version, startedAt } of runSync(store.readKeys(), db)) {
    if (startedAt === null) continue;
    const owner = parseMigrationOwner(runSync(store.readStartedRow(version), db)?.owner ?? null);
    if (assessMigrationOwner(owner, owner?.lockFile && db.probeOwnerLock ? db.probeOwnerLock(owner.lockFile) : null) !== "alive") continue;
    const file = migrations?.find((entry) => entry.version === version)?.file ?? `version ${version}`;
    return { version, file, startedAt, owner: owner === null ? null : { pid: owner.pid, host: owner.host } };
  }
  return null;
}
