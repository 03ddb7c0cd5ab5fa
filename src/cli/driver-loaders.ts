/** The bin's loader of each driver, each library imported only when chosen; an app's own `createCli` gets better-sqlite3 statically, which its bundler resolves. */
import { existsSync, readFileSync, statSync } from "node:fs";
import { driverCapabilityError } from "../core/driver.js";
import { driverRuntimeUnsupportedError } from "./errors.js";
import type { Database as BunDatabase } from "../drivers/bun-sqlite.js";
import type { DatabaseSync } from "../drivers/node-sqlite.js";
import type { CliDriverName } from "./driver-names.js";
import { connectBetterSqlite3, connectLibsqlClient, connectPostgres, loadLibrary, sqliteConnector, type DriverLoader } from "./open-database.js";

// Variable specifiers: @types/node 20 has no node:sqlite, and bun:sqlite exists only under Bun.
const NODE_SQLITE: string = "node:sqlite";
const BUN_SQLITE: string = "bun:sqlite";

/** Refuses a driver built into another runtime (or, for node:sqlite, before Node 22.16, whose `DatabaseSync#isTransaction` it needs). */
function refuseRuntime(driver: "node-sqlite" | "bun-sqlite", required: string, hint: string): never {
  const bun = (process.versions as { bun?: string }).bun;
  throw driverRuntimeUnsupportedError({ driver, runtime: bun === undefined ? `node ${process.versions.node}` : `bun ${bun}`, required, hint });
}

/**
 * The database file's bytes for sql.js, which reads without SQLite's locks: refused while a writer's sidecar is there, or when the file moved during the read (a write that came and
 * went leaves no sidecar).
 *
 * @throws `DRIVER_CAPABILITY_MISSING` (`fileLocking`): without SQLite's locks, sql.js cannot wait for the writer.
 */
function readQuietFile(file: string, operation: string): Uint8Array {
  const refuse = (why: string, fix?: string) => driverCapabilityError({ driver: "sql.js", capability: "fileLocking", operation: `${operation} while ${why}`, fix });
  // A sidecar left by a writer that crashed looks the same without locks: only a driver with them can tell, and recover it.
  const recover = "If no connection is writing it, a crashed one left it: run the command with --driver better-sqlite3 (or another driver with file locking), which recovers it.";
  const checkSidecars = () => {
    for (const sidecar of [`${file}-wal`, `${file}-journal`]) if (existsSync(sidecar) && statSync(sidecar).size > 0) throw refuse(`${sidecar} shows a write in progress`, recover);
  };
  const stamp = (stats = statSync(file)) => `${stats.size}:${stats.mtimeMs}`;
  checkSidecars();
  const before = stamp();
  const bytes = readFileSync(file);
  checkSidecars();
  if (stamp() !== before) throw refuse(`another connection wrote ${file} during the read`);
  return bytes;
}

/** Every driver the CLI supports, each loaded only when chosen. */
export const ALL_DRIVER_LOADERS: Readonly<Record<CliDriverName, DriverLoader>> = {
  "better-sqlite3": async () => {
    const [{ default: Database }, module] = await loadLibrary("better-sqlite3", () => Promise.all([import("better-sqlite3"), import("../drivers/better-sqlite3.js")]));
    return connectBetterSqlite3({ Database, ...module });
  },
  "node-sqlite": async () => {
    const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
    if ("bun" in process.versions) refuseRuntime("node-sqlite", "node >= 22.16", "Under Bun use --driver bun-sqlite.");
    if (major < 22 || (major === 22 && minor < 16)) refuseRuntime("node-sqlite", "node >= 22.16", "Run stepwise with Node 22.16 or newer, or choose another driver with --driver.");
    const [{ DatabaseSync }, module] = await Promise.all([import(NODE_SQLITE) as Promise<{ DatabaseSync: new (file: string) => DatabaseSync }>, import("../drivers/node-sqlite.js")]);
    return sqliteConnector("node-sqlite", (file) => new DatabaseSync(file), module);
  },
  "bun-sqlite": async () => {
    if (!("bun" in process.versions)) refuseRuntime("bun-sqlite", "bun", "Run stepwise with bun, or choose another driver with --driver.");
    type BunModule = { Database: new (file: string, options?: { create?: boolean; readwrite?: boolean }) => BunDatabase };
    const [{ Database }, module] = await Promise.all([import(BUN_SQLITE) as Promise<BunModule>, import("../drivers/bun-sqlite.js")]);
    // bun:sqlite opens with foreign keys off, where the other drivers' libraries turn them on: the bin's runs enforce them on every driver.
    const open = (file: string, exists: boolean) => (exists && file !== ":memory:" ? new Database(file, { readwrite: true, create: false }) : new Database(file));
    return sqliteConnector("bun-sqlite", (file, exists) => enforceForeignKeys(open(file, exists)), module);
  },
  // libsql has no "must exist" option; a read opens the file only when it is there.
  libsql: async () => {
    const [{ default: Database }, module] = await loadLibrary("libsql", () => Promise.all([import("libsql"), import("../drivers/libsql.js")]));
    return sqliteConnector("libsql", (file) => new Database(file), module);
  },
  "sql-js": async (operation) => {
    const [{ default: initSqlJs }, module] = await loadLibrary("sql-js", () => Promise.all([import("sql.js"), import("../drivers/sql-js.js")]));
    const SQL = await initSqlJs();
    return sqliteConnector("sql-js", (file, exists) => new SQL.Database(exists && file !== ":memory:" ? readQuietFile(file, operation) : undefined), module);
  },
  pg: async () => {
    const [{ default: pg }, { MigrationManager }] = await loadLibrary("pg", () => Promise.all([import("pg"), import("../drivers/pg.js")]));
    return connectPostgres({ Client: pg.Client, MigrationManager });
  },
  "libsql-client": async () => {
    const load = () => Promise.all([import("@libsql/client"), import("../drivers/libsql-client.js")]);
    const [{ createClient }, { MigrationManager, classifyLibsqlClientError }] = await loadLibrary("libsql-client", load);
    return connectLibsqlClient({ createClient, MigrationManager, classifyError: classifyLibsqlClientError });
  },
};

/** `db` with foreign keys enforced (a no-op inside a transaction, which a connection just opened is not in). */
function enforceForeignKeys<D extends { exec(sql: string): unknown }>(db: D): D {
  db.exec("PRAGMA foreign_keys = ON");
  return db;
}
