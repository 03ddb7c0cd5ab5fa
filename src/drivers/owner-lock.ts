/**
 * The owner lock: how a process running a `transaction: false` migration proves it is alive to any
 * other process, whatever its pid, PID namespace or host.
 *
 * The owner opens a second connection on a small sidecar file next to the database,
 * `<database>-stepwise-owner-<history table>`, and holds `BEGIN EXCLUSIVE` on it while the migration
 * runs. That is an operating-system file lock (fcntl on POSIX), and the operating system releases it
 * when the process dies, however it dies. Another process tests it by reading the file with a busy
 * timeout of 0: "busy" means the owner is alive, success means it is gone. This works wherever SQLite
 * itself works, since SQLite's own locking relies on the same locks.
 *
 * The file is empty and stays: deleting it could race with a process that just opened it (its lock
 * would then be on a file nobody else can find). It is safe to delete while no migration runs.
 * Node has no file-lock API of its own; better-sqlite3 is taken from the app's connection
 * (`db.constructor`), so this module imports no native code and an app bundles nothing new.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Database } from "better-sqlite3";

/** A held owner lock; `release` is idempotent. */
export interface HeldOwnerLock {
  /** The sidecar file's name, without its folder, as the `started` row records it. */
  readonly fileName: string;
  release(): void;
}

/** What a probe of a recorded owner lock found. */
export type OwnerLockState = "held" | "free" | "unknown";

type DatabaseConstructor = new (file: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => Database;

/** The sidecar file's name for a database file and history table. */
export function ownerLockFileName(databaseFile: string, tableName: string): string {
  return `${path.basename(databaseFile)}-stepwise-owner-${tableName}`;
}

/** True when the database is a file other processes can open; an in-memory one has no other process. */
export function hasSharedFile(db: Database): boolean {
  return !db.memory && db.name !== "";
}

/**
 * A connection to the sidecar file, opened through the app's own SQLite library. Only `exec` and
 * `close` are needed, which every SQLite binding offers under these names.
 */
export interface OwnerLockConnection {
  exec(sql: string): unknown;
  close(): unknown;
}

/**
 * Opens `file` with the app's own SQLite library and a busy timeout of `timeoutMs`. `probe` asks for
 * a read-only connection to an existing file where the library can say so; the caller has already
 * checked that the file exists, so a library without those options may ignore them.
 */
export type OpenOwnerLockConnection = (file: string, options: { readonly probe: boolean; readonly timeoutMs: number }) => OwnerLockConnection;

/**
 * Takes the owner lock for `db`'s file, waiting up to `busyTimeoutMs` for a process that is only
 * probing it. Returns `null` when the database has no file or the lock cannot be taken (for example a
 * folder without write permission for the sidecar): the caller then records no lock, and others fall
 * back to judging the owner by its pid, as rows written before the lock existed are judged.
 */
export function holdOwnerLock(db: Database, tableName: string, busyTimeoutMs: number): HeldOwnerLock | null {
  return holdOwnerLockWith(openLike(db), hasSharedFile(db) ? db.name : null, tableName, busyTimeoutMs);
}

/**
 * {@link holdOwnerLock} for any SQLite library: `open` opens the sidecar with the app's library, and
 * `databaseFile` is the database's path (`null` for one without a file, which needs no lock).
 */
export function holdOwnerLockWith(open: OpenOwnerLockConnection, databaseFile: string | null, tableName: string, busyTimeoutMs: number): HeldOwnerLock | null {
  if (databaseFile === null) return null;
  const fileName = ownerLockFileName(databaseFile, tableName);
  let connection: OwnerLockConnection | null = null;
  try {
    connection = open(path.join(path.dirname(databaseFile), fileName), { probe: false, timeoutMs: Math.max(0, Math.trunc(busyTimeoutMs)) });
    connection.exec("BEGIN EXCLUSIVE");
  } catch {
    closeQuietly(connection);
    return null;
  }
  const held = connection;
  let released = false;
  return {
    fileName,
    release() {
      if (released) return;
      released = true;
      // Closing ends the transaction and drops the file lock; the rollback just makes it explicit.
      try {
        held.exec("ROLLBACK");
      } catch {
        // Nothing was written; closing below releases the lock either way.
      }
      closeQuietly(held);
    },
  };
}

/**
 * Whether the owner lock recorded as `fileName` for `db`'s file is held by some process right now.
 * Never waits and never creates the file: a missing file cannot be held.
 */
export function probeOwnerLock(db: Database, fileName: string): OwnerLockState {
  return probeOwnerLockWith(openLike(db), hasSharedFile(db) ? db.name : null, fileName);
}

/** {@link probeOwnerLock} for any SQLite library; see {@link holdOwnerLockWith}. */
export function probeOwnerLockWith(open: OpenOwnerLockConnection, databaseFile: string | null, fileName: string): OwnerLockState {
  // The row is data from the database; only a bare file name next to it is ever opened.
  if (databaseFile === null || fileName !== path.basename(fileName) || fileName === "" || fileName === "." || fileName === "..") return "unknown";
  const lockPath = path.join(path.dirname(databaseFile), fileName);
  // Checked first because some libraries (libsql) create a missing file whatever they are told.
  if (!existsSync(lockPath)) return "free";
  let connection: OwnerLockConnection | null = null;
  try {
    connection = open(lockPath, { probe: true, timeoutMs: 0 });
    // Reading needs a shared lock, which the owner's exclusive lock refuses at once.
    connection.exec("SELECT count(*) FROM sqlite_master");
    return "free";
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))) return "held";
    // The owner creates the file before its row commits and nobody deletes it while it runs, so a
    // missing file cannot be held. One that exists but cannot be opened (another user's, without
    // read permission) proves nothing.
    if (!existsSync(lockPath)) return "free";
    return "unknown";
  } finally {
    closeQuietly(connection);
  }
}

/** Opens sidecars with the constructor of `db` itself, so this module loads no native code. */
function openLike(db: Database): OpenOwnerLockConnection {
  return (file, { probe, timeoutMs }) =>
    new (db.constructor as DatabaseConstructor)(file, probe ? { readonly: true, fileMustExist: true, timeout: timeoutMs } : { timeout: timeoutMs });
}

function closeQuietly(connection: OwnerLockConnection | null): void {
  try {
    connection?.close();
  } catch {
    // Already closed or never opened; there is nothing else to release.
  }
}
