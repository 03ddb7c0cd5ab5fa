/**
 * How the stepwise bin opens a database with each driver, every library imported only when its
 * driver is chosen, so a project that installed only libsql never needs better-sqlite3. Only the bin
 * imports this module: an app that embeds `createCli` gets better-sqlite3 through a static import
 * (`better-sqlite3-loader.ts`), which its bundler can resolve, and no `import()` at run time.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { connectBetterSqlite3, loadLibrary, type CliManager, type DriverLoader } from "./open-database.js";
import { connectPostgres } from "./open-postgres.js";
import { connectLibsqlClient } from "./open-libsql-client.js";
import type { CliDriverName } from "./driver-names.js";
import type { DatabaseSync } from "../drivers/node-sqlite.js";
import type { Database as BunDatabase } from "../drivers/bun-sqlite.js";
import { driverCapabilityError } from "../core/driver.js";
import { driverRuntimeUnsupportedError } from "../core/error-factories.js";

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
    throw driverRuntimeUnsupportedError({
      driver: "node-sqlite",
      runtime: runtimeName(),
      required: `node >= ${needMajor}.${needMinor}`,
      hint: isBun ? "Under Bun use --driver bun-sqlite." : `Run stepwise with Node ${needMajor}.${needMinor} or newer, or choose another driver with --driver.`,
    });
  }
}

function assertBunRuntime(): void {
  if ((process.versions as { bun?: string }).bun === undefined) {
    throw driverRuntimeUnsupportedError({ driver: "bun-sqlite", runtime: runtimeName(), required: "bun", hint: "Run stepwise with bun, or choose another driver with --driver." });
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

/**
 * The database file's bytes, read when no connection is writing it: no writer's sidecar before or
 * after the read, and the file's size and modification time unchanged across it (a write that
 * started and ended during the read leaves no sidecar behind, but moves those).
 *
 * @throws `DRIVER_CAPABILITY_MISSING` (`fileLocking`): without SQLite's locks, sql.js cannot wait for the writer.
 */
function readQuietFile(file: string, operation: string): Uint8Array {
  const refuse = (why: string) => driverCapabilityError({ driver: "sql.js", capability: "fileLocking", operation: `${operation} while ${why}` });
  const stamp = () => {
    const stats = statSync(file);
    return `${stats.size}:${stats.mtimeMs}`;
  };
  const sidecarBefore = liveWriterSidecar(file);
  if (sidecarBefore !== null) throw refuse(`${sidecarBefore} shows a connection writing`);
  const before = stamp();
  const bytes = readFileSync(file);
  const sidecarAfter = liveWriterSidecar(file);
  if (sidecarAfter !== null) throw refuse(`${sidecarAfter} shows a connection writing`);
  if (stamp() !== before) throw refuse(`another connection wrote ${file} during the read`);
  return bytes;
}

/**
 * Every driver the CLI supports, each loaded only when chosen. (The file's opening comment says
 * "a project with only libsql": the same holds for pg, whose library loads only for `--driver pg`.)
 */
export const ALL_DRIVER_LOADERS: Readonly<Record<CliDriverName, DriverLoader>> = {
  "better-sqlite3": async (_operation, mode) => {
    const [{ default: Database }, { MigrationManager, AsyncMigrationManager }] = await loadLibrary("better-sqlite3", "better-sqlite3", () =>
      Promise.all([import("better-sqlite3"), import("../drivers/better-sqlite3.js")]),
    );
    return connectBetterSqlite3({ Database, MigrationManager, AsyncMigrationManager }, mode);
  },
  "node-sqlite": async () => {
    assertNodeSqliteRuntime();
    const [{ DatabaseSync }, { MigrationManager, AsyncMigrationManager }] = await Promise.all([
      import(NODE_SQLITE) as Promise<{ DatabaseSync: new (file: string) => DatabaseSync }>,
      import("../drivers/node-sqlite.js"),
    ]);
    return (file, _exists, options) => {
      const db = new DatabaseSync(file);
      return {
        db,
        createManager: () => new MigrationManager(db, options.migrations, options.props),
        createAsyncManager: () => new AsyncMigrationManager(db, options.migrations, options.props) as unknown as CliManager<typeof options.migrations>,
      };
    };
  },

  "bun-sqlite": async () => {
    assertBunRuntime();
    const [{ Database }, { MigrationManager, AsyncMigrationManager }] = await Promise.all([
      import(BUN_SQLITE) as Promise<{ Database: new (file: string, options?: { create?: boolean; readwrite?: boolean }) => BunDatabase }>,
      import("../drivers/bun-sqlite.js"),
    ]);
    return (file, exists, options) => {
      const db = exists && file !== ":memory:" ? new Database(file, { readwrite: true, create: false }) : new Database(file);
      return {
        db,
        createManager: () => new MigrationManager(db, options.migrations, options.props),
        createAsyncManager: () => new AsyncMigrationManager(db, options.migrations, options.props) as unknown as CliManager<typeof options.migrations>,
      };
    };
  },

  libsql: async () => {
    const [{ default: Database }, { MigrationManager, AsyncMigrationManager }] = await loadLibrary("libsql", "libsql", () => Promise.all([import("libsql"), import("../drivers/libsql.js")]));
    return (file, _exists, options) => {
      // libsql has no "must exist" option; a read opens the file only when it is there.
      const db = new Database(file);
      return {
        db,
        createManager: () => new MigrationManager(db, options.migrations, options.props),
        createAsyncManager: () => new AsyncMigrationManager(db, options.migrations, options.props) as unknown as CliManager<typeof options.migrations>,
      };
    };
  },

  "sql-js": async (operation) => {
    const [{ default: initSqlJs }, { MigrationManager, AsyncMigrationManager }] = await loadLibrary("sql-js", "sql.js", () => Promise.all([import("sql.js"), import("../drivers/sql-js.js")]));
    const SQL = await initSqlJs();
    return (file, exists, options) => {
      const db = new SQL.Database(exists && file !== ":memory:" ? readQuietFile(file, operation) : undefined);
      return {
        db,
        createManager: () => new MigrationManager(db, options.migrations, options.props),
        createAsyncManager: () => new AsyncMigrationManager(db, options.migrations, options.props) as unknown as CliManager<typeof options.migrations>,
      };
    };
  },

  pg: async () => {
    const [{ default: pg }, { MigrationManager }] = await loadLibrary("pg", "pg", () => Promise.all([import("pg"), import("../drivers/pg.js")]));
    return connectPostgres({ Client: pg.Client, MigrationManager });
  },

  "libsql-client": async () => {
    const [{ createClient }, { MigrationManager, classifyLibsqlClientError }] = await loadLibrary("libsql-client", "@libsql/client", () =>
      Promise.all([import("@libsql/client"), import("../drivers/libsql-client.js")]),
    );
    return connectLibsqlClient({ createClient, MigrationManager, classifyError: classifyLibsqlClientError });
  },
};
