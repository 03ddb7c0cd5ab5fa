/**
 * `status` tells the truth: whatever `up` would refuse before running anything, `status` shows (its
 * code and fields in `--json`, the code where the text gives the version), and then exits 1. One
 * table of scenarios, each a real database brought into that state (an edited migration, a newer
 * app's history, an interrupted or still-running `transaction: false` migration, another tool's
 * tables, a foreign history table, a deleted row, a broken registry, the other dialect's registry),
 * run through the in-process CLI on every driver: the SQLite file drivers, libsql-client on a
 * `file:` URL, and pg on the real server. For each, `up` refuses with the same code and fields, and
 * `status` finds them in the library's own `status()` data.
 */
import assert from "node:assert/strict";
import { hostname } from "node:os";
import path from "node:path";
import { describe, test, type TestContext } from "node:test";
import pg from "pg";
import { parseDriverName } from "../src/cli/driver-names.js";
import type { MigrationRegistry, SqlDialect } from "../src/core/types.js";
import { DRIVERS, describeEachDriver, openWithAnyDriver, type TestDatabase } from "./support/driver-matrix.js";
import { jsonOutput, runInProcess, type InProcessRun } from "./support/in-process-cli.js";
import { makeTempDir } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { entryFile, sqlEntry } from "./support/registry-builders.js";

/** A database one scenario works on, reached by the CLI through `args` and by the test through `exec`. */
interface Target {
  readonly dialect: SqlDialect;
  /** The global flags that point the CLI at the database with the driver under test. */
  readonly args: readonly string[];
  /** Whether the driver under test writes through the CLI (sql.js only reads). */
  readonly writes: boolean;
  /** Brings the database to the registry's `to` with a driver that writes, before a scenario breaks it. */
  up(migrations: MigrationRegistry, to: number): Promise<void>;
  /** Runs SQL on the database with another library. */
  exec(sql: string): Promise<void>;
  /** Reads rows with another library. */
  rows(sql: string): Promise<Record<string, unknown>[]>;
}

const ONE = sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY)");
const TWO = sqlEntry(2, "CREATE TABLE notes (id INTEGER PRIMARY KEY)", { transaction: false });
const THREE = sqlEntry(3, "CREATE TABLE tags (id INTEGER PRIMARY KEY)");
const STARTED_AT = "2026-01-02T03:04:05.000Z";

/** A state `up` refuses, and what the refusal says. */
interface Scenario {
  readonly name: string;
  /** What is applied before the database is broken (nothing when 0). */
  readonly applied: number;
  /** The SQL that breaks it. */
  readonly breaks: (target: Target) => string;
  /** The registry `status` and `up` then run with. */
  readonly registry: (dialect: SqlDialect) => MigrationRegistry;
  readonly code: string;
  /** Fields the refusal carries, as `--json` prints them. */
  readonly fields: Record<string, unknown>;
  /** Refused before the manager exists (the registry itself): `status --json` prints it as its error. */
  readonly beforeStatus?: boolean;
}

const inDialect = (dialect: SqlDialect, ...entries: MigrationRegistry[number][]): MigrationRegistry =>
  entries.map((entry) => (dialect === "sqlite" ? entry : { ...entry, dialect })) as MigrationRegistry;

const ownerOnAnotherHost = JSON.stringify({ pid: 1, host: `not-${hostname()}`, token: "elsewhere", lockFile: null });

const SCENARIOS: readonly Scenario[] = [
  {
    name: "an applied migration was edited",
    applied: 1,
    breaks: () => "",
    registry: (dialect) => inDialect(dialect, { ...ONE, checksum: "edited" }, TWO),
    code: "CHECKSUM_MISMATCH",
    fields: { version: 1, file: entryFile(1, "sql"), registryChecksum: "edited", databaseChecksum: "checksum-1" },
  },
  {
    name: "a newer app applied a version this registry lacks",
    applied: 2,
    breaks: () => "",
    registry: (dialect) => inDialect(dialect, ONE),
    code: "DATABASE_AHEAD",
    fields: { unknownVersions: [2], latestKnownVersion: 1 },
  },
  {
    name: "a transaction: false migration was interrupted",
    applied: 2,
    breaks: () => `UPDATE schema_migrations SET state = 'started', applied_at = '${STARTED_AT}', owner = NULL WHERE version = 2`,
    registry: (dialect) => inDialect(dialect, ONE, TWO, THREE),
    code: "INCOMPLETE_MIGRATION",
    fields: { version: 2, file: entryFile(2, "sql"), startedAt: STARTED_AT },
  },
  {
    name: "a transaction: false migration is still running on another host",
    applied: 2,
    breaks: () => `UPDATE schema_migrations SET state = 'started', applied_at = '${STARTED_AT}', owner = '${ownerOnAnotherHost}' WHERE version = 2`,
    registry: (dialect) => inDialect(dialect, ONE, TWO, THREE),
    code: "MIGRATION_IN_PROGRESS",
    fields: { version: 2, file: entryFile(2, "sql"), startedAt: STARTED_AT, owner: { pid: 1, host: `not-${hostname()}` } },
  },
  {
    name: "another tool made the database: tables, and no history",
    applied: 0,
    breaks: () => "CREATE TABLE legacy_accounts (id INTEGER PRIMARY KEY)",
    registry: (dialect) => inDialect(dialect, ONE, TWO),
    code: "UNMANAGED_DATABASE",
    fields: { tables: ["legacy_accounts"] },
  },
  {
    name: "another tool owns a table of the history table's name",
    applied: 0,
    breaks: () => "CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, filename TEXT)",
    registry: (dialect) => inDialect(dialect, ONE, TWO),
    code: "HISTORY_TABLE_INVALID",
    fields: {},
  },
  {
    name: "the history table has a NOT NULL column stepwise never fills, with no default",
    applied: 0,
    breaks: () =>
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER, state TEXT NOT NULL DEFAULT 'applied', owner TEXT, deployed_by TEXT NOT NULL)",
    registry: (dialect) => inDialect(dialect, ONE, TWO),
    code: "HISTORY_TABLE_INVALID",
    fields: { table: "schema_migrations", problem: "not-null-column", column: "deployed_by", constraint: null, version: null },
  },
  {
    name: "a history row was deleted by hand",
    applied: 2,
    breaks: () => "DELETE FROM schema_migrations WHERE version = 1",
    registry: (dialect) => inDialect(dialect, ONE, TWO, THREE),
    code: "HISTORY_OUT_OF_ORDER",
    fields: { missingVersions: [1], highestAppliedVersion: 2 },
  },
  {
    name: "the registry skips a version",
    applied: 1,
    breaks: () => "",
    registry: (dialect) => inDialect(dialect, ONE, THREE),
    code: "REGISTRY_INVALID",
    fields: {},
    beforeStatus: true,
  },
  {
    name: "the registry is the other dialect's",
    applied: 1,
    breaks: () => "",
    registry: (dialect) => inDialect(dialect === "sqlite" ? "postgres" : "sqlite", ONE, TWO),
    code: "REGISTRY_DIALECT_MISMATCH",
    fields: {},
    beforeStatus: true,
  },
];

interface StatusJson {
  readonly currentVersion: number;
  readonly problem: ({ readonly code: string; readonly message: string } & Record<string, unknown>) | null;
}

/** A refusal's code and structured fields, without its prose. */
const pickRefusal = ({ code, tables, throughCopy }: Record<string, unknown>) => ({ code, tables, throughCopy });

/** The refusal `run` printed as JSON: `status`'s `problem`, or the `error` of a command that failed. */
function refusalOf(run: InProcessRun): Record<string, unknown> & { code: string } {
  const output = JSON.parse(run.stdout) as { error?: { code: string }; problem?: { code: string } | null };
  const found = output.error ?? output.problem;
  assert.ok(found, run.stdout);
  return found as Record<string, unknown> & { code: string };
}

function declareScenarios(makeTarget: (t: TestContext) => Promise<Target>): void {
  for (const scenario of SCENARIOS) {
    test(`${scenario.name}: status shows ${scenario.code} and exits 1, as up refuses`, async (t) => {
      const target = await makeTarget(t);
      if (scenario.applied > 0) await target.up(inDialect(target.dialect, ONE, TWO), scenario.applied);
      const breaking = scenario.breaks(target);
      if (breaking !== "") await target.exec(breaking);
      const migrations = scenario.registry(target.dialect);

      const status = await runInProcess({ migrations }, [...target.args, "status", "--json"]);
      assert.equal(status.code, 1, `status exited ${status.code}:\n${status.stdout}\n${status.stderr}`);
      const shown = refusalOf(status);
      assert.equal(shown.code, scenario.code, status.stdout);
      // As every refusing command, stderr names the code.
      assert.ok(status.stderr.includes(`[${scenario.code}]`), status.stderr);
      for (const [field, value] of Object.entries(scenario.fields)) assert.deepEqual(shown[field], value, `${field} in ${status.stdout}`);
      if (!scenario.beforeStatus) {
        assert.equal((JSON.parse(status.stdout) as StatusJson).problem?.code, scenario.code);
        // info reports the same refusal beside the version it shows.
        assert.equal(jsonOutput<StatusJson>(await runInProcess({ migrations }, [...target.args, "info", "--json"])).problem?.code, scenario.code);
      }

      // The text names the refusal beside the version, and never calls the database up to date.
      const text = await runInProcess({ migrations }, [...target.args, "status"]);
      assert.equal(text.code, 1, text.stdout + text.stderr);
      assert.ok((text.stdout + text.stderr).includes(scenario.code), text.stdout + text.stderr);
      assert.doesNotMatch(text.stdout, /up to date/);

      if (!target.writes) return;
      const up = await runInProcess({ migrations }, [...target.args, "--busy-timeout", "0", "up", "--json"]);
      assert.equal(up.code, 1, up.stdout + up.stderr);
      const refused = refusalOf(up);
      assert.equal(refused.code, scenario.code, up.stdout);
      // status shows what up refuses with: the same fields and the same next step, save what only waiting measures.
      for (const [field, value] of Object.entries(shown)) {
        if (field !== "message" && field !== "waitedMs" && field !== "name") assert.deepEqual(refused[field], value, `${field}: status ${status.stdout}\nup ${up.stdout}`);
      }
      assert.notEqual(shown.fix ?? null, null, status.stdout);
      // The commands the messages quote reach this database too, in both.
      const commands = (message: unknown) =>
        [...String(message).matchAll(/"stepwise ([a-z]+)[^"]*"/g)].filter(([, name]) => !["gen", "create", "import", "rebase", "squash"].includes(name!)).map(([command]) => command);
      assert.deepEqual(commands(shown.message), commands(refused.message));
      for (const command of commands(shown.message)) assert.ok(command.includes("--driver"), command);
    });
  }

  test("reset refuses tables with no history table, as up does, and drops nothing; it starts over on an empty or a managed database, an emptied history included", async (t) => {
    const target = await makeTarget(t);
    if (!target.writes) return t.skip("the driver only reads through the CLI");
    const reset = (migrations: MigrationRegistry) => runInProcess({ migrations }, [...target.args, "--busy-timeout", "0", "reset", "--yes", "--json"]);
    const migrations = inDialect(target.dialect, ONE, TWO);

    // An empty database starts over as before.
    assert.equal((await reset(migrations)).code, 0);
    // A managed one too, in any state: an applied migration edited and a version the registry lacks (a branch switched).
    assert.equal((await reset(inDialect(target.dialect, { ...ONE, checksum: "edited" }))).code, 0);
    assert.equal((await reset(migrations)).code, 0);

    // A history table with no rows (after down --to 0, with a table a down left behind) is still stepwise's: reset starts over there.
    await target.exec("DELETE FROM schema_migrations");
    assert.equal((await reset(migrations)).code, 0);

    // No history table at all (a wrong --db or DATABASE_URL): nothing dropped, no history table made.
    await target.exec("DROP TABLE schema_migrations");
    await target.exec("DROP TABLE items");
    await target.exec("DROP TABLE notes");
    await target.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'precious')");
    const unmanaged = await reset(migrations);
    assert.equal(unmanaged.code, 1, unmanaged.stdout + unmanaged.stderr);
    const refused = refusalOf(unmanaged);
    assert.deepEqual(pickRefusal(refused), { code: "UNMANAGED_DATABASE", tables: ["customers"], throughCopy: false });
    // Its next step is not up's alone (baseline): the database may be the wrong one.
    const status = JSON.parse((await runInProcess({ migrations }, [...target.args, "status", "--json"])).stdout) as StatusJson;
    assert.notEqual(refused.fix, status.problem?.fix);
    assert.deepEqual(await target.rows("SELECT id, name FROM customers"), [{ id: 1, name: "precious" }]);
    assert.deepEqual({ currentVersion: status.currentVersion, code: status.problem?.code, tables: status.problem?.tables }, { currentVersion: 0, code: "UNMANAGED_DATABASE", tables: ["customers"] });
  });

  test("tables and no history, with nothing to apply: up runs nothing, and status reports no refusal", async (t) => {
    const target = await makeTarget(t);
    await target.exec("CREATE TABLE legacy_accounts (id INTEGER PRIMARY KEY)");
    const status = await runInProcess({ migrations: [] }, [...target.args, "status", "--json"]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.equal((JSON.parse(status.stdout) as StatusJson).problem, null);
  });
}

/** A SQLite file under a temp folder, set up through a driver that writes in this runtime (better-sqlite3 is not one under Bun). */
function sqliteTarget(t: TestContext, driverArgs: (file: string) => readonly string[], writes: boolean): Target {
  const file = path.join(makeTempDir(t), "app.db");
  const withDatabase = async (use: (db: TestDatabase) => void) => {
    const db = await openWithAnyDriver(file);
    try {
      use(db);
    } finally {
      db.close();
    }
  };
  return {
    dialect: "sqlite",
    args: driverArgs(file),
    writes,
    up: (migrations, to) => withDatabase((db) => void db.migrate(migrations, { to })),
    exec: (sql) => withDatabase((db) => db.exec(sql)),
    async rows(sql) {
      let rows: Record<string, unknown>[] = [];
      await withDatabase((db) => void (rows = db.rows(sql)));
      return rows;
    },
  };
}

await describeEachDriver("status shows why up would refuse", { quickOn: ["better-sqlite3"] }, (h) => {
  // The CLI opens the package's own drivers; a driver written in test/ is no --driver of it.
  if (!DRIVERS.includes(h.underTest)) return;
  const driver = parseDriverName(h.name, "--driver");
  declareScenarios(async (t) => sqliteTarget(t, (file) => ["--driver", driver, "--db", file], h.capabilities.fileLocking));
});

describe("status shows why up would refuse [libsql-client, file: URL]", () => {
  declareScenarios(async (t) => sqliteTarget(t, (file) => ["--driver", "libsql-client", "--url", `file:${file}`], true));
});

describe("status shows why up would refuse [pg]", () => {
  declareScenarios(async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const args = ["--driver", "pg", "--url", database.url];
    return {
      dialect: "postgres",
      args,
      writes: true,
      async up(migrations, to) {
        const run = await runInProcess({ migrations }, [...args, "up", "--to", String(to)]);
        assert.equal(run.code, 0, run.stderr);
      },
      async exec(sql) {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          await client.query(sql);
        } finally {
          await client.end();
        }
      },
      async rows(sql) {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          return (await client.query<Record<string, unknown>>(sql)).rows;
        } finally {
          await client.end();
        }
      },
    };
  });
});
