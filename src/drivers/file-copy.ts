/**
 * The `snapshot` capability for a library that cannot serialize a connection (libsql, node:sqlite
 * before `DatabaseSync#serialize`): SQLite's own `VACUUM INTO` writes a consistent copy to a private
 * temporary file, read back as bytes, and a copy is a connection of the same library on another such
 * file, deleted when the copy is closed. Nothing here imports a database library: the driver passes
 * in its connection's `exec` and a way to open a file with the app's own library.
 */
import { nodeFs, nodeOs } from "../core/node-builtins.js";
import path from "node:path";
import type { SyncDriver } from "../core/driver.js";

/** A fresh private folder for one copy, under the system's temporary folder. */
const privateFolder = (): string => nodeFs().mkdtempSync(path.join(nodeOs().tmpdir(), "stepwise-copy-"));

/**
 * The database as bytes, through `VACUUM INTO`: a read transaction, so the source is never written;
 * WAL content included; the copy in rollback-journal mode with `user_version` and `application_id`
 * kept. Like any VACUUM it cannot run inside a transaction.
 *
 * SQLite refuses `VACUUM INTO` on a `query_only` connection (the CLI's read commands set it, and so
 * may an app's read-only connection), though it writes only the new file. The setting is lifted for
 * that one statement and put back whatever happens, so the source stays read-only to everything else.
 */
export function snapshotByVacuum(connection: { exec(sql: string): void; queryOnly(): boolean }): Uint8Array {
  const folder = privateFolder();
  const wasQueryOnly = connection.queryOnly();
  try {
    const file = path.join(folder, "snapshot.db");
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
}

/** A connection `openFileCopy` opened: the driver on it, and how to close the library's connection. */
export interface FileCopyConnection<Db> {
  readonly driver: SyncDriver<Db>;
  close(): void;
}

/**
 * A driver on a new connection holding `bytes` (empty: a new database), opened by `open` on a private
 * file that `close()` deletes. The copy reports no file: no other process can reach it, so it has no
 * owner lock to take and no lock holders to name.
 */
export function openFileCopy<Db>(bytes: Uint8Array, open: (file: string) => FileCopyConnection<Db>): SyncDriver<Db> {
  const folder = privateFolder();
  let connection: FileCopyConnection<Db> | null = null;
  try {
    const file = path.join(folder, "copy.db");
    if (bytes.length > 0) nodeFs().writeFileSync(file, bytes);
    connection = open(file);
    const opened = connection;
    const { holdOwnerLock: _hold, probeOwnerLock: _probe, lockHolders: _holders, ...driver } = connection.driver;
    // A scratch copy needs no durability; without fsyncs a rehearsal on it runs at memory speed.
    driver.exec("PRAGMA synchronous = OFF");
    return {
      ...driver,
      filePath: null,
      close: () => {
        try {
          opened.close();
        } finally {
          nodeFs().rmSync(folder, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    try {
      connection?.close();
    } finally {
      nodeFs().rmSync(folder, { recursive: true, force: true });
    }
    throw error;
  }
}
