/**
 * The `snapshot` capability for a library that cannot serialize a connection (libsql, node:sqlite
 * before `DatabaseSync#serialize`). The bytes are read page by page through SQLite's `sqlite_dbpage`
 * table where the library has it: on the app's own connection, so (like `serialize()` elsewhere) the
 * copy is what that connection reads, its uncommitted writes included, and no file is written.
 * Without it, SQLite's own `VACUUM INTO` writes a consistent copy to a private temporary file, read
 * back as bytes. A copy is a connection of the same library on another such file, deleted when the
 * copy is closed. Nothing here imports a database library: the driver passes in its connection's
 * primitives and a way to open a file with the app's own library.
 */
import { nodeFs, nodeOs } from "../core/node-builtins.js";
import path from "node:path";
import type { Row, SyncDriver } from "../core/driver.js";
import { StepwiseError } from "../core/errors.js";
import { createFileExclusively } from "./database-file.js";
import { transactionOpenError, tempFolderUnusableError } from "../core/error-factories.js";

/**
 * `action` on the system's temporary folder; a failure of the folder itself (missing, a file, not
 * writable, full) becomes `TEMP_FOLDER_UNUSABLE` naming it.
 */
function inTempFolder<T>(action: (tempRoot: string) => T): T {
  const tempRoot = nodeOs().tmpdir();
  try {
    return action(tempRoot);
  } catch (error) {
    if (error instanceof StepwiseError) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === "string" && TEMP_FOLDER_ERRNOS.has(code)) throw tempFolderUnusableError({ folder: tempRoot, systemCode: code, operation: "snapshot", cause: error });
    // Only the copy's own file can be full or unopenable here; the source is read, never written.
    if (typeof code === "string" && /^SQLITE_(FULL|CANTOPEN)/.test(code)) throw tempFolderUnusableError({ folder: tempRoot, systemCode: code, operation: "snapshot", cause: error });
    throw error;
  }
}

const TEMP_FOLDER_ERRNOS = new Set(["ENOENT", "ENOTDIR", "EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "EFBIG", "EEXIST", "EISDIR"]);

/** A fresh private folder for one copy, under the system's temporary folder. */
const privateFolder = (tempRoot: string): string => nodeFs().mkdtempSync(path.join(tempRoot, "stepwise-copy-"));

/** What {@link snapshotOfConnection} needs of the app's connection: the driver's own primitives. */
export interface SnapshotConnection {
  /** The driver's name, for a refusal. */
  readonly name: string;
  exec(sql: string): void;
  query(sql: string, params: readonly unknown[]): Row[];
  inTransaction(): boolean;
}

/**
 * The database as bytes. Through `sqlite_dbpage` where the library has it (see the module note);
 * otherwise through `VACUUM INTO`, which reads in a read transaction, so the source is never written,
 * WAL content included, and gives a copy in rollback-journal mode with `user_version` and
 * `application_id` kept. `VACUUM` cannot run inside a transaction, so there the app's open
 * transaction is refused with `TRANSACTION_OPEN` before anything runs.
 *
 * SQLite refuses `VACUUM INTO` on a `query_only` connection (the CLI's read commands set it, and so
 * may an app's read-only connection), though it writes only the new file. The setting is lifted for
 * that one statement and put back whatever happens, so the source stays read-only to everything else.
 *
 * @throws `TRANSACTION_OPEN`; `TEMP_FOLDER_UNUSABLE` when the temporary folder cannot hold the copy.
 */
export function snapshotOfConnection(connection: SnapshotConnection): Uint8Array {
  const pages = readPages(connection);
  if (pages !== null) return pages;
  if (connection.inTransaction()) throw transactionOpenError({ driver: connection.name, operation: "snapshot" });
  return inTempFolder((tempRoot) => {
    const folder = privateFolder(tempRoot);
    const wasQueryOnly = Number(Object.values(connection.query("PRAGMA query_only", [])[0] ?? {})[0]) === 1;
    try {
      const file = path.join(folder, "snapshot.db");
      // The copy holds the database's data: private, whatever the umask.
      createFileExclusively(file, 0o600);
      if (wasQueryOnly) connection.exec("PRAGMA query_only = OFF");
      try {
        connection.exec(`VACUUM INTO '${file.replace(/'/g, "''")}'`);
      } finally {
        if (wasQueryOnly) connection.exec("PRAGMA query_only = ON");
      }
      return new Uint8Array(nodeFs().readFileSync(file));
    } finally {
      nodeFs().rmSync(folder, { recursive: true, force: true });
    }
  });
}

/** Every page of `main`, in order, as one image; `null` when the library has no `sqlite_dbpage`. */
function readPages(connection: SnapshotConnection): Uint8Array | null {
  let rows: Row[];
  try {
    // One statement: one read snapshot (or the app's own transaction), so the pages agree.
    rows = connection.query("SELECT data FROM sqlite_dbpage('main') ORDER BY pgno", []);
  } catch (error) {
    if (error instanceof Error && /no such table: sqlite_dbpage/i.test(error.message)) return null;
    throw error;
  }
  const chunks = rows.map((row) => (row.data instanceof Uint8Array ? row.data : new Uint8Array(row.data as ArrayBuffer)));
  const image = new Uint8Array(chunks.reduce((size, chunk) => size + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    image.set(chunk, offset);
    offset += chunk.length;
  }
  return image;
}

/** A connection `openFileCopy` opened: the driver on it, and how to close the library's connection. */
export interface FileCopyConnection<Db> {
  readonly driver: SyncDriver<Db>;
  close(): void;
}

/**
 * A driver on a new connection holding `bytes`, opened by `open` on a private file that `close()`
 * deletes; empty `bytes` open SQLite's in-memory database instead. The copy reports no file: no other
 * process can reach it, so it has no owner lock to take and no lock holders to name.
 *
 * @throws `TEMP_FOLDER_UNUSABLE` when the temporary folder cannot hold the copy.
 */
export function openFileCopy<Db>(bytes: Uint8Array, open: (file: string) => FileCopyConnection<Db>): SyncDriver<Db> {
  // An empty database needs no file: SQLite's own in-memory database is that, and the temporary folder
  // is then not needed at all.
  if (bytes.length === 0) return privateCopy(open(":memory:"), () => {});
  return inTempFolder((tempRoot) => {
    const folder = privateFolder(tempRoot);
    let connection: FileCopyConnection<Db> | null = null;
    try {
      const file = path.join(folder, "copy.db");
      nodeFs().writeFileSync(file, bytes, { mode: 0o600, flag: "wx" });
      connection = open(file);
      const opened = connection;
      // From here privateCopy owns the connection: it closes it itself if it fails.
      connection = null;
      return privateCopy(opened, () => nodeFs().rmSync(folder, { recursive: true, force: true }));
    } catch (error) {
      try {
        connection?.close();
      } finally {
        nodeFs().rmSync(folder, { recursive: true, force: true });
      }
      throw error;
    }
  });
}

/**
 * The copy's driver: no file reported (no other process can reach it, so it has no owner lock to
 * take and no lock holders to name), and a `close` that closes the connection, then calls `discard`.
 */
function privateCopy<Db>(connection: FileCopyConnection<Db>, discard: () => void): SyncDriver<Db> {
  try {
    const { holdOwnerLock: _hold, probeOwnerLock: _probe, lockHolders: _holders, ...driver } = connection.driver;
    // A scratch copy needs no durability; without fsyncs a rehearsal on it runs at memory speed.
    driver.exec("PRAGMA synchronous = OFF");
    return {
      ...driver,
      filePath: null,
      close: () => {
        try {
          connection.close();
        } finally {
          discard();
        }
      },
    };
  } catch (error) {
    try {
      connection.close();
    } finally {
      discard();
    }
    throw error;
  }
}
