/**
 * What every SQLite driver shares, whatever library it wraps: its statement cache, reading SQLite's
 * result codes, the owner lock sidecar opened with the app's own library, and the batch walker's
 * connection. A driver file passes in its library's few primitives; nothing here imports a database
 * library, so a bundle of one driver's entry carries no other driver's code.
 *
 * The owner lock is how a process running a `transaction: false` migration proves it is alive to any
 * other process, whatever its pid, PID namespace or host. The owner opens a second connection on a
 * small sidecar file next to the database, `<database>-stepwise-owner-<history table>`, and holds
 * `BEGIN EXCLUSIVE` on it while the migration runs. That is an operating-system file lock (fcntl on
 * POSIX), which the operating system releases when the process dies, however it dies. Another process
 * tests it by reading the file with a busy timeout of 0: "busy" means the owner is alive, success
 * means it is gone. This works wherever SQLite itself works, since SQLite's own locking relies on the
 * same locks. The file is empty and stays: deleting it could race with a process that just opened it
 * (its lock would then be on a file nobody else can find). It is safe to delete while no migration
 * runs. Node has no file-lock API of its own, so each driver opens the sidecar with the app's library.
 */
import { nodeFs, nodePath } from "../core/node-builtins.js";
import type { ErrorClassification, OwnerLockHandle, SyncDriver } from "../core/driver.js";
import { classifySqliteError } from "../core/define-driver.js";
import type { BatchConnection } from "../core/types.js";
import { createFileExclusively, fileKindAt, privateModeFor, resolveDatabaseFile } from "./database-file.js";
import { findLockHolders } from "./lock-holders.js";

/** Prepared statements kept per connection; the executor's SQL is a small fixed set. */
const STATEMENT_CACHE_LIMIT = 64;

/**
 * `prepare` with its statements kept by text, so a statement stepwise runs per migration (the history
 * writes, the change counter) is prepared once. When the cache fills, and on `clear()`, every statement
 * is dropped, through `free` where the library holds memory for it until freed.
 */
export function cachedStatements<S>(prepare: (sql: string) => S, free?: (statement: S) => void): ((sql: string) => S) & { clear(): void } {
  const statements = new Map<string, S>();
  const clear = (): void => {
    if (free) for (const statement of statements.values()) free(statement);
    statements.clear();
  };
  const cached = (sql: string): S => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      if (statements.size >= STATEMENT_CACHE_LIMIT) clear();
      statement = prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  return Object.assign(cached, { clear });
}

/** SQLite's primary result codes (the low byte of an extended code), by number. */
const PRIMARY_CODES: Readonly<Record<number, string>> = {
  1: "SQLITE_ERROR",
  2: "SQLITE_INTERNAL",
  3: "SQLITE_PERM",
  4: "SQLITE_ABORT",
  5: "SQLITE_BUSY",
  6: "SQLITE_LOCKED",
  7: "SQLITE_NOMEM",
  8: "SQLITE_READONLY",
  9: "SQLITE_INTERRUPT",
  10: "SQLITE_IOERR",
  11: "SQLITE_CORRUPT",
  12: "SQLITE_NOTFOUND",
  13: "SQLITE_FULL",
  14: "SQLITE_CANTOPEN",
  15: "SQLITE_PROTOCOL",
  16: "SQLITE_EMPTY",
  17: "SQLITE_SCHEMA",
  18: "SQLITE_TOOBIG",
  19: "SQLITE_CONSTRAINT",
  20: "SQLITE_MISMATCH",
  21: "SQLITE_MISUSE",
  22: "SQLITE_NOLFS",
  23: "SQLITE_AUTH",
  24: "SQLITE_FORMAT",
  25: "SQLITE_RANGE",
  26: "SQLITE_NOTADB",
};

/**
 * The extended codes stepwise tells apart (the core's advice differs for them); any other extended
 * code is read as its primary one, which is all the core looks at.
 */
const EXTENDED_CODES: Readonly<Record<number, string>> = {
  261: "SQLITE_BUSY_RECOVERY",
  517: "SQLITE_BUSY_SNAPSHOT",
  773: "SQLITE_BUSY_TIMEOUT",
  262: "SQLITE_LOCKED_SHAREDCACHE",
  264: "SQLITE_READONLY_RECOVERY",
  520: "SQLITE_READONLY_CANTLOCK",
  776: "SQLITE_READONLY_ROLLBACK",
  1032: "SQLITE_READONLY_DBMOVED",
  266: "SQLITE_IOERR_READ",
  522: "SQLITE_IOERR_SHORT_READ",
  778: "SQLITE_IOERR_WRITE",
  1034: "SQLITE_IOERR_FSYNC",
  3338: "SQLITE_IOERR_NOMEM",
  4874: "SQLITE_IOERR_SHMSIZE",
  267: "SQLITE_CORRUPT_VTAB",
  1555: "SQLITE_CONSTRAINT_PRIMARYKEY",
  2067: "SQLITE_CONSTRAINT_UNIQUE",
  787: "SQLITE_CONSTRAINT_FOREIGNKEY",
  1299: "SQLITE_CONSTRAINT_NOTNULL",
  275: "SQLITE_CONSTRAINT_CHECK",
  1811: "SQLITE_CONSTRAINT_TRIGGER",
  2579: "SQLITE_CONSTRAINT_ROWID",
};

/** The `SQLITE_*` name of a numeric (possibly extended) result code, or `null` for an unknown one. */
export function sqliteCodeName(code: number): string | null {
  return EXTENDED_CODES[code] ?? PRIMARY_CODES[code & 0xff] ?? null;
}

/**
 * The `SQLITE_*` code an error of any SQLite library carries, or `null`: better-sqlite3, bun:sqlite
 * and libsql name it in `code`; node:sqlite gives the number as `errcode` (under `code:
 * "ERR_SQLITE_ERROR"`); `@libsql/client` gives the extended code as the number `rawCode` (locally)
 * and as text in `extendedCode`, or remotely only the text in `code`. Never throws: a migration body
 * can throw anything (`null`, a Proxy whose getters throw), and such a value reads as no code.
 */
export function nativeSqliteCode(error: unknown): string | null {
  try {
    const fields = error as { code?: unknown; errcode?: unknown; rawCode?: unknown; extendedCode?: unknown } | null | undefined;
    const number = typeof fields?.rawCode === "number" ? fields.rawCode : fields?.code === "ERR_SQLITE_ERROR" && typeof fields.errcode === "number" ? fields.errcode : null;
    const texts = [number === null ? null : sqliteCodeName(number), fields?.extendedCode, fields?.code];
    return texts.find((code): code is string => typeof code === "string" && code.startsWith("SQLITE_")) ?? null;
  } catch {
    return null;
  }
}

/** A driver's `classifyError` for a library whose errors carry their code (see {@link nativeSqliteCode}). */
export function classifyNativeSqliteError(error: unknown): ErrorClassification {
  return classifySqliteError({ code: nativeSqliteCode(error) });
}

/** The owner lock sidecar's name for a database file and history table (see the module note). */
export function ownerLockFileName(databaseFile: string, tableName: string): string {
  return `${nodePath().basename(databaseFile)}-stepwise-owner-${tableName}`;
}

/** What a probe of a recorded owner lock found. */
export type OwnerLockState = "held" | "free" | "unknown";

/** A connection on the owner lock sidecar, opened with the app's own library. */
export interface SidecarConnection {
  exec(sql: string): void;
  close(): void;
}

/**
 * How to open a second connection with the app's library. `readonly` connections should not create
 * the file where the library can say so (the probe checks that it exists first, for libraries that
 * cannot); `busyTimeoutMs` is how long a statement waits for a lock.
 */
export interface SidecarOptions {
  readonly readonly: boolean;
  readonly busyTimeoutMs: number;
}

/** Opens the sidecar with the app's library (see {@link SidecarOptions}). */
export type SidecarOpener = (file: string, options: SidecarOptions) => SidecarConnection;

/**
 * The owner lock and the lock holders of the database SQLite opened as `filePath` (`null` in memory:
 * no other process can reach it), for a driver to spread into its primitives. `open` opens the sidecar
 * with the app's own library.
 */
export function fileLockPrimitives(open: SidecarOpener, filePath: string | null): Required<Pick<SyncDriver<unknown>, "holdOwnerLock" | "probeOwnerLock" | "lockHolders">> {
  return {
    holdOwnerLock: (tableName, busyTimeoutMs) => holdSidecarLock(open, filePath, tableName, busyTimeoutMs),
    probeOwnerLock: (fileName) => probeSidecarLock(open, filePath, fileName),
    lockHolders: () => (filePath === null ? [] : findLockHolders(filePath)),
  };
}

/**
 * Takes the owner lock (see the module note) next to `databaseFile`, holding `BEGIN EXCLUSIVE` on a
 * sidecar opened by `open`. Returns `null` for a database without a file, or when the lock cannot
 * be taken: the caller then records no lock, as rows written before the lock existed record none.
 * `databaseFile` is the name SQLite reported; the sidecar goes next to its real path (symlinks
 * resolved, see `database-file.ts`), so every process that reaches the file by another path finds it.
 */
export function holdSidecarLock(open: SidecarOpener, opened: string | null, tableName: string, busyTimeoutMs: number): OwnerLockHandle | null {
  const databaseFile = resolveDatabaseFile(opened);
  if (databaseFile === null) return null;
  const fileName = ownerLockFileName(databaseFile, tableName);
  const release = holdFileLock(open, nodePath().join(nodePath().dirname(databaseFile), fileName), privateModeFor(databaseFile), busyTimeoutMs);
  return release === null ? null : { fileName, release };
}

/**
 * Takes an operating-system lock on `lockPath` with the app's library (`BEGIN EXCLUSIVE` on it as a
 * SQLite file, which the system drops when the process dies) and returns its release, idempotent;
 * `null` when it cannot be taken. A missing file is created with `mode`; anything there but a regular
 * file (a planted symlink, a FIFO) is never opened, so nothing is written through it.
 */
export function holdFileLock(open: SidecarOpener, lockPath: string, mode: number, busyTimeoutMs: number): (() => void) | null {
  let connection: SidecarConnection | null = null;
  try {
    if (fileKindAt(lockPath, false) === "missing") createFileExclusively(lockPath, mode);
  } catch {
    // Another process created it meanwhile (checked below), or the folder is not writable (opening fails too).
  }
  try {
    if (fileKindAt(lockPath, false) !== "file") return null;
    connection = open(lockPath, { readonly: false, busyTimeoutMs: Math.max(0, Math.trunc(busyTimeoutMs)) });
    connection.exec("BEGIN EXCLUSIVE");
  } catch {
    closeQuietly(connection);
    return null;
  }
  const held = connection;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      held.exec("ROLLBACK");
    } catch {
      // Nothing was written; closing below releases the lock either way.
    }
    closeQuietly(held);
  };
}

/**
 * Whether the owner lock recorded as `fileName` next to `databaseFile` is held right now. Never
 * waits and never creates the file.
 */
export function probeSidecarLock(open: SidecarOpener, opened: string | null, fileName: string): OwnerLockState {
  // Resolved as the holder resolved it, so a process that reached the file by another path finds it.
  const databaseFile = resolveDatabaseFile(opened);
  // The row is data from the database; only a bare file name next to it is ever opened.
  if (databaseFile === null || fileName !== nodePath().basename(fileName) || fileName === "" || fileName === "." || fileName === "..") return "unknown";
  return probeFileLock(open, nodePath().join(nodePath().dirname(databaseFile), fileName));
}

/** Whether some process holds the lock {@link holdFileLock} takes on `lockPath`. Never waits, never creates the file. */
export function probeFileLock(open: SidecarOpener, lockPath: string): OwnerLockState {
  // The holder creates the file before it takes the lock, so a missing file cannot be held. Checked
  // before opening because some libraries (libsql) create a missing file whatever they are told, and
  // a FIFO opened for reading would block forever: only a regular file is opened.
  let connection: SidecarConnection | null = null;
  try {
    const kind = fileKindAt(lockPath, false);
    if (kind === "missing") return "free";
    if (kind !== "file") return "unknown";
    connection = open(lockPath, { readonly: true, busyTimeoutMs: 0 });
    // Reading needs a shared lock, which the holder's exclusive lock refuses at once.
    connection.exec("SELECT count(*) FROM sqlite_master");
    return "free";
  } catch (error) {
    const primary = nativeSqliteCode(error);
    if (primary !== null && (primary.startsWith("SQLITE_BUSY") || primary.startsWith("SQLITE_LOCKED"))) return "held";
    // Gone since the check above (deleted while no migration ran), or there but unopenable (another
    // user's, without read permission), which proves nothing.
    return nodeFs().existsSync(lockPath) ? "unknown" : "free";
  } finally {
    closeQuietly(connection);
  }
}

function closeQuietly(connection: SidecarConnection | null): void {
  try {
    connection?.close();
  } catch {
    // Already closed or never opened; there is nothing else to release.
  }
}

/** The statement shape {@link createBatchConnection} needs from a library. */
export interface BatchStatement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/**
 * The connection `forEachBatch` walks with, for a library without better-sqlite3's
 * `db.transaction(fn)`: its own transaction per batch is a plain BEGIN/COMMIT, rolled back when the
 * handler throws (it is used only outside a transaction).
 */
export function createBatchConnection(library: { prepare(sql: string): BatchStatement; exec(sql: string): void; inTransaction(): boolean }): BatchConnection {
  return {
    prepare: (sql) => library.prepare(sql),
    get inTransaction() {
      return library.inTransaction();
    },
    transaction: (fn) => () => {
      library.exec("BEGIN");
      try {
        fn();
        // Inside the try: a COMMIT that fails (a deferred foreign key) must not leave the batch open.
        library.exec("COMMIT");
      } catch (error) {
        if (library.inTransaction()) library.exec("ROLLBACK");
        throw error;
      }
    },
  };
}
