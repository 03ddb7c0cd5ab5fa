/**
 * `context.forEachBatch` under keys that do not match the rows: every case either visits every row
 * exactly once, or throws BATCH_KEY_INVALID and leaves the database as it was (a SQLite file byte for
 * byte). Each walk runs as a real migration through the manager on a real database, on every driver
 * available here, sync and async (pg on a real server, libsql-client on a file and on sqld), so each
 * driver's walk is exercised; handlers write through the driver's own `run`, or, on an async driver,
 * through the connection the walk hands them. Cases written in SQLite's SQL alone skip on PostgreSQL,
 * naming it.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test, type TestContext } from "node:test";
import type { BatchOptions, MigrationContext, MigrationEntry, MigrationManagerProps, StepwiseError } from "./support/stepwise.js";
import type { AsyncMigrationContext } from "../src/core/async-batches.js";
import { availableDrivers, describeEachAsyncDriver, describeEachDriver, harnessOf, skipWithReason, type AsyncDriverHarness, type DriverHarness, type TestDatabase } from "./support/driver-matrix.js";
import { makeTempDir, readBytes } from "./support/project.js";
import { factsOf } from "./support/stepwise-failure.js";

interface WalkCase {
  /** Creates and fills the tables; it runs as migration 1, so the database is managed. */
  readonly setup: string;
  readonly options: BatchOptions;
  /** The table the handler marks rows in, by the walk's key; default `options.table`. */
  readonly markTable?: string;
  /** The mark table as SQL, unquoted, when a name alone cannot say it (a schema-qualified table). */
  readonly markTableSql?: string;
  /** The column to find a visited row by; default `options.key ?? "id"`. */
  readonly markColumn?: string;
  /** Runs after each batch is marked, to misbehave like a real handler might; `write` runs SQL where the handler writes. */
  readonly afterBatch?: (write: Write, rows: Record<string, unknown>[]) => unknown;
  /** `false`: migration 2 runs outside a transaction, so each batch gets its own. Default `true`. */
  readonly transaction?: boolean;
  /** Receives the manager's progress events (reported without throttling). */
  readonly onProgress?: (done: number, total: number | null) => void;
}

/** Runs one statement (`?` placeholders) where a batch handler writes: the driver's `run`, or the connection an async walk hands it. */
type Write = (sql: string, params?: readonly unknown[]) => unknown;

/** What a walk left: its error, the version reached, the rows handed over, and reads of the database after it. */
interface WalkResult {
  readonly error: StepwiseError | null;
  readonly version: number;
  readonly seen: Record<string, unknown>[];
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** Asserts the database is as it was before the walk (sync: byte for byte; async: schema and rows). */
  assertUnchanged(): Promise<void>;
}

/** A driver the walks run on: a sync driver of the matrix, or an async one. */
interface WalkTarget {
  /** The SQL dialect of the driver: a case written in SQLite's SQL only (rowid, WITHOUT ROWID, NOCASE) skips on PostgreSQL, naming it. */
  readonly dialect: "sqlite" | "postgres";
  /** True when the connection reads integers as JavaScript numbers and throws past 2^53 (@libsql/client's default intMode "number"). */
  readonly throwsPast2to53: boolean;
  run(t: TestContext, walk: WalkCase): Promise<WalkResult>;
}

const sqlEntry = (setup: string): MigrationEntry => ({
  kind: "sql",
  version: 1,
  name: "setup",
  file: "migrations/001_setup.sql",
  description: null,
  checksum: "setup",
  reversible: false,
  transaction: true,
  disableForeignKeys: false,
  upSql: setup,
  downSql: null,
});

/** How a target's migration body walks: it calls `forEachBatch` and hands each batch to `visit` with where to write. */
type WalkBody = (context: MigrationContext, visit: (rows: Record<string, unknown>[], write: Write) => unknown) => unknown;

/**
 * Migration 2: walks with the case's options and marks each row it is handed in `touched`, through
 * `write`. `async`: the visit awaits each write (an async driver's handler); otherwise it runs them
 * in line, as a sync handler must.
 */
function walkEntry(walk: WalkCase, seen: Record<string, unknown>[], async: boolean, body: WalkBody): MigrationEntry {
  const key = walk.options.key ?? "id";
  const markTable = walk.markTable ?? walk.options.table;
  const markColumn = walk.markColumn ?? key;
  const mark = `UPDATE ${walk.markTableSql ?? `"${markTable.replace(/"/g, '""')}"`} SET touched = touched + 1 WHERE ${markColumn} = ?`;
  const visit = async (rows: Record<string, unknown>[], write: Write) => {
    for (const row of rows) {
      seen.push({ ...row });
      await write(mark, [row[key]]);
    }
    await walk.afterBatch?.(write, rows);
  };
  const visitSync = (rows: Record<string, unknown>[], write: Write) => {
    for (const row of rows) {
      seen.push({ ...row });
      write(mark, [row[key]]);
    }
    walk.afterBatch?.(write, rows);
  };
  return {
    kind: "ts",
    version: 2,
    name: "walk",
    file: "migrations/002_walk.ts",
    description: null,
    checksum: "walk",
    reversible: false,
    transaction: walk.transaction ?? true,
    disableForeignKeys: false,
    module: { up: (_native: unknown, context: MigrationContext) => body(context, async ? visit : visitSync) },
  };
}

/** A sync driver: migration 1 applied, the file closed and read, then the walk run on a new connection. */
function syncTarget(h: DriverHarness, open?: (file: string) => Promise<TestDatabase>): WalkTarget {
  return {
    dialect: "sqlite",
    throwsPast2to53: false,
    run: async (t, walk) => {
      const file = path.join(makeTempDir(t), "walk.db");
      const db = await (open ?? h.open)(file);
      t.after(() => db.close());
      const seen: Record<string, unknown>[] = [];
      // The handler writes through the driver's own `run`, on the connection that walks.
      const body: WalkBody = (context, visit) => context.forEachBatch(walk.options, (rows) => void visit(rows, (sql, params = []) => walking.driver.run(sql, params)));
      db.manager([sqlEntry(walk.setup), walkEntry(walk, seen, false, body)]).up({ to: 1 });
      db.close();
      const before = readBytes(file);
      const walking = await (open ?? h.open)(file);
      t.after(() => walking.close());
      const manager = walking.manager([sqlEntry(walk.setup), walkEntry(walk, seen, false, body)], progressProps(walk));
      let error: StepwiseError | null = null;
      try {
        manager.up();
      } catch (caught) {
        error = caught as StepwiseError;
      }
      const version = manager.currentVersion();
      return {
        error,
        version,
        seen,
        rows: async (sql) => walking.rows(sql),
        assertUnchanged: async () => {
          walking.close();
          assert.deepEqual(readBytes(file), before, "the file changed");
        },
      };
    },
  };
}

/** An async driver: the handler is async and writes through the connection the walk hands it. */
function asyncTarget(h: AsyncDriverHarness): WalkTarget {
  return {
    dialect: h.underTest.dialect,
    throwsPast2to53: h.underTest.driverName === "libsql-client",
    run: (t, walk) =>
      new Promise<WalkResult>((resolve, reject) => {
        // The database lives until the test ends: its reads come after run() returns.
        h.withDatabase(async (db) => {
          const seen: Record<string, unknown>[] = [];
          const body: WalkBody = (context, visit) =>
            (context as unknown as AsyncMigrationContext).forEachBatch(walk.options, async (rows, connection) => {
              await visit(rows, (sql, params = []) => h.underTest.execOn(connection, sql, params));
            });
          const migrations = [sqlEntry(walk.setup), walkEntry(walk, seen, true, body)];
          await db.manager(migrations).up({ to: 1 });
          const before = await db.snapshot();
          const manager = db.manager(migrations, progressProps(walk));
          let error: StepwiseError | null = null;
          try {
            await manager.up();
          } catch (caught) {
            error = caught as StepwiseError;
          }
          const version = await manager.currentVersion();
          const done = new Promise<void>((finish) => t.after(() => finish()));
          resolve({ error, version, seen, rows: (sql) => db.rows(sql), assertUnchanged: async () => assert.deepEqual(await db.snapshot(), before, "the database changed") });
          await done;
        }).catch(reject);
      }),
  };
}

/** The manager's settings that hand progress events to the case. */
function progressProps(walk: WalkCase): MigrationManagerProps & Record<string, unknown> {
  const { onProgress } = walk;
  if (onProgress === undefined) return {};
  return { progressIntervalMs: 0, onEvent: (event) => (event.type === "progress" ? onProgress(event.done, event.total) : undefined) };
}

/** Asserts the walk handed every row of `table` to the handler exactly once, and was recorded. */
async function assertEveryRowVisitedOnce(result: WalkResult, table: string, rowCount: number): Promise<void> {
  assert.equal(result.error, null, result.error?.message);
  assert.equal(result.version, 2);
  const counts = await result.rows(`SELECT touched, count(*) AS n FROM "${table.replace(/"/g, '""')}" GROUP BY touched`);
  assert.deepEqual(
    counts.map((row) => [Number(row.touched), Number(row.n)]),
    [[1, rowCount]],
  );
}

/** Asserts the walk was refused with BATCH_KEY_INVALID and the database is as it was before. */
async function assertRefusedUnchanged(result: WalkResult, problem: string, { duringWalk = false } = {}): Promise<void> {
  assert.ok(result.error, "the walk was not refused");
  // What the database held when the walk started is refused before any batch, so a transaction: false migration keeps nothing either.
  if (!duringWalk) assert.equal(result.seen.length, 0, `the refusal came after ${result.seen.length} rows were handed to the handler`);
  assert.equal(result.error.code, "BATCH_KEY_INVALID", result.error.message);
  const fields = factsOf(result.error) as unknown as StepwiseError & { problem: string; version: number | null; file: string | null };
  assert.equal(fields.problem, problem, result.error.message);
  assert.equal(fields.version, 2);
  assert.equal(fields.file, "migrations/002_walk.ts");
  assert.equal(result.version, 1, "the migration was recorded as applied");
  await result.assertUnchanged();
}

/** The ids of `table` whose `touched` is `touched`, in order. */
async function idsTouched(result: WalkResult, table: string, touched: number): Promise<number[]> {
  return (await result.rows(`SELECT id FROM ${table} WHERE touched = ${touched} ORDER BY id`)).map((row) => Number(row.id));
}

/** `count` rows `(1..count)` in `table`, which the setup declared with a `touched` column. */
const fill = (table: string, columns: string, count: number, row: (i: number) => string) =>
  `INSERT INTO ${table} (${columns}) VALUES ${Array.from({ length: count }, (_, i) => `(${row(i + 1)})`).join(", ")};`;

/**
 * `true`, after skipping `t` with the reason, when the case is written in SQLite's SQL (rowid,
 * WITHOUT ROWID, a collation) and the driver's dialect is PostgreSQL.
 */
function sqliteOnly(target: WalkTarget, t: TestContext, what: string): boolean {
  if (target.dialect === "sqlite") return false;
  skipWithReason(t, `${what} is SQLite's; the driver's dialect is ${target.dialect}`);
  return true;
}

/** As {@link sqliteOnly}, for a case only PostgreSQL's types or name rules make (a quoted name, a column type). */
function postgresOnly(target: WalkTarget, t: TestContext, what: string): boolean {
  if (target.dialect === "postgres") return false;
  skipWithReason(t, `${what} is PostgreSQL's; the driver's dialect is ${target.dialect}`);
  return true;
}

/** The walks, declared once for `target`. */
function declareWalkTests(target: WalkTarget): void {
  describe("forEachBatch visits every row whatever the key's spelling", () => {
    test("a column declared ID, walked with the default key id", async (t) => {
      const result = await target.run(t, {
        setup: `CREATE TABLE people (ID INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("people", "ID", 25, String)}`,
        options: { table: "people", batchSize: 4 },
      });
      await assertEveryRowVisitedOnce(result, "people", 25);
      // Rows carry the key under the spelling the migration asked for.
      assert.deepEqual(
        result.seen.map((row) => row.id),
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
    });

    test("a text key declared Code, walked as code with columns that leave it out and spell another column differently", async (t) => {
      const result = await target.run(t, {
        setup: `CREATE TABLE items (Code TEXT NOT NULL UNIQUE, Label TEXT, touched INTEGER NOT NULL DEFAULT 0); ${fill("items", "Code, Label", 12, (i) => `'c${String(i).padStart(2, "0")}', 'l${i}'`)}`,
        options: { table: "ITEMS", key: "code", columns: ["label"], batchSize: 5 },
        markTable: "items",
      });
      await assertEveryRowVisitedOnce(result, "items", 12);
      assert.deepEqual(Object.keys(result.seen[0]!).sort(), ["code", "label"]);
      assert.equal(result.seen[0]!.label, "l1");
    });

    for (const alias of ["rowid", "ROWID", "oid", "_rowid_"]) {
      test(`key "${alias}" without columns, on a table whose INTEGER PRIMARY KEY aliases the rowid`, async (t) => {
        if (sqliteOnly(target, t, `the rowid alias ${alias}`)) return;
        const result = await target.run(t, {
          setup: `CREATE TABLE events (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("events", "id", 11, (i) => String(i * 3))}`,
          options: { table: "events", key: alias, batchSize: 3 },
        });
        await assertEveryRowVisitedOnce(result, "events", 11);
        assert.deepEqual(
          result.seen.map((row) => row[alias]),
          Array.from({ length: 11 }, (_, i) => (i + 1) * 3),
        );
      });
    }

    test(`key "rowid" with columns, on a table without an INTEGER PRIMARY KEY`, async (t) => {
      if (sqliteOnly(target, t, "the rowid")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE notes (body TEXT, touched INTEGER NOT NULL DEFAULT 0); ${fill("notes", "body", 9, (i) => `'n${i}'`)}`,
        options: { table: "notes", key: "rowid", columns: ["body"], batchSize: 2 },
      });
      await assertEveryRowVisitedOnce(result, "notes", 9);
    });

    test("a table name that needs quoting", async (t) => {
      const result = await target.run(t, {
        setup: `CREATE TABLE "order ""items"" 2" (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill(`"order ""items"" 2"`, "id", 7, String)}`,
        options: { table: 'order "items" 2', batchSize: 2 },
      });
      await assertEveryRowVisitedOnce(result, 'order "items" 2', 7);
    });

    test('a schema-qualified table, app.items, and a table literally named "Mixed.Name"', async (t) => {
      if (postgresOnly(target, t, "a schema outside the search_path")) return;
      const result = await target.run(t, {
        setup:
          `CREATE SCHEMA app; CREATE TABLE app.items (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("app.items", "id", 5, String)} ` +
          `CREATE TABLE "Mixed.Name" (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill(`"Mixed.Name"`, "id", 3, String)}`,
        options: { table: "APP.Items", batchSize: 2 },
        markTableSql: "app.items",
      });
      assert.equal(result.error, null, result.error?.message);
      assert.deepEqual(await idsTouched(result, "app.items", 1), [1, 2, 3, 4, 5]);
      const dotted = await target.run(t, {
        setup: `CREATE TABLE "Mixed.Name" (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill(`"Mixed.Name"`, "id", 3, String)}`,
        options: { table: "Mixed.Name", batchSize: 2 },
      });
      await assertEveryRowVisitedOnce(dotted, "Mixed.Name", 3);
      // A schema that does not exist is the typed refusal, not an error that aborts the transaction.
      const missing = await target.run(t, {
        setup: `CREATE TABLE items (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("items", "id", 2, String)}`,
        options: { table: "nope.items" },
        markTable: "items",
      });
      await assertRefusedUnchanged(missing, "no-such-table");
    });

    test("a view walked by one of its columns", async (t) => {
      const result = await target.run(t, {
        setup:
          `CREATE TABLE accounts (id INTEGER PRIMARY KEY, active INTEGER, touched INTEGER NOT NULL DEFAULT 0); ` +
          `${fill("accounts", "id, active", 10, (i) => `${i}, ${i % 2}`)} CREATE VIEW active_accounts AS SELECT id AS Account FROM accounts WHERE active = 1;`,
        options: { table: "active_accounts", key: "account", batchSize: 2 },
        markTable: "accounts",
        markColumn: "id",
      });
      assert.equal(result.error, null, result.error?.message);
      assert.deepEqual(await idsTouched(result, "accounts", 1), [1, 3, 5, 7, 9]);
    });

    test("an empty table: no batch, and the migration is applied", async (t) => {
      const result = await target.run(t, { setup: "CREATE TABLE empty (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0);", options: { table: "empty" } });
      assert.equal(result.error, null, result.error?.message);
      assert.equal(result.version, 2);
      assert.equal(result.seen.length, 0);
    });
  });

  describe("forEachBatch refuses a key it cannot walk, before writing anything", () => {
    test("a key the table does not have", async (t) => {
      const result = await target.run(t, {
        setup: `CREATE TABLE people (person_id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("people", "person_id", 5, String)}`,
        options: { table: "people", batchSize: 2 },
        markColumn: "person_id",
      });
      await assertRefusedUnchanged(result, "no-such-column");
      assert.deepEqual((factsOf(result.error) as unknown as { columns: string[] }).columns, ["person_id", "touched"]);
    });

    test("a table that does not exist", async (t) => {
      const result = await target.run(t, { setup: "CREATE TABLE people (id INTEGER PRIMARY KEY, touched INTEGER);", options: { table: "persons" }, markTable: "people" });
      await assertRefusedUnchanged(result, "no-such-table");
      // A missing table is no reason a walk would skip rows: the detail ends its own sentence.
      assert.match(result.error!.message, /there is no such table or view[^.,;]*\. /);
    });

    test("rowid on a WITHOUT ROWID table", async (t) => {
      if (sqliteOnly(target, t, "WITHOUT ROWID")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE tags (name TEXT PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID; ${fill("tags", "name", 5, (i) => `'t${i}'`)}`,
        options: { table: "tags", key: "rowid" },
        markColumn: "name",
      });
      await assertRefusedUnchanged(result, "no-rowid");
    });

    test("rowid on a view", async (t) => {
      if (sqliteOnly(target, t, "the rowid alias oid")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE base (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("base", "id", 5, String)} CREATE VIEW everything AS SELECT * FROM base;`,
        options: { table: "everything", key: "oid" },
        markTable: "base",
        markColumn: "id",
      });
      await assertRefusedUnchanged(result, "no-rowid");
    });

    test("a NULL key in one row", async (t) => {
      const result = await target.run(t, {
        setup: `CREATE TABLE people (external_id INTEGER, touched INTEGER NOT NULL DEFAULT 0); ${fill("people", "external_id", 8, (i) => (i === 8 ? "NULL" : String(i)))}`,
        options: { table: "people", key: "external_id", batchSize: 3 },
      });
      await assertRefusedUnchanged(result, "null-key");
    });

    test("a key shared by rows that a batch boundary would split", async (t) => {
      const result = await target.run(t, {
        setup: `CREATE TABLE people (team INTEGER NOT NULL, touched INTEGER NOT NULL DEFAULT 0); ${fill("people", "team", 9, (i) => String(Math.ceil(i / 3)))}`,
        options: { table: "people", key: "team", batchSize: 2 },
      });
      await assertRefusedUnchanged(result, "duplicate-key");
    });

    test("text keys equal under the column's collation", async (t) => {
      if (sqliteOnly(target, t, "COLLATE NOCASE")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE people (email TEXT COLLATE NOCASE, touched INTEGER NOT NULL DEFAULT 0); INSERT INTO people (email) VALUES ('a@x'), ('A@X'), ('b@x');`,
        options: { table: "people", key: "email", batchSize: 1 },
      });
      await assertRefusedUnchanged(result, "duplicate-key");
    });

    test("a duplicate key the handler adds during the walk rolls the whole migration back", async (t) => {
      const result = await target.run(t, {
        setup: `CREATE TABLE people (team INTEGER NOT NULL, touched INTEGER NOT NULL DEFAULT 0); ${fill("people", "team", 6, String)}`,
        options: { table: "people", key: "team", batchSize: 2 },
        afterBatch: (write, rows) => write("INSERT INTO people (team) VALUES (?)", [rows.at(-1)!.team]),
      });
      await assertRefusedUnchanged(result, "duplicate-key", { duringWalk: true });
    });

    test("integer keys beyond 2^53, which a JavaScript number cannot page past exactly", async (t) => {
      if (sqliteOnly(target, t, "an INTEGER column holding a 64-bit key")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE big (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("big", "id", 6, (i) => `9007199254740990 + ${i}`)}`,
        options: { table: "big", batchSize: 2 },
      });
      await assertRefusedUnchanged(result, "unsafe-integer");
    });
  });

  describe("forEachBatch refuses what the table holds when it starts before the first batch, so a transaction: false migration keeps nothing either", () => {
    test("an integer key beyond 2^53 behind smaller ones: unsafe-integer, nothing handed over", async (t) => {
      if (sqliteOnly(target, t, "an INTEGER column holding a 64-bit key")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE big (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); INSERT INTO big (id) VALUES (1), (2), (3), (9007199254740993);`,
        options: { table: "big", batchSize: 1 },
      });
      await assertRefusedUnchanged(result, "unsafe-integer");
    });

    test("a negative integer key beyond -2^53 among safe ones: unsafe-integer, nothing handed over", async (t) => {
      if (sqliteOnly(target, t, "an INTEGER column holding a 64-bit key")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE big (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); INSERT INTO big (id) VALUES (-9007199254740993), (1), (2);`,
        options: { table: "big", batchSize: 1, where: "id > -9007199254740999" },
      });
      await assertRefusedUnchanged(result, "unsafe-integer");
    });

    test("a REAL key beyond 2^53: invalid-key, nothing handed over", async (t) => {
      if (sqliteOnly(target, t, "a REAL key beside integers")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE scores (id REAL PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); INSERT INTO scores (id) VALUES (1.5), (2.5), (1e300);`,
        options: { table: "scores", batchSize: 1 },
      });
      await assertRefusedUnchanged(result, "invalid-key");
    });

    test("a table named like the walk's own query parts (walked, key) is walked", async (t) => {
      const result = await target.run(t, {
        setup: `CREATE TABLE walked (id INTEGER PRIMARY KEY, key INTEGER, touched INTEGER NOT NULL DEFAULT 0); ${fill("walked", "id", 5, String)}`,
        options: { table: "walked", batchSize: 2 },
      });
      await assertEveryRowVisitedOnce(result, "walked", 5);
    });

    test("blob keys, bytes that are not UTF-8 included: every row once, each key bound back as read", async (t) => {
      if (sqliteOnly(target, t, "a BLOB primary key")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE tokens (id BLOB PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID; INSERT INTO tokens (id) VALUES (x'01'), (x'41'), (x'ff'), (x'ff00');`,
        options: { table: "tokens", batchSize: 1 },
      });
      await assertEveryRowVisitedOnce(result, "tokens", 4);
      assert.deepEqual(
        // A Buffer, or @libsql/client's ArrayBuffer.
        result.seen.map((row) => [...new Uint8Array(row.id as ArrayBuffer)]),
        [[1], [0x41], [0xff], [0xff, 0]],
      );
    });
  });

  describe("forEachBatch keys whose JavaScript form differs from the database's", () => {
    test("a timestamp key with microseconds: walked where it is text (SQLite), refused where it reads back rounded (PostgreSQL)", async (t) => {
      // pg reads timestamptz as a Date rounded to milliseconds: bound back, `key <= bound` missed every row.
      const result = await target.run(t, {
        setup:
          `CREATE TABLE stamps (id TIMESTAMPTZ PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ` +
          `INSERT INTO stamps (id) VALUES ('2020-01-01 00:00:00.000100+00'), ('2020-01-01 00:00:00.000200+00'), ('2020-01-01 00:00:00.000300+00');`,
        options: { table: "stamps", batchSize: 1 },
      });
      if (target.dialect === "postgres") {
        await assertRefusedUnchanged(result, "invalid-key");
        assert.equal(result.seen.length, 0);
      } else {
        await assertEveryRowVisitedOnce(result, "stamps", 3);
      }
    });

    test("BIGINT keys on both sides of -2^53 and past 2^53: compared as integers where the driver reads them exactly, else refused", async (t) => {
      // pg reads BIGINT as a number within 2^53 and as text beyond: -9007199254740993 (text) then -5
      // (a number) was refused as not-increasing.
      const result = await target.run(t, {
        setup:
          `CREATE TABLE big (id BIGINT PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ` + `INSERT INTO big (id) VALUES (-9007199254740995), (-9007199254740993), (-5), (1), (9007199254740993);`,
        options: { table: "big", batchSize: 2 },
      });
      if (target.dialect === "postgres") {
        await assertEveryRowVisitedOnce(result, "big", 5);
        assert.deepEqual(
          result.seen.map((row) => String(row.id)),
          ["-9007199254740995", "-9007199254740993", "-5", "1", "9007199254740993"],
        );
      } else {
        await assertRefusedUnchanged(result, "unsafe-integer");
      }
    });

    test("a duplicate BIGINT key beyond 2^53: duplicate-key, or unsafe-integer on a client that cannot read it, never a RangeError", async (t) => {
      const result = await target.run(t, {
        setup: `CREATE TABLE big (id BIGINT, touched INTEGER NOT NULL DEFAULT 0); INSERT INTO big (id) VALUES (9007199254740993), (9007199254740993), (1);`,
        options: { table: "big", batchSize: 1 },
      });
      await assertRefusedUnchanged(result, target.throwsPast2to53 ? "unsafe-integer" : "duplicate-key");
    });
  });

  describe("forEachBatch columns are found as the key is", () => {
    test("quoted mixed-case columns asked for in lower case", async (t) => {
      const result = await target.run(t, {
        setup: `CREATE TABLE "Codes" ("Code" TEXT NOT NULL UNIQUE, "Label" TEXT, touched INTEGER NOT NULL DEFAULT 0); INSERT INTO "Codes" ("Code", "Label") VALUES ('a', 'x'), ('b', 'y'), ('c', 'z');`,
        options: { table: "Codes", key: "code", columns: ["label"], batchSize: 2 },
        markColumn: `"Code"`,
      });
      await assertEveryRowVisitedOnce(result, "Codes", 3);
      assert.deepEqual(
        result.seen.map((row) => [row.code, row.label]),
        [
          ["a", "x"],
          ["b", "y"],
          ["c", "z"],
        ],
      );
    });

    test("a column the table does not have is BATCH_KEY_INVALID no-such-column, before anything is walked", async (t) => {
      // SQLite reports its own "no such column" from the query; PostgreSQL's was an untyped 42703.
      if (postgresOnly(target, t, "a typed refusal of a missing column")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE items (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("items", "id", 3, String)}`,
        options: { table: "items", columns: ["nope"], batchSize: 2 },
      });
      await assertRefusedUnchanged(result, "no-such-column");
    });
  });

  test("a where with SQLite's numbered or named placeholders (?1, :name, @name, #name, $name) is BATCH_OPTIONS_INVALID, before anything is walked", async (t) => {
    // The walk binds its own values around the caller's params: ?1 took the walk's bound, and libsql walked the wrong rows and succeeded.
    if (sqliteOnly(target, t, "SQLite's parameter forms")) return;
    for (const where of ["v >= ?1", "v >= :low", "v >= @low", "v >= #low", "v >= $low"]) {
      const result = await target.run(t, {
        setup: `CREATE TABLE w (id INTEGER PRIMARY KEY, v INTEGER, touched INTEGER NOT NULL DEFAULT 0); INSERT INTO w (id, v) VALUES (1, 1), (2, 2), (3, 3);`,
        options: { table: "w", where: `${where} AND '?2' <> ':x'`, params: [2] },
      });
      assert.equal(result.error?.code, "BATCH_OPTIONS_INVALID", `${where}: ${result.error?.message}`);
      const fields = factsOf(result.error) as unknown as { option: string; value: unknown };
      assert.deepEqual([fields.option, fields.value, result.version, result.seen.length], ["where", `${where} AND '?2' <> ':x'`, 1, 0]);
      await result.assertUnchanged();
    }
  });

  describe("forEachBatch's where on PostgreSQL", () => {
    test("a ? inside an E'' string, a comment, a dollar quote or a quoted name is text; only the ? outside is a placeholder", async (t) => {
      if (postgresOnly(target, t, "E'' strings and dollar quoting")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE q (id INTEGER PRIMARY KEY, s TEXT, "a?" INTEGER DEFAULT 0, touched INTEGER NOT NULL DEFAULT 0); INSERT INTO q (id, s) VALUES (1, 'x?'), (2, 'it''s ?'), (3, 'z'), (4, '?'), (5, 'w');`,
        options: { table: "q", where: "s <> E'it\\'s ?' /* ? */ AND s <> $$?$$ AND \"a?\" = 0 -- ?\n AND id > ? AND id < ?", params: [0, 5], batchSize: 1 },
      });
      assert.equal(result.error, null, result.error?.message);
      assert.deepEqual(await idsTouched(result, "q", 1), [1, 3]);
    });

    test("a where using $1 is BATCH_OPTIONS_INVALID (option where), before anything is walked", async (t) => {
      // The walk's own parameters are $1…; a user's $1 would silently take the bound's value.
      if (postgresOnly(target, t, "a $1 placeholder")) return;
      const result = await target.run(t, {
        setup: `CREATE TABLE w (id INTEGER PRIMARY KEY, s TEXT, touched INTEGER NOT NULL DEFAULT 0); INSERT INTO w (id, s) VALUES (1, 'a'), (2, 'b'), (3, 'c');`,
        options: { table: "w", where: "s <> $1 AND s <> '$2'", params: ["b"] },
      });
      assert.equal(result.error?.code, "BATCH_OPTIONS_INVALID", result.error?.message);
      const fields = factsOf(result.error) as unknown as { option: string; value: unknown; version: number };
      assert.deepEqual([fields.option, fields.value, fields.version, result.version, result.seen.length], ["where", "s <> $1 AND s <> '$2'", 2, 1, 0]);
      await result.assertUnchanged();
    });
  });

  test("rows the handler appends past the walk's bound are not visited, from a full batch or the last, short one", async (t) => {
    // The walk covers keys up to the largest one when it starts (so a handler that keeps feeding rows
    // ahead cannot make it endless); rows appended past it are treated alike whichever batch adds them.
    const result = await target.run(t, {
      setup: `CREATE TABLE queue (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("queue", "id", 5, String)}`,
      options: { table: "queue", batchSize: 4 },
      afterBatch: (write, rows) => (rows.length === 4 ? write("INSERT INTO queue (id) VALUES (100)") : write("INSERT INTO queue (id) VALUES (6), (7)")),
    });
    assert.equal(result.error, null, result.error?.message);
    assert.equal(result.version, 2);
    assert.deepEqual(await idsTouched(result, "queue", 1), [1, 2, 3, 4, 5]);
    assert.deepEqual(await idsTouched(result, "queue", 0), [6, 7, 100]);
  });

  test("rows the handler adds inside the walk's bound, ahead of it, are visited once", async (t) => {
    let added = false;
    const result = await target.run(t, {
      setup: `CREATE TABLE gaps (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); INSERT INTO gaps (id) VALUES (1), (2), (3), (20);`,
      options: { table: "gaps", batchSize: 2 },
      afterBatch: (write) => {
        if (added) return;
        added = true;
        return write("INSERT INTO gaps (id) VALUES (10), (11)");
      },
    });
    await assertEveryRowVisitedOnce(result, "gaps", 6);
  });

  test("in a transaction: false migration each batch commits on its own: a handler failing in batch 3 leaves batches 1 and 2 written, batch 3 rolled back", async (t) => {
    let batch = 0;
    const result = await target.run(t, {
      setup: `CREATE TABLE queue (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("queue", "id", 8, String)}`,
      options: { table: "queue", batchSize: 2 },
      transaction: false,
      afterBatch: () => {
        if (++batch === 3) throw new Error("the handler fails in batch 3");
      },
    });
    assert.equal(result.error?.code, "MIGRATION_FAILED", result.error?.message);
    assert.deepEqual(await idsTouched(result, "queue", 1), [1, 2, 3, 4]);
    assert.deepEqual(await idsTouched(result, "queue", 0), [5, 6, 7, 8]);
  });

  test("progress is reported before the first batch and after each one, against the total", async (t) => {
    const reports: Array<[number, number | null]> = [];
    const result = await target.run(t, {
      setup: `CREATE TABLE queue (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("queue", "id", 7, String)}`,
      options: { table: "queue", batchSize: 3 },
      onProgress: (done, total) => reports.push([done, total]),
    });
    await assertEveryRowVisitedOnce(result, "queue", 7);
    assert.deepEqual(reports, [
      [0, 7],
      [3, 7],
      [6, 7],
      [7, 7],
    ]);
    assert.deepEqual(result.seen.length, 7);
  });

  test("an invalid batchSize is BATCH_OPTIONS_INVALID, naming the migration, before anything is walked", async (t) => {
    const result = await target.run(t, {
      setup: `CREATE TABLE queue (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("queue", "id", 3, String)}`,
      options: { table: "queue", batchSize: 0 },
    });
    assert.equal(result.error?.code, "BATCH_OPTIONS_INVALID", result.error?.message);
    assert.deepEqual([(factsOf(result.error) as unknown as { version: number }).version, result.version, result.seen.length], [2, 1, 0]);
    await result.assertUnchanged();
  });

  // A JavaScript caller's typo is no type error: "wher" walked every row, and a where or params of the wrong type was ignored or misread.
  test("a misspelt option, or a where, params or columns of the wrong type, is BATCH_OPTIONS_INVALID naming it, before anything is walked", async (t) => {
    const cases: readonly [Record<string, unknown>, string][] = [
      [{ table: "queue", wher: "id < 2" }, "wher"],
      [{ table: "queue", batch_size: 1 }, "batch_size"],
      [{ table: "queue", where: 7 }, "where"],
      [{ table: "queue", where: " " }, "where"],
      [{ table: "queue", where: "id < ?", params: "2" }, "params"],
      [{ table: "queue", columns: "touched" }, "columns"],
      [{ table: "queue", columns: [1] }, "columns"],
    ];
    for (const [options, option] of cases) {
      const result = await target.run(t, {
        setup: `CREATE TABLE queue (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("queue", "id", 3, String)}`,
        options: options as unknown as BatchOptions,
      });
      const facts = factsOf(result.error) as unknown as { code: string; option: string; version: number };
      assert.deepEqual([facts.code, facts.option, facts.version, result.version, result.seen.length], ["BATCH_OPTIONS_INVALID", option, 2, 1, 0], JSON.stringify(options));
      await result.assertUnchanged();
    }
  });
}

await describeEachDriver("forEachBatch keys", { quickOn: ["better-sqlite3"] }, (h) => declareWalkTests(syncTarget(h)));

await describeEachAsyncDriver("forEachBatch keys", { quickOn: ["pg (Pool)"] }, (h) => {
  // D1 declares atomicBatch: no interactive transaction, so no batch can be committed on its own; forEachBatch refuses there.
  if (h.capabilities.atomicBatch) {
    test("forEachBatch is refused", (t) => skipWithReason(t, `${h.name} declares atomicBatch: it has no interactive transaction to walk in`));
    return;
  }
  // Durable Objects declares no batchWalk: a walk is refused, the migration rolled back, and no walk test can run there.
  if (!h.capabilities.batchWalk) {
    test("forEachBatch walks", (t) => void h.lacks(t, "batchWalk"));
    test("a walk is refused with USAGE inside the migration, which is rolled back whole", () =>
      h.withDatabase(async (db) => {
        const setup = sqlEntry(`CREATE TABLE queue (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("queue", "id", 3, String)}`);
        await db.manager([setup]).up();
        const before = await db.snapshot();
        // Self-contained, so it crosses to a driver that runs bodies elsewhere (a Durable Object): it writes, then walks.
        const walking: MigrationEntry = {
          kind: "ts",
          version: 2,
          name: "walk",
          file: "migrations/002_walk.ts",
          description: null,
          checksum: "walk",
          reversible: false,
          transaction: true,
          disableForeignKeys: false,
          module: {
            up(connection: { exec(sql: string): unknown }, context: MigrationContext) {
              connection.exec("UPDATE queue SET touched = 1");
              return context.forEachBatch({ table: "queue" }, () => undefined);
            },
          },
        };
        const manager = db.manager([setup, walking]);
        await assert.rejects(manager.up(), { code: "USAGE" });
        assert.equal(await manager.currentVersion(), 1);
        assert.deepEqual(await db.snapshot(), before);
      }));
    return;
  }
  declareWalkTests(asyncTarget(h));
});

// better-sqlite3's own `defaultSafeIntegers`, which the better-sqlite3 driver must honour: so this
// runs on that library only, and skips with the reason wherever it is not run or its addon cannot load.
const betterSqlite3Entry = availableDrivers().find((candidate) => candidate.name === "better-sqlite3");
const betterSqlite3 = betterSqlite3Entry ? await harnessOf(betterSqlite3Entry) : "better-sqlite3 is not among the drivers this runtime runs (STEPWISE_DRIVERS, or the runtime)";

test("better-sqlite3: integer keys beyond 2^53 on a connection with defaultSafeIntegers(true): every row, as bigints", async (t) => {
  if (typeof betterSqlite3 === "string") {
    skipWithReason(t, betterSqlite3);
    return;
  }
  const openSafe = async (file: string) => {
    const db = await betterSqlite3.open(file);
    (db.native as { defaultSafeIntegers(on: boolean): void }).defaultSafeIntegers(true);
    return db;
  };
  const result = await syncTarget(betterSqlite3, openSafe).run(t, {
    setup: `CREATE TABLE big (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0); ${fill("big", "id", 7, (i) => `9007199254740990 + ${i * 2}`)}`,
    options: { table: "big", batchSize: 2 },
  });
  await assertEveryRowVisitedOnce(result, "big", 7);
  assert.deepEqual(
    result.seen.map((row) => row.id),
    Array.from({ length: 7 }, (_, i) => 9007199254740990n + BigInt((i + 1) * 2)),
  );
});
