/**
 * A history table that refuses the rows stepwise writes is the table's fault, not a migration's: an
 * extra column stepwise never fills that is NOT NULL with no default, a CHECK, UNIQUE or foreign-key
 * constraint stepwise's rows break, a column type (a STRICT table's) that refuses its values, a
 * trigger that raises on its INSERT. Each is `HISTORY_TABLE_INVALID` naming the column or
 * constraint, never `MIGRATION_FAILED` blaming the migration whose row it was, and the database is
 * left as it was. The unfillable column is seen from the columns stepwise already reads, so every
 * command that reads the history refuses it before anything runs (status shows it as its problem);
 * the others are found when the row is written, and that write's transaction rolls back. On every
 * SQLite driver, on D1 in workerd (where the row shares the migration's batch), on PostgreSQL (where a
 * trigger could fill such a column, so only a table with none is refused up front; a deferred
 * constraint refuses the row at COMMIT), and through the CLI.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import type pg from "pg";
import { MigrationManager as PgMigrationManager } from "../src/entries/pg.js";
import type { MigrationRegistry, SqlMigrationEntry } from "../src/core/types.js";
import { baselineDatabase } from "../src/safety/index.js";
import { describeEachDriver, openWithAnyDriver } from "./support/driver-matrix.js";
import { jsonOutput, runInProcess } from "./support/in-process-cli.js";
import { connectFresh } from "./support/pg-client.js";
import { makeTempDir } from "./support/project.js";
import { caught, namedSqlEntry, rejection } from "./support/registry-builders.js";

/** stepwise's own columns, as its SQLite CREATE TABLE writes them. */
const COLUMNS = "version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER, state TEXT NOT NULL DEFAULT 'applied', owner TEXT";

/** 1 and 2 each create a table; `two` overrides migration 2. */
function registry(two: Partial<SqlMigrationEntry> = {}, dialect?: "postgres"): MigrationRegistry {
  const extra = dialect ? { dialect } : {};
  return [
    namedSqlEntry(1, "create_one", "CREATE TABLE one (id INTEGER);", "DROP TABLE one;", extra),
    namedSqlEntry(2, "create_two", "CREATE TABLE two (id INTEGER);", "DROP TABLE two;", { ...extra, ...two }),
  ];
}

/** The refusal's facts: HISTORY_TABLE_INVALID naming what refused, for `version`'s row (`null`: refused up front). */
function assertRefused(error: Record<string, unknown>, expected: { problem: string; column?: string | null; version: number | null }): void {
  assert.equal(error.code, "HISTORY_TABLE_INVALID", String(error.message));
  assert.equal(error.table, "schema_migrations");
  assert.equal(error.problem, expected.problem, String(error.message));
  if (expected.column !== undefined) assert.equal(error.column, expected.column);
  assert.equal(error.version, expected.version);
}

const versionsOf = (rows: readonly Record<string, unknown>[]) => rows.map((row) => Number(row.version));

await describeEachDriver("a history table that refuses stepwise's rows is HISTORY_TABLE_INVALID, not the migration's failure", (h) => {
  test("an extra NOT NULL column with no default: up, down, status, history, baseline and a no-op start all refuse it before anything runs", () =>
    h.withDatabase((db) => {
      const migrations = registry();
      db.exec(`CREATE TABLE schema_migrations (${COLUMNS}, deployed_by TEXT NOT NULL)`);
      const before = db.snapshot();
      const unfilled = { problem: "not-null-column", column: "deployed_by", version: null };
      assertRefused(
        caught(() => db.manager(migrations).up()),
        unfilled,
      );
      assertRefused(
        caught(() => db.manager(migrations).up({ transaction: "all" })),
        unfilled,
      );
      assertRefused(db.manager(migrations).status().problem as never, unfilled);
      assertRefused(
        caught(() => db.manager(migrations).history()),
        unfilled,
      );
      assertRefused(
        caught(() => db.manager(migrations).down()),
        unfilled,
      );
      assertRefused(
        caught(() => baselineDatabase(db.manager(migrations), 2, { dangerouslyForce: true })),
        unfilled,
      );
      assert.deepEqual(db.snapshot(), before);
      // DEFAULT NULL fills nothing a NOT NULL column takes.
      db.exec(`DROP TABLE schema_migrations; CREATE TABLE schema_migrations (${COLUMNS}, deployed_by TEXT NOT NULL DEFAULT NULL)`);
      assertRefused(
        caught(() => db.manager(migrations).up()),
        unfilled,
      );
    }));

  test("a no-op start on a history table rebuilt with such a column refuses it too; with a default, the same column is fine", () =>
    h.withDatabase((db) => {
      const migrations = registry();
      db.manager(migrations).up();
      db.exec(
        `CREATE TABLE rebuilt (${COLUMNS}, deployed_by TEXT NOT NULL); INSERT INTO rebuilt SELECT *, 'ops' FROM schema_migrations; DROP TABLE schema_migrations; ALTER TABLE rebuilt RENAME TO schema_migrations`,
      );
      assertRefused(
        caught(() => db.manager(migrations).up()),
        { problem: "not-null-column", column: "deployed_by", version: null },
      );
      assert.equal(db.manager(migrations).status().problem?.code, "HISTORY_TABLE_INVALID");

      // The fix the error names: a default. Then stepwise's rows take it.
      db.exec(
        `CREATE TABLE rebuilt (${COLUMNS}, deployed_by TEXT NOT NULL DEFAULT 'stepwise'); INSERT INTO rebuilt SELECT * FROM schema_migrations; DROP TABLE schema_migrations; ALTER TABLE rebuilt RENAME TO schema_migrations`,
      );
      db.manager(migrations).down();
      assert.equal(db.manager(migrations).status().problem, null);
      assert.deepEqual(
        db
          .manager(migrations)
          .up()
          .steps.map((step) => step.version),
        [2],
      );
      assert.deepEqual(db.rows("SELECT version, deployed_by FROM schema_migrations ORDER BY version"), [
        { version: 1, deployed_by: "ops" },
        { version: 2, deployed_by: "stepwise" },
      ]);
    }));

  test('a CHECK constraint migration 2\'s row breaks: HISTORY_TABLE_INVALID for version 2, its changes rolled back, migration 1 kept; the same with transaction: false and "all"', () =>
    h.withDatabase((db) => {
      db.exec(`CREATE TABLE schema_migrations (${COLUMNS}, CONSTRAINT no_two CHECK (name <> 'create_two'))`);
      const migrations = registry();
      const error = caught(() => db.manager(migrations).up());
      assertRefused(error, { problem: "check-constraint", column: null, version: 2 });
      assert.match(String(error.constraint), /no_two|create_two/);
      assert.deepEqual(db.tableNames(), ["one", "schema_migrations"]);
      assert.deepEqual(versionsOf(db.rows("SELECT version FROM schema_migrations")), [1]);
      if (h.capabilities.userVersion) assert.equal(db.userVersion(), 1);

      // A transaction: false migration's started row is refused before its body runs.
      const before = db.snapshot();
      assertRefused(
        caught(() => db.manager(registry({ transaction: false })).up()),
        { problem: "check-constraint", version: 2 },
      );
      assert.deepEqual(db.snapshot(), before);

      // Under "all", the whole run rolls back.
      db.manager(migrations).down();
      const empty = db.snapshot();
      assertRefused(
        caught(() => db.manager(migrations).up({ transaction: "all" })),
        { problem: "check-constraint", version: 2 },
      );
      assert.deepEqual(db.snapshot(), empty);
    }));

  test("a UNIQUE constraint on name, a foreign key, a STRICT column of another type and a trigger that raises: each named, nothing kept", () =>
    h.withDatabase((db) => {
      const cases: Array<{ table: string; setup?: string; teardown?: string; two?: Partial<SqlMigrationEntry>; problem: string; column: string | null }> = [
        { table: `${COLUMNS}, UNIQUE (name)`, two: { name: "create_one" }, problem: "unique-constraint", column: "name" },
        {
          table: COLUMNS.replace("name TEXT NOT NULL", "name TEXT NOT NULL REFERENCES known_names (name)"),
          setup: "PRAGMA foreign_keys = ON; CREATE TABLE known_names (name TEXT PRIMARY KEY); INSERT INTO known_names VALUES ('create_one');",
          teardown: "DROP TABLE known_names",
          problem: "foreign-key",
          column: null,
        },
        { table: `${COLUMNS.replace("applied_at TEXT", "applied_at INTEGER")}) STRICT; --`, problem: "column-type", column: "applied_at" },
        {
          table: COLUMNS,
          setup: "",
          problem: "trigger",
          column: null,
        },
      ];
      for (const one of cases) {
        if (one.setup) db.exec(one.setup);
        db.exec(`CREATE TABLE schema_migrations (${one.table})`);
        if (one.problem === "trigger") {
          db.exec("CREATE TRIGGER refuse_two BEFORE INSERT ON schema_migrations WHEN NEW.version = 2 BEGIN SELECT RAISE(ABORT, 'no deploys on Fridays'); END");
        }
        const migrations = registry(one.two);
        if (one.problem === "column-type") {
          // STRICT refuses the first row already.
          assertRefused(
            caught(() => db.manager(migrations).up()),
            { problem: "column-type", column: "applied_at", version: 1 },
          );
          assert.deepEqual(db.tableNames(), ["schema_migrations"]);
        } else {
          const error = caught(() => db.manager(migrations).up());
          assertRefused(error, { problem: one.problem, column: one.column, version: 2 });
          if (one.problem === "trigger") assert.match(String(error.constraint), /no deploys on Fridays/);
          assert.deepEqual(versionsOf(db.rows("SELECT version FROM schema_migrations")), [1]);
          assert.ok(!db.tableNames().includes("two"), one.problem);
        }
        db.exec(`DROP TABLE schema_migrations; DROP TABLE IF EXISTS one; ${one.teardown ?? "SELECT 1"}`);
      }
    }));

  test("a STRICT history table of stepwise's own shape is fine", () =>
    h.withDatabase((db) => {
      db.exec(`CREATE TABLE schema_migrations (${COLUMNS}) STRICT`);
      assert.equal(db.manager(registry()).up().steps.length, 2);
      assert.deepEqual(versionsOf(db.rows("SELECT version FROM schema_migrations ORDER BY version")), [1, 2]);
    }));

  test("baseline into a history table whose CHECK refuses a row: HISTORY_TABLE_INVALID, nothing recorded", () =>
    h.withDatabase((db) => {
      db.exec("CREATE TABLE one (id INTEGER)");
      db.exec(`CREATE TABLE schema_migrations (${COLUMNS}, CHECK (duration_ms IS NOT NULL))`);
      assertRefused(
        caught(() => baselineDatabase(db.manager(registry()), 1, { dangerouslyForce: true })),
        { problem: "check-constraint", version: 1 },
      );
      assert.deepEqual(db.rows("SELECT version FROM schema_migrations"), []);
    }));
});

test("D1 (workerd): a CHECK, a UNIQUE on name and a trigger that raises each refuse migration 2's row, which shares a batch with its SQL, as HISTORY_TABLE_INVALID; a body that fails is still MIGRATION_FAILED", async (t) => {
  const { startD1Proxy } = await import("./support/cloudflare/d1-proxy.js");
  const { MigrationManager: D1MigrationManager } = await import("../src/entries/d1.js");
  const cases: Array<{ extra: string; after?: string; two?: Partial<SqlMigrationEntry>; code: string; problem?: string; column?: string | null; constraint?: string }> = [
    { extra: ", CONSTRAINT no_two CHECK (name <> 'create_two')", code: "HISTORY_TABLE_INVALID", problem: "check-constraint", column: null, constraint: "no_two" },
    { extra: ", UNIQUE (name)", two: { name: "create_one" }, code: "HISTORY_TABLE_INVALID", problem: "unique-constraint", column: "name" },
    {
      extra: "",
      after: "CREATE TRIGGER refuse_two BEFORE INSERT ON schema_migrations WHEN NEW.version = 2 BEGIN SELECT RAISE(ABORT, 'no deploys on Fridays'); END",
      code: "HISTORY_TABLE_INVALID",
      problem: "trigger",
      column: null,
      constraint: "no deploys on Fridays",
    },
    // The row is fine, the SQL after it fails: the migration's.
    {
      extra: ", CONSTRAINT no_two CHECK (name <> 'create_two')",
      two: { name: "fill_two", upSql: "CREATE TABLE two (id INTEGER CHECK (id > 0)); INSERT INTO two VALUES (0);" },
      code: "MIGRATION_FAILED",
    },
  ];
  for (const one of cases) {
    await t.test(one.problem ?? one.code, async () => {
      const database = await startD1Proxy();
      try {
        const binding = database.binding();
        await binding.prepare(`CREATE TABLE schema_migrations (${COLUMNS}${one.extra})`).run();
        if (one.after) await binding.prepare(one.after).run();
        const error = await rejection(() => new D1MigrationManager(binding, registry(one.two)).up());
        if (one.code === "MIGRATION_FAILED") assert.deepEqual([error.code, error.version], ["MIGRATION_FAILED", 2]);
        else assertRefused(error, { problem: one.problem!, column: one.column!, version: 2 });
        if (one.constraint) assert.equal(error.constraint, one.constraint);
        const tables = (await binding.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1").all()).results as { name: string }[];
        assert.deepEqual(
          tables.map((table) => table.name).filter((name) => !name.startsWith("_cf_")),
          ["one", "schema_migrations"],
        );
        assert.deepEqual(versionsOf((await binding.prepare("SELECT version FROM schema_migrations").all()).results as Record<string, unknown>[]), [1]);
      } finally {
        await database.dispose();
      }
    });
  }
});

/** A fresh PostgreSQL database with stepwise's history table made by hand, plus `extra` (SQL after its columns) and `after` (statements after it). */
async function pgWithHistory(t: Parameters<typeof connectFresh>[0], extra: string, after = ""): Promise<pg.Client> {
  const client = await connectFresh(t);
  await client.query(
    `CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms BIGINT, state TEXT NOT NULL DEFAULT 'applied', owner TEXT${extra}); ${after}`,
  );
  return client;
}

const pgTables = async (client: pg.Client) =>
  (await client.query<{ name: string }>("SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((row) => row.name);
const pgVersions = async (client: pg.Client) => versionsOf((await client.query("SELECT version::int AS version FROM schema_migrations ORDER BY version")).rows);

test("PostgreSQL: an extra NOT NULL column with no default and no trigger is refused before anything runs, by up, down and status", async (t) => {
  const client = await pgWithHistory(t, ", deployed_by TEXT NOT NULL");
  const migrations = registry({}, "postgres");
  const unfilled = { problem: "not-null-column", column: "deployed_by", version: null };
  assertRefused(await rejection(() => new PgMigrationManager(client, migrations).up()), unfilled);
  assertRefused(await rejection(() => new PgMigrationManager(client, migrations).down()), unfilled);
  assertRefused((await new PgMigrationManager(client, migrations).status()).problem as never, unfilled);
  assert.deepEqual(await pgTables(client), ["schema_migrations"]);
});

test("PostgreSQL: the same column filled by a BEFORE INSERT trigger is fine", async (t) => {
  const client = await pgWithHistory(
    t,
    ", deployed_by TEXT NOT NULL",
    "CREATE FUNCTION fill_deployer() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.deployed_by := 'ci'; RETURN NEW; END $$; " +
      "CREATE TRIGGER fill_deployer BEFORE INSERT ON schema_migrations FOR EACH ROW EXECUTE FUNCTION fill_deployer();",
  );
  assert.equal((await new PgMigrationManager(client, registry({}, "postgres")).up()).steps.length, 2);
  assert.deepEqual((await client.query("SELECT DISTINCT deployed_by FROM schema_migrations")).rows, [{ deployed_by: "ci" }]);
});

test("PostgreSQL: a CHECK, a UNIQUE on name, a varchar too short and a trigger that raises each refuse migration 2's row as HISTORY_TABLE_INVALID; nothing of 2 is kept", async (t) => {
  const cases: Array<{ extra: string; after?: string; two?: Partial<SqlMigrationEntry>; problem: string; column: string | null; constraint?: RegExp }> = [
    { extra: ", CONSTRAINT no_two CHECK (name <> 'create_two')", problem: "check-constraint", column: null, constraint: /^no_two$/ },
    { extra: ", CONSTRAINT one_name UNIQUE (name)", two: { name: "create_one" }, problem: "unique-constraint", column: "name", constraint: /^one_name$/ },
    {
      extra: ", deployed_by TEXT NOT NULL DEFAULT 'x'",
      after: "ALTER TABLE schema_migrations ALTER COLUMN checksum TYPE varchar(8)",
      two: { checksum: "a-checksum-too-long" },
      problem: "column-type",
      column: null,
    },
    {
      extra: "",
      after:
        "CREATE FUNCTION refuse_two() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.version = 2 THEN RAISE EXCEPTION 'no deploys on Fridays'; END IF; RETURN NEW; END $$; " +
        "CREATE TRIGGER refuse_two BEFORE INSERT ON schema_migrations FOR EACH ROW EXECUTE FUNCTION refuse_two();",
      problem: "trigger",
      column: null,
      constraint: /no deploys on Fridays/,
    },
  ];
  for (const one of cases) {
    await t.test(one.problem, async (t) => {
      const client = await pgWithHistory(t, one.extra, one.after);
      const error = await rejection(() => new PgMigrationManager(client, registry(one.two, "postgres")).up());
      assertRefused(error, { problem: one.problem, column: one.column, version: 2 });
      if (one.constraint) assert.match(String(error.constraint), one.constraint);
      assert.deepEqual(await pgTables(client), ["one", "schema_migrations"]);
      assert.deepEqual(await pgVersions(client), [1]);
    });
  }
});

test("PostgreSQL: a DEFERRABLE INITIALLY DEFERRED UNIQUE or foreign key refuses migration 2's row only at COMMIT: HISTORY_TABLE_INVALID naming the constraint, nothing of 2 kept", async (t) => {
  const cases = [
    { extra: ", CONSTRAINT one_name UNIQUE (name) DEFERRABLE INITIALLY DEFERRED", two: { name: "create_one" }, problem: "unique-constraint", constraint: "one_name" },
    {
      extra: ", CONSTRAINT known_name FOREIGN KEY (name) REFERENCES names (name) DEFERRABLE INITIALLY DEFERRED",
      before: "CREATE TABLE names (name TEXT PRIMARY KEY); INSERT INTO names VALUES ('create_one');",
      problem: "foreign-key",
      constraint: "known_name",
    },
  ];
  for (const one of cases) {
    await t.test(one.problem, async (t) => {
      const client = await connectFresh(t);
      if (one.before) await client.query(one.before);
      await client.query(
        `CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms BIGINT, state TEXT NOT NULL DEFAULT 'applied', owner TEXT${one.extra})`,
      );
      const error = await rejection(() => new PgMigrationManager(client, registry(one.two, "postgres")).up());
      assertRefused(error, { problem: one.problem, version: 2 });
      assert.equal(error.constraint, one.constraint);
      assert.deepEqual(
        (await pgTables(client)).filter((name) => name !== "names"),
        ["one", "schema_migrations"],
      );
      assert.deepEqual(await pgVersions(client), [1]);
    });
  }
});

test("CLI: status --json shows the unfillable column as its problem and exits 1; up --json refuses with the same code and fields", async (t) => {
  const file = path.join(makeTempDir(t), "app.db");
  const db = await openWithAnyDriver(file);
  db.exec(`CREATE TABLE schema_migrations (${COLUMNS}, deployed_by TEXT NOT NULL)`);
  db.close();
  const migrations = registry();
  const args = ["--driver", "better-sqlite3", "--db", file];
  const status = jsonOutput<{ problem: Record<string, unknown> }>(await runInProcess({ migrations }, [...args, "status", "--json"]), 1);
  assertRefused(status.problem, { problem: "not-null-column", column: "deployed_by", version: null });
  assert.match(String(status.problem.fix), /deployed_by/);
  const up = jsonOutput<{ error: Record<string, unknown> }>(await runInProcess({ migrations }, [...args, "up", "--json"]), 1);
  assertRefused(up.error, { problem: "not-null-column", column: "deployed_by", version: null });
  assert.equal(up.error.fix, status.problem.fix);
});
