/** What the SQLite drivers share, whatever library they wrap: SQLite's result codes, the owner lock sidecar, the batch walker's connection and file copies for libraries that cannot serialize. A
 * driver passes its library's primitives in; nothing here imports one. */
import { nodeCrypto, nodeFs, nodeOs, nodePath } from "../core/node-builtins.js";
import { isProcessAlive } from "../core/migration-owner.js";
import type { ErrorClassification, OwnerLockHandle, SyncDriver } from "../core/driver.js";
import { classifySqliteError, defineDriver, quietly, type DriverPrimitives } from "../core/define-driver.js";
import { createMigrationContext } from "../core/progress.js";
import { StepwiseError } from "../core/errors.js";
import { classifySafely, transactionOpenError, tempFolderUnusableError } from "../core/error-factories.js";
import type { BatchConnection } from "../core/types.js";
import { createFileExclusively, fileKindAt, privateModeFor, resolveDatabaseFile } from "./database-file.js";
import { findLockHolders } from "./lock-holders.js";

/** `prepare`, keeping up to 64 statements by text (about 15% of a fresh apply of 1,000 migrations); `clear()`, and a full cache, drop them all through `free`. */
export function cachedStatements<S>(prepare: (sql: string) => S, free?: (statement: S) => void): ((sql: string) => S) & { clear(): void } {
  const statements = new Map<string, S>();
  const clear = (): void => {
    if (free) statements.forEach(free);
    statements.clear();
  };
  const cached = (sql: string): S => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      if (statements.size >= 64) clear();
      statement = prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  return Object.assign(cached, { clear });
}

const PRIMARY_CODES =
  "ERROR INTERNAL PERM ABORT BUSY LOCKED NOMEM READONLY INTERRUPT IOERR CORRUPT NOTFOUND FULL CANTOPEN PROTOCOL EMPTY SCHEMA TOOBIG CONSTRAINT MISMATCH MISUSE NOLFS AUTH FORMAT RANGE NOTADB";
/** The extended codes whose names matter (the advice differs, or errors report them); others read as their primary code. */
const EXTENDED_CODES =
  "261 BUSY_RECOVERY 517 BUSY_SNAPSHOT 773 BUSY_TIMEOUT 262 LOCKED_SHAREDCACHE 264 READONLY_RECOVERY 520 READONLY_CANTLOCK 776 READONLY_ROLLBACK 1032 READONLY_DBMOVED " +
  "266 IOERR_READ 522 IOERR_SHORT_READ 778 IOERR_WRITE 1034 IOERR_FSYNC 1290 IOERR_DIR_FSYNC 1546 IOERR_TRUNCATE 2058 IOERR_UNLOCK 2314 IOERR_RDLOCK 2570 IOERR_DELETE 3082 IOERR_NOMEM " +
  "3594 IOERR_CHECKRESERVEDLOCK 3850 IOERR_LOCK 4874 IOERR_SHMSIZE 5130 IOERR_SHMLOCK 5898 IOERR_DELETE_NOENT 267 CORRUPT_VTAB 1555 CONSTRAINT_PRIMARYKEY " +
  "2067 CONSTRAINT_UNIQUE 787 CONSTRAINT_FOREIGNKEY 1299 CONSTRAINT_NOTNULL 275 CONSTRAINT_CHECK 1811 CONSTRAINT_TRIGGER 2579 CONSTRAINT_ROWID";

/** The `SQLITE_*` name of a numeric (possibly extended) result code, or `null`. */
export function sqliteCodeName(code: number): string | null {
  const extended = EXTENDED_CODES.split(" ");
  const at = extended.indexOf(String(code));
  const name = at >= 0 && at % 2 === 0 ? extended[at + 1] : PRIMARY_CODES.split(" ")[(code & 0xff) - 1];
  return name === undefined ? null : `SQLITE_${name}`;
}

/** `classifyError` for a library whose errors carry their code in `code` (better-sqlite3, bun:sqlite, libsql, remote @libsql/client), `errcode` (node:sqlite), `rawCode` or `extendedCode` (local
 * @libsql/client). Never throws. */
export function classifyNativeSqliteError(error: unknown): ErrorClassification {
  return classifySafely((thrown) => {
    const fields = thrown as { code?: unknown; errcode?: unknown; rawCode?: unknown; extendedCode?: unknown } | null | undefined;
    const number = typeof fields?.rawCode === "number" ? fields.rawCode : fields?.code === "ERR_SQLITE_ERROR" && typeof fields.errcode === "number" ? fields.errcode : null;
    const texts = [number === null ? null : sqliteCodeName(number), fields?.extendedCode, fields?.code];
    return classifySqliteError({ code: texts.find((code) => typeof code === "string" && code.startsWith("SQLITE_")) });
  }, error);
}

/** The owner lock sidecar's name for a database file and history table. */
export function ownerLockFileName(databaseFile: string, tableName: string): string {
  return `${nodePath().basename(databaseFile)}-stepwise-owner-${tableName}`;
}

/** The database file name an owner lock sidecar's name is for, or `null` when it is no such name. */
export const databaseOfOwnerLock = (name: string): string | null => /^(.+)-stepwise-owner-\w+$/.exec(name)?.[1] ?? null;

/** Opens a second connection with the app's library; `readonly` should not create the file. */
export type SidecarOpener = (file: string, options: { readonly readonly: boolean; readonly busyTimeoutMs: number }) => { exec(sql: string): void; close(): void };

/** The owner lock, lock holders and second connections (`createDriver` on what `open` opens) of the file SQLite opened as `filePath` (`null`: in memory). The owner of a `transaction: false`
 * migration holds `BEGIN EXCLUSIVE` on a sidecar next to the database, an operating-system lock its death releases, so any process on any host sees it is alive ("busy" at a busy timeout of 0). The
 * sidecar stays: deleting it could race with a process that just opened it. */
export function fileLockPrimitives<Db extends ReturnType<SidecarOpener>>(
  open: (file: string, options: { readonly readonly: boolean; readonly busyTimeoutMs: number }) => Db,
  filePath: string | null,
  createDriver: (db: Db) => SyncDriver<Db>,
): Required<Pick<SyncDriver<Db>, "holdOwnerLock" | "probeOwnerLock" | "lockHolders" | "openFile">> {
  return {
    holdOwnerLock: (tableName, busyTimeoutMs) => holdSidecarLock(open, filePath, tableName, busyTimeoutMs),
    probeOwnerLock: (fileName) => probeSidecarLock(open, filePath, fileName),
    lockHolders: () => findLockHolders(filePath),
    openFile: (file, options) => createDriver(open(file, options)),
  };
}

/** Takes the owner lock next to the real file (symlinks resolved), or `null` without a file or when it cannot be taken. Only a regular file is opened. */
export function holdSidecarLock(open: SidecarOpener, opened: string | null, tableName: string, busyTimeoutMs: number): OwnerLockHandle | null {
  const databaseFile = resolveDatabaseFile(opened);
  if (databaseFile === null) return null;
  const fileName = ownerLockFileName(databaseFile, tableName);
  const lockPath = nodePath().join(nodePath().dirname(databaseFile), fileName);
  try {
    if (fileKindAt(lockPath, false) === "missing") createFileExclusively(lockPath, privateModeFor(databaseFile));
  } catch {
    // Created by another process meanwhile, or the folder is not writable: checked below.
  }
  const release = holdFileLock(open, lockPath, busyTimeoutMs);
  return release === null ? null : { fileName, release };
}

/** `BEGIN EXCLUSIVE` on the regular file at `lockPath` (never created here), held until the returned release, or `null` when it cannot be taken. */
function holdFileLock(open: SidecarOpener, lockPath: string, busyTimeoutMs: number): (() => void) | null {
  let connection: ReturnType<SidecarOpener> | null = null;
  try {
    // Checked first: libsql creates a missing file whatever it is told, and a FIFO would block.
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
    // Closing releases the lock either way.
    quietly(() => held.exec("ROLLBACK"));
    closeQuietly(held);
  };
}

/** Whether the owner lock recorded as `fileName` is held now. Never waits, never creates the file. */
export function probeSidecarLock(open: SidecarOpener, opened: string | null, fileName: string): "held" | "free" | "unknown" {
  const databaseFile = resolveDatabaseFile(opened);
  // The name comes from the database: only a bare file name next to it is ever opened.
  if (databaseFile === null || fileName !== nodePath().basename(fileName) || fileName === "" || fileName === "." || fileName === "..") return "unknown";
  const lockPath = nodePath().join(nodePath().dirname(databaseFile), fileName);
  let connection: ReturnType<SidecarOpener> | null = null;
  try {
    // Checked first: libsql creates a missing file whatever it is told, and a FIFO would block.
    const kind = fileKindAt(lockPath, false);
    if (kind === "missing") return "free";
    if (kind !== "file") return "unknown";
    connection = open(lockPath, { readonly: true, busyTimeoutMs: 0 });
    // A read needs a shared lock, which the holder's exclusive lock refuses at once.
    connection.exec("SELECT count(*) FROM sqlite_master");
    return "free";
  } catch (error) {
    if (classifyNativeSqliteError(error).kind === "locked") return "held";
    return nodeFs().existsSync(lockPath) ? "unknown" : "free";
  } finally {
    closeQuietly(connection);
  }
}

const closeQuietly = (connection: { close(): void } | null): unknown => quietly(() => connection?.close());

/** `forEachBatch`'s connection for a library without better-sqlite3's `db.transaction(fn)`: a plain BEGIN/COMMIT per batch. */
export function createBatchConnection(library: { prepare(sql: string): { all(...params: unknown[]): unknown[] }; exec(sql: string): void; inTransaction(): boolean }): BatchConnection {
  return {
    prepare: library.prepare,
    get inTransaction() {
      return library.inTransaction();
    },
    transaction: (fn) => () => {
      library.exec("BEGIN");
      try {
        fn();
        library.exec("COMMIT");
      } catch (error) {
        if (library.inTransaction()) library.exec("ROLLBACK");
        throw error;
      }
    },
  };
}

/** A copy folder's name: `stepwise-copy-<host hash>-<pid>-<random>`, the process that made it, which holds `BEGIN EXCLUSIVE` on its {@link COPY_LOCK} for as long as the folder exists. */
const COPY_FOLDER = /^stepwise-copy-([0-9a-f]{8})-(\d+)-[A-Za-z0-9]{6}$/;
const COPY_LOCK = "lock";
const hostTag = () => nodeCrypto().createHash("sha256").update(nodeOs().hostname()).digest("hex").slice(0, 8);

/** Removes the copy folders a killed process of this host left (each a whole copy of a database, its data included): only those whose lock this process can take, so a live process's stays even
 * where its pid means nothing here (another PID namespace sharing the host name and `TMPDIR`). */
function removeKilledProcessesCopies(tempRoot: string, open: SidecarOpener): void {
  const host = hostTag();
  for (const name of (quietly(() => nodeFs().readdirSync(tempRoot)) as string[] | undefined) ?? []) {
    const match = COPY_FOLDER.exec(name);
    const pid = Number(match?.[2]);
    // This process's own folders are never probed: closing a second handle on a file releases every lock this process holds on it. A live pid, or another host's, is not probed either.
    if (match?.[1] !== host || pid === process.pid || isProcessAlive(pid)) continue;
    const folder = nodePath().join(tempRoot, name);
    // A folder with no lock file yet is being made (its copy is written after the lock is held) and stays.
    const release = holdFileLock(open, nodePath().join(folder, COPY_LOCK), 0);
    if (release === null) continue;
    release();
    // Another user's folder cannot be removed: it stays, and the others are still looked at.
    quietly(() => nodeFs().rmSync(folder, { recursive: true, force: true }));
  }
}

/** `action` in a fresh temporary folder, locked until `discard` (which deletes it); a failure of the folder itself is `TEMP_FOLDER_UNUSABLE`. */
function inTempFolder<T>(open: SidecarOpener, action: (folder: string, discard: () => void) => T): T {
  const tempRoot = nodeOs().tmpdir();
  let discard: (() => void) | null = null;
  try {
    removeKilledProcessesCopies(tempRoot, open);
    const folder = nodeFs().mkdtempSync(nodePath().join(tempRoot, `stepwise-copy-${hostTag()}-${process.pid}-`));
    let release: (() => void) | null = null;
    discard = () => {
      // Released first: Windows cannot delete a file that is open.
      release?.();
      nodeFs().rmSync(folder, { recursive: true, force: true });
    };
    const lockPath = nodePath().join(folder, COPY_LOCK);
    createFileExclusively(lockPath, 0o600);
    release = holdFileLock(open, lockPath, 0);
    return action(folder, discard);
  } catch (error) {
    discard?.();
    const code = (error as { code?: unknown } | null)?.code;
    // Only the copy can be full or unopenable: the source is read, never written.
    if (!(error instanceof StepwiseError) && typeof code === "string" && /^(ENOENT|ENOTDIR|EACCES|EPERM|EROFS|ENOSPC|EDQUOT|EFBIG|EEXIST|EISDIR|SQLITE_FULL|SQLITE_CANTOPEN)/.test(code)) {
      throw tempFolderUnusableError({ folder: tempRoot, systemCode: code, operation: "snapshot", cause: error });
    }
    throw error;
  }
}

/**
 * The database as bytes for a library without `serialize()`: every page through `sqlite_dbpage` (the
 * connection's uncommitted writes included), or where that table is missing a `VACUUM INTO` copy,
 * which cannot run in a transaction nor on a `query_only` connection (lifted for that statement);
 * `open` (the app's library) holds the copy folder's lock.
 *
 * @throws `TRANSACTION_OPEN`; `TEMP_FOLDER_UNUSABLE`.
 */
export function snapshotOfConnection(connection: Pick<SyncDriver, "name" | "exec" | "query" | "inTransaction">, open: SidecarOpener): Uint8Array {
  try {
    // One statement: one read snapshot, so the pages agree.
    const pages = connection.query("SELECT data FROM sqlite_dbpage('main') ORDER BY pgno", []).map(({ data }) => (data instanceof Uint8Array ? data : new Uint8Array(data as ArrayBuffer)));
    const image = new Uint8Array(pages.reduce((size, page) => size + page.length, 0));
    pages.reduce((offset, page) => (image.set(page, offset), offset + page.length), 0);
    return image;
  } catch (error) {
    if (!(error instanceof Error) || !/no such table: sqlite_dbpage/i.test(error.message)) throw error;
  }
  if (connection.inTransaction()) throw transactionOpenError({ driver: connection.name, operation: "snapshot" });
  return inTempFolder(open, (folder, discard) => {
    try {
      const file = nodePath().join(folder, "snapshot.db");
      createFileExclusively(file, 0o600);
      const queryOnly = Number(Object.values(connection.query("PRAGMA query_only", [])[0] ?? {})[0]) === 1;
      if (queryOnly) connection.exec("PRAGMA query_only = OFF");
      try {
        connection.exec(`VACUUM INTO '${file.replace(/'/g, "''")}'`);
      } finally {
        if (queryOnly) connection.exec("PRAGMA query_only = ON");
      }
      return new Uint8Array(nodeFs().readFileSync(file));
    } finally {
      discard();
    }
  });
}

/**
 * A driver on a private copy of `bytes`, for a library without `deserialize()`: `open` opens a file in
 * a private folder that `close()` deletes (empty bytes: in memory), and `openLock` holds that folder's
 * lock. The copy reports no file, so it has no owner lock and no lock holders.
 *
 * @throws `TEMP_FOLDER_UNUSABLE`.
 */
export function openFileCopy<Db>(bytes: Uint8Array, open: (file: string) => SyncDriver<Db>, openLock: SidecarOpener): SyncDriver<Db> {
  const privateCopy = (file: string, discard: () => void): SyncDriver<Db> => {
    const { holdOwnerLock: _hold, probeOwnerLock: _probe, lockHolders: _holders, ...copy } = open(file);
    const close = () => {
      try {
        copy.close!();
      } finally {
        discard();
      }
    };
    try {
      // A scratch copy needs no durability: a rehearsal on it runs at memory speed.
      copy.exec("PRAGMA synchronous = OFF");
    } catch (error) {
      close();
      throw error;
    }
    return { ...copy, filePath: null, close };
  };
  if (bytes.length === 0) return privateCopy(":memory:", () => {});
  return inTempFolder(openLock, (folder, discard) => {
    const file = nodePath().join(folder, "copy.db");
    nodeFs().writeFileSync(file, bytes, { mode: 0o600, flag: "wx" });
    return privateCopy(file, discard);
  });
}

/**
 * Whether a connection reads integers as BigInt (better-sqlite3's and libsql's `defaultSafeIntegers`, node:sqlite's `readBigInts`, bun:sqlite's `safeIntegers`), asked when a copy is opened, since
 * the app may switch it after the driver was made. No library has a getter: a statement prepared now takes the connection's default.
 */
export function readsBigInts(db: { prepare(sql: string): { get(...params: unknown[]): unknown } }): boolean {
  const row = db.prepare("SELECT 1").get();
  return Object.values(row as object).some((value) => typeof value === "bigint");
}

/** A sync SQLite driver on one connection: `PRAGMA data_version` is its change counter, and `forEachBatch` walks on `walk`; `bigIntAdvice` tells how the library's connection reads integers as BigInt. */
export function defineSqliteDriver<Db>(
  walk: BatchConnection,
  bigIntAdvice: string,
  primitives: Omit<DriverPrimitives<Db, false>, "dialect" | "async" | "changeCounter" | "createContext">,
): SyncDriver<Db> {
  return defineDriver({
    dialect: "sqlite",
    async: false,
    changeCounter: () => Number(primitives.query("PRAGMA data_version", [])[0]!.data_version),
    createContext: (entry, direction, progress) => createMigrationContext(walk, entry, direction, progress, bigIntAdvice),
    ...primitives,
  });
}
