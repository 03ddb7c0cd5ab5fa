/**
 * Snapshots taken before `up` applies anything, and putting one back.
 *
 * Two ways to take one, both consistent (each reads inside one read transaction, so a writer in
 * another process cannot tear it):
 * - {@link takeBackup} uses SQLite's online backup API (the driver's `backupTo`, capability
 *   `onlineBackup`). It is asynchronous (it copies in steps and lets other connections write in
 *   between), which suits the CLI.
 * - {@link takeBackupSync} uses `VACUUM INTO`, because `MigrationManager.up()` is synchronous and
 *   the online backup has no synchronous form. It needs only SQL and a real file (capability
 *   `openFile`), so it works on every driver with files. The copy is compacted, not page-identical,
 *   but holds the same schema, rows and `user_version`.
 *
 * Everything goes through a driver's primitives; no SQLite library is imported here.
 *
 * Either writes into a private work folder inside the backup folder, checks the copy as `restore`
 * would, and only then links it under its name, so a crash never leaves a file that looks like a
 * finished backup, and what a crash left is removed by the next backup. The copy is made with the
 * database's own permissions and never through a link. Files are named
 * `<database file>.v<version>.<UTC time>.<identity>.bak`, so they sort by time, say what they hold,
 * and say which database they belong to (see `backup-name.ts`).
 */
import { nodeFs, nodePath } from "../core/node-builtins.js";
import { BACKUP_WORK_FOLDER_PREFIX, BACKUP_WORK_LOCK, composeBackupName, databaseIdentity, formatBackupStamp, parseBackupName, type ParsedBackupName } from "./backup-name.js";
import { DEFAULT_TABLE_NAME } from "../core/history.js";
import { createFileExclusively, fileKindAt, privateModeFor } from "../drivers/database-file.js";
import { holdFileLock, probeFileLock, type SidecarOpener } from "../drivers/sqlite-shared.js";
import { refuseDamagedDatabase } from "./backup-check.js";
import { translateSqliteError } from "../core/sqlite-errors.js";
import type { SyncDriver } from "../core/driver.js";
import type { BackupRecord } from "../core/backup-record.js";
import { refuseOpenTransactionOn } from "../core/transaction-open.js";
import { closeQuietly, driverOf, driverWith, isLockError, sqliteCodeFrom, type DriverSource } from "./driver-source.js";
import { readValue } from "./database-fingerprint.js";
import { requireBackupCapabilities } from "./backup-capabilities.js";

import { DEFAULT_BACKUP_KEEP } from "./backup-defaults.js";
import { backupFolderUnwritableError, backupDiskFullError, databaseLockedError, usageError } from "../core/error-factories.js";

export { DEFAULT_BACKUP_KEEP };

/** Where to put backups and how many to keep. */
export interface BackupOptions {
  /** The folder for backup files, as an absolute path; created when missing. */
  readonly directory: string;
  /** Keep this many of this database's backups in the folder, deleting the oldest. Default 5. */
  readonly keep?: number;
}

/** Options for {@link takeBackup} and {@link takeBackupSync}. */
export interface TakeBackupOptions extends BackupOptions {
  /** The schema version the database is at, for the file name. */
  readonly version: number;
  /**
   * How long {@link takeBackup} waits for another connection's exclusive lock on the database before
   * failing with `DATABASE_LOCKED`. Default: the connection's own `busy_timeout`.
   */
  readonly busyTimeoutMs?: number;
  /** The history table, from which the database's lineage is read for its identity. Default `schema_migrations`. */
  readonly tableName?: string;
  /** The clock, for the file name. Default: now. */
  readonly now?: Date;
  /**
   * Keep the copy even when SQLite's `quick_check` finds it damaged, which `restore` then refuses.
   * Default `false`: such a copy is discarded and `DATABASE_DAMAGED` thrown.
   */
  readonly dangerouslySkipIntegrityCheck?: boolean;
}

/** A backup file found in a folder. */
export interface BackupFile {
  readonly path: string;
  readonly version: number;
  /** The UTC time from the name, as it appears there. */
  readonly stamp: string;
}

/**
 * The file name of a backup of the database `source` has open:
 * `<database file>.v<version>.<UTC time>.<identity>.bak`, where the identity is a hash of the
 * database's real path and lineage (see `backup-name.ts`), so backups of two databases that share a
 * name and a backup folder are told apart.
 *
 * @throws `USAGE` for an in-memory database, which has no file.
 */
export function formatBackupFileName(source: DriverSource, version: number, date: Date, tableName: string = DEFAULT_TABLE_NAME): string {
  const driver = driverOf(source);
  const databaseFile = driver.filePath;
  if (databaseFile === null) throw usageError("An in-memory database has no file to back up.");
  return composeBackupName(databaseFile, identityOfConnection(driver, databaseFile, tableName), version, date);
}

/** Where to look for a database's lineage: its history table, and the library that reads it. */
export interface BackupIdentityOptions {
  /** The history table. Default `schema_migrations`. */
  readonly tableName?: string;
  /**
   * A connection of the app's SQLite library (a driver or a manager; capability `openFile`), to read
   * the lineage of a database given by its absolute path. Not needed when the database itself is
   * passed as a driver or manager.
   */
  readonly driver?: DriverSource;
}

/**
 * Which database's backups to find: its open connection (a driver or manager), its absolute path
 * (with `options.driver` to read its lineage), or a bare file name (`"app.db"`).
 */
export type BackupDatabase = DriverSource | string;

/**
 * Backups in `directory`, oldest first. Given the database (its connection, or its absolute path
 * with `options.driver`), only that database's, by the identity in their names, which carries the
 * database's lineage; given a bare file name (`"app.db"`), every backup named after it, whichever
 * database wrote it. Only regular files count, never symlinks.
 *
 * @throws `USAGE` for an absolute path without `options.driver`, or a relative path;
 *   `DRIVER_CAPABILITY_MISSING` when that driver cannot open files.
 */
export function listBackups(directory: string, database: BackupDatabase, options: BackupIdentityOptions = {}): BackupFile[] {
  if (typeof database === "string" && !nodePath().isAbsolute(database) && nodePath().basename(database) === database) return listBackupsWithIdentity(directory, database, null);
  const { databaseFile, identity } = identityOf(database, options, "listBackups");
  return listBackupsWithIdentity(directory, nodePath().basename(databaseFile), identity ?? databaseIdentity(databaseFile));
}

/**
 * The database's file and identity; `identity` is `null` when the file exists but its lineage cannot
 * be read (locked, unreadable).
 */
function identityOf(database: BackupDatabase, options: BackupIdentityOptions, operation: string): { databaseFile: string; identity: string | null } {
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  if (typeof database !== "string") {
    const driver = driverOf(database);
    // A server database has no backup files of stepwise's: refused naming pg_dump.
    if (driver.dialect === "postgres") requireBackupCapabilities(driver, operation, "openFile");
    const databaseFile = driver.filePath;
    if (databaseFile === null) throw usageError("An in-memory database has no backups.");
    return { databaseFile, identity: identityOfConnection(driver, databaseFile, tableName) };
  }
  assertAbsolutePathOption("databaseFile", database);
  if (options.driver === undefined) {
    throw usageError(`Reading the lineage of ${database} needs the app's SQLite library: pass the database's connection (a manager) instead of its path, or { driver: manager }.`);
  }
  const opener = driverWith(options.driver, operation, "openFile");
  return { databaseFile: database, identity: identityOfFile(opener, database, tableName) };
}

function listBackupsWithIdentity(directory: string, databaseName: string, identity: string | null): BackupFile[] {
  if (!nodeFs().existsSync(directory)) return [];
  return nodeFs()
    .readdirSync(directory)
    .map((name) => ({ name, parsed: parseBackupName(name) }))
    .filter((item): item is { name: string; parsed: ParsedBackupName } => item.parsed !== null && item.parsed.databaseName === databaseName && (identity === null || item.parsed.identity === identity))
    .filter(({ name }) => isRegularFile(nodePath().join(directory, name)))
    .sort((a, b) => a.parsed.stamp.localeCompare(b.parsed.stamp) || a.parsed.counter - b.parsed.counter)
    .map(({ name, parsed }) => ({ path: nodePath().join(directory, name), version: parsed.version, stamp: parsed.stamp }));
}

/** Options for {@link pruneBackups}. */
export interface PruneBackupsOptions extends BackupIdentityOptions {
  /** The backup the caller has just taken: never deleted, and counted in `keep`. */
  readonly justWritten?: string;
}

/**
 * Deletes all but the newest `keep` backups of this database in `directory`; returns what it
 * deleted. A file is deleted only when its name carries this database's identity, it is a regular
 * file (not a symlink) and it starts with the SQLite header: anything stepwise cannot prove it wrote
 * for this database stays, whatever its name. When the database's lineage cannot be read (the file
 * is locked or unreadable), nothing is deleted: its identity is not known.
 *
 * `keep` counts `justWritten`, which is never deleted: the names sort by the clock, and a clock set
 * back would otherwise make the newest snapshot look oldest. With it, backups stamped in the future
 * (a clock since set back) go first, and one stamped between `justWritten` and now (another run's,
 * taken meanwhile) is kept, so concurrent runs never delete each other's fresh snapshots.
 *
 * `database` is the database's connection (a driver or manager), or its absolute path with
 * `options.driver` to read its lineage.
 *
 * @throws `USAGE` when `database` is a path that is not absolute or comes without
 *   `options.driver` (its identity could not be known), or `keep` is not a whole number of at
 *   least 1; nothing is deleted then.
 */
export function pruneBackups(directory: string, database: BackupDatabase, keep: number, options: PruneBackupsOptions = {}): string[] {
  if (typeof database === "string") assertAbsolutePathOption("databaseFile", database);
  assertKeep(keep);
  const { databaseFile, identity } = identityOf(database, options, "pruneBackups");
  if (identity === null) return [];
  return pruneWithIdentity(directory, nodePath().basename(databaseFile), identity, keep, options.justWritten ?? null);
}

function pruneWithIdentity(directory: string, databaseName: string, identity: string, keep: number, justWritten: string | null): string[] {
  const backups = listBackupsWithIdentity(directory, databaseName, identity).filter((backup) => startsWithSqliteHeader(backup.path));
  const written = justWritten === null ? null : (backups.find((backup) => nodePath().resolve(backup.path) === nodePath().resolve(justWritten)) ?? null);
  if (written === null) return deleteOldest(backups, keep);
  const others = backups.filter((backup) => backup !== written);
  const writtenKey = sortKeyOf(written);
  const nowKey = `${formatBackupStamp(new Date())}#${"9".repeat(12)}`;
  // Newer than ours but not in the future: another run took it while this one ran. Deleting it could
  // leave that run, and, when both prune each other's, the folder, without its snapshot.
  const concurrent = (backup: BackupFile) => sortKeyOf(backup) > writtenKey && sortKeyOf(backup) <= nowKey;
  // Stamped in the future: written under a clock since set back, so older than ours whatever its name says.
  const future = others.filter((backup) => sortKeyOf(backup) > nowKey);
  const past = others.filter((backup) => !concurrent(backup) && sortKeyOf(backup) <= nowKey);
  const doomed = [...future, ...past].slice(0, Math.max(0, others.length - (keep - 1)));
  for (const backup of doomed) nodeFs().rmSync(backup.path, { force: true });
  return doomed.map((backup) => backup.path);
}

function deleteOldest(backups: readonly BackupFile[], keep: number): string[] {
  const doomed = backups.slice(0, Math.max(0, backups.length - keep));
  for (const backup of doomed) nodeFs().rmSync(backup.path, { force: true });
  return doomed.map((backup) => backup.path);
}

/** Orders backups as their names do: by time stamp, then by the counter that breaks same-millisecond ties. */
function sortKeyOf(backup: BackupFile): string {
  const counter = parseBackupName(nodePath().basename(backup.path))?.counter ?? 0;
  return `${backup.stamp}#${String(counter).padStart(12, "0")}`;
}

/** @throws `USAGE` unless `keep` is a whole number of at least 1: keeping none would delete the snapshot just taken. */
function assertKeep(keep: number): void {
  if (!Number.isSafeInteger(keep) || keep < 1) throw usageError(`Keep at least one backup, as a whole number (keep was ${keep}).`);
}

/**
 * The database's lineage: when and with what its first recorded migration was applied, from inside
 * the file, so it follows the database rather than the path. `null` without history rows.
 */
function readLineage(driver: SyncDriver, tableName: string): string | null {
  const quoted = `"${tableName.replace(/"/g, '""')}"`;
  const exists = driver.query("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", [tableName]).length > 0;
  if (!exists) return null;
  const [row] = driver.query(`SELECT CAST(applied_at AS TEXT) || ' ' || CAST(checksum AS TEXT) AS lineage FROM ${quoted} ORDER BY version LIMIT 1`, []);
  const lineage = row?.lineage;
  return lineage === undefined || lineage === null ? null : String(lineage);
}

/** The identity of the database `driver` has open at `databaseFile`; see `backup-name.ts`. */
function identityOfConnection(driver: SyncDriver, databaseFile: string, tableName: string): string {
  let lineage: string | null = null;
  try {
    lineage = readLineage(driver, tableName);
  } catch {
    // A history table of another shape carries no lineage; the path still identifies the database.
  }
  return databaseIdentity(databaseFile, lineage);
}

/** The identity of the database file at `file`, opened with `opener`'s library; `null` when it exists but its lineage cannot be read. */
function identityOfFile(opener: SyncDriver, file: string, tableName: string): string | null {
  const kind = fileKindAt(file);
  if (kind === "missing") return databaseIdentity(file);
  // Never opened: a FIFO would block the read forever, and nothing else is a database.
  if (kind !== "file") return null;
  let driver: SyncDriver | null = null;
  try {
    driver = opener.openFile!(file, { readonly: true, busyTimeoutMs: LINEAGE_READ_TIMEOUT_MS });
    return databaseIdentity(file, readLineage(driver, tableName));
  } catch {
    return null;
  } finally {
    if (driver !== null) closeQuietly(driver);
  }
}

/** How long reading a database's lineage waits for a writer's exclusive lock: a commit is short. */
const LINEAGE_READ_TIMEOUT_MS = 5_000;

function isRegularFile(file: string): boolean {
  try {
    return nodeFs().lstatSync(file).isFile();
  } catch {
    return false;
  }
}

// Bytes, not a Buffer: this module is evaluated wherever an entry is imported, in a browser page too.
const SQLITE_HEADER = new TextEncoder().encode("SQLite format 3\0");

function startsWithSqliteHeader(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = nodeFs().openSync(file, "r");
    const head = new Uint8Array(SQLITE_HEADER.length);
    return nodeFs().readSync(fd, head, 0, head.length, 0) === head.length && head.every((byte, index) => byte === SQLITE_HEADER[index]);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) nodeFs().closeSync(fd);
  }
}

/**
 * Refuses a relative backup folder: the library has no working folder of its own to resolve it
 * against, and the process's may not be the one the caller means.
 *
 * @throws `USAGE` naming the `directory` option.
 */
export function assertAbsoluteBackupDirectory(directory: string): void {
  assertAbsolutePathOption("directory", directory);
}

/**
 * The library never resolves against the working folder, so every path option must be absolute.
 *
 * @throws `USAGE` naming `option`.
 */
export function assertAbsolutePathOption(option: string, value: string): void {
  if (!nodePath().isAbsolute(value)) {
    throw usageError(`The backup "${option}" option must be an absolute path, not "${value}"; resolve it against the folder you mean first.`);
  }
}

interface BackupTarget {
  /** The backup folder, resolved once: the name, the listing and the pruning are the real folder's. */
  readonly directory: string;
  /** The private folder the copy is written in, removed once it has its name or has failed. */
  readonly workFolder: string;
  readonly partialPath: string;
  /** Releases the work folder's lock, which tells the next backup that this one is alive. */
  readonly releaseLock: () => void;
  readonly date: Date;
  /** Read once, before the copy, so the name and the pruning agree on whose backups these are. */
  readonly identity: string;
  readonly databaseFile: string;
}

function prepareTarget(driver: SyncDriver, options: TakeBackupOptions): BackupTarget {
  const databaseFile = driver.filePath;
  if (databaseFile === null) throw usageError("An in-memory database has no file to back up.");
  assertAbsoluteBackupDirectory(options.directory);
  assertKeep(options.keep ?? DEFAULT_BACKUP_KEEP);
  const fs = nodeFs();
  const open = lockOpener(driver);
  let workFolder: string | null = null;
  let releaseLock = () => {};
  try {
    fs.mkdirSync(options.directory, { recursive: true });
    const directory = fs.realpathSync(options.directory);
    sweepInterruptedBackups(open, directory);
    workFolder = fs.mkdtempSync(nodePath().join(directory, BACKUP_WORK_FOLDER_PREFIX));
    const mode = privateModeFor(databaseFile);
    releaseLock = holdFileLock(open, nodePath().join(workFolder, BACKUP_WORK_LOCK), mode, 0) ?? releaseLock;
    // Made here with the database's mode, so SQLite writes the copy into a file that is private from the start.
    const partialPath = nodePath().join(workFolder, `${nodePath().basename(databaseFile)}.partial`);
    createFileExclusively(partialPath, mode);
    const date = options.now ?? new Date();
    return { directory, workFolder, partialPath, releaseLock, date, identity: identityOfConnection(driver, databaseFile, options.tableName ?? DEFAULT_TABLE_NAME), databaseFile };
  } catch (error) {
    releaseLock();
    if (workFolder !== null) fs.rmSync(workFolder, { recursive: true, force: true });
    throw backupWriteError(error, driver, options.directory, options.directory);
  }
}

/** The driver's `openFile`, as the lock helpers of `sqlite-shared.ts` take a library. */
function lockOpener(driver: SyncDriver): SidecarOpener {
  return (file, options) => {
    const connection = driver.openFile!(file, options);
    return { exec: (sql) => connection.exec(sql), close: () => closeQuietly(connection) };
  };
}

/**
 * Removes what interrupted backups left in `directory`: work folders whose lock no live run holds,
 * and the `.bak.partial` files stepwise wrote beside its backups before it had work folders. Judged
 * without following links; removing a folder removes the links in it, not what they point at.
 */
function sweepInterruptedBackups(open: SidecarOpener, directory: string): void {
  for (const name of nodeFs().readdirSync(directory)) {
    const entry = nodePath().join(directory, name);
    const stale = name.startsWith(BACKUP_WORK_FOLDER_PREFIX)
      ? fileKindAt(entry, false) === "directory" && probeFileLock(open, nodePath().join(entry, BACKUP_WORK_LOCK)) === "free"
      : name.endsWith(".bak.partial") && parseBackupName(name.slice(0, -".partial".length)) !== null && fileKindAt(entry, false) === "file";
    if (stale) nodeFs().rmSync(entry, { recursive: true, force: true });
  }
}

function discardWorkFolder(target: BackupTarget): void {
  target.releaseLock();
  nodeFs().rmSync(target.workFolder, { recursive: true, force: true });
}

function finish(driver: SyncDriver, options: TakeBackupOptions, target: BackupTarget): BackupRecord {
  let finalPath: string;
  let sizeBytes: number;
  try {
    // Checked as restore checks a backup: a copy restore would refuse is no backup.
    if (!options.dangerouslySkipIntegrityCheck) refuseDamagedDatabase(driver, target.partialPath, target.databaseFile);
    // Measured before it has its name: from then on, a concurrent run's pruning may delete it.
    sizeBytes = nodeFs().statSync(target.partialPath).size;
    finalPath = publish(target, options.version);
  } catch (error) {
    throw backupWriteError(error, driver, options.directory, target.partialPath);
  } finally {
    discardWorkFolder(target);
  }
  const pruned = pruneWithIdentity(target.directory, nodePath().basename(target.databaseFile), target.identity, options.keep ?? DEFAULT_BACKUP_KEEP, finalPath);
  return { path: finalPath, version: options.version, createdAt: target.date.toISOString(), sizeBytes, pruned };
}

/** Errors of a file system without hard links (FAT on a USB stick, some network shares). */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EMLINK"]);

/**
 * Gives the finished copy its backup name with a hard link, which never replaces what is there (a
 * link planted under that name, another run's backup of the same millisecond): the next counter
 * then. Where the file system has no hard links, a rename to a name found free.
 */
function publish(target: BackupTarget, version: number): string {
  for (let counter = 0; ; counter++) {
    const finalPath = nodePath().join(target.directory, composeBackupName(target.databaseFile, target.identity, version, target.date, counter));
    try {
      nodeFs().linkSync(target.partialPath, finalPath);
      return finalPath;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "";
      if (code === "EEXIST") continue;
      if (!NO_HARD_LINKS.has(code)) throw error;
      if (fileKindAt(finalPath, false) !== "missing") continue;
      nodeFs().renameSync(target.partialPath, finalPath);
      return finalPath;
    }
  }
}

/**
 * Snapshots the database `source` has open (a driver or a manager) with `VACUUM INTO`,
 * synchronously. Must be called outside a transaction. The copy is checked as `restore` would check
 * it before it gets its name. Prunes old backups of the same database to `keep`.
 *
 * @throws `DRIVER_CAPABILITY_MISSING` before anything is written when the
 *   driver has no real files (capability `openFile`: sql.js); `USAGE` for an in-memory database
 *   or a relative folder; `DATABASE_DAMAGED` when the copy fails `quick_check` (unless
 *   `dangerouslySkipIntegrityCheck`); `BACKUP_DISK_FULL` or `BACKUP_FOLDER_UNWRITABLE` naming the folder.
 */
export function takeBackupSync(source: DriverSource, options: TakeBackupOptions): BackupRecord {
  const driver = driverWith(source, "takeBackupSync", "openFile");
  // VACUUM cannot run in a transaction; refused before the folder is made, so nothing is left behind.
  refuseOpenTransactionOn(driver, "takeBackupSync");
  const target = prepareTarget(driver, options);
  try {
    driver.run("VACUUM INTO ?", [target.partialPath]);
  } catch (error) {
    discardWorkFolder(target);
    throw backupWriteError(error, driver, options.directory, target.partialPath);
  }
  return finish(driver, options, target);
}

/**
 * Snapshots the database `source` has open (a driver or a manager) with SQLite's online backup API.
 * Prunes old backups to `keep`.
 *
 * @throws `DRIVER_CAPABILITY_MISSING` before anything is written when the
 *   driver lacks `onlineBackup` (bun:sqlite, libsql, sql.js) or `openFile`; `DATABASE_LOCKED` when
 *   another connection keeps the database locked past the busy timeout; otherwise as
 *   {@link takeBackupSync}.
 */
export async function takeBackup(source: DriverSource, options: TakeBackupOptions): Promise<BackupRecord> {
  const driver = driverWith(source, "takeBackup", "onlineBackup", "openFile");
  // A backup is of the committed database. From inside the app's transaction the online copy would
  // see, or be blocked by, writes that may yet be rolled back: refused like takeBackupSync.
  refuseOpenTransactionOn(driver, "takeBackup");
  const target = prepareTarget(driver, options);
  const busyTimeoutMs = options.busyTimeoutMs ?? driver.getBusyTimeout();
  try {
    await copyOnline(driver, target.partialPath, busyTimeoutMs);
    // The copy keeps the source's journal mode; a WAL-mode file cannot be opened read-only without
    // its -shm, so the backup is switched to a self-contained rollback-journal file.
    const copy = driver.openFile!(target.partialPath, { readonly: false, busyTimeoutMs });
    try {
      readValue(copy, "PRAGMA journal_mode = DELETE");
    } finally {
      closeQuietly(copy);
    }
  } catch (error) {
    discardWorkFolder(target);
    throw backupWriteError(error, driver, options.directory, target.partialPath);
  }
  return finish(driver, options, target);
}

/**
 * The online backup gives up, having copied nothing, when its first step finds the database locked
 * (an exclusive lock held by a writer in rollback-journal mode); a backup of an empty file would then
 * pass for a snapshot. So an empty result from a non-empty database is retried until the busy
 * timeout, then refused with DATABASE_LOCKED.
 */
async function copyOnline(driver: SyncDriver, partialPath: string, busyTimeoutMs: number): Promise<void> {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    const expectedPages = pageCountWaiting(driver, Math.max(0, deadline - Date.now()), busyTimeoutMs);
    let copiedPages = 0;
    try {
      copiedPages = await driver.backupTo!(partialPath);
    } catch (error) {
      // Some libraries reject where better-sqlite3 resolves empty; either way nothing was copied yet.
      if (!isLockError(driver, error)) throw error;
    }
    if (copiedPages > 0 || expectedPages === 0) return;
    // Emptied, not removed: the file stepwise made, with the database's mode, is the one to retry into.
    nodeFs().truncateSync(partialPath, 0);
    if (Date.now() >= deadline) throw databaseLockedError(busyTimeoutMs, null, driver.lockHolders?.() ?? [], Date.now() - deadline + busyTimeoutMs);
    await new Promise((resolve) => setTimeout(resolve, Math.min(25, Math.max(0, deadline - Date.now()))));
  }
}

/** The page count, read with the connection's busy handler set to wait `waitMs` for a lock. */
function pageCountWaiting(driver: SyncDriver, waitMs: number, busyTimeoutMs: number): number {
  const previous = driver.getBusyTimeout();
  driver.setBusyTimeout(waitMs);
  try {
    try {
      return Number(readValue(driver, "PRAGMA page_count"));
    } catch (error) {
      // The driver's reading of the code: node:sqlite's errors carry a number, not `SQLITE_BUSY`.
      throw translateSqliteError(error, busyTimeoutMs, sqliteCodeFrom(driver, error));
    }
  } finally {
    driver.setBusyTimeout(previous);
  }
}

const NO_ROOM_ERRNOS = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);
const UNWRITABLE_ERRNOS = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EEXIST", "ENOENT"]);

/**
 * What went wrong while writing a backup, as the error that names the backup folder. SQLite says
 * SQLITE_FULL on a full disk but only SQLITE_IOERR_WRITE when a size limit or quota refuses the
 * write, so every write failure into the backup file counts as "no room"; the free space reported
 * with it tells the two apart. Anything else (a locked or broken database) is returned unchanged.
 */
function backupWriteError(error: unknown, driver: SyncDriver, directory: string, target: string): unknown {
  const sqliteCode = sqliteCodeFrom(driver, error);
  const errno = typeof (error as { code?: unknown } | null)?.code === "string" ? (error as { code: string }).code : null;
  const systemCode = sqliteCode ?? errno ?? "unknown";
  if ((sqliteCode !== null && (sqliteCode.startsWith("SQLITE_FULL") || sqliteCode.startsWith("SQLITE_IOERR"))) || (errno !== null && NO_ROOM_ERRNOS.has(errno))) {
    return backupDiskFullError({ directory, path: target, systemCode, availableBytes: freeBytesIn(directory), neededBytes: databaseSize(driver), cause: error });
  }
  if (
    (sqliteCode !== null && (sqliteCode.startsWith("SQLITE_CANTOPEN") || sqliteCode.startsWith("SQLITE_READONLY") || sqliteCode.startsWith("SQLITE_PERM"))) ||
    (errno !== null && UNWRITABLE_ERRNOS.has(errno))
  ) {
    return backupFolderUnwritableError(directory, systemCode, error);
  }
  return error;
}

/** Bytes free to this user in `directory`, or `null` when the file system will not say. */
export function freeBytesIn(directory: string): number | null {
  try {
    const stats = nodeFs().statfsSync(directory);
    return stats.bavail * stats.bsize;
  } catch {
    return null;
  }
}

function databaseSize(driver: SyncDriver): number | null {
  try {
    return Number(readValue(driver, "PRAGMA page_count")) * Number(readValue(driver, "PRAGMA page_size"));
  } catch {
    return null;
  }
}
