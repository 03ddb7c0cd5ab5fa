/**
 * Snapshots taken before `up` applies anything, and putting one back.
 *
 * Two ways to take one, both consistent (each reads inside one read transaction, so a writer in
 * another process cannot tear it):
 * - {@link takeBackup} uses SQLite's online backup API through better-sqlite3's `db.backup()`. It is
 *   asynchronous (it copies in steps and lets other connections write in between), which suits the
 *   CLI.
 * - {@link takeBackupSync} uses `VACUUM INTO`, because `MigrationManager.up()` is synchronous (a
 *   better-sqlite3 transaction cannot span an await) and the online backup has no synchronous form.
 *   The copy is compacted, not page-identical, but holds the same schema, rows and `user_version`.
 *
 * Either writes to a `.partial` file and renames it, so a crash never leaves a file that looks like a
 * finished backup. Files are named `<database file>.v<version>.<UTC time>.bak`, so they sort by time
 * and say what they hold.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { StepwiseError, UsageError } from "./errors.js";
import { DEFAULT_TABLE_NAME, HistoryStore } from "./history-store.js";
import { highestRecordedVersion } from "./planner.js";
import { sqliteCodeOf } from "./sqlite-errors.js";
import type { Database } from "./types.js";

/** How many backups of one database are kept in a folder when `keep` is not given. */
export const DEFAULT_BACKUP_KEEP = 5;

/** Where to put backups and how many to keep. */
export interface BackupOptions {
  /** The folder for backup files, as an absolute path; created when missing. */
  readonly directory: string;
  /** Keep this many of this database's backups in the folder, deleting the oldest. Default {@link DEFAULT_BACKUP_KEEP}. */
  readonly keep?: number;
}

/** Options for {@link takeBackup} and {@link takeBackupSync}. */
export interface TakeBackupOptions extends BackupOptions {
  /** The schema version the database is at, for the file name. */
  readonly version: number;
  /** The clock, for the file name. Default: now. */
  readonly now?: Date;
}

/** A backup that was written. Plain data. */
export interface BackupRecord {
  /** Absolute path of the backup file. */
  readonly path: string;
  readonly version: number;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly sizeBytes: number;
  /** Older backups deleted to respect `keep`. */
  readonly pruned: readonly string[];
}

/** A backup file found in a folder. */
export interface BackupFile {
  readonly path: string;
  readonly version: number;
  /** The UTC time from the name, as it appears there. */
  readonly stamp: string;
}

/** A file offered to `restore` is not a usable stepwise backup; nothing was changed. */
export class InvalidBackupError extends StepwiseError {
  readonly file: string;
  readonly reason: string;

  constructor(file: string, reason: string, cause?: unknown) {
    super(
      "BACKUP_INVALID",
      `${file} cannot be restored: ${reason}. Nothing was changed. Pick a file written by "stepwise up --backup".`,
      cause === undefined ? undefined : { cause },
    );
    this.file = file;
    this.reason = reason;
  }
}

const stampOf = (date: Date) => date.toISOString().replace(/[:.]/g, "-");
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The file name of a backup: `<database file>.v<version>.<UTC time>.bak`. */
export function formatBackupFileName(databaseFile: string, version: number, date: Date): string {
  return `${path.basename(databaseFile)}.v${version}.${stampOf(date)}.bak`;
}

/** This database's backups in `directory`, oldest first. */
export function listBackups(directory: string, databaseFile: string): BackupFile[] {
  if (!existsSync(directory)) return [];
  const pattern = new RegExp(`^${escapeRegExp(path.basename(databaseFile))}\\.v(\\d+)\\.(\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d-\\d{3}Z)(?:-(\\d+))?\\.bak$`);
  return readdirSync(directory)
    .map((name) => ({ name, match: pattern.exec(name) }))
    .filter((item): item is { name: string; match: RegExpExecArray } => item.match !== null)
    .map(({ name, match }) => ({ path: path.join(directory, name), version: Number(match[1]), stamp: match[2]!, counter: Number(match[3] ?? 0) }))
    .sort((a, b) => a.stamp.localeCompare(b.stamp) || a.counter - b.counter)
    .map(({ path: file, version, stamp }) => ({ path: file, version, stamp }));
}

/** Deletes all but the newest `keep` backups of this database in `directory`; returns what it deleted. */
export function pruneBackups(directory: string, databaseFile: string, keep: number): string[] {
  const backups = listBackups(directory, databaseFile);
  const doomed = backups.slice(0, Math.max(0, backups.length - keep));
  for (const backup of doomed) rmSync(backup.path, { force: true });
  return doomed.map((backup) => backup.path);
}

/**
 * Refuses a relative backup folder: the library has no working folder of its own to resolve it
 * against, and the process's may not be the one the caller means.
 *
 * @throws UsageError naming the `directory` option.
 */
export function assertAbsoluteBackupDirectory(directory: string): void {
  assertAbsolutePathOption("directory", directory);
}

/** The library never resolves against the working folder, so every path option must be absolute. */
function assertAbsolutePathOption(option: string, value: string): void {
  if (!path.isAbsolute(value)) {
    throw new UsageError(`The backup "${option}" option must be an absolute path, not "${value}"; resolve it against the folder you mean first.`);
  }
}

function prepareTarget(db: Database, options: TakeBackupOptions): { finalPath: string; partialPath: string; date: Date } {
  if (db.memory) throw new UsageError("An in-memory database has no file to back up.");
  assertAbsoluteBackupDirectory(options.directory);
  const keep = options.keep ?? DEFAULT_BACKUP_KEEP;
  if (!Number.isSafeInteger(keep) || keep < 1) throw new UsageError(`Keep at least one backup (keep was ${keep}).`);
  mkdirSync(options.directory, { recursive: true });
  const date = options.now ?? new Date();
  const base = formatBackupFileName(db.name, options.version, date);
  let finalPath = path.join(options.directory, base);
  // Two runs in the same millisecond would otherwise overwrite each other.
  for (let counter = 1; existsSync(finalPath); counter++) finalPath = path.join(options.directory, base.replace(/\.bak$/, `-${counter}.bak`));
  const partialPath = `${finalPath}.partial`;
  rmSync(partialPath, { force: true });
  return { finalPath, partialPath, date };
}

function finish(db: Database, options: TakeBackupOptions, target: { finalPath: string; partialPath: string; date: Date }): BackupRecord {
  renameSync(target.partialPath, target.finalPath);
  const pruned = pruneBackups(options.directory, db.name, options.keep ?? DEFAULT_BACKUP_KEEP);
  return {
    path: target.finalPath,
    version: options.version,
    createdAt: target.date.toISOString(),
    sizeBytes: statSync(target.finalPath).size,
    pruned,
  };
}

/**
 * Snapshots the database with `VACUUM INTO`, synchronously. Must be called outside a transaction.
 * Prunes old backups of the same database to `keep`.
 */
export function takeBackupSync(db: Database, options: TakeBackupOptions): BackupRecord {
  const target = prepareTarget(db, options);
  try {
    db.prepare("VACUUM INTO ?").run(target.partialPath);
  } catch (error) {
    rmSync(target.partialPath, { force: true });
    throw error;
  }
  return finish(db, options, target);
}

/** Snapshots the database with SQLite's online backup API. Prunes old backups to `keep`. */
export async function takeBackup(db: Database, options: TakeBackupOptions): Promise<BackupRecord> {
  const target = prepareTarget(db, options);
  try {
    await db.backup(target.partialPath);
    // The copy keeps the source's journal mode; a WAL-mode file cannot be opened read-only without
    // its -shm, so the backup is switched to a self-contained rollback-journal file.
    const copy = new BetterSqlite3(target.partialPath);
    try {
      copy.pragma("journal_mode = DELETE");
    } finally {
      copy.close();
    }
  } catch (error) {
    rmSync(target.partialPath, { force: true });
    throw error;
  }
  return finish(db, options, target);
}

/** What a backup file holds, checked before it is restored. */
export interface BackupInspection {
  readonly file: string;
  /** The newest applied version in its history. */
  readonly version: number;
}

/**
 * Checks that `file` is an intact SQLite database with a stepwise history table, and reads its
 * version. Never writes.
 *
 * @throws InvalidBackupError when it is missing, not SQLite, damaged, or has no history table.
 */
export function inspectBackupOrThrow(file: string, tableName: string = DEFAULT_TABLE_NAME): BackupInspection {
  if (!existsSync(file) || !statSync(file).isFile()) throw new InvalidBackupError(file, "there is no such file");
  let db: Database;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new InvalidBackupError(file, `SQLite cannot open it (${sqliteCodeOf(error) ?? "unknown error"})`, error);
  }
  try {
    const check = db.pragma("quick_check", { simple: true });
    if (check !== "ok") throw new InvalidBackupError(file, `it is damaged (quick_check: ${String(check)})`);
    const store = new HistoryStore(db, tableName);
    if (!store.exists()) throw new InvalidBackupError(file, `it has no "${tableName}" history table, so it was not made by stepwise`);
    store.assertShape();
    const keys = store.readKeys();
    return { file, version: highestRecordedVersion(keys) };
  } catch (error) {
    if (error instanceof StepwiseError) throw error;
    throw new InvalidBackupError(file, `it is not a readable SQLite database (${sqliteCodeOf(error) ?? String(error)})`, error);
  } finally {
    db.close();
  }
}

/** Options for {@link restoreBackup}. */
export interface RestoreOptions {
  /** The backup file to put back. */
  readonly backupFile: string;
  /** The database to overwrite; created when missing. */
  readonly databasePath: string;
  /** Default {@link DEFAULT_TABLE_NAME}. */
  readonly tableName?: string;
}

/** What {@link restoreBackup} did. */
export interface RestoreResult {
  readonly databasePath: string;
  readonly restoredFrom: string;
  /** The version the database is at now. */
  readonly version: number;
  /**
   * A snapshot of the database as it was before the restore, next to the restored backup, so the
   * restore itself can be undone; `null` when there was no database.
   */
  readonly previous: BackupRecord | null;
}

/**
 * Puts a backup back. The file is validated first ({@link inspectBackupOrThrow}). The database that
 * gets replaced is itself backed up next to the restored file. The copy goes through SQLite's
 * backup API into the live database, so it is one write transaction on it: other connections see
 * the old or the new content, never a mix, a crash leaves the old content, and no stale `-wal` file
 * can be replayed over the new content, as could happen after copying or renaming the file.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  assertAbsolutePathOption("backupFile", options.backupFile);
  assertAbsolutePathOption("databasePath", options.databasePath);
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const inspection = inspectBackupOrThrow(options.backupFile, tableName);
  let previous: BackupRecord | null = null;
  if (existsSync(options.databasePath)) {
    const current = new BetterSqlite3(options.databasePath, { fileMustExist: true });
    try {
      const store = new HistoryStore(current, tableName);
      const keys = store.exists() ? store.readKeys() : [];
      previous = await takeBackup(current, {
        directory: path.dirname(options.backupFile),
        version: highestRecordedVersion(keys),
        // The restored file must survive; pruning could pick it as the oldest.
        keep: Number.MAX_SAFE_INTEGER,
      });
    } finally {
      current.close();
    }
  }
  const source = new BetterSqlite3(options.backupFile, { readonly: true, fileMustExist: true });
  try {
    await source.backup(options.databasePath);
  } finally {
    source.close();
  }
  return { databasePath: options.databasePath, restoredFrom: options.backupFile, version: inspection.version, previous };
}
