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
 * (`db.constructor`), so this module imports no native code and an app bundles nothing new. The
 * lock itself is `sqlite-shared.ts`'s, which every SQLite driver opens with its own library.
 */
import type { Database } from "better-sqlite3";
import { mainDatabaseFile } from "./database-file.js";
import { holdSidecarLock, probeSidecarLock, type OwnerLockState, type SidecarOpener } from "./sqlite-shared.js";

export { ownerLockFileName } from "./sqlite-shared.js";
export type { OwnerLockState } from "./sqlite-shared.js";

/** A held owner lock; `release` is idempotent. */
export interface HeldOwnerLock {
  /** The sidecar file's name, without its folder, as the `started` row records it. */
  readonly fileName: string;
  release(): void;
}

type DatabaseConstructor = new (file: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => Database;

/** True when the database is a file other processes can open; an in-memory one has no other process. */
export function hasSharedFile(db: Database): boolean {
  return !db.memory && db.name !== "";
}

/** The sidecar, opened with the app's better-sqlite3. */
function sidecarOpener(db: Database): SidecarOpener {
  const Class = db.constructor as DatabaseConstructor;
  return (file, options) => {
    const connection = new Class(file, options.readonly ? { readonly: true, fileMustExist: true, timeout: options.busyTimeoutMs } : { timeout: options.busyTimeoutMs });
    return { exec: (sql) => void connection.exec(sql), close: () => void connection.close() };
  };
}

/**
 * Takes the owner lock for `db`'s file, waiting up to `busyTimeoutMs` for a process that is only
 * probing it. Returns `null` when the database has no file or the lock cannot be taken (for example a
 * folder without write permission for the sidecar): the caller then records no lock, and others fall
 * back to judging the owner by its pid, as rows written before the lock existed are judged.
 */
export function holdOwnerLock(db: Database, tableName: string, busyTimeoutMs: number): HeldOwnerLock | null {
  return holdSidecarLock(sidecarOpener(db), openedFile(db), tableName, busyTimeoutMs);
}

/**
 * Whether the owner lock recorded as `fileName` for `db`'s file is held by some process right now.
 * Never waits and never creates the file: a missing file cannot be held.
 */
export function probeOwnerLock(db: Database, fileName: string): OwnerLockState {
  return probeSidecarLock(sidecarOpener(db), openedFile(db), fileName);
}

/**
 * The database's file as SQLite named it when it opened it: absolute, so a later `chdir` does not
 * move it (`db.name` is the string the app passed). `null` without a file.
 */
function openedFile(db: Database): string | null {
  if (!hasSharedFile(db)) return null;
  try {
    return mainDatabaseFile(db.pragma("database_list") as Array<{ name: string; file: string }>);
  } catch {
    // A closed connection cannot be asked; its name is the best remaining answer.
    return db.name;
  }
}
