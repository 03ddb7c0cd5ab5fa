/**
 * Backups of a SQLite file: a consistent snapshot (the online backup API, else `VACUUM INTO`) written under a hidden name, checked with `quick_check`, and only then renamed to
 * `<file>.v<version>.<UTC time>.<identity>.bak`, so a file with a backup's name is a finished, intact backup. The identity hashes the database's path: pruning deletes only this database's backups.
 */
import { tryOr } from "../shared/try-or.js";
import type { BackupRecord } from "../core/events.js";
import { driverCapabilityError, requireCapabilities, type DriverCapability, type Row, type SyncDriver } from "../core/driver.js";
import { describeThrownValue, sqliteCodeOf, translateSqliteError, usageError, copyFailure } from "../core/error-factories.js";
import { describeFileKind, backupDiskFullError, backupFolderUnwritableError, databaseDamagedError } from "./errors.js";
import { StepwiseError, type ServerBackupTool } from "../core/errors.js";
import { refuseClosedConnection, type DriverIdentity } from "../core/manager-base.js";
import { nodeCrypto, nodeFs, nodePath } from "../core/node-builtins.js";
import { checkBusyTimeout, optionsObject, refuseUnknownOptions, type MigrationResult, type UpOptions } from "../core/options.js";
import { describeOption } from "../core/error-factories.js";
import { retryWhileBusy, runSync } from "../core/runners.js";
import { refuseOpenTransaction } from "../core/step.js";
import type { MigrationRegistry, VersionOf } from "../core/types.js";
import { refuseWholeRunObstacles } from "../core/whole-run-transaction.js";
import { createFileExclusively, fileKindAt, privateModeFor, resolveDatabaseFile } from "../drivers/database-file.js";
import { planUpOnceNoneRuns, requireManager, runSafetyNet, type SafetyNetManager, booleanOption, callWithDriver } from "./schema-reader.js";

/** How many backups of one database are kept in a folder when `keep` is not given. */
export const DEFAULT_BACKUP_KEEP = 5;

/** Where to put backups and how many to keep. */
export interface BackupOptions {
  /** The folder for backup files, as an absolute path; created when missing. */
  readonly directory: string;
  /** Keep this many of this database's backups in the folder, deleting the oldest. Default 5. */
  readonly keep?: number;
}

/** Options for {@link takeBackup}. */
export interface TakeBackupOptions extends BackupOptions {
  /** The schema version the database is at, for the file name. */
  readonly version: number;
  /** How long to wait for a writer's lock. Default: the connection's busy timeout. */
  readonly busyTimeoutMs?: number;
  /** The clock, for the file name. Default: now. */
  readonly now?: Date;
  /** Keep the copy even when `quick_check` finds it damaged (`restore` refuses it). Default `false`. */
  readonly dangerouslySkipIntegrityCheck?: boolean;
}

/** A backup file found in a folder. */
export interface BackupFile {
  readonly path: string;
  readonly version: number;
  /** The UTC time from the name, as it appears there. */
  readonly stamp: string;
}

/** A driver, or anything that carries one, such as a `MigrationManager`. */
export type DriverSource = SyncDriver | { readonly driver: SyncDriver };

/** A backup or restore asked of a server's database: `DRIVER_CAPABILITY_MISSING` naming the server's `tool`. Nothing was changed. */
export function serverBackupUnsupportedError({ driver, operation, tool }: { driver: string; operation: string; tool: ServerBackupTool }): StepwiseError<"DRIVER_CAPABILITY_MISSING"> {
  const instead =
    tool === "pg_restore"
      ? `Restore a dump with pg_restore (or psql for a plain-SQL dump), then run "up".`
      : `Back it up with pg_dump (pg_dump --format=custom --file=app.dump "$DATABASE_URL") before "up".`;
  const message = `${operation} is not available on the ${driver} driver: stepwise's backups copy a SQLite file (capability "openFile"), and a PostgreSQL database lives on its server. Nothing was changed. ${instead}`;
  return new StepwiseError("DRIVER_CAPABILITY_MISSING", message, { driver, capability: "openFile", operation, file: null, fix: null, tool });
}

/** `source`'s driver, refused with `DRIVER_CAPABILITY_MISSING` on a server (naming `pg_dump` or `pg_restore`) or without `capabilities`. */
export function backupDriverOf(source: DriverSource | { readonly driver: DriverIdentity<unknown> }, operation: string, ...capabilities: DriverCapability[]): SyncDriver {
  requireManager(source, operation, true);
  const driver = "driver" in source ? source.driver : source;
  // A closed connection would fail a copy as the library's bare TypeError; listing reads only the file's path, which a closed connection still knows.
  if (capabilities.length > 0) refuseClosedConnection(driver);
  if (driver.dialect === "postgres") throw serverBackupUnsupportedError({ driver: driver.name, operation, tool: /restore/i.test(operation) ? "pg_restore" : "pg_dump" });
  requireCapabilities(driver, operation, ...capabilities);
  return driver as SyncDriver;
}

/** The driver and database file a backup of `source` uses, after every refusal that comes before a write. */
function prepareBackup(source: Parameters<typeof backupDriverOf>[0], operation: string, where: BackupOptions) {
  if (typeof where !== "object" || where === null) throw usageError(`${operation} needs the backup folder, as { directory: <absolute path> }; got ${describeOption(where)}.`);
  const { directory, keep = DEFAULT_BACKUP_KEEP } = where;
  const driver = backupDriverOf(source, operation, "openFile");
  runSync(refuseOpenTransaction(driver.name, operation), driver);
  if (driver.filePath === null) throw usageError("An in-memory database has no file to back up.");
  assertAbsolute("directory", directory);
  // Keeping none would delete the snapshot just taken.
  if (!Number.isSafeInteger(keep) || keep < 1) throw usageError(`Keep at least one backup, as a whole number (keep was ${String(keep)}).`);
  return { driver, databaseFile: driver.filePath, keep };
}

/**
 * Snapshots the database `source` (a driver or a manager) has open, then deletes the oldest of its backups beyond `keep` (never the one just written, nor a newer one).
 *
 * @throws `DRIVER_CAPABILITY_MISSING`; `TRANSACTION_OPEN`; `USAGE` for an in-memory database, a relative folder, `keep` below 1, or a `version` that is not a whole number of 0 or more; `DATABASE_LOCKED`; `DATABASE_DAMAGED` when the copy fails
 *   `quick_check`; `BACKUP_DISK_FULL` or `BACKUP_FOLDER_UNWRITABLE`. No file is left behind.
 */
export async function takeBackup(source: DriverSource, options: TakeBackupOptions): Promise<BackupRecord> {
  const { driver, databaseFile, keep } = prepareBackup(
    source,
    "takeBackup",
    optionsObject(options, "takeBackup", ["directory", "keep", "version", "busyTimeoutMs", "now", "dangerouslySkipIntegrityCheck"]),
  );
  const { directory, version, now = new Date() } = options;
  const skipCheck = booleanOption(options.dangerouslySkipIntegrityCheck, "dangerouslySkipIntegrityCheck", "takeBackup");
  // The name carries the version and the time: a backup named otherwise would never be listed, pruned or told apart.
  if (!Number.isSafeInteger(version) || version < 0) throw usageError(`takeBackup's version must be the database's schema version, a whole number of 0 or more; got ${describeOption(version)}.`);
  if (typeof (now as Partial<Date> | null)?.getTime !== "function" || Number.isNaN(now.getTime())) throw usageError(`takeBackup's now must be a valid Date; got ${describeOption(now)}.`);
  const busyTimeoutMs = options.busyTimeoutMs === undefined ? driver.getBusyTimeout() : checkBusyTimeout(options.busyTimeoutMs);
  let partial: string | null = null;
  try {
    makeFolders(directory);
    partial = createHiddenFile(directory, databaseFile, "partial", databaseFile);
    const method = await copyDatabase(driver, partial, busyTimeoutMs);
    // One self-contained file (an online copy keeps its source's WAL mode).
    const copy = driver.openFile!(partial, { readonly: false, busyTimeoutMs: 0 });
    try {
      copy.query("PRAGMA journal_mode = DELETE", []);
      const problems = skipCheck ? [] : quickCheckProblems(copy);
      if (problems.length > 0) throw databaseDamagedError({ databasePath: databaseFile, problems });
    } finally {
      closeQuietly(copy);
    }
    const sizeBytes = nodeFs().statSync(partial).size;
    const path = publish(partial, directory, databaseFile, version, now);
    partial = null;
    return { path, version, createdAt: now.toISOString(), sizeBytes, method, pruned: prune(directory, databaseFile, keep, path) };
  } catch (error) {
    if (partial !== null) removeCopy(partial);
    throw backupWriteError(error, driver, directory, partial ?? directory, busyTimeoutMs);
  }
}

/** Removes a copy that was not finished, with the journal SQLite may have left beside it. */
export function removeCopy(file: string): void {
  for (const name of [file, `${file}-journal`, `${file}-wal`, `${file}-shm`]) nodeFs().rmSync(name, { force: true });
}

/** Creates the hidden `.<database file>.<random>.<suffix>` in `directory` with `modeFrom`'s private mode. */
export function createHiddenFile(directory: string, databaseFile: string, suffix: string, modeFrom: string): string {
  const file = nodePath().join(directory, `.${nodePath().basename(databaseFile)}.${nodeCrypto().randomBytes(6).toString("hex")}.${suffix}`);
  createFileExclusively(file, privateModeFor(modeFrom));
  return file;
}

async function copyDatabase(driver: SyncDriver, file: string, busyTimeoutMs: number): Promise<BackupRecord["method"]> {
  const previous = driver.getBusyTimeout();
  driver.setBusyTimeout(busyTimeoutMs);
  try {
    if (!driver.backupTo) {
      retryWhileBusy(driver, () => driver.run("VACUUM INTO ?", [file]));
      return "vacuum-into";
    }
    // A read transaction opened here waits out a writer's lock through the busy timeout, where the API would give up.
    retryWhileBusy(driver, () => {
      driver.exec("BEGIN");
      try {
        driver.query("SELECT count(*) FROM sqlite_master", []);
      } catch (error) {
        driver.rollback();
        throw error;
      }
    });
    try {
      await driver.backupTo(file);
    } finally {
      driver.rollback();
    }
    return "online-backup";
  } finally {
    driver.setBusyTimeout(previous);
  }
}

const identityOf = (databaseFile: string) => nodeCrypto().createHash("sha256").update(databaseFile).digest("hex").slice(0, 16);
const NAME_PATTERN = /^(.+)\.v(\d+)\.(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)(?:-(\d+))?\.([0-9a-f]{16})\.bak$/;

/** Whether a file name is an `up --backup` snapshot's: no tenant of a fleet, whatever folder it sits in. */
export const isBackupFileName = (name: string): boolean => NAME_PATTERN.test(name);

/** Gives the copy its backup name, never over what is there (a backup of the same millisecond, another process's included; a planted link). */
function publish(partial: string, directory: string, databaseFile: string, version: number, date: Date): string {
  const prefix = nodePath().join(directory, `${nodePath().basename(databaseFile)}.v${version}.${date.toISOString().replace(/[:.]/g, "-")}`);
  for (let counter = 0; ; counter++) {
    const target = `${prefix}${counter > 0 ? `-${counter}` : ""}.${identityOf(databaseFile)}.bak`;
    if (nodeFs().lstatSync(target, { throwIfNoEntry: false }) !== undefined) continue;
    try {
      // A hard link fails on a name another process took after the check; a rename would replace its backup.
      nodeFs().linkSync(partial, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") continue;
      // A file system without hard links: the check above is all there is.
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw error;
      nodeFs().renameSync(partial, target);
      return target;
    }
    nodeFs().rmSync(partial, { force: true });
    return target;
  }
}

/** This database's backups in `directory`, oldest first: named for it, with its identity, regular files (never links). */
function backupsOf(directory: string, databaseFile: string): Array<BackupFile & { readonly order: string }> {
  if (!nodeFs().existsSync(directory)) return [];
  return nodeFs()
    .readdirSync(directory)
    .flatMap((name) => {
      const match = NAME_PATTERN.exec(name);
      const path = nodePath().join(directory, name);
      if (match?.[1] !== nodePath().basename(databaseFile) || match[5] !== identityOf(databaseFile) || nodeFs().lstatSync(path, { throwIfNoEntry: false })?.isFile() !== true) return [];
      return [{ path, version: Number(match[2]), stamp: match[3]!, order: `${match[3]}#${(match[4] ?? "0").padStart(12, "0")}` }];
    })
    .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
}

/**
 * The backups of `database` (its driver or manager, or its absolute path) in `directory`, oldest first. @throws `USAGE` for a relative path, a `directory` that is no folder, or an
 * in-memory database; `DRIVER_CAPABILITY_MISSING` on a server's database, and where the runtime has no file system (a page, a Worker).
 */
export function listBackups(directory: string, database: DriverSource | string): BackupFile[] {
  const source = typeof database === "string" ? null : backupDriverOf(database, "listBackups");
  // A page or a Worker has no file system, nor `process` to reach one: refused there as takeBackup is, not with the runtime's ReferenceError.
  if (typeof process === "undefined") {
    if (source !== null) requireCapabilities(source, "listBackups", "openFile");
    throw driverCapabilityError({
      driver: "none",
      capability: "openFile",
      operation: "listBackups",
      fix: "list backups under Node or Bun, where the database file is: this runtime has no file system",
    });
  }
  assertAbsolute("directory", directory);
  const kind = fileKindAt(directory);
  if (kind !== "directory" && kind !== "missing") throw usageError(`listBackups' directory ${directory} is ${describeFileKind(kind)}, not a folder.`);
  if (typeof database === "string") assertAbsolute("database", database);
  const databaseFile = typeof database === "string" ? (resolveDatabaseFile(database) ?? database) : source!.filePath;
  if (databaseFile === null) throw usageError("An in-memory database has no file to back up.");
  return backupsOf(directory, databaseFile).map(({ path, version, stamp }) => ({ path, version, stamp }));
}

/**
 * Deletes the oldest backups beyond `keep` (counting `written`), among those older than `written` only; with `sameVersionFirst`, those of `written`'s version go first (see
 * {@link upWithBackup}).
 */
function prune(directory: string, databaseFile: string, keep: number, written: string, sameVersionFirst = false): string[] {
  const backups = backupsOf(directory, databaseFile);
  const mine = backups.find((backup) => backup.path === written);
  const older = mine === undefined ? [] : backups.filter((backup) => backup.order < mine.order);
  const order = sameVersionFirst ? [...older.filter((backup) => backup.version === mine!.version), ...older.filter((backup) => backup.version !== mine!.version)] : older;
  const doomed = order.slice(0, Math.max(0, backups.length - keep));
  for (const backup of doomed) nodeFs().rmSync(backup.path, { force: true });
  return doomed.map((backup) => backup.path);
}

/** @throws `USAGE` naming `option` unless `value` is an absolute path. */
export function assertAbsolute(option: string, value: string): void {
  if (typeof value !== "string") throw usageError(`The "${option}" option must be an absolute path; got ${describeOption(value)}.`);
  if (!nodePath().isAbsolute(value)) throw usageError(`The "${option}" option must be an absolute path, not "${value}"; resolve it against the folder you mean first.`);
}

/** What `PRAGMA quick_check` finds wrong, a line each (at most 20); empty when intact. */
export function quickCheckProblems(driver: SyncDriver): string[] {
  let rows: Row[];
  try {
    rows = driver.query("PRAGMA quick_check(20)", []);
  } catch (error) {
    // Some damage fails the check itself after its first finding (SQLITE_CORRUPT): that is the finding.
    if (!sqliteCodeFrom(driver, error)?.startsWith("SQLITE_CORRUPT")) throw error;
    return [describeThrownValue(error)];
  }
  const lines = rows.flatMap((row) => String(Object.values(row)[0]).split("\n"));
  return lines.length === 1 && lines[0] === "ok" ? [] : lines.filter((line) => line !== "*** in database main ***");
}

/** The `SQLITE_*` code of an error a driver threw. */
export function sqliteCodeFrom(driver: SyncDriver, error: unknown): string | null {
  const code = sqliteCodeOf(error) ?? driver.classifyError(error).nativeCode;
  return code?.startsWith("SQLITE_") ? code : null;
}

/** Closes a connection opened here; a failure to close does not hide the outcome. */
export function closeQuietly(driver: SyncDriver): void {
  tryOr(() => driver.close?.(), undefined);
}

// SQLite says SQLITE_FULL on a full disk but SQLITE_IOERR_WRITE when a size limit or quota refuses a write.
const NO_ROOM = /^(SQLITE_FULL|SQLITE_IOERR|ENOSPC|EDQUOT|EFBIG)/;
const UNWRITABLE = /^(SQLITE_CANTOPEN|SQLITE_READONLY|SQLITE_PERM|EACCES|EPERM|EROFS|ENOTDIR|EEXIST|ENOENT|EISDIR)/;

/** A failure writing `file` into `directory`, as the error that names the folder; anything else translated. */
export function backupWriteError(error: unknown, driver: SyncDriver, directory: string, file: string, busyTimeoutMs: number): unknown {
  if (error instanceof StepwiseError) return error;
  const errno = (error as { code?: unknown } | null)?.code;
  const code = sqliteCodeFrom(driver, error) ?? (typeof errno === "string" ? errno : null);
  // A copy that reads every row (VACUUM INTO) stops at damage an online backup, which copies pages, carries over.
  if (code?.startsWith("SQLITE_CORRUPT") && driver.filePath !== null) return databaseDamagedError({ databasePath: driver.filePath, problems: [describeThrownValue(error)] });
  if (code !== null && UNWRITABLE.test(code)) return backupFolderUnwritableError(directory, code, error);
  if (code === null || !NO_ROOM.test(code)) return translateSqliteError(error, busyTimeoutMs, code);
  const neededBytes = driver.filePath === null ? null : (nodeFs().statSync(driver.filePath, { throwIfNoEntry: false })?.size ?? null);
  const space = tryOr(() => nodeFs().statfsSync(directory), null);
  return backupDiskFullError({ directory, path: file, systemCode: code, availableBytes: space && space.bavail * space.bsize, neededBytes, cause: error });
}

/** Options for {@link upWithBackup}: those of `up`, plus where the snapshot goes. */
export interface UpWithBackupOptions<V extends number = number> extends UpOptions<V> {
  /** The folder for snapshots (an absolute path) and how many to keep. */
  readonly backup: BackupOptions;
  /** Migrate and keep the snapshot even when `quick_check` finds the database damaged. Default `false`: `DATABASE_DAMAGED` before the snapshot. */
  readonly dangerouslySkipIntegrityCheck?: boolean;
}

/**
 * `manager.up(options)` preceded, when something is pending, by a snapshot ({@link takeBackup}): the result and the `backed-up` event carry it, and `MIGRATION_FAILED` names it as `backupPath`.
 * Beyond `keep`, older backups of the version it saves are pruned first, then the oldest: a failing run retried cannot push out the backups of the versions before it.
 *
 * @example
 * await upWithBackup(manager, { backup: { directory: path.join(dataDir, "backups"), keep: 10 } });
 *
 * @throws before anything is written: as {@link takeBackup}, and `UNMANAGED_DATABASE`, `WHOLE_RUN_TRANSACTION_REFUSED` and `DATABASE_DAMAGED`; after the snapshot, what `up` throws.
 */
export async function upWithBackup<R extends MigrationRegistry>(manager: SafetyNetManager<R>, options: UpWithBackupOptions<VersionOf<R>>): Promise<MigrationResult> {
  requireManager(manager, "upWithBackup");
  const { backup: where, dangerouslySkipIntegrityCheck = false, ...upOptions } = optionsObject(options, "upWithBackup", ["to", "transaction", "backup", "dangerouslySkipIntegrityCheck"]);
  booleanOption(dangerouslySkipIntegrityCheck, "dangerouslySkipIntegrityCheck", "upWithBackup");
  const { driver, databaseFile, keep } = prepareBackup(manager, "upWithBackup", where);
  refuseUnknownOptions(where, ["directory", "keep"], "upWithBackup's backup");
  const { executor } = manager;
  const plan = await runSafetyNet(manager, () => planUpOnceNoneRuns(manager, upOptions.to));
  if (plan.steps.length === 0) return manager.up(upOptions);
  await runSafetyNet(manager, function* () {
    yield* executor.refuseUnmanagedDatabase();
    if (upOptions.transaction === "all") yield* refuseWholeRunObstacles(executor, plan.steps, "up");
    const problems = dangerouslySkipIntegrityCheck ? [] : yield* callWithDriver(() => quickCheckProblems(driver));
    if (problems.length > 0) throw databaseDamagedError({ databasePath: databaseFile, problems });
  });
  const taken = await takeBackup(driver, { ...where, keep: Number.MAX_SAFE_INTEGER, version: plan.fromVersion, busyTimeoutMs: manager.busyTimeoutMs, dangerouslySkipIntegrityCheck });
  // A run that fails and is retried backs up the same version each time: those copies go first, so they cannot push out the backups of the versions before it.
  const backup = { ...taken, pruned: prune(where.directory, databaseFile, keep, taken.path, true) };
  executor.emit({ type: "backed-up", backup });
  try {
    return { ...(await manager.up(upOptions)), backup };
  } catch (error) {
    throw error instanceof StepwiseError && error.is("MIGRATION_FAILED") ? copyFailure(error, { backupPath: backup.path }) : error;
  }
}

/** `BACKUP_FOLDER_UNWRITABLE` unless `directory`, or the nearest folder above it that exists (where it would be made), is a folder this process may write: checked before a new database's file is made, so a refusal creates nothing. */
export function refuseUnwritableBackupFolder(directory: string): void {
  const { existsSync, statSync, accessSync, constants } = nodeFs();
  let at = nodePath().resolve(directory);
  while (!existsSync(at) && nodePath().dirname(at) !== at) at = nodePath().dirname(at);
  if (!statSync(at).isDirectory()) throw backupFolderUnwritableError(directory, "ENOTDIR", null);
  try {
    accessSync(at, constants.W_OK);
  } catch (error) {
    throw backupFolderUnwritableError(directory, (error as NodeJS.ErrnoException).code ?? "EACCES", error);
  }
}

/** Creates `dir` and its missing parents one `mkdir` at a time: `mkdirSync(dir, { recursive: true })` retries forever where mkdir keeps failing with ENOENT (under /proc), hanging on a bad path. */
export function makeFolders(dir: string, mkdir: (folder: string) => unknown = (folder) => nodeFs().mkdirSync(folder)): void {
  const { existsSync } = nodeFs();
  const path = nodePath();
  const missing: string[] = [];
  for (let at = path.resolve(dir); !existsSync(at) && path.dirname(at) !== at; at = path.dirname(at)) missing.unshift(at);
  // A file where the folder should be fails here as mkdir fails on it (EEXIST), not later, at the first write into it.
  if (missing.length === 0 && !nodeFs().statSync(dir).isDirectory()) mkdir(path.resolve(dir));
  for (const folder of missing) {
    try {
      mkdir(folder);
    } catch (error) {
      // Another process made it in between.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}
