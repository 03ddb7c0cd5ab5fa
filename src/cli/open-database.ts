/**
 * How the CLI opens a database through the driver the user chose: one entry per driver, each loading
 * its library only when chosen (the CLI is not the bundled runtime), so a project with only `libsql`
 * installed never needs better-sqlite3. Every failure to get a connection is typed and thrown before
 * the database file is touched.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { DriverCapabilityError } from "../core/driver.js";
import { DriverNotInstalledError, DriverRuntimeUnsupportedError } from "../core/errors.js";
import type { SyncMigrationManager } from "../core/manager.js";
import type { MigrationManagerProps } from "../core/options.js";
import { translateSqliteError } from "../core/sqlite-errors.js";
import type { MigrationRegistry } from "../core/types.js";
import type { CliDriverName } from "./driver-names.js";

/** What a command asks of the connection. */
export type OpenMode = "read" | "write";

/** Options for {@link DriverConnector.open}. */
export interface OpenDatabaseOptions<R extends MigrationRegistry> {
  /** Absolute path, or `:memory:`. */
  readonly databasePath: string;
  readonly busyTimeoutMs: number;
  readonly migrations: R;
  readonly props: MigrationManagerProps;
}

/** A manager on a connection the CLI opened, and how to close that connection. */
export interface OpenedDatabase<R extends MigrationRegistry> {
  readonly manager: SyncMigrationManager<unknown, R>;
  close(): void;
}

/** A driver whose library is loaded and whose runtime is right: all that is left is opening the file. */
export interface DriverConnector {
  /**
   * Opens the database and builds its manager. The busy timeout is set before the first read (even
   * reading waits for a writer's lock), and read mode sets `query_only`.
   */
  open<R extends MigrationRegistry>(options: OpenDatabaseOptions<R>): OpenedDatabase<R>;
}

/** The part of every native connection this module uses; all five libraries have both. */
interface NativeConnection {
  exec(sql: string): unknown;
  close(): unknown;
}

/** Opens the native connection (`file` is the database or `:memory:`) and makes a manager on it. */
type Connect = <R extends MigrationRegistry>(file: string, exists: boolean, options: OpenDatabaseOptions<R>) => { db: NativeConnection; createManager: () => SyncMigrationManager<unknown, R> };

/**
 * Checks the runtime and loads the chosen driver's library, touching no file. `read` connections
 * never create the file (a missing one reads as an empty in-memory database) and switch writes off;
 * `write` ones open or create it.
 *
 * @param operation - the command, for refusals (`"stepwise up"`).
 * @throws DriverNotInstalledError, DriverRuntimeUnsupportedError, or DriverCapabilityError (sql.js
 *   asked to write).
 */
export async function loadDriver(driver: CliDriverName, mode: OpenMode, operation: string): Promise<DriverConnector> {
  if (mode === "write") assertDriverWrites(driver, operation);
  const connect = await LOADERS[driver](operation, mode);
  return {
    open(options) {
      const exists = options.databasePath === ":memory:" || existsSync(options.databasePath);
      // Read commands open the file read-write but never create it: a hot journal left by a crashed
      // writer can only be rolled back by a connection that may write.
      const file = mode === "write" || exists ? options.databasePath : ":memory:";
      let opened: ReturnType<typeof connect<typeof options.migrations>>;
      try {
        opened = connect(file, exists, options);
      } catch (error) {
        throw translateSqliteError(libraryError(driver, PACKAGES[driver], error) ?? error, options.busyTimeoutMs);
      }
      const { db } = opened;
      try {
        db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs}`);
        if (mode === "read") db.exec("PRAGMA query_only = ON");
        return { manager: opened.createManager(), close: () => void db.close() };
      } catch (error) {
        db.close();
        throw translateSqliteError(error, options.busyTimeoutMs);
      }
    },
  };
}

/** The npm package behind each driver (node:sqlite and bun:sqlite are built into their runtimes). */
const PACKAGES: Record<CliDriverName, string> = {
  "better-sqlite3": "better-sqlite3",
  "node-sqlite": "node:sqlite",
  "bun-sqlite": "bun:sqlite",
  libsql: "libsql",
  "sql-js": "sql.js",
};

/**
 * Imports a driver's library (and stepwise's module for it, which imports the library too), turning
 * "not installed" and "installed for another runtime" into {@link DriverNotInstalledError}.
 */
async function loadLibrary<T>(driver: CliDriverName, packageName: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw libraryError(driver, packageName, error) ?? error;
  }
}

/** The typed error for a library that is missing or fails to load, or `null` for any other failure. */
function libraryError(driver: CliDriverName, packageName: string, error: unknown): DriverNotInstalledError | null {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : "";
  if ((code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && text.includes(`'${packageName}'`)) {
    return new DriverNotInstalledError({ driver, packageName, installCommand: `npm install ${packageName}`, reason: "missing", cause: error });
  }
  // A native addon built for another Node (better-sqlite3 loads it on the first `new Database`).
  if (code === "ERR_DLOPEN_FAILED" || /NODE_MODULE_VERSION/.test(text)) {
    return new DriverNotInstalledError({ driver, packageName, installCommand: `npm rebuild ${packageName}`, reason: "unloadable", cause: error });
  }
  return null;
}

/**
 * Refuses a command that writes when the driver cannot write the file safely: sql.js works on bytes
 * in memory, so it can neither lock the file against other writers nor write it back atomically, and
 * a migration applied through it could be lost or could overwrite another process's. Reading is
 * safe (see `liveWriterSidecar`), so read commands work.
 *
 * @throws DriverCapabilityError (`fileLocking`) before anything is touched.
 */
export function assertDriverWrites(driver: CliDriverName, operation: string): void {
  if (driver === "sql-js") throw new DriverCapabilityError({ driver: "sql.js", capability: "fileLocking", operation });
}

/** The running runtime, as errors name it. */
function runtimeName(): string {
  const bun = (process.versions as { bun?: string }).bun;
  return bun === undefined ? `node ${process.versions.node}` : `bun ${bun}`;
}

/** node:sqlite's `DatabaseSync#isTransaction`, which the driver needs, arrived in Node 22.16. */
const NODE_SQLITE_MINIMUM: readonly [number, number] = [22, 16];

function assertNodeSqliteRuntime(): void {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const [needMajor, needMinor] = NODE_SQLITE_MINIMUM;
  const isBun = (process.versions as { bun?: string }).bun !== undefined;
  if (isBun || major < needMajor || (major === needMajor && minor < needMinor)) {
    throw new DriverRuntimeUnsupportedError({
      driver: "node-sqlite",
      runtime: runtimeName(),
      required: `node >= ${needMajor}.${needMinor}`,
      hint: isBun ? 'Under Bun use --driver bun-sqlite.' : `Run stepwise with Node ${needMajor}.${needMinor} or newer, or choose another driver with --driver.`,
    });
  }
}

function assertBunRuntime(): void {
  if ((process.versions as { bun?: string }).bun === undefined) {
    throw new DriverRuntimeUnsupportedError({ driver: "bun-sqlite", runtime: runtimeName(), required: "bun", hint: "Run stepwise with bun, or choose another driver with --driver." });
  }
}

// Variable specifiers: @types/node 20 has no node:sqlite, and bun:sqlite exists only under Bun.
const NODE_SQLITE: string = "node:sqlite";
const BUN_SQLITE: string = "bun:sqlite";

/**
 * A file that a live connection is writing: its committed pages may sit in the `-wal` file, or its
 * half-written ones in the file itself with the `-journal` beside it. sql.js reads bytes without
 * taking SQLite's locks, so neither can be read safely.
 */
function liveWriterSidecar(databasePath: string): string | null {
  for (const suffix of ["-wal", "-journal"]) {
    const sidecar = `${databasePath}${suffix}`;
    if (existsSync(sidecar) && statSync(sidecar).size > 0) return sidecar;
  }
  return null;
}

const LOADERS: Record<CliDriverName, (operation: string, mode: OpenMode) => Promise<Connect>> = {
  "better-sqlite3": async (_operation, mode) => {
    const [{ default: Database }, { MigrationManager }] = await loadLibrary("better-sqlite3", "better-sqlite3", () =>
      Promise.all([import("better-sqlite3"), import("../drivers/better-sqlite3.js")]),
    );
    return (file, exists, options) => {
      // better-sqlite3 loads its native addon on the first `new Database`; a failure there is typed by `open`.
      const db = new Database(file, { fileMustExist: mode === "read" && exists && file !== ":memory:" });
      return { db, createManager: () => new MigrationManager(db, options.migrations, options.props) };
    };
  },

  "node-sqlite": async () => {
    assertNodeSqliteRuntime();
    const [{ DatabaseSync }, { MigrationManager }] = await Promise.all([
      import(NODE_SQLITE) as Promise<{ DatabaseSync: new (file: string) => import("../drivers/node-sqlite.js").DatabaseSync }>,
      import("../drivers/node-sqlite.js"),
    ]);
    return (file, _exists, options) => {
      const db = new DatabaseSync(file);
      return { db, createManager: () => new MigrationManager(db, options.migrations, options.props) };
    };
  },

  "bun-sqlite": async () => {
    assertBunRuntime();
    const [{ Database }, { MigrationManager }] = await Promise.all([
      import(BUN_SQLITE) as Promise<{ Database: new (file: string, options?: { create?: boolean; readwrite?: boolean }) => import("../drivers/bun-sqlite.js").Database }>,
      import("../drivers/bun-sqlite.js"),
    ]);
    return (file, exists, options) => {
      const db = exists && file !== ":memory:" ? new Database(file, { readwrite: true, create: false }) : new Database(file);
      return { db, createManager: () => new MigrationManager(db, options.migrations, options.props) };
    };
  },

  libsql: async () => {
    const [{ default: Database }, { MigrationManager }] = await loadLibrary("libsql", "libsql", () => Promise.all([import("libsql"), import("../drivers/libsql.js")]));
    return (file, _exists, options) => {
      // libsql has no "must exist" option; a read opens the file only when it is there.
      const db = new Database(file);
      return { db, createManager: () => new MigrationManager(db, options.migrations, options.props) };
    };
  },

  "sql-js": async (operation) => {
    const [{ default: initSqlJs }, { MigrationManager }] = await loadLibrary("sql-js", "sql.js", () => Promise.all([import("sql.js"), import("../drivers/sql-js.js")]));
    const SQL = await initSqlJs();
    return (file, exists, options) => {
      const sidecar = exists && file !== ":memory:" ? liveWriterSidecar(file) : null;
      if (sidecar !== null) throw new DriverCapabilityError({ driver: "sql.js", capability: "fileLocking", operation: `${operation} while ${sidecar} shows a connection writing` });
      const db = new SQL.Database(exists && file !== ":memory:" ? readFileSync(file) : undefined);
      return { db, createManager: () => new MigrationManager(db, options.migrations, options.props) };
    };
  },
};
