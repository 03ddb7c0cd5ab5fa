/**
 * The history table is stepwise's: a migration that writes it (a row inserted, updated or deleted, the
 * table dropped, renamed or altered), by its own SQL, its TypeScript body or a trigger it fires, fails
 * with HISTORY_CHANGED_BY_MIGRATION before its COMMIT, and nothing of it is kept; the next `status`
 * reads the history as it was. A `transaction: false` migration that does it fails the same way, its
 * statements before the refused one stay, and the history table is untouched. Once reported applied,
 * such a migration used to leave a history that the next `status` refused.
 *
 * `PRAGMA user_version` is no part of the record (the history table is): a migration may set it, and
 * stepwise's mirror, written in the same transaction, puts the version back. A column a
 * transactional migration adds to the history table is not refused on SQLite: stepwise names the
 * columns it reads and writes, so the record still reads (a `transaction: false` one is checked whole).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MigrationEntry } from "../src/core/types.js";
import { describeEachAsyncDriver, describeEachDriver, skipWithReason, type AsyncTestDatabase, type TestDatabase } from "./support/driver-matrix.js";
import { caught, createItems, rejection, sqlEntry, tsEntry } from "./support/registry-builders.js";

/** Statements that write the history table, by what they do to it. */
const WRITES: ReadonlyArray<readonly [string, string]> = [
  ["a DELETE of another migration's row", "DELETE FROM schema_migrations WHERE version = 1;"],
  ["an UPDATE of a row's checksum", "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1;"],
  [
    "an INSERT of a row for a migration that never ran",
    "INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state) VALUES (99, 'ghost', 'x', '2020-01-01T00:00:00.000Z', 0, 'applied');",
  ],
  ["an INSERT of its own row", "INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state) VALUES (2, 'step_2', 'checksum-2', '2020-01-01T00:00:00.000Z', 0, 'applied');"],
  [
    "a DROP and re-CREATE of the table",
    "DROP TABLE schema_migrations; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER, state TEXT NOT NULL DEFAULT 'applied', owner TEXT);",
  ],
  ["a RENAME of the table", "ALTER TABLE schema_migrations RENAME TO old_history;"],
  ["a RENAME COLUMN on the table", "ALTER TABLE schema_migrations RENAME COLUMN checksum TO digest;"],
  ["a DROP COLUMN on the table", "ALTER TABLE schema_migrations DROP COLUMN checksum;"],
];

function assertHistoryKept(db: TestDatabase, manager: ReturnType<TestDatabase["manager"]>, context: string): void {
  assert.deepEqual(db.rows("SELECT version, checksum, state FROM schema_migrations ORDER BY version"), [{ version: 1, checksum: createItems.checksum, state: "applied" }], `${context}: the history`);
  assert.equal(manager.status().problem, null, `${context}: status reads the history`);
}

await describeEachDriver("a migration that writes the history table", { quickOn: ["better-sqlite3"] }, (h) => {
  for (const [what, sql] of WRITES) {
    test(`SQL: ${what} fails with HISTORY_CHANGED_BY_MIGRATION, rolled back, the history as it was`, () =>
      h.withDatabase((db) => {
        const manager = db.manager([createItems, sqlEntry(2, `CREATE TABLE z (x); ${sql} CREATE TABLE y (x);`)]);
        manager.up({ to: 1 });
        const error = caught(() => manager.up());
        assert.deepEqual(
          { code: error.code, version: error.version, rolledBack: error.rolledBack, table: error.table },
          { code: "HISTORY_CHANGED_BY_MIGRATION", version: 2, rolledBack: true, table: "schema_migrations" },
          String(error.message),
        );
        assert.deepEqual(db.tableNames(), ["items", "schema_migrations"], what);
        assertHistoryKept(db, manager, what);
      }));
  }

  test("a TypeScript body's statement on its connection fails the same way", () =>
    h.withDatabase((db) => {
      const manager = db.manager([createItems, tsEntry(2, { up: (connection) => connection.exec("DELETE FROM schema_migrations") })]);
      manager.up({ to: 1 });
      assert.equal(caught(() => manager.up()).code, "HISTORY_CHANGED_BY_MIGRATION");
      assertHistoryKept(db, manager, "TypeScript");
    }));

  test("a migration that drops the history table and ends stepwise's transaction is TRANSACTION_ESCAPED, for SQL and TypeScript bodies: a drop that stays (committed, or made after the end) is its cause, HISTORY_CHANGED_BY_MIGRATION not rolled back; a drop rolled back, no cause", () =>
    h.withDatabase((db) => {
      const GONE = { causeCode: "HISTORY_CHANGED_BY_MIGRATION", change: "the table dropped or renamed", rolledBack: false, historyChanged: true };
      const NONE = { causeCode: undefined, change: undefined, rolledBack: undefined, historyChanged: undefined };
      for (const [sql, committed, expected] of [
        ["DROP TABLE schema_migrations; ROLLBACK; BEGIN;", ["no"], NONE],
        ["DROP TABLE schema_migrations; COMMIT; BEGIN;", ["yes"], GONE],
        // The drop runs in a transaction of its own, after stepwise's rolled back.
        ["ROLLBACK; DROP TABLE schema_migrations; BEGIN;", ["yes", "unknown"], GONE],
        // Something else under its name is no history table either.
        ["DROP TABLE schema_migrations; CREATE VIEW schema_migrations AS SELECT 1 AS version; COMMIT; BEGIN;", ["yes"], GONE],
      ] as const) {
        for (const body of [sqlEntry(2, sql), tsEntry(2, { up: (connection) => void connection.exec(sql) })]) {
          const left = db.value("SELECT type FROM sqlite_master WHERE name = 'schema_migrations'");
          db.exec(`DROP TABLE IF EXISTS items;${left === undefined ? "" : ` DROP ${String(left).toUpperCase()} schema_migrations;`}`);
          const manager = db.manager([createItems, body]);
          manager.up({ to: 1 });
          const error = caught(() => manager.up());
          const cause = error.cause as { code?: unknown; details?: { change?: unknown; rolledBack?: unknown; historyChanged?: unknown } };
          assert.deepEqual(
            { code: error.code, causeCode: cause?.code, change: cause?.details?.change, rolledBack: cause?.details?.rolledBack, historyChanged: cause?.details?.historyChanged },
            { code: "TRANSACTION_ESCAPED", ...expected },
            `${sql}, ${body.kind}: ${String(error.message)}`,
          );
          assert.ok((committed as readonly string[]).includes(String(error.committed)), `${sql}, ${body.kind}: committed ${String(error.committed)}`);
        }
      }
    }));

  test("a first migration that ends stepwise's transaction on a fresh database, whose history table the rollback takes along, is TRANSACTION_ESCAPED with no cause", () =>
    h.withDatabase((db) => {
      for (const body of [sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY); ROLLBACK; BEGIN;"), tsEntry(1, { up: (connection) => void connection.exec("ROLLBACK; BEGIN;") })]) {
        db.exec("DROP TABLE IF EXISTS items; DROP TABLE IF EXISTS schema_migrations;");
        const error = caught(() => db.manager([body]).up());
        assert.deepEqual({ code: error.code, cause: error.cause }, { code: "TRANSACTION_ESCAPED", cause: undefined }, `${body.kind}: ${String(error.message)}`);
      }
    }));

  test("a trigger an earlier migration made, fired by a later one, fails the later one", () =>
    h.withDatabase((db) => {
      const manager = db.manager([
        createItems,
        sqlEntry(2, "CREATE TABLE audit (x); CREATE TRIGGER audit_wipes AFTER INSERT ON audit BEGIN DELETE FROM schema_migrations; END;"),
        sqlEntry(3, "INSERT INTO audit VALUES (1);"),
      ]);
      manager.up({ to: 2 });
      const error = caught(() => manager.up());
      assert.deepEqual({ code: error.code, version: error.version }, { code: "HISTORY_CHANGED_BY_MIGRATION", version: 3 });
      assert.deepEqual(
        db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
        [1, 2],
      );
      assert.equal(db.value("SELECT count(*) FROM audit"), 0);
    }));

  // SQL that never names the history table still writes it through a foreign key of the table (a column an operator added): its ON DELETE or ON UPDATE action.
  for (const [what, action, write, transaction] of [
    ["ON DELETE CASCADE, by a DELETE of the referenced rows", "ON DELETE CASCADE", "DELETE FROM owners;", true],
    ["ON UPDATE CASCADE, by an UPDATE of the referenced key", "ON UPDATE CASCADE", "UPDATE owners SET id = 2;", true],
    ["ON DELETE SET NULL, by a REPLACE of the referenced row", "ON DELETE SET NULL", "REPLACE INTO owners VALUES (1);", true],
    ["ON DELETE CASCADE, transaction: false", "ON DELETE CASCADE", "DELETE FROM owners;", false],
  ] as const) {
    test(`a foreign key of the history table whose ${what} fails that migration with HISTORY_CHANGED_BY_MIGRATION, the history as it was`, () =>
      h.withDatabase((db) => {
        db.exec("PRAGMA foreign_keys = ON");
        const manager = db.manager([createItems, sqlEntry(2, `CREATE TABLE z (x); ${write} CREATE TABLE y (x);`, { transaction })]);
        manager.up({ to: 1 });
        db.exec(
          `CREATE TABLE owners (id INTEGER PRIMARY KEY); INSERT INTO owners VALUES (1); ALTER TABLE schema_migrations ADD COLUMN tenant INTEGER REFERENCES owners (id) ${action}; UPDATE schema_migrations SET tenant = 1;`,
        );
        const error = caught(() => manager.up());
        assert.deepEqual(
          { code: error.code, version: error.version, rolledBack: error.rolledBack },
          { code: "HISTORY_CHANGED_BY_MIGRATION", version: 2, rolledBack: transaction },
          String(error.message),
        );
        assert.deepEqual(db.rows("SELECT version, state, tenant FROM schema_migrations ORDER BY version"), [
          { version: 1, state: "applied", tenant: 1 },
          ...(transaction ? [] : [{ version: 2, state: "started", tenant: null }]),
        ]);
        assert.deepEqual(db.rows("SELECT id FROM owners"), [{ id: 1 }]);
        assert.deepEqual(db.tableNames(), ["items", "owners", "schema_migrations", ...(transaction ? [] : ["z"])]);
      }));
  }

  // Only a key whose action writes the table makes every body guarded: a column merely named for references, or a key that only refuses, costs the bodies nothing.
  for (const [what, column, guards] of [
    ["a column named references_note, with that word as its default", "references_note TEXT DEFAULT 'references'", 0],
    ["a foreign key with no action (NO ACTION, RESTRICT)", "tenant INTEGER REFERENCES owners (id) ON DELETE RESTRICT", 0],
    ["a foreign key ON DELETE CASCADE", "tenant INTEGER REFERENCES owners (id) ON DELETE CASCADE", 3],
  ] as const) {
    test(`SQL not naming the history table runs with ${guards} guard triggers when the table has ${what}`, () =>
      h.withDatabase((db) => {
        const manager = db.manager([createItems, sqlEntry(2, "CREATE TABLE seen AS SELECT count(*) AS guards FROM sqlite_temp_master WHERE type = 'trigger';")]);
        manager.up({ to: 1 });
        db.exec(`CREATE TABLE owners (id INTEGER PRIMARY KEY); ALTER TABLE schema_migrations ADD COLUMN ${column};`);
        manager.up();
        assert.equal(db.value("SELECT guards FROM seen"), guards);
      }));
  }

  test("a revert whose SQL deletes another migration's row fails, and the revert is rolled back", () =>
    h.withDatabase((db) => {
      const manager = db.manager([createItems, sqlEntry(2, "CREATE TABLE z (x);", { downSql: "DROP TABLE z; DELETE FROM schema_migrations WHERE version = 1;" })]);
      manager.up();
      assert.equal(caught(() => manager.down()).code, "HISTORY_CHANGED_BY_MIGRATION");
      assert.deepEqual(
        db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
        [1, 2],
      );
      assert.deepEqual(db.tableNames(), ["items", "schema_migrations", "z"]);
    }));

  test('up({ transaction: "all" }): the run fails and nothing of it stays', () =>
    h.withDatabase((db) => {
      const manager = db.manager([createItems, sqlEntry(2, "CREATE TABLE z (x);"), sqlEntry(3, "DELETE FROM schema_migrations WHERE version = 2;")]);
      manager.up({ to: 1 });
      assert.equal(caught(() => manager.up({ transaction: "all" })).code, "HISTORY_CHANGED_BY_MIGRATION");
      assertHistoryKept(db, manager, "whole run");
      assert.deepEqual(db.tableNames(), ["items", "schema_migrations"]);
    }));

  test("transaction: false: fails, its statements before the write stay, the history table is untouched and its row stays started", () =>
    h.withDatabase((db) => {
      const manager = db.manager([createItems, sqlEntry(2, "CREATE TABLE z (x); DELETE FROM schema_migrations WHERE version = 1; CREATE TABLE y (x);", { transaction: false })]);
      manager.up({ to: 1 });
      const error = caught(() => manager.up());
      assert.deepEqual({ code: error.code, rolledBack: error.rolledBack, historyChanged: error.historyChanged }, { code: "HISTORY_CHANGED_BY_MIGRATION", rolledBack: false, historyChanged: false });
      assert.deepEqual(db.tableNames(), ["items", "schema_migrations", "z"]);
      assert.deepEqual(db.rows("SELECT version, state FROM schema_migrations ORDER BY version"), [
        { version: 1, state: "applied" },
        { version: 2, state: "started" },
      ]);
    }));

  test("transaction: false: a column added to the table fails it, the column stays, and it says the history table stays changed", () =>
    h.withDatabase((db) => {
      const manager = db.manager([createItems, sqlEntry(2, "ALTER TABLE schema_migrations ADD COLUMN note TEXT;", { transaction: false })]);
      manager.up({ to: 1 });
      const error = caught(() => manager.up());
      assert.deepEqual({ code: error.code, rolledBack: error.rolledBack, historyChanged: error.historyChanged }, { code: "HISTORY_CHANGED_BY_MIGRATION", rolledBack: false, historyChanged: true });
    }));

  test("stepwise's own writes pass: a fresh apply, a revert and a second run, with the guard made and dropped per run", () =>
    h.withDatabase((db) => {
      const manager = db.manager([
        createItems,
        sqlEntry(2, "CREATE TABLE z (x);", { downSql: "DROP TABLE z;" }),
        tsEntry(3, { up: (connection) => connection.exec("CREATE TABLE y (x)"), down: (connection) => connection.exec("DROP TABLE y"), transaction: false }),
      ]);
      assert.equal(manager.up().steps.length, 3);
      manager.down({ to: 1 });
      assert.equal(manager.up({ to: 2 }).steps.length, 1);
      // Nothing of the guard is left on the connection: the app's own writes to the table pass.
      assert.equal(db.value("SELECT count(*) FROM temp.sqlite_master"), 0);
      db.exec("UPDATE schema_migrations SET duration_ms = 1 WHERE version = 1");
    }));

  test("PRAGMA user_version set by a migration is no change to the record: applied, and the mirror puts the version back", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "userVersion")) return;
      const manager = db.manager([createItems, sqlEntry(2, "PRAGMA user_version = 42;")]);
      assert.equal(manager.up().steps.length, 2);
      assert.equal(db.userVersion(), 2);
    }));
});

/** Runs `sql` through whichever connection an async driver's body gets. */
async function runOn(db: unknown, sql: string): Promise<void> {
  const connection = db as { query?: (sql: string) => Promise<unknown>; executeMultiple?: (sql: string) => Promise<unknown> };
  if (typeof connection.executeMultiple === "function") await connection.executeMultiple(sql);
  else await connection.query!(sql);
}

await describeEachAsyncDriver("a migration that writes the history table", { quickOn: ["pg (Pool)", "libsql-client (file:)"] }, (h) => {
  const postgres = h.underTest.dialect === "postgres";
  /** The async suites' history table: pg names its columns' types its own way, so the rows are read loosely. */
  const history = async (db: AsyncTestDatabase) =>
    (await db.rows("SELECT version, checksum, state FROM schema_migrations ORDER BY version")).map((row) => [Number(row.version), row.checksum, row.state]);
  const first = sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);");
  const asyncWrites: ReadonlyArray<readonly [string, string]> = [
    ["a DELETE of another migration's row", "DELETE FROM schema_migrations WHERE version = 1;"],
    ["an UPDATE of a row's checksum", "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1;"],
    [
      "an INSERT of a row for a migration that never ran",
      "INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state) VALUES (99, 'ghost', 'x', '2020-01-01T00:00:00.000Z', 0, 'applied');",
    ],
    ["a RENAME of the table", "ALTER TABLE schema_migrations RENAME TO old_history;"],
    ["a RENAME COLUMN on the table", "ALTER TABLE schema_migrations RENAME COLUMN checksum TO digest;"],
    ...(postgres
      ? ([
          ["a TRUNCATE of the table", "TRUNCATE schema_migrations;"],
          // Every column counts, the optional owner included, and so does the table's storage.
          ["a RENAME COLUMN of owner", "ALTER TABLE schema_migrations RENAME COLUMN owner TO who;"],
          ["a DROP COLUMN of owner", "ALTER TABLE schema_migrations DROP COLUMN owner;"],
          ["an ADD COLUMN", "ALTER TABLE schema_migrations ADD COLUMN extra integer;"],
          ["a rewrite (ALTER COLUMN TYPE)", "ALTER TABLE schema_migrations ALTER COLUMN duration_ms TYPE numeric;"],
          ["a DROP of the table", "DROP TABLE schema_migrations;"],
        ] as const)
      : []),
  ];
  for (const [what, sql] of asyncWrites) {
    test(`SQL: ${what} fails with HISTORY_CHANGED_BY_MIGRATION, rolled back, the history as it was`, () =>
      h.withDatabase(async (db) => {
        const manager = db.manager([first, sqlEntry(2, `CREATE TABLE z (x INTEGER); ${sql} CREATE TABLE y (x INTEGER);`)]);
        await manager.up({ to: 1 });
        const before = await history(db);
        const error = await rejection(() => manager.up());
        assert.deepEqual({ code: error.code, version: error.version, rolledBack: error.rolledBack }, { code: "HISTORY_CHANGED_BY_MIGRATION", version: 2, rolledBack: true }, String(error.message));
        assert.deepEqual(await history(db), before, what);
        assert.deepEqual(await db.tableNames(), ["items", "schema_migrations"]);
        assert.equal((await manager.status()).problem, null);
      }));
  }

  test("SQL that never names the history table but writes it through the table's foreign key (ON DELETE CASCADE) fails the same way", (t) =>
    h.withDatabase(async (db) => {
      // PostgreSQL counts every write of the table, whatever made it (the SQL tests above).
      if (postgres) return skipWithReason(t, "PostgreSQL's guard counts the table's writes, a cascade's too");
      const manager = db.manager([first, sqlEntry(2, "CREATE TABLE z (x INTEGER); DELETE FROM owners; CREATE TABLE y (x INTEGER);")]);
      await manager.up({ to: 1 });
      for (const statement of [
        "CREATE TABLE owners (id INTEGER PRIMARY KEY)",
        "INSERT INTO owners VALUES (1)",
        "ALTER TABLE schema_migrations ADD COLUMN tenant INTEGER REFERENCES owners (id) ON DELETE CASCADE",
        "UPDATE schema_migrations SET tenant = 1",
      ])
        await db.rows(statement);
      const before = await history(db);
      const error = await rejection(() => manager.up());
      assert.deepEqual({ code: error.code, version: error.version, rolledBack: error.rolledBack }, { code: "HISTORY_CHANGED_BY_MIGRATION", version: 2, rolledBack: true }, String(error.message));
      assert.deepEqual(await history(db), before);
      assert.deepEqual(await db.rows("SELECT id FROM owners"), [{ id: 1 }]);
      assert.deepEqual(await db.tableNames(), ["items", "owners", "schema_migrations"]);
    }));

  test("transaction: false: a body longer than the server's statistics interval, writing no history, is applied", (t) =>
    h.withDatabase(async (db) => {
      // PostgreSQL reports a session's pending row counts at most once a second, in the middle of a
      // long body: stepwise's own started row was counted before the body and no longer after it.
      if (!postgres) return skipWithReason(t, "only PostgreSQL reports statistics mid-session");
      const manager = db.manager([first, sqlEntry(2, "SELECT pg_sleep(1.2); CREATE TABLE y (x INTEGER);", { transaction: false })]);
      await manager.up({ to: 1 });
      await manager.up();
      assert.deepEqual(await history(db).then((rows) => rows.map(([version, , state]) => [version, state])), [
        [1, "applied"],
        [2, "applied"],
      ]);
    }));

  test("transaction: false: a body that rewrites what the history says of another migration (its name, when it ran) fails, and says the history is left changed", async (t) => {
    if (!postgres) return skipWithReason(t, "SQLite's guard refuses every write of the table (the tests above)");
    for (const change of ["UPDATE schema_migrations SET name = 'renamed' WHERE version = 1", "UPDATE schema_migrations SET applied_at = '2001-01-01T00:00:00.000Z' WHERE version = 1"])
      await h.withDatabase(async (db) => {
        const manager = db.manager([first, sqlEntry(2, `CREATE TABLE y (x INTEGER); ${change};`, { transaction: false })]);
        await manager.up({ to: 1 });
        const error = await rejection(() => manager.up());
        assert.deepEqual({ code: error.code, version: error.version, rolledBack: error.rolledBack }, { code: "HISTORY_CHANGED_BY_MIGRATION", version: 2, rolledBack: false }, change);
      });
  });

  test("a body that ends stepwise's transaction is TRANSACTION_ESCAPED: no cause after the server's statistics interval, HISTORY_CHANGED_BY_MIGRATION for a drop that stays (committed, or made after the end)", (t) =>
    h.withDatabase(async (db) => {
      // Once the transaction ends, PostgreSQL reports the session's pending row counts (at most once a second), so the guard's counts after differ without any write; the
      // table's storage and columns still tell. The whole run in one transaction makes the count before the body non-zero: migration 2's history row.
      if (!postgres) return skipWithReason(t, "only PostgreSQL's guard reads the session's row counts");
      const pause = "SELECT pg_sleep(1.2);";
      const bodies = (sql: string) => [sqlEntry(3, `${sql};`), { ...tsEntry(3, { up: async (connection) => runOn(connection, sql) }), async: true } as MigrationEntry];
      // The escape guard sees its savepoint gone, not whether the server kept the run's work: a rollback may be "unknown".
      const cases = [
        [`${pause} ROLLBACK`, ["no", "unknown"], undefined],
        [`${pause} COMMIT`, ["yes"], undefined],
        ["DROP TABLE schema_migrations; ROLLBACK", ["no", "unknown"], undefined],
        ["DROP TABLE schema_migrations; COMMIT", ["yes"], "the table dropped or renamed"],
        // Dropped after the transaction ended, so in a transaction of its own: the drop stays, whatever became of stepwise's transaction.
        ["ROLLBACK; DROP TABLE schema_migrations", ["no", "unknown"], "the table dropped or renamed"],
        ["COMMIT; DROP TABLE schema_migrations", ["yes"], "the table dropped or renamed"],
      ] as const;
      for (const [sql, committed, change] of cases) {
        for (const body of bodies(sql)) {
          await db.rows("DROP TABLE IF EXISTS items, z, schema_migrations");
          const manager = db.manager([first, sqlEntry(2, "CREATE TABLE z (x INTEGER);"), body]);
          await manager.up({ to: 1 });
          const error = await rejection(() => manager.up({ transaction: "all" }));
          const cause = error.cause as { code?: unknown; details?: { change?: unknown; rolledBack?: unknown; historyChanged?: unknown } } | undefined;
          // A drop that stays is never reported as rolled back.
          assert.deepEqual(
            {
              code: error.code,
              version: error.version,
              causeCode: cause?.code,
              change: cause?.details?.change,
              rolledBack: cause?.details?.rolledBack,
              historyChanged: cause?.details?.historyChanged,
            },
            { code: "TRANSACTION_ESCAPED", version: 3, causeCode: change && "HISTORY_CHANGED_BY_MIGRATION", change, rolledBack: change && false, historyChanged: change && true },
            `${sql}, ${body.kind}: ${String(error.message)}`,
          );
          assert.ok((committed as readonly string[]).includes(String(error.committed)), `${sql}, ${body.kind}: committed ${String(error.committed)}`);
        }
      }
    }));

  test("a body that ends stepwise's transaction while stepwise's own change to the history table is in it (the table created on a fresh database, the owner column added to an older one) is TRANSACTION_ESCAPED with no cause: the rollback undid that change, not the body", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "savepoints")) return;
      const escaping = (version: number) => [
        sqlEntry(version, "CREATE TABLE z (x INTEGER); ROLLBACK;"),
        { ...tsEntry(version, { up: async (connection) => runOn(connection, "ROLLBACK") }), async: true } as MigrationEntry,
      ];
      for (const [what, olderTable] of [
        ["a fresh database", false],
        ["a history table without the owner column", true],
      ] as const) {
        for (const body of escaping(olderTable ? 2 : 1)) {
          await db.rows("DROP TABLE IF EXISTS items");
          await db.rows("DROP TABLE IF EXISTS z");
          await db.rows("DROP TABLE IF EXISTS schema_migrations");
          const migrations = olderTable ? [first, body] : [body];
          if (olderTable) {
            await db.manager(migrations).up({ to: 1 });
            await db.rows("ALTER TABLE schema_migrations DROP COLUMN owner");
          }
          const error = await rejection(() => db.manager(migrations).up());
          assert.deepEqual(
            { code: error.code, cause: (error.cause as { code?: unknown } | undefined)?.code },
            { code: "TRANSACTION_ESCAPED", cause: undefined },
            `${what}, ${body.kind}: ${String(error.message)}`,
          );
        }
      }
    }));

  test("an async TypeScript body's statement fails the same way", (t) =>
    h.withDatabase(async (db) => {
      // D1 runs no TypeScript migration (atomicBatch); Durable Objects' bodies are synchronous and run in the object.
      if (h.capabilities.atomicBatch || h.underTest.driverName === "durable-objects") return skipWithReason(t, `${h.name} runs no async TypeScript body here`);
      const manager = db.manager([first, { ...tsEntry(2, { up: async (connection) => runOn(connection, "DELETE FROM schema_migrations") }), async: true } as MigrationEntry]);
      await manager.up({ to: 1 });
      assert.equal((await rejection(() => manager.up())).code, "HISTORY_CHANGED_BY_MIGRATION");
      assert.deepEqual(
        (await history(db)).map(([version]) => version),
        [1],
      );
    }));
});
