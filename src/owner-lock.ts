/**
 * The owner lock: how a process running a `transaction: false` migration proves it is alive to any
 * other process, whatever its pid, PID namespace or host.
 *
 * The owner opens a second connection on a small sidecar file next to the database,
 * `<database>-stepwise-owner-<history table>`, placed by the database file's real path (symlinks and
 * relative paths resolved, see `database-file.ts`) so every process that opens the same file, by
 * whatever path, holds and probes the same sidecar, and holds `BEGIN EXCLUSIVE` on it while the migration
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
import { resolveDatabaseFile } from "./database-file.js";
import type { Database } from "./types.js";

/** A held owner lock; `release` is idempotent. */
export interface HeldOwnerLock {
  /** The sidecar file's name, without its folder, as the `started` row records it. */
  readonly fileName: string;
  release(): void;
}

/** What a probe of a recorded owner lock found. */
export type OwnerLockState = "held" | "free" | "unknown";

type DatabaseConstructor = new (file: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => Database;

/** The sidecar file's name for a database file (its real path, see `database-file.ts`) and history table. */
export function ownerLockFileName(databaseFile: string, tableName: string): string {
  return `${path.basename(databaseFile)}-stepwise-owner-${tableName}`;
}

/** True when the database is a file other processes can open; an in-memory one has no other process. */
export function hasSharedFile(db: Database): boolean {
  return !db.memory && db.name !== "";
}

/**
 * Takes the owner lock for `db`'s file, waiting up to `busyTimeoutMs` for a process that is only
 * probing it. Returns `null` when the database has no file or the lock cannot be taken (for example a
 * folder without write permission for the sidecar): the caller then records no lock, and others fall
 * back to judging the owner by its pid, as rows written before the lock existed are judged.
 */
export function holdOwnerLock(db: Database, tableName: string, busyTimeoutMs: number): HeldOwnerLock | null {
  const databaseFile = hasSharedFile(db) ? resolveDatabaseFile(db) : null;
  if (databaseFile === null) return null;
  const fileName = ownerLockFileName(databaseFile, tableName);
  let connection: Database | null = null;
  try {
    connection = new (db.constructor as DatabaseConstructor)(path.join(path.dirname(databaseFile), fileName), { timeout: Math.max(0, Math.trunc(busyTimeoutMs)) });
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
  // The row is data from the database; only a bare file name next to it is ever opened.
  if (!hasSharedFile(db) || fileName !== path.basename(fileName) || fileName === "" || fileName === "." || fileName === "..") return "unknown";
  // Resolved as the holder resolved it, so a process that reached the file by another path finds it.
  const databaseFile = resolveDatabaseFile(db);
  if (databaseFile === null) return "unknown";
  const lockPath = path.join(path.dirname(databaseFile), fileName);
  let connection: Database | null = null;
  try {
    connection = new (db.constructor as DatabaseConstructor)(lockPath, { readonly: true, fileMustExist: true, timeout: 0 });
    // Reading needs a shared lock, which the owner's exclusive lock refuses at once.
    connection.prepare("SELECT count(*) FROM sqlite_master").get();
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

function closeQuietly(connection: Database | null): void {
  try {
    connection?.close();
  } catch {
    // Already closed or never opened; there is nothing else to release.
  }
}
