/**
 * A history write that writes nothing is a failure, on every driver (sync and async) and every path
 * that writes the history: a trigger on the history table that discards the row (`RAISE(IGNORE)` on
 * SQLite; a BEFORE trigger returning NULL or a `DO INSTEAD NOTHING` rule on PostgreSQL) fails that
 * migration inside its transaction, which rolls back whole, instead of reporting it applied and
 * running it again on the next `up`. Covered: the run of SQL migrations (`sql-run.ts`), the strategy,
 * pg's one-message path, D1's atomic batch, `transaction: "all"`, a `transaction: false` migration's
 * started row (refused before its body runs), and `baseline`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { baselineDatabase } from "../src/safety/index.js";
import { describeEachAsyncDriver, describeEachDriver, skipWithReason, type AsyncDriverHarness } from "./support/driver-matrix.js";
import { caught, namedSqlEntry, rejection } from "./support/registry-builders.js";
import { factsOf } from "./support/stepwise-failure.js";

/** The history table's trigger that discards version 3's row, as each dialect writes it. */
const DISCARD_THREE = {
  sqlite: "CREATE TRIGGER discard_three BEFORE INSERT ON schema_migrations WHEN NEW.version = 3 BEGIN SELECT RAISE(IGNORE); END;",
  postgresTrigger:
    "CREATE FUNCTION discard_three() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.version = 3 THEN RETURN NULL; END IF; RETURN NEW; END $$; " +
    "CREATE TRIGGER discard_three BEFORE INSERT ON schema_migrations FOR EACH ROW EXECUTE FUNCTION discard_three();",
  postgresRule: "CREATE RULE discard_three AS ON INSERT TO schema_migrations WHERE NEW.version = 3 DO INSTEAD NOTHING;",
} as const;

/** How each dialect drops it again (the fix the error names). */
const DROP_DISCARD = {
  sqlite: "DROP TRIGGER discard_three",
  postgresTrigger: "DROP TRIGGER discard_three ON schema_migrations",
  postgresRule: "DROP RULE discard_three ON schema_migrations",
} as const;

type Discard = keyof typeof DISCARD_THREE;

/**
 * The reproduction: 1 creates `ran`, 2 installs the discarding trigger, 3 only logs itself; each logs
 * itself in `ran`, so a migration applied twice shows twice. `three` overrides migration 3.
 */
function registry(discard: Discard, three: Partial<MigrationEntry> = {}): MigrationRegistry {
  return [
    namedSqlEntry(1, "create_ran", "CREATE TABLE ran (v INTEGER); INSERT INTO ran VALUES (1);"),
    namedSqlEntry(2, "discard_three", `${DISCARD_THREE[discard]} INSERT INTO ran VALUES (2);`),
    namedSqlEntry(3, "log_three", "INSERT INTO ran VALUES (3);", null, three as never),
  ];
}

/** What every failed attempt at migration 3 must be: its failure, rolled back, the cause naming the table and the fix. */
function assertDiscardedFailure(error: Record<string, unknown>, migrations: MigrationRegistry): void {
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.version, 3);
  assert.equal(error.file, migrations[2]!.file);
  assert.equal(error.direction, "up");
  assert.equal(error.rolledBack, true);
  const cause = error.cause as Error & Record<string, unknown>;
  assert.ok(cause instanceof Error);
  assert.equal(cause.code, "HISTORY_ROW_DISCARDED");
  assert.equal(cause.table, "schema_migrations");
  assert.equal(cause.version, 3);
  assert.equal(cause.operation, "insert");
}

/** The history table's trigger (or rule) that discards the DELETE of version 3's row, as each dialect writes it. */
const KEEP_THREE = {
  sqlite: "CREATE TRIGGER keep_three BEFORE DELETE ON schema_migrations WHEN OLD.version = 3 BEGIN SELECT RAISE(IGNORE); END;",
  postgresTrigger:
    "CREATE FUNCTION keep_three() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF OLD.version = 3 THEN RETURN NULL; END IF; RETURN OLD; END $$; " +
    "CREATE TRIGGER keep_three BEFORE DELETE ON schema_migrations FOR EACH ROW EXECUTE FUNCTION keep_three();",
  postgresRule: "CREATE RULE keep_three AS ON DELETE TO schema_migrations WHERE OLD.version = 3 DO INSTEAD NOTHING;",
} as const;

/** 1 creates `ran`, 2 and 3 log themselves; 3's down removes its line, so a revert that was kept shows. */
function revertibleRegistry(): MigrationRegistry {
  return [
    namedSqlEntry(1, "create_ran", "CREATE TABLE ran (v INTEGER); INSERT INTO ran VALUES (1);"),
    namedSqlEntry(2, "log_two", "INSERT INTO ran VALUES (2);"),
    namedSqlEntry(3, "log_three", "INSERT INTO ran VALUES (3);", "DELETE FROM ran WHERE v = 3;"),
  ];
}

/**
 * What a revert of migration 3 whose history DELETE was discarded must be: its failure, rolled back.
 * The cause is HISTORY_ROW_DISCARDED where the driver can tell (D1's batch checks the row is gone)
 * and HISTORY_ROW_MISSING where the DELETE's count is all it has; either way nothing of the revert stays.
 */
function assertDiscardedRevert(error: Record<string, unknown>, migrations: MigrationRegistry): void {
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.version, 3);
  assert.equal(error.file, migrations[2]!.file);
  assert.equal(error.direction, "down");
  assert.equal(error.rolledBack, true);
  const cause = factsOf(error.cause);
  assert.ok(["HISTORY_ROW_DISCARDED", "HISTORY_ROW_MISSING"].includes(String(cause.code)), `cause ${String(cause.code)}`);
  assert.equal(cause.version, 3);
  // Both causes name the table and the write; HISTORY_ROW_MISSING keeps its fields (its message names
  // a trigger or rule as well as another process, since its count cannot tell them apart).
  assert.equal(cause.table, "schema_migrations");
  assert.equal(cause.operation, "delete");
  if (cause.code === "HISTORY_ROW_MISSING") {
    assert.equal(cause.file, null);
    assert.equal(cause.direction, null);
    assert.equal(cause.restoredStartedRow, false);
  }
}

const versionsOf = (rows: readonly Record<string, unknown>[], column: string) => rows.map((row) => Number(row[column]));

await describeEachDriver("a history write that writes nothing fails the migration", { quickOn: ["better-sqlite3"] }, (h) => {
  test("a trigger discarding migration 3's row: up fails it rolled back, again on the next up; nothing runs twice; dropping the trigger applies it once", () =>
    h.withDatabase((db) => {
      const migrations = registry("sqlite");
      const check = () => {
        assert.deepEqual(versionsOf(db.rows("SELECT v FROM ran ORDER BY rowid"), "v"), [1, 2]);
        assert.deepEqual(versionsOf(db.rows("SELECT version FROM schema_migrations ORDER BY version"), "version"), [1, 2]);
        if (h.capabilities.userVersion) assert.equal(db.userVersion(), 2);
      };
      assertDiscardedFailure(
        caught(() => db.manager(migrations).up()),
        migrations,
      );
      check();
      assertDiscardedFailure(
        caught(() => db.manager(migrations).up()),
        migrations,
      );
      check();
      db.exec(DROP_DISCARD.sqlite);
      assert.deepEqual(
        db
          .manager(migrations)
          .up()
          .steps.map((step) => step.version),
        [3],
      );
      assert.deepEqual(versionsOf(db.rows("SELECT v FROM ran ORDER BY rowid"), "v"), [1, 2, 3]);
    }));

  test('under transaction: "all" the whole run rolls back', () =>
    h.withDatabase((db) => {
      const migrations = registry("sqlite");
      assertDiscardedFailure(
        caught(() => db.manager(migrations).up({ transaction: "all" })),
        migrations,
      );
      assert.deepEqual(db.tableNames(), []);
      if (h.capabilities.userVersion) assert.equal(db.userVersion(), 0);
    }));

  test("a transaction: false migration whose started row is discarded is refused before its body runs", () =>
    h.withDatabase((db) => {
      const migrations = registry("sqlite", { transaction: false });
      assertDiscardedFailure(
        caught(() => db.manager(migrations).up()),
        migrations,
      );
      assert.deepEqual(versionsOf(db.rows("SELECT v FROM ran ORDER BY rowid"), "v"), [1, 2]);
      assert.deepEqual(versionsOf(db.rows("SELECT version FROM schema_migrations ORDER BY version"), "version"), [1, 2]);
    }));

  test("a trigger discarding the DELETE of migration 3's row: down fails it rolled back, twice; the revert and the row both stay", () =>
    h.withDatabase((db) => {
      const migrations = revertibleRegistry();
      db.manager(migrations).up();
      db.exec(KEEP_THREE.sqlite);
      const check = () => {
        assert.deepEqual(versionsOf(db.rows("SELECT v FROM ran ORDER BY rowid"), "v"), [1, 2, 3]);
        assert.deepEqual(versionsOf(db.rows("SELECT version FROM schema_migrations ORDER BY version"), "version"), [1, 2, 3]);
        if (h.capabilities.userVersion) assert.equal(db.userVersion(), 3);
      };
      assertDiscardedRevert(
        caught(() => db.manager(migrations).down({ to: 2 })),
        migrations,
      );
      check();
      assertDiscardedRevert(
        caught(() => db.manager(migrations).down({ to: 2 })),
        migrations,
      );
      check();
    }));

  test("baseline fails and records nothing when a row is discarded", () =>
    h.withDatabase((db) => {
      db.exec("CREATE TABLE ran (v INTEGER)");
      db.exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER, state TEXT NOT NULL DEFAULT 'applied', owner TEXT)",
      );
      db.exec(DISCARD_THREE.sqlite);
      const migrations: MigrationRegistry = [namedSqlEntry(1, "create_ran", "CREATE TABLE ran (v INTEGER);"), namedSqlEntry(2, "two", "SELECT 1;"), namedSqlEntry(3, "three", "SELECT 1;")];
      const error = caught(() => baselineDatabase(db.manager(migrations), 3, { dangerouslyForce: true }));
      assert.ok(error instanceof Error);
      assert.equal((error as Error & { code?: string }).code, "HISTORY_ROW_DISCARDED");
      assert.equal((error as Error & { operation?: string }).operation, "insert");
      assert.deepEqual(db.rows("SELECT version FROM schema_migrations"), []);
    }));
});

/** The discarding kinds a dialect has: PostgreSQL's trigger and its rule, SQLite's trigger. */
function discardsOf(h: AsyncDriverHarness): Discard[] {
  return h.underTest.dialect === "postgres" ? ["postgresTrigger", "postgresRule"] : ["sqlite"];
}

/**
 * Each async test's limit. Before the fix, D1 (no change counter: it re-reads the history for every
 * migration) found a migration whose row the trigger kept still to do, and applied or reverted it
 * again, for ever: a regression must fail here, not hang the suite.
 */
const NO_HANG = { timeout: 120_000 };

await describeEachAsyncDriver("a history write that writes nothing fails the migration (async)", { quickOn: ["pg (Pool)"] }, (h) => {
  for (const discard of discardsOf(h)) {
    test(`${discard}: up fails migration 3 rolled back, again on the next up; nothing runs twice; dropping it applies 3 once`, NO_HANG, () =>
      h.withDatabase(async (db) => {
        const migrations = registry(discard);
        const check = async () => {
          assert.deepEqual(versionsOf(await db.rows("SELECT v FROM ran"), "v").sort(), [1, 2]);
          assert.deepEqual(versionsOf(await db.rows("SELECT version FROM schema_migrations ORDER BY version"), "version"), [1, 2]);
          if (h.capabilities.userVersion) assert.equal(await db.value("PRAGMA user_version"), 2);
        };
        assertDiscardedFailure(await rejection(() => db.migrate(migrations)), migrations);
        await check();
        assertDiscardedFailure(await rejection(() => db.migrate(migrations)), migrations);
        await check();
        await db.rows(DROP_DISCARD[discard]);
        assert.deepEqual(
          (await db.migrate(migrations)).steps.map((step) => step.version),
          [3],
        );
        assert.deepEqual(versionsOf(await db.rows("SELECT v FROM ran"), "v").sort(), [1, 2, 3]);
      }),
    );

    test(`${discard}: under transaction: "all" the whole run rolls back`, NO_HANG, (t) => {
      if (h.capabilities.atomicBatch) return skipWithReason(t, `${h.name} declares atomicBatch: one batch per migration, so transaction: "all" is refused before anything runs`);
      return h.withDatabase(async (db) => {
        const migrations = registry(discard);
        assertDiscardedFailure(await rejection(() => db.migrate(migrations, { transaction: "all" })), migrations);
        assert.deepEqual(await db.tableNames(), []);
      });
    });

    test(`${discard}: a transaction: false migration whose started row is discarded is refused before its body runs`, NO_HANG, () =>
      h.withDatabase(async (db) => {
        const migrations = registry(discard, { transaction: false });
        assertDiscardedFailure(await rejection(() => db.migrate(migrations)), migrations);
        assert.deepEqual(versionsOf(await db.rows("SELECT v FROM ran"), "v").sort(), [1, 2]);
        assert.deepEqual(versionsOf(await db.rows("SELECT version FROM schema_migrations ORDER BY version"), "version"), [1, 2]);
      }),
    );

    test(`${discard}: a discarded DELETE of migration 3's row fails its revert rolled back, twice; the revert and the row both stay`, NO_HANG, () =>
      h.withDatabase(async (db) => {
        const migrations = revertibleRegistry();
        await db.migrate(migrations);
        await db.rows(KEEP_THREE[discard]);
        const check = async () => {
          assert.deepEqual(versionsOf(await db.rows("SELECT v FROM ran"), "v").sort(), [1, 2, 3]);
          assert.deepEqual(versionsOf(await db.rows("SELECT version FROM schema_migrations ORDER BY version"), "version"), [1, 2, 3]);
          if (h.capabilities.userVersion) assert.equal(await db.value("PRAGMA user_version"), 3);
        };
        assertDiscardedRevert(await rejection(() => db.manager(migrations).down({ to: 2 })), migrations);
        await check();
        assertDiscardedRevert(await rejection(() => db.manager(migrations).down({ to: 2 })), migrations);
        await check();
      }),
    );
  }
});
