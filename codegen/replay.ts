/**
 * `gen --check`'s replay: the registry applied by the runtime's own manager to an empty database (in memory on a SQLite driver that loads here, or a scratch database on the configured PostgreSQL
 * server), then the newest migration rolled back, so what would fail at deploy fails at build time, at its line. What cannot run here is not the migrations' fault: a skip with its reason, which
 * `--require-replay` fails.
 */
import { installCommand } from "../src/shared/install-command.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { parseServerUrl } from "../src/cli/database-path.js";
import { locateThrow } from "../src/cli/report-error.js";
import type { CliDriverName } from "../src/cli/driver-names.js";
import { loadDriver, type DriverConnector, type DriverLoaders, type OpenedDatabase } from "../src/cli/open-database.js";
import type { Driver, ScratchDatabase } from "../src/core/driver.js";
import type { MigrationEvent } from "../src/core/events.js";
import { StepwiseError } from "../src/core/errors.js";
import { commonJsAdvice, missingPackageAdvice } from "./errors.js";
import { findDroppedOrRenamedTables, managesForeignKeys, migrationCode, SQL_FOREIGN_KEYS_OFF_FIX, TS_FOREIGN_KEYS_OFF_FIX } from "../src/core/foreign-key-rebuild.js";
import { runSync } from "../src/core/runners.js";
import { exec, query, type Step } from "../src/core/step.js";
import { callWithDriver } from "../src/safety/schema-reader.js";
import type { MigrationDirection, MigrationEntry, MigrationRegistry, SqlDialect } from "../src/core/types.js";
import { containBodies, firstReachingSql, reachesAnotherFile } from "../src/safety/contained-copy.js";
import { firstLineOf, isInstanceSafely } from "../src/core/error-factories.js";
import { readFullSchemaOf, type SafetyNetManager } from "../src/safety/schema-reader.js";
import type { DriverEntry } from "../src/shared/package-name.js";
import type { Target } from "./config.js";
import { joinLines, problemAt, projectPath, tryOr, type Problem } from "./problems.js";
import { compareSchemaPrints, printSchema, readSquashRecord } from "./squash/squash-record.js";
import { withWorkerConnections, type WorkerConnection } from "./worker-connections.js";

/** Inputs for {@link runReplayCheck}. */
export interface ReplayCheckOptions {
  readonly projectRoot: string;
  readonly registryFile: string;
  readonly dialect: SqlDialect;
  /** The config's driver; `null` means the bin's default, better-sqlite3. */
  readonly driver: DriverEntry | null;
  /** `d1` hands TypeScript migrations a D1 binding, as `driver: "d1"` does. */
  readonly target?: Target | null;
  readonly tableName: string;
  /** The PostgreSQL server a `postgres` registry replays on, in a scratch database created there and dropped after; `null`: no replay. */
  readonly url?: string | null;
  /** When `url` is `null` because the config's `url` names an unset variable: that variable. */
  readonly urlUnset?: string | null;
  readonly schema?: string | null;
  /** Imports the registry as the runtime commands do, throwing `REGISTRY_LOAD_FAILED` when it fails. */
  readonly loadRegistry: (registryFile: string) => Promise<MigrationRegistry>;
  /** The drivers that may replay. Default: every driver of the bin. */
  readonly drivers?: DriverLoaders;
}

/** Why a replay did not run, as `gen --check --json` reports it: `disabled` (`--no-replay`), `not-reached` (other checks failed first), `no-server`, `no-driver`, `no-scratch-database`, `no-registry-loader` (tsx missing), `not-contained` (SQL that reaches another file). */
export type ReplaySkipCode = "disabled" | "not-reached" | "no-server" | "no-driver" | "no-scratch-database" | "no-registry-loader" | "not-contained";

/** Where the replay ran: the driver, the database (named by host and port only, for a server), and what stood in for what. */
interface ReplayPlace {
  readonly driver: string;
  readonly database: "memory" | "scratch";
  readonly where: string;
  /** The drivers tried first that could not run here, and why. */
  readonly unavailable: readonly { readonly driver: string; readonly reason: string }[];
  /** The Worker connection the TypeScript migrations were handed, if any. */
  readonly connection: WorkerConnection | null;
}

/** Why a replay database could not be had. */
export type Skip = { readonly ran: false; readonly code: ReplaySkipCode; readonly reason: string };
/** What the replay did (`rolledBack`: the version whose `down` was replayed), or why it did not run, its reason whole. */
export type ReplayOutcome = (ReplayPlace & { readonly ran: true; readonly applied: number; readonly rolledBack: number | null }) | Skip;

/** What a project with no SQLite driver is told to install (it builds nothing and runs on every runtime), with the package manager stepwise runs through. */
export const replayDriverInstall = (): string => installCommand("sql.js", { dev: true, userAgent: process.env.npm_config_user_agent });

/** The part of a runtime manager the replay drives, sync or async. */
type ReplayManager = { up(options: { to: number }): unknown; down(options: { steps: number }): unknown; run<T>(step: Step<T>): T | Promise<T> };

/** An empty database the replay fills: its manager, how a problem names it, and how to let it go. */
export interface ReplayDatabase {
  readonly manager: ReplayManager & SafetyNetManager;
  readonly named: string;
  readonly place: ReplayPlace;
  /** Sets (or, with `null`, clears) the listener of the manager's events, where the database was opened with one (SQLite in memory). */
  readonly listen?: (listener: ((event: MigrationEvent) => void) | null) => void;
  close(): unknown;
}

/** Replays the registry's migrations on an empty database. Never throws for the migrations' faults: they come back as problems. */
export async function runReplayCheck(options: ReplayCheckOptions): Promise<{ problems: readonly Problem[]; replay: ReplayOutcome }> {
  if (options.dialect === "postgres" && !options.url) {
    const missing = options.urlUnset
      ? `the config's "url" names \${${options.urlUnset}}, which is not set`
      : `none is configured: pass --url, or set "url" in the config (such as "\${DATABASE_URL}") or DATABASE_URL`;
    return { problems: [], replay: skip("no-server", `a postgres registry replays on a server, and ${missing}; a scratch database is created there and dropped after, and the role needs CREATEDB.`) };
  }
  let migrations: MigrationRegistry;
  try {
    migrations = await options.loadRegistry(options.registryFile);
  } catch (error) {
    if (error instanceof StepwiseError && (error.is("MISSING_DEPENDENCY") || error.is("DEPENDENCY_VERSION_UNSUPPORTED"))) return { problems: [], replay: skip("no-registry-loader", error.message) };
    if (!(error instanceof StepwiseError && error.is("REGISTRY_LOAD_FAILED"))) throw error;
    const location = error.details.location === null ? null : /^(.*):(\d+):(\d+)$/.exec(error.details.location);
    const at = location
      ? { file: location[1]!.split(path.sep).join("/"), line: Number(location[2]), column: Number(location[3]) }
      : { file: projectPath(options.projectRoot, options.registryFile), line: 1, column: 1 };
    const advice = commonJsAdvice(error.cause, error.details.location) ?? missingPackageAdvice(error.cause, error.details.location);
    const message = `the registry cannot be imported, so the app could not start either: ${(error.cause instanceof Error ? error.cause.message : error.message).split("\n")[0]}${advice ? `; ${advice}` : ""}`;
    return { problems: [{ code: "REPLAY_REGISTRY_UNLOADABLE", ...at, message }], replay: skip("not-reached", "the registry cannot be imported") };
  }
  const database = await openReplayDatabase(options, migrations);
  if ("code" in database) return { problems: [], replay: database };
  try {
    const { problems, applied, rolledBack, notContained } = await replay(options, migrations, database);
    // What the replay found before it stopped stands.
    if (notContained) return { problems, replay: skip("not-contained", notContainedReason(notContained.file, notContained.statement)) };
    return { problems, replay: { ran: true, ...database.place, applied, rolledBack } };
  } finally {
    await database.close();
  }
}

const skip = (code: ReplaySkipCode, reason: string): Skip => ({ ran: false, code, reason });

/** An empty database of the registry's dialect, as the replay uses (`stepwise squash` replays on one too), or why there is none; `url` must be set for postgres. */
export function openReplayDatabase(options: ReplayCheckOptions, migrations: MigrationRegistry): Promise<ReplayDatabase | Skip> {
  return options.dialect === "postgres" ? openScratchDatabase(options, options.url!, migrations) : openMemoryDatabase(options, migrations);
}

/** The problem `gen --check --require-replay` fails with when the replay did not run. */
export function skippedReplayProblem(replay: Skip, registryLabel: string): Problem {
  return problemAt("REPLAY_SKIPPED", registryLabel, `the replay did not run (${replay.code}), and --require-replay asks it to: ${joinLines(replay.reason)}`);
}

/** One line for the bin: what ran, on what, and what stood in for what. */
export function describeReplay(outcome: ReplayOutcome & { ran: true }): string {
  const connection = outcome.connection === null ? "" : ` (TypeScript migrations given ${outcome.connection === "d1" ? "a D1 binding" : "a Durable Object's sql"} over it)`;
  const down = outcome.rolledBack === null ? "" : `, then rolled back migration ${outcome.rolledBack}`;
  return `Replayed ${outcome.applied} migration${outcome.applied === 1 ? "" : "s"} on ${outcome.where}${connection}${down}.`;
}

/** sql.js writes nothing here (the database is in memory), so it is opened as a reader would be. */
async function loadReplayDriver(driver: CliDriverName, options: ReplayCheckOptions): Promise<DriverConnector | Skip> {
  try {
    return await loadDriver(driver, driver === "sql-js" ? "read" : "write", "stepwise gen --check (replay)", options.drivers ?? ALL_DRIVER_LOADERS, "the config");
  } catch (error) {
    if (error instanceof StepwiseError) return skip("no-driver", error.message);
    throw error;
  }
}

/** A scratch database with a random name on the server (the role needs CREATEDB), dropped by `close`, with the pg manager on its connection. */
async function openScratchDatabase(options: ReplayCheckOptions, given: string, migrations: MigrationRegistry): Promise<ReplayDatabase | Skip> {
  const connector = await loadReplayDriver("pg", options);
  if ("code" in connector) return connector;
  // Read as the runtime commands read it (blanks around it, the checks that keep a password out of a client's error), so the replay is on the server they migrate.
  let url: string;
  try {
    url = parseServerUrl("pg", given, `the server's URL (the config's "url", else DATABASE_URL)`, (file) => file).url;
  } catch (error) {
    if (error instanceof StepwiseError) return skip("no-scratch-database", `no scratch database could be made: ${error.message}`);
    throw error;
  }
  // The server by host and port only: never the role, password or options. An unparsable URL's connection then fails on its own.
  const parsed = tryOr(() => new URL(url), null);
  const server = parsed ? `${parsed.hostname || parsed.searchParams.get("host") || "localhost"}:${parsed.port || parsed.searchParams.get("port") || "5432"}` : "the configured server";
  let opened: OpenedDatabase<MigrationRegistry> | undefined;
  try {
    const schema = options.schema ? { schema: options.schema } : {};
    opened = await connector.open({ databasePath: "the configured server", url, ...schema, busyTimeoutMs: 0, migrations, props: { tableName: options.tableName } });
    const scratch: ScratchDatabase = await opened.manager.run(callWithDriver((driver: Driver) => driver.openScratchDatabase!()));
    const { MigrationManager } = await import("../src/drivers/pg.js");
    const manager = new MigrationManager(scratch.driver.connection as never, migrations, { tableName: options.tableName, ...schema });
    const close = async () => {
      await scratch.drop().catch(() => undefined);
      await opened!.close();
    };
    const where = `the scratch database ${scratch.name} on the PostgreSQL server at ${server} (dropped after)`;
    const place = { driver: "pg", database: "scratch", where, unavailable: [], connection: null } as const;
    return { manager, named: `a scratch database of the PostgreSQL server at ${server}`, place, close };
  } catch (error) {
    await opened?.close();
    return skip("no-scratch-database", `no scratch database could be made on the PostgreSQL server at ${server}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Why the replay did not run a migration that reaches another file: what it wrote there would stay, and it is no failure of the migration's. */
function notContainedReason(file: string, statement: string): string {
  return `${file} reaches another file (${statement.slice(0, 80)}), and what a replay wrote there would stay. Check that migration on a copy of the database by hand; the replay runs again once no migration reaches another file.`;
}

/** On SQLite, the same engine through every driver: the project's own first, then the rest (sql.js builds nothing and installs anywhere). */
async function openMemoryDatabase(options: ReplayCheckOptions, migrations: MigrationRegistry): Promise<ReplayDatabase | Skip> {
  // A TypeScript body's connection refuses what reaches another file; SQL that does is found in its text before anything runs.
  const reaching = firstReachingSql(migrations);
  if (reaching !== null) return skip("not-contained", notContainedReason(reaching.file, reaching.statement));
  const own = options.driver === null || options.driver === "pg" || options.driver === "d1" || options.driver === "durable-objects" ? null : options.driver;
  // Only the driver a project chose is worth naming when it does not load: its own, or the default when it names none (a project on bun:sqlite has no use for better-sqlite3's install line).
  const unavailable: { driver: string; reason: string }[] = [];
  for (const driver of new Set<CliDriverName>([...(own === null ? [] : [own]), "better-sqlite3", "node-sqlite", "libsql", "sql-js", "bun-sqlite"])) {
    const connector = await loadReplayDriver(driver, options);
    if ("code" in connector) {
      if (driver === (own ?? "better-sqlite3")) unavailable.push({ driver, reason: connector.reason });
      continue;
    }
    const workers = withWorkerConnections(containBodies(migrations), options);
    let listener: ((event: MigrationEvent) => void) | null = null;
    const props = { tableName: options.tableName, onEvent: (event: MigrationEvent) => listener?.(event) };
    // url: libsql-client connects by URL, here to an in-memory database of its own; the file drivers ignore it.
    let opened: OpenedDatabase<MigrationRegistry>;
    try {
      opened = await connector.open({ databasePath: ":memory:", url: ":memory:", busyTimeoutMs: 0, migrations: workers.migrations, props });
    } catch (error) {
      // better-sqlite3 loads its native addon on the first open: one built for another Node fails here, and the next driver stands in.
      if (!(error instanceof StepwiseError && error.is("DRIVER_NOT_INSTALLED"))) throw error;
      if (driver === (own ?? "better-sqlite3")) unavailable.push({ driver, reason: error.message });
      continue;
    }
    // The in-memory database is the replay's own, so read mode's query_only is lifted.
    await opened.manager.run(exec("PRAGMA query_only = OFF"));
    const where = `an empty in-memory ${driver} database`;
    return {
      manager: opened.manager as ReplayDatabase["manager"],
      named: where,
      place: { driver, database: "memory", where, unavailable, connection: workers.connection },
      listen: (next) => {
        listener = next;
      },
      close: () => opened.close(),
    };
  }
  const tried = unavailable.map(({ driver, reason }) => `${driver}: ${reason}`).join("\n");
  return skip(
    "no-driver",
    `no SQLite driver loads here to replay on.\n${tried}\nInstall one as a devDependency to replay (the app's own driver need not change): sql.js is WebAssembly, builds nothing and runs on every runtime:\n  ${replayDriverInstall()}`,
  );
}

/** Each table's storage page (a rebuilt table gets a new one) and the tables it references. */
type TableGraph = { readonly rootpages: ReadonlyMap<string, number>; readonly references: readonly { readonly child: string; readonly parent: string }[] };

/** Applies each migration in turn (data migrations run on the rows earlier ones seeded), then rolls back the newest. The first failure stops it, except a parent rebuilt with foreign keys on: that
 * one is reported and applied as its fix would run it (foreign keys off), as is a squash whose schema changed, so one run names every such migration (an imported history may hold many). */
async function replay(
  options: ReplayCheckOptions,
  migrations: MigrationRegistry,
  database: ReplayDatabase,
): Promise<{ problems: Problem[]; applied: number; rolledBack: number | null; notContained?: { file: string; statement: string } }> {
  const { manager } = database;
  const sqlite = options.dialect === "sqlite";
  const readGraph = (before: TableGraph | null = null) => manager.run(readTableGraph(options.tableName, before));
  if (sqlite) await manager.run(exec("PRAGMA foreign_keys = ON"));
  const problems: Problem[] = [];
  // Reported as a parent rebuild: replayed as the fix would run it, its down too.
  const rebuilds = new Set<number>();
  // Only a drop or a rename moves a table's storage, and a SQL migration's text holds the word (however the name after it is spelled); a TypeScript one may build its SQL at run time.
  // Reading the graph costs a scan of the schema and a pragma per table with a foreign key. A squash is checked after it runs; any other migration needs no check, nor one the run-time check
  // leaves alone because it manages the keys itself (drizzle's rebuild switching them off outside a transaction).
  const graphed = (entry: MigrationEntry) => sqlite && (entry.kind !== "sql" || /\b(DROP|RENAME)\b/i.test(entry.upSql)) && !managesForeignKeys(entry, "up");
  // Each up reads the whole history and schema, so one per migration would cost the square of the history's length: a stretch runs as one up. Where the graph can be read between two of its
  // migrations (a sync driver, at each migrated event), graphed migrations join the stretch; elsewhere (libsql-client) each runs alone. A squash is checked after it runs, alone.
  const readNow = graphReaderBetweenMigrations(database, options.tableName);
  const together = (entry: MigrationEntry) => entry.squashedInto === undefined && (readNow !== null || !graphed(entry));
  /** Reports `entry`'s failed up; a parent rebuilt with foreign keys on (where `retry`) is applied again as its fix would run it: whether that passed, so the replay goes on. */
  let notContained: { file: string; statement: string } | undefined;
  const recover = async (entry: MigrationEntry, error: unknown, retry: boolean): Promise<boolean> => {
    // A body's call that reaches another file (SQL that does is found before the replay): the real run may well pass, so the replay stops, skipped rather than failed.
    const refusal = reachesAnotherFile(error);
    if (refusal !== null) {
      notContained = { file: entry.file, statement: refusal.refused };
      return false;
    }
    problems.push(describeFailure(options, database, entry, "up", error));
    const retried = retry && isParentRebuild(error) ? await attempt(manager, () => manager.up({ to: entry.version })) : error;
    if (retried === null) rebuilds.add(entry.version);
    else if (retried !== error) problems.push(describeFailure(options, database, entry, "up", retried));
    return retried === null;
  };
  for (let applied = 0; applied < migrations.length; applied++) {
    const entry = migrations[applied]!;
    // A version a squash replaced is applied with the squash.
    if (entry.squashedInto !== undefined && entry.squashedInto !== entry.version) continue;
    if (together(entry)) {
      let last = applied;
      while (last + 1 < migrations.length && together(migrations[last + 1]!)) last++;
      const stretch = migrations.slice(applied, last + 1);
      const { rebuilt, failure } = await upWithGraphs(database, stretch, graphed, readNow, readGraph);
      for (const { entry: done, parent, children } of rebuilt) problems.push(describeRebuild(options, done, parent, children, null));
      for (const { entry: done } of rebuilt) rebuilds.add(done.version);
      if (failure !== null) {
        const { error } = failure;
        // The migration that failed: the one the error names, else the first of the stretch the database did not reach.
        const named = error instanceof StepwiseError && typeof (error.details as { version?: unknown }).version === "number" ? (error.details as { version: number }).version : null;
        const reached = named === null ? (await manager.status()).currentVersion : named - 1;
        let failed = applied;
        while (failed < last && migrations[failed]!.version <= reached) failed++;
        if (!(await recover(migrations[failed]!, error, graphed(migrations[failed]!)))) return { problems, applied: failed, rolledBack: null, notContained };
        applied = failed;
        continue;
      }
      applied = last;
      continue;
    }
    let before = graphed(entry) ? await readGraph() : null;
    try {
      await manager.up({ to: entry.version });
    } catch (error) {
      if (!(await recover(entry, error, true))) return { problems, applied, rolledBack: null, notContained };
      before = null;
    }
    const squash = entry.squashedInto === entry.version ? await checkSquash(options, manager, entry) : null;
    if (squash) problems.push(squash);
    const rebuilt = before && findRebuiltParent(entry, before, await readGraph(before));
    if (rebuilt) problems.push(describeRebuild(options, entry, rebuilt.parent, rebuilt.children, null));
    if (rebuilt) rebuilds.add(entry.version);
  }
  const newest = migrations.at(-1);
  if (!newest?.reversible) return { problems, applied: migrations.length, rolledBack: null };
  const failed = await attempt(manager, () => manager.down({ steps: 1 }), rebuilds.has(newest.version));
  const refusedDown = reachesAnotherFile(failed);
  if (refusedDown !== null) return { problems, applied: migrations.length, rolledBack: null, notContained: { file: newest.file, statement: refusedDown.refused } };
  if (failed !== null) problems.push(describeFailure(options, database, newest, "down", failed));
  return { problems, applied: migrations.length, rolledBack: newest.version };
}

/**
 * Applies `stretch` in one up. Where `readNow` reads the graph at once, it is read at the `migrated` event of each graphed migration and of the one before each, so each rebuilt parent is found as
 * an up of that migration alone would find it. The rebuilt come back, with what the up threw.
 */
async function upWithGraphs(
  database: ReplayDatabase,
  stretch: readonly MigrationEntry[],
  graphed: (entry: MigrationEntry) => boolean,
  readNow: ((before: TableGraph | null) => TableGraph) | null,
  readGraph: () => Promise<TableGraph> | TableGraph,
): Promise<{ rebuilt: { entry: MigrationEntry; parent: string; children: string[] }[]; failure: { readonly error: unknown } | null }> {
  const at = new Map(stretch.map((entry, index) => [entry.version, index]));
  const rebuilt: { entry: MigrationEntry; parent: string; children: string[] }[] = [];
  let before = readNow !== null && graphed(stretch[0]!) ? await readGraph() : null;
  // A listener's throw would stop the run as if the migration had failed: kept, and thrown after it.
  const readFailures: unknown[] = [];
  database.listen?.((event) => {
    const index = event.type === "migrated" && event.direction === "up" ? at.get(event.version) : undefined;
    if (index === undefined || readNow === null || readFailures.length > 0) return;
    const done = stretch[index]!;
    const next = stretch[index + 1];
    const beforeNext = next !== undefined && graphed(next);
    try {
      const after = graphed(done) || beforeNext ? readNow(graphed(done) ? before : null) : null;
      const found = before && after && graphed(done) && findRebuiltParent(done, before, after);
      if (found) rebuilt.push({ entry: done, ...found });
      before = beforeNext ? after : null;
    } catch (error) {
      readFailures.push(error);
    }
  });
  let failure: { readonly error: unknown } | null = null;
  try {
    await database.manager.up({ to: stretch.at(-1)!.version });
  } catch (error) {
    failure = { error };
  } finally {
    database.listen?.(null);
  }
  if (readFailures.length > 0) throw readFailures[0];
  return { rebuilt, failure };
}

const isParentRebuild = (error: unknown) => error instanceof StepwiseError && error.is("MIGRATION_FAILED") && error.details.foreignKeyRebuild !== null;

/** Runs `action`, with foreign keys off on the connection where `keysOff`, as a rebuild's fix would run it: `null`, or what it threw. */
async function attempt(manager: ReplayDatabase["manager"], action: () => unknown, keysOff = true): Promise<unknown> {
  if (keysOff) await manager.run(exec("PRAGMA foreign_keys = OFF"));
  try {
    await action();
    return null;
  } catch (error) {
    return error;
  } finally {
    if (keysOff) await manager.run(exec("PRAGMA foreign_keys = ON"));
  }
}

/** The proof of a squash: the schema it built here has the fingerprints its record took of the schema the migrations it replaced built. */
async function checkSquash(options: ReplayCheckOptions, manager: ReplayDatabase["manager"], entry: MigrationEntry): Promise<Problem | null> {
  const found = readSquashRecord(tryOr(() => readFileSync(path.join(options.projectRoot, entry.file), "utf8"), ""));
  if (found === null || !("record" in found)) return null;
  const differences = compareSchemaPrints(found.record.schema, printSchema(await manager.run(readFullSchemaOf(manager))));
  if (differences.length === 0) return null;
  const shown = differences.length > 8 ? [...differences.slice(0, 8), `${differences.length - 8} more`] : differences;
  const message = `this squash no longer builds the schema migrations 1 to ${entry.version} built (recorded when it was written): ${shown.join(", ")}; undo the edit (git checkout ${entry.file}), and make a schema change in a new migration after it`;
  return { ...problemAt("SQUASH_SCHEMA_CHANGED", entry.file, message), line: found.record.line };
}

// Only a table whose SQL says REFERENCES has a foreign key, so the pragma runs on those alone, and only the tables a key links are read: the rest cannot be a rebuilt parent or its child.
const TABLE_GRAPH_SQL = `WITH refs AS (
       SELECT m.name AS child, f."table" AS parent FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS f
       WHERE m.type = 'table' AND instr(upper(m.sql), 'REFERENCES') > 0)
     SELECT m.name AS name, m.rootpage AS rootpage, r.parent AS parent FROM sqlite_master AS m LEFT JOIN refs AS r ON r.child = m.name
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name <> ? AND (r.child IS NOT NULL OR lower(m.name) IN (SELECT lower(parent) FROM refs))`;

const ALL_TABLES_SQL = `SELECT name, rootpage, NULL AS parent FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?`;

type TableGraphRow = { name: string; rootpage: number; parent: string | null };

/** The tables foreign keys link, and `before`'s too where they still exist (a migration may leave a table of `before` linked no more): what {@link findRebuiltParent} compares. */
function* readTableGraph(tableName: string, before: TableGraph | null = null): Step<TableGraph> {
  const rows = yield* query<TableGraphRow>(TABLE_GRAPH_SQL, [tableName]);
  const linked = new Set(rows.map((row) => row.name.toLowerCase()));
  const unlinked = before?.references.some(({ child, parent }) => !linked.has(child) || !linked.has(parent)) ?? false;
  return toTableGraph(unlinked ? [...rows, ...(yield* query<TableGraphRow>(ALL_TABLES_SQL, [tableName]))] : rows);
}

/**
 * Reads the table graph at once on the replay's connection, as a `migrated` event's listener can (between two migrations of one up, outside their transactions), or `null`: the driver is async
 * (libsql-client), or the database takes no listener.
 */
function graphReaderBetweenMigrations(database: ReplayDatabase, tableName: string): ((before: TableGraph | null) => TableGraph) | null {
  const driver = database.manager.driver as Driver;
  if (database.listen === undefined || driver.async !== false) return null;
  return (before) => runSync(readTableGraph(tableName, before), driver);
}

function toTableGraph(rows: readonly TableGraphRow[]): TableGraph {
  const rootpages = new Map(rows.map((row) => [row.name.toLowerCase(), row.rootpage]));
  const references = rows.flatMap((row) => (row.parent !== null && row.parent.toLowerCase() !== row.name.toLowerCase() ? [{ child: row.name.toLowerCase(), parent: row.parent.toLowerCase() }] : []));
  return { rootpages, references };
}

/** A table other tables referenced before `entry` ran that it dropped or replaced (its storage moved) while they live on. */
function findRebuiltParent(entry: MigrationEntry, before: TableGraph, after: TableGraph): { parent: string; children: string[] } | null {
  const named = new Set(findDroppedOrRenamedTables(migrationCode(entry, "up")).map((name) => name.toLowerCase()));
  const byParent = new Map<string, string[]>();
  for (const { child, parent } of before.references) {
    const page = before.rootpages.get(parent);
    // Inside a transaction only a drop moves a table's storage (VACUUM cannot run there); outside one the name must be in the source.
    if (page === undefined || (!entry.transaction && !named.has(parent)) || !after.rootpages.has(child) || after.rootpages.get(parent) === page) continue;
    byParent.set(parent, [...(byParent.get(parent) ?? []), child]);
  }
  const [first] = byParent;
  return first === undefined ? null : { parent: first[0], children: [...new Set(first[1])].sort() };
}

/** The 1-based line of its file where a SQL migration's section begins, as the registry records it. */
function sectionStart(entry: MigrationEntry, direction: MigrationDirection): number {
  return (entry.kind === "sql" ? entry.sqlLines?.[direction === "up" ? 0 : 1] : null) ?? 1;
}

function describeRebuild(options: ReplayCheckOptions, entry: MigrationEntry, parent: string, children: readonly string[], reason: string | null): Problem {
  // Unreadable, the registry is all there is.
  const lines = tryOr(() => readFileSync(path.join(options.projectRoot, entry.file), "utf8"), "")
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/);
  // The first line outside a comment that drops or renames the table.
  const index = lines.findIndex((line) => !line.trimStart().startsWith("--") && findDroppedOrRenamedTables(line).some((name) => name.toLowerCase() === parent.toLowerCase()));
  const at = index === -1 ? { line: sectionStart(entry, "up"), column: 1 } : { line: index + 1, column: lines[index]!.search(/\b(DROP|ALTER)\b/i) + 1 };
  const flag = entry.kind === "sql" ? `put the flag on the up marker line: "${SQL_FOREIGN_KEYS_OFF_FIX}"` : `add "${TS_FOREIGN_KEYS_OFF_FIX}" to its defineMigration`;
  // The flag needs a transaction: outside one, the migration's own pragma does the work.
  const fix = entry.transaction ? flag : `switch them off in a statement before the rebuild ("PRAGMA foreign_keys = OFF", and back ON after it), or remove transaction:false and ${flag}`;
  const referenced = `${children.join(", ")} reference${children.length === 1 ? "s" : ""}`;
  const message = `this migration drops or replaces table ${parent}, which ${referenced} with foreign keys, with enforcement on (${reason ?? "it passed here only because the replay's tables are empty"}): on a database with rows, the drop is refused ("FOREIGN KEY constraint failed") or deletes their rows; ${fix}, and stepwise checks the keys before committing`;
  return { code: "FOREIGN_KEY_PARENT_REBUILT", file: entry.file, ...at, message };
}

/** Where in `entry` the replay failed (the failing statement the runtime located, or the line a TypeScript body's stack names), and why, as one problem. */
function describeFailure(options: ReplayCheckOptions, database: ReplayDatabase, entry: MigrationEntry, direction: MigrationDirection, error: unknown): Problem {
  // What a body threw may be hostile (a Proxy, getters that throw): read safely.
  const stepwise = isInstanceSafely(error, StepwiseError) ? (error as StepwiseError) : null;
  const failed = stepwise?.is("MIGRATION_FAILED") ? stepwise.details : null;
  if (failed?.foreignKeyRebuild && direction === "up")
    return describeRebuild(options, entry, failed.foreignKeyRebuild.table, failed.foreignKeyRebuild.referencedBy, "the replay's seeded rows already fail");
  const stepwiseCode = stepwise !== null && stepwise.code !== "MIGRATION_FAILED" ? ` (${stepwise.code})` : "";
  // The library's own error, under MIGRATION_FAILED's wrappers. Another code is stepwise's own refusal, whose message says what the migration did; its cause is only the evidence
  // (a history guard's trigger that a dropped history table took along).
  let root: unknown = error;
  for (let depth = 0; depth < 8 && isInstanceSafely(root, StepwiseError) && root.is("MIGRATION_FAILED") && root.cause !== undefined; depth++) root = root.cause;
  // As the runtime's "Thrown at": an imported migration's original, or an app file its body called, is where the line to fix is, not the wrapper's call into it.
  const thrown = failed?.location || entry.kind === "sql" ? null : locateThrow(error, entry.file);
  const at = failed?.location ?? (entry.kind === "sql" ? { line: sectionStart(entry, direction), column: 1 } : thrown);
  const file = thrown?.file ?? entry.file;
  const migration = file === entry.file ? "this migration" : `migration ${entry.file}`;
  const message = `${direction === "up" ? "applying" : "rolling back"} ${migration} on ${database.named} failed: ${firstLineOf(root)}${stepwiseCode}`;
  return { code: direction === "up" ? "REPLAY_FAILED" : "REPLAY_DOWN_FAILED", file, line: at?.line ?? 1, column: at?.column ?? 1, message };
}
