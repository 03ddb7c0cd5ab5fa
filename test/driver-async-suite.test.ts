/**
 * The behavioural suite on the async drivers (pg through a Pool and through a Client, libsql-client
 * on a file with its own rules and with the remote ones; see
 * ASYNC_DRIVERS in test/support/driver-matrix.ts): up/down/status, the refusals (drift, a newer
 * database, an unmanaged one), failure atomicity, `transaction: false`, an escaped transaction, reset,
 * and two app instances racing. Every test runs on a fresh database of a real server; a driver skips
 * a test only by a capability it does not declare, with the reason printed.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import type { MigrationDefinition, MigrationEntry } from "../src/core/types.js";
import type { MigrationResult } from "../src/core/options.js";
import type { MigrationStatus } from "../src/core/planner.js";
import { describeEachAsyncDriver, inDialect, matrixRoot, skipWithReason, UNUSED_CONNECTION, type AsyncDriverHarness, type AsyncTestDatabase } from "./support/driver-matrix.js";
import { asyncTsEntry, namedSqlEntry, tsEntry, rejection } from "./support/registry-builders.js";
import { rehearseUp } from "../src/safety/index.js";
import type { rehearseUpAsync } from "../src/safety/rehearsal.js";
import { factsOf } from "./support/stepwise-failure.js";

/**
 * Runs `sql` on a migration body's connection, whichever library it is (pg's `query`, SQLite's
 * `exec`, the libsql-client transaction's `executeMultiple`, D1's `prepare`, one statement). On Durable Objects the bodies run in
 * the object, whose own `runSql` does the same with `ctx.storage.sql.exec`
 * (test/support/cloudflare/object-suite-worker.ts): bodies name no other outside value, so they cross.
 */
async function runSql(db: unknown, sql: string): Promise<void> {
  const connection = db as {
    exec?: (sql: string) => unknown;
    query?: (sql: string) => Promise<unknown>;
    executeMultiple?: (sql: string) => Promise<unknown>;
    prepare?: (sql: string) => { run(): Promise<unknown> };
  };
  if (typeof connection.prepare === "function") await connection.prepare(sql).run();
  else if (typeof connection.exec === "function") connection.exec(sql);
  else if (typeof connection.executeMultiple === "function") await connection.executeMultiple(sql);
  else await connection.query!(sql);
}

/**
 * Starts `sql` on a migration body's connection and returns the library's own promise, unawaited (as a body missing an `await` does); on Durable Objects, the object's own
 * `startSql`, whose storage runs it at once.
 */
function startSql(db: unknown, sql: string): unknown {
  const connection = db as { query?: (sql: string) => unknown; executeMultiple?: (sql: string) => unknown; prepare?: (sql: string) => { run(): unknown } };
  if (typeof connection.prepare === "function") return connection.prepare(sql).run();
  if (typeof connection.executeMultiple === "function") return connection.executeMultiple(sql);
  return connection.query!(sql);
}

const createItems = namedSqlEntry(1, "create_items", "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);", "DROP TABLE items;");
const addTags = namedSqlEntry(2, "add_tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL); INSERT INTO tags (id, label) VALUES (1, 'first');", "DROP TABLE tags;");
const addNotes = asyncEntry(
  3,
  async (db) => {
    await runSql(db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
    await runSql(db, "INSERT INTO items (id, note) VALUES (1, 'from an async body')");
  },
  async (db) => {
    await runSql(db, "DELETE FROM items WHERE id = 1");
    await runSql(db, "DROP TABLE notes");
  },
);
const THREE: MigrationEntry[] = [createItems, addTags, addNotes];
/** `THREE` with its third migration in SQL, for a driver that runs no transactional TypeScript migration (D1: `atomicBatch`). */
const THREE_IN_SQL: MigrationEntry[] = [
  createItems,
  addTags,
  namedSqlEntry(
    3,
    "add_notes",
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO items (id, note) VALUES (1, 'from an async body');",
    "DELETE FROM items WHERE id = 1; DROP TABLE notes;",
  ),
];

/** `THREE` with its third migration's bodies synchronous, for a driver that runs bodies in line (see {@link runsBodiesInLine}). */
const THREE_IN_LINE: MigrationEntry[] = [
  createItems,
  addTags,
  tsEntry(3, {
    up(db) {
      void runSql(db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
      void runSql(db, "INSERT INTO items (id, note) VALUES (1, 'from an async body')");
    },
    down(db) {
      void runSql(db, "DELETE FROM items WHERE id = 1");
      void runSql(db, "DROP TABLE notes");
    },
  }) as MigrationEntry,
];

/**
 * Whether `h`'s driver declares itself synchronous (`Driver.async` false: Durable Objects, whose
 * `transactionSync` cannot stay open across an await). Its entry is sync, so a body there is
 * synchronous, as its users write them; an async body is refused by that entry, which the sync
 * drivers' suite covers. The suite's TypeScript bodies then run the same statements in line.
 */
function runsBodiesInLine(h: AsyncDriverHarness): boolean {
  return (new h.entry.MigrationManager(UNUSED_CONNECTION as never, []).driver as { async?: boolean }).async === false;
}

/**
 * The suite's three migrations as `h`'s driver can run them: their third is TypeScript unless the
 * driver declares `atomicBatch`, with synchronous bodies where it runs bodies in line.
 */
function threeFor(h: AsyncDriverHarness): MigrationEntry[] {
  if (h.capabilities.atomicBatch) return THREE_IN_SQL;
  return runsBodiesInLine(h) ? THREE_IN_LINE : THREE;
}

/**
 * `true`, after skipping `t` with the reason printed, when `h`'s driver declares `atomicBatch`: it
 * applies a migration as one batch of SQL and refuses a transactional TypeScript one (D1).
 */
function refusesTypeScript(h: AsyncDriverHarness, t: { skip(message?: string): void }): boolean {
  if (!h.capabilities.atomicBatch) return false;
  skipWithReason(t, `${h.name} declares atomicBatch: a transactional TypeScript migration is refused there`);
  return true;
}

/** A TypeScript entry whose bodies are async, as every async driver's are by habit. */
function asyncEntry(version: number, up: (db: unknown) => Promise<void>, down?: (db: unknown) => Promise<void>): MigrationEntry {
  // The sync definition's types say `void`; the async runner awaits what a body returns.
  return tsEntry(version, { up, ...(down ? { down } : {}) } as unknown as MigrationDefinition<unknown>) as MigrationEntry;
}

async function historyVersions(db: AsyncTestDatabase): Promise<number[]> {
  return (await db.manager([]).history()).map((row) => row.version);
}

/**
 * The quick run leaves out two variants of drivers it already takes (pg over a `Client` rather than a
 * `Pool`, libsql-client on a file under a remote server's rules); the full run takes them.
 */
const QUICK_RUN = { quickOn: ["pg (Pool)", "libsql-client (file:)", "d1 (workerd)", "durable-objects (workerd)", "libsql-client (sqld over http:)"] };

await describeEachAsyncDriver("async suite: up, down, status", QUICK_RUN, (h) => {
  const three = threeFor(h);
  test("up applies every migration once, in order; a second up changes nothing", () =>
    h.withDatabase(async (db) => {
      const first = await db.migrate(three);
      assert.deepEqual(
        first.steps.map((step) => step.version),
        [1, 2, 3],
      );
      assert.deepEqual(await db.tableNames(), ["items", "notes", "schema_migrations", "tags"]);
      assert.deepEqual(await db.rows("SELECT id, note FROM items"), [{ id: 1, note: "from an async body" }]);
      const history = await db.manager(three).history();
      assert.deepEqual(
        history.map(({ version, name, checksum, state }) => ({ version, name, checksum, state })),
        three.map((entry) => ({ version: entry.version, name: entry.name, checksum: entry.checksum, state: "applied" })),
      );
      const before = await db.snapshot();
      const again = await db.migrate(three);
      assert.deepEqual(again.steps, []);
      assert.deepEqual(await db.snapshot(), before);
    }));

  test("a section that holds no statement (an import's -- migrate:empty, a comment, a lone semicolon) runs as nothing, up and down", () =>
    h.withDatabase(async (db) => {
      const empty = inDialect(
        [namedSqlEntry(1, "create", "CREATE TABLE a (id INTEGER);", "DROP TABLE a;"), namedSqlEntry(2, "noop", "-- migrate:empty the tool ran no SQL\n-- a note\n", "/* nothing */ ;")],
        h.underTest.dialect,
      );
      const manager = db.manager(empty);
      assert.deepEqual(
        (await manager.up()).steps.map((step) => step.version),
        [1, 2],
      );
      assert.deepEqual(
        (await manager.down({ to: 0 })).steps.map((step) => step.version),
        [2, 1],
      );
    }));

  test("status is plain data: applied and pending, the current version", () =>
    h.withDatabase(async (db) => {
      const manager = db.manager(three);
      await manager.up({ to: 2 });
      const status = await manager.status();
      assert.deepEqual(JSON.parse(JSON.stringify(status)), status);
      assert.equal(status.currentVersion, 2);
      assert.deepEqual(
        status.migrations.map((migration) => [migration.version, migration.state]),
        [
          [1, "applied"],
          [2, "applied"],
          [3, "pending"],
        ],
      );
      assert.equal(await manager.currentVersion(), 2);
      assert.deepEqual(
        (await manager.planUp()).steps.map((entry) => entry.version),
        [3],
      );
    }));

  test("down reverts by steps and to a version; the history follows", () =>
    h.withDatabase(async (db) => {
      const manager = db.manager(three);
      await manager.up();
      const one = await manager.down();
      assert.deepEqual(
        one.steps.map((step) => step.version),
        [3],
      );
      assert.deepEqual(await db.tableNames(), ["items", "schema_migrations", "tags"]);
      assert.deepEqual(await db.rows("SELECT id FROM items"), []);
      const rest = await manager.down({ to: 0 });
      assert.deepEqual(
        rest.steps.map((step) => step.version),
        [2, 1],
      );
      assert.deepEqual(await db.tableNames(), ["schema_migrations"]);
      assert.deepEqual(await historyVersions(db), []);
    }));

  test("reset drops every object and applies every migration again", () =>
    h.withDatabase(async (db) => {
      const manager = db.manager(three);
      await manager.up();
      await db.rows("INSERT INTO tags (id, label) VALUES (2, 'second')");
      // A child row referencing a parent the reset drops first (by name): where foreign keys stay on, the order must not matter.
      await db.rows("CREATE TABLE stray (id INTEGER, item_id INTEGER REFERENCES items (id))");
      await db.rows("INSERT INTO stray (id, item_id) VALUES (1, 1)");
      const result = await manager.reset({ dangerouslyDropAllData: true });
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2, 3],
      );
      assert.deepEqual(await db.tableNames(), ["items", "notes", "schema_migrations", "tags"]);
      assert.deepEqual(await db.rows("SELECT id, label FROM tags"), [{ id: 1, label: "first" }]);
    }));

  test("reset drops two tables whose rows reference each other, whichever goes first, and applies every migration again", (t) => {
    if (h.underTest.dialect === "postgres") return skipWithReason(t, `${h.name} drops the schema's objects in one statement`);
    return h.withDatabase(async (db) => {
      const manager = db.manager(three);
      await manager.up();
      await db.rows("CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b (id))");
      await db.rows("CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id))");
      await db.rows("INSERT INTO a (id, b_id) VALUES (1, NULL)");
      await db.rows("INSERT INTO b (id, a_id) VALUES (1, 1)");
      await db.rows("UPDATE a SET b_id = 1 WHERE id = 1");
      const result = await manager.reset({ dangerouslyDropAllData: true });
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2, 3],
      );
      assert.deepEqual(await db.tableNames(), ["items", "notes", "schema_migrations", "tags"]);
    });
  });

  test("user_version mirrors the current version where the driver declares it", (t) => {
    if (h.lacks(t, "userVersion")) return;
    return h.withDatabase(async (db) => {
      await db.migrate(three);
      assert.equal(await db.value("PRAGMA user_version"), 3);
    });
  });
});

await describeEachAsyncDriver("async suite: refusals", QUICK_RUN, (h) => {
  const three = threeFor(h);
  test("a changed checksum is refused with CHECKSUM_MISMATCH, naming the file; nothing changes", () =>
    h.withDatabase(async (db) => {
      await db.migrate([createItems, addTags]);
      const before = await db.snapshot();
      const drifted = [{ ...createItems, checksum: "sha256:edited" }, addTags, three[2]!];
      const error = await rejection(() => db.migrate(drifted));
      assert.equal(error.code, "CHECKSUM_MISMATCH");
      assert.equal(error.version, 1);
      assert.equal(error.file, createItems.file);
      assert.equal(error.registryChecksum, "sha256:edited");
      assert.equal(error.databaseChecksum, createItems.checksum);
      assert.deepEqual(await db.snapshot(), before);
    }));

  test("a database newer than the registry is refused with DATABASE_AHEAD; nothing changes", () =>
    h.withDatabase(async (db) => {
      await db.migrate(three);
      const before = await db.snapshot();
      const error = await rejection(() => db.migrate([createItems, addTags]));
      assert.equal(error.code, "DATABASE_AHEAD");
      assert.deepEqual(error.unknownVersions, [3]);
      assert.equal(error.latestKnownVersion, 2);
      assert.equal((await db.manager([createItems, addTags]).status()).problem?.code, "DATABASE_AHEAD");
      assert.deepEqual(await db.snapshot(), before);
    }));

  test("tables without a history table are refused with UNMANAGED_DATABASE; nothing is created", () =>
    h.withDatabase(async (db) => {
      await db.rows("CREATE TABLE legacy (id INTEGER)");
      const before = await db.snapshot();
      const error = await rejection(() => db.migrate(three));
      assert.equal(error.code, "UNMANAGED_DATABASE");
      assert.deepEqual(error.tables, ["legacy"]);
      assert.deepEqual(await db.snapshot(), before);
    }));

  test("a registry that breaks the version rules is REGISTRY_INVALID before anything else is judged, an async-marked entry in it included", (t) => {
    if (refusesTypeScript(h, t)) return;
    return h.withDatabase(async (db) => {
      const marked = asyncTsEntry(1, {
        async up(connection) {
          await runSql(connection, "CREATE TABLE marked (id INTEGER)");
        },
      });
      const gap = namedSqlEntry(3, "after_a_gap", "CREATE TABLE after_a_gap (id INTEGER);");
      for (const registry of [
        [marked, gap],
        [null, namedSqlEntry(2, "second", "CREATE TABLE second (id INTEGER);")],
      ] as unknown as MigrationEntry[][]) {
        for (const refused of [() => db.migrate(registry), async () => db.manager(registry).status()]) {
          const error = await rejection(refused);
          assert.equal(error.code, "REGISTRY_INVALID", String(error));
        }
      }
      assert.deepEqual(await db.tableNames(), []);
    });
  });

  test("a registry gen marked async runs where the driver is async; where it is not, it is refused before anything runs with a fix the entry offers, and the fix applies", (t) => {
    if (refusesTypeScript(h, t)) return;
    return h.withDatabase(async (db) => {
      const marked = asyncTsEntry(2, {
        async up(connection) {
          await runSql(connection, "CREATE TABLE marked (id INTEGER)");
        },
      });
      if (!runsBodiesInLine(h)) {
        await db.migrate([createItems, marked]);
        assert.deepEqual(await historyVersions(db), [1, 2]);
        return;
      }
      for (const refused of [() => db.migrate([createItems, marked]), () => db.manager([createItems, marked]).status()]) {
        const error = await rejection(refused);
        assert.deepEqual([error.code, error.versions, error.files, error.driver], ["ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER", [2], [marked.file], h.underTest.driverName]);
        // Every name the fix tells the user to import from this entry is one the entry exports (Durable Objects has no migrateAsync).
        const exported = Object.keys((await import(path.join(matrixRoot, h.underTest.entry))) as object);
        for (const [, names] of String(error.fix).matchAll(/import \{([^}]*)\} from "stepwise-migrate\/[^"]+"/g)) {
          for (const name of names!.split(",").map((part) => part.trim())) assert.ok(exported.includes(name), `the fix imports ${name}, which ${h.underTest.entry} does not export`);
        }
      }
      assert.deepEqual(await db.tableNames(), []);
      // The fix: the same body, synchronous.
      const synchronous = tsEntry(2, { up: (connection) => void runSql(connection, "CREATE TABLE marked (id INTEGER)") }) as MigrationEntry;
      await db.migrate([createItems, synchronous]);
      assert.deepEqual(await historyVersions(db), [1, 2]);
    });
  });

  test("a disableForeignKeys migration is refused by capability before anything runs", (t) =>
    h.withDatabase(async (db) => {
      if (h.capabilities.foreignKeySwitch) {
        t.skip(`${h.name} declares foreignKeySwitch: the migration runs there (the SQLite suite covers it)`);
        return;
      }
      // In one transaction for the run too: no mode of this driver can run it.
      for (const options of [{}, { transaction: "all" as const }]) {
        const error = await rejection(() => db.migrate([{ ...createItems, disableForeignKeys: true }], options));
        assert.equal(error.code, "DRIVER_CAPABILITY_MISSING");
        assert.equal(error.capability, h.capabilities.atomicBatch && options.transaction === "all" ? "atomicBatch" : "foreignKeySwitch");
        assert.deepEqual(await db.tableNames(), []);
      }
    }));
});

await describeEachAsyncDriver("async suite: failure atomicity", QUICK_RUN, (h) => {
  const three = threeFor(h);
  test("a SQL migration failing half way leaves schema and history as before", () =>
    h.withDatabase(async (db) => {
      await db.migrate([createItems]);
      const before = await db.snapshot();
      const failing = namedSqlEntry(2, "half_way", "CREATE TABLE half (id INTEGER); INSERT INTO items (id, note) VALUES (7, 'x'); INSERT INTO no_such_table VALUES (1);");
      const error = await rejection(() => db.migrate([createItems, failing]));
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 2);
      assert.equal(error.file, failing.file);
      assert.equal(error.rolledBack, true);
      assert.equal(typeof error.nativeCode, "string");
      assert.deepEqual(await db.snapshot(), before);
    }));

  // The first migration of a fresh database too: its statements may be the first the driver sends in the transaction.
  for (const [version, transaction] of [
    [1, true],
    [2, true],
    [2, false],
  ] as const) {
    test(`a failing SQL migration names its file's line and column (version ${version}, transaction: ${transaction})`, () => {
      // D1's batch names no statement: it is found by batches that keep nothing.
      return h.withDatabase(async (db) => {
        const earlier = version === 1 ? [] : [createItems];
        await db.migrate(earlier);
        // Up begins on line 3 of its file; the third statement (line 6, column 3; its table at column 15) fails.
        const failing = namedSqlEntry(version, "located", "CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n\n  INSERT INTO no_such_table VALUES (1);\nCREATE TABLE b (x INTEGER);", null, {
          transaction,
          sqlLines: [3, null],
        });
        const error = await rejection(() => db.migrate([...earlier, failing]));
        assert.equal(error.code, "MIGRATION_FAILED");
        // PostgreSQL's own error position points at the missing table's name, where the statement went alone or was run again alone to find it.
        const column = h.underTest.dialect === "postgres" ? 15 : 3;
        assert.deepEqual(error.location, { file: failing.file, line: 6, column });
      });
    });
  }

  test("a body that throws after two statements (awaited, where the driver is async) leaves nothing", (t) => {
    if (refusesTypeScript(h, t)) return;
    return h.withDatabase(async (db) => {
      await db.migrate([createItems]);
      const before = await db.snapshot();
      const failing = runsBodiesInLine(h)
        ? tsEntry(2, {
            up(connection) {
              void runSql(connection, "CREATE TABLE made_then_lost (id INTEGER)");
              void runSql(connection, "INSERT INTO items (id, note) VALUES (9, 'lost')");
              throw new Error("failed after two statements");
            },
          })
        : asyncEntry(2, async (connection) => {
            await runSql(connection, "CREATE TABLE made_then_lost (id INTEGER)");
            await runSql(connection, "INSERT INTO items (id, note) VALUES (9, 'lost')");
            throw new Error("failed after two statements");
          });
      const error = await rejection(() => db.migrate([createItems, failing as MigrationEntry]));
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 2);
      assert.equal(error.rolledBack, true);
      assert.equal((error.cause as Error).message, "failed after two statements");
      assert.deepEqual(await db.snapshot(), before);
    });
  });

  test("an async body the registry does not mark runs where the driver is async; where it is not, it fails and nothing it ran, before or after its await, is written", (t) => {
    if (refusesTypeScript(h, t)) return;
    return h.withDatabase(async (db) => {
      await db.migrate([createItems]);
      const before = await db.snapshot();
      const unmarked = asyncEntry(2, async (connection) => {
        await runSql(connection, "INSERT INTO items (id, note) VALUES (1, 'before the await')");
        await Promise.resolve();
        await runSql(connection, "INSERT INTO items (id, note) VALUES (2, 'after the await')");
      });
      if (!runsBodiesInLine(h)) {
        await db.migrate([createItems, unmarked]);
        assert.deepEqual(await db.rows("SELECT id FROM items ORDER BY id"), [{ id: 1 }, { id: 2 }]);
        return;
      }
      const error = await rejection(() => db.migrate([createItems, unmarked]));
      const cause = factsOf(error.cause) as { code?: string; source?: string };
      assert.deepEqual([error.code, error.version, error.rolledBack, cause.code, cause.source], ["MIGRATION_FAILED", 2, true, "ASYNC_IN_SYNC_RUNNER", "up"]);
      // The body's continuation ran (and was refused) before this read, which is a later request.
      assert.deepEqual(await db.snapshot(), before);
      assert.deepEqual(await historyVersions(db), [1]);
    });
  });

  test('up({ transaction: "all" }) applies every pending migration in one transaction: a failure in the last leaves none', (t) => {
    // One batch per migration is the only atomic unit where the driver declares atomicBatch (D1).
    if (h.capabilities.atomicBatch) return skipWithReason(t, `${h.name} declares atomicBatch: up({ transaction: "all" }) is refused there`);
    return h.withDatabase(async (db) => {
      const failing = namedSqlEntry(3, "fails_last", "CREATE TABLE never (id INTEGER); INSERT INTO no_such_table VALUES (1);");
      const error = await rejection(() => db.migrate([createItems, addTags, failing], { transaction: "all" }));
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 3);
      assert.deepEqual(await db.tableNames(), []);
      const result = await db.migrate(three, { transaction: "all" });
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2, 3],
      );
      assert.deepEqual(await historyVersions(db), [1, 2, 3]);
    });
  });

  test('down({ transaction: "all" }) reverts every migration of the call in one transaction: a failure in the last revert leaves every one applied, history rows included', (t) => {
    if (h.capabilities.atomicBatch) return skipWithReason(t, `${h.name} declares atomicBatch: down({ transaction: "all" }) is refused there (the next test)`);
    return h.withDatabase(async (db) => {
      // Migration 1's revert, the last of a roll-back-all, fails after its DROP ran.
      const failsLast = [{ ...three[0]!, downSql: "DROP TABLE items; INSERT INTO no_such_table VALUES (1);" } as MigrationEntry, ...three.slice(1)];
      const events: string[] = [];
      const manager = db.manager(failsLast, { onEvent: (event) => events.push(`${event.type}${"version" in event ? ` ${event.version}` : ""}`) });
      await manager.up();
      const before = await db.snapshot();
      events.length = 0;
      const error = await rejection(() => manager.down({ to: 0, transaction: "all" }));
      assert.deepEqual([error.code, error.version, error.direction, error.rolledBack], ["MIGRATION_FAILED", 1, "down", true]);
      assert.deepEqual(await db.snapshot(), before, "the reverts of 3 and 2 were rolled back with 1's");
      assert.deepEqual(await historyVersions(db), [1, 2, 3]);
      assert.deepEqual(
        events.filter((event) => event.startsWith("migrated")),
        [],
        "nothing is reported reverted when the run rolled back",
      );

      events.length = 0;
      const result = await manager.down({ to: 1, transaction: "all" });
      assert.deepEqual([result.direction, result.fromVersion, result.toVersion, result.steps.map((step) => step.version)], ["down", 3, 1, [3, 2]]);
      assert.deepEqual(events, ["migrating 3", "migrating 2", "migrated 3", "migrated 2"]);
      assert.deepEqual(await db.tableNames(), ["items", "schema_migrations"]);
      assert.deepEqual(await historyVersions(db), [1]);
      assert.deepEqual((await manager.down({ to: 1, transaction: "all" })).steps, [], "a second call changes nothing");
    });
  });

  test('down({ transaction: "all" }) is refused before anything runs when a migration to revert has transaction: false; the newer ones revert in one transaction', (t) => {
    if (h.capabilities.atomicBatch) return skipWithReason(t, `${h.name} declares atomicBatch: down({ transaction: "all" }) is refused there by capability (the next test)`);
    return h.withDatabase(async (db) => {
      const outside = namedSqlEntry(2, "outside", "CREATE TABLE outside_tx (id INTEGER);", "DROP TABLE outside_tx;", { transaction: false });
      const registry = [createItems, outside, namedSqlEntry(3, "create_tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE tags;")];
      const manager = db.manager(registry);
      await manager.up();
      const before = await db.snapshot();
      const error = await rejection(() => manager.down({ to: 0, transaction: "all" }));
      assert.deepEqual([error.code, error.version, error.file, error.obstacle, error.direction], ["WHOLE_RUN_TRANSACTION_REFUSED", 2, "migrations/002_outside.sql", "transaction-false", "down"]);
      assert.deepEqual(await db.snapshot(), before, "migration 3, which could have been reverted, was not");
      // The fix the error gives: down to the obstacle in one transaction, then the rest one by one.
      assert.deepEqual(
        (await manager.down({ to: 2, transaction: "all" })).steps.map((step) => step.version),
        [3],
      );
      assert.deepEqual(
        (await manager.down({ to: 0 })).steps.map((step) => step.version),
        [2, 1],
      );
      assert.deepEqual(await db.tableNames(), ["schema_migrations"]);
    });
  });

  test('up and down with transaction: "all" are refused by capability where the driver declares atomicBatch, before anything runs', (t) => {
    if (!h.capabilities.atomicBatch) return skipWithReason(t, `${h.name} does not declare atomicBatch: it runs a whole run in one transaction (the tests above)`);
    return h.withDatabase(async (db) => {
      await db.migrate(three.slice(0, 2));
      const before = await db.snapshot();
      for (const [call, attempt] of [
        ["up", () => db.manager(three).up({ transaction: "all" })],
        ["down", () => db.manager(three).down({ to: 0, transaction: "all" })],
      ] as const) {
        const error = await rejection(attempt);
        assert.deepEqual([error.code, error.capability, error.driver, error.operation], ["DRIVER_CAPABILITY_MISSING", "atomicBatch", h.underTest.driverName, `${call}({ transaction: "all" })`]);
        assert.deepEqual(await db.snapshot(), before, call);
      }
    });
  });

  test("a migration that ends stepwise's transaction is refused with TRANSACTION_ESCAPED and not recorded", (t) => {
    // Without savepoints the storage itself refuses transaction control (D1), so nothing can escape.
    if (h.lacks(t, "savepoints")) return;
    return h.withDatabase(async (db) => {
      await db.migrate([createItems]);
      const escaping = namedSqlEntry(2, "escapes", "CREATE TABLE escaped (id INTEGER); COMMIT;");
      const error = await rejection(() => db.migrate([createItems, escaping]));
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 2);
      assert.equal(error.committed, "yes");
      assert.deepEqual(await historyVersions(db), [1]);
    });
  });

  test("a TypeScript body that rolls stepwise's transaction back (a ROLLBACK, or libsql-client's rollback()) is TRANSACTION_ESCAPED with no cause, and nothing is kept or recorded", (t) => {
    if (h.lacks(t, "savepoints")) return;
    return h.withDatabase(async (db) => {
      await db.migrate([createItems]);
      type Connection = { rollback?: () => Promise<unknown> };
      const ways: Record<string, (connection: Connection) => Promise<unknown>> = {
        plain: (connection) => runSql(connection, "ROLLBACK"),
        rollback: (connection) => connection.rollback!(),
      };
      for (const [way, end] of Object.entries(ways)) {
        let present = way === "plain";
        const ending = asyncTsEntry(2, {
          up: async (connection: unknown) => {
            await runSql(connection, "INSERT INTO items (id, note) VALUES (1, 'written before the rollback')");
            present ||= typeof (connection as Connection).rollback === "function";
            // A library without rollback() fails the migration instead, leaving as little.
            if (!present) throw new Error("no rollback() on this connection");
            await end(connection as Connection);
          },
        });
        const before = await db.snapshot();
        const error = await rejection(() => db.migrate([createItems, ending]));
        assert.deepEqual(await db.snapshot(), before, way);
        if (!present) continue;
        assert.equal(error.code, "TRANSACTION_ESCAPED", way);
        assert.equal(error.version, 2, way);
        assert.equal(error.file, ending.file, way);
        // The history guard's triggers were made in the transaction the body ended; their absence says nothing about the history table.
        assert.equal(error.cause, undefined, way);
      }
    });
  });

  test("rehearseUp refuses a TypeScript body's COMMIT before it runs: MIGRATION_FAILED for that migration, nothing stays", (t) => {
    // Without savepoints there is no rehearsal in a transaction (DRIVER_CAPABILITY_MISSING), nor anything to commit.
    if (h.lacks(t, "savepoints")) return;
    return h.withDatabase(async (db) => {
      await db.migrate([createItems]);
      const committing = asyncTsEntry(2, {
        up: async (connection: unknown) => {
          await runSql(connection, "INSERT INTO items (id, note) VALUES (1, 'written before the commit')");
          await runSql(connection, "COMMIT");
        },
      });
      const before = await db.snapshot();
      const { rehearsal } = await rehearseUp(db.manager([createItems, committing]) as Parameters<typeof rehearseUpAsync>[0]);
      assert.equal(rehearsal.ok, false);
      assert.equal(rehearsal.failure?.code, "MIGRATION_FAILED");
      assert.equal(rehearsal.failure?.fields.version, 2);
      assert.equal(rehearsal.failure?.cause?.name, "RehearsalStatementRefusedError");
      assert.deepEqual(await db.snapshot(), before);
    });
  });

  test("rehearseUp refuses the connection's other ways to end the transaction too (libsql-client's batch, commit and rollback)", (t) => {
    if (h.lacks(t, "savepoints")) return;
    return h.withDatabase(async (db) => {
      await db.migrate([createItems]);
      type Connection = { batch?: (statements: unknown[]) => Promise<unknown>; commit?: () => Promise<unknown>; rollback?: () => Promise<unknown> };
      // A library without these calls still proves the refusal through its plain statement call.
      const ways: Record<string, (connection: Connection) => Promise<unknown>> = {
        plain: (connection) => runSql(connection, "COMMIT"),
        batch: (connection) => connection.batch!(["INSERT INTO items (id, note) VALUES (2, 'in the batch')", { sql: "COMMIT", args: [] }]),
        commit: (connection) => connection.commit!(),
        rollback: (connection) => connection.rollback!(),
      };
      for (const [way, end] of Object.entries(ways)) {
        let present = true;
        const ending = asyncTsEntry(2, {
          up: async (connection: unknown) => {
            await runSql(connection, "INSERT INTO items (id, note) VALUES (1, 'written before the end')");
            present = way === "plain" || typeof (connection as Record<string, unknown>)[way] === "function";
            if (present) await end(connection as Connection);
          },
        });
        const before = await db.snapshot();
        const { rehearsal } = await rehearseUp(db.manager([createItems, ending]) as Parameters<typeof rehearseUpAsync>[0]);
        assert.deepEqual(await db.snapshot(), before, way);
        if (!present) continue;
        assert.equal(rehearsal.failure?.code, "MIGRATION_FAILED", way);
        assert.equal(rehearsal.failure?.fields.version, 2, way);
        assert.equal(rehearsal.failure?.cause?.name, "RehearsalStatementRefusedError", way);
      }
    });
  });
});

await describeEachAsyncDriver("async suite: PostgreSQL's own transaction control", QUICK_RUN, (h) => {
  for (const [statement, committed] of [
    ["ABORT;", "no"],
    ["PREPARE TRANSACTION 'stepwise_test';", "no"],
  ] as const) {
    test(`a migration that ends stepwise's transaction with ${statement} is refused with TRANSACTION_ESCAPED and not recorded; what it ran before is not kept`, (t) => {
      if (h.underTest.dialect !== "postgres") return skipWithReason(t, `${h.name} speaks SQLite, where ${statement} is no statement`);
      return h.withDatabase(async (db) => {
        await db.migrate([createItems]);
        const escaping = namedSqlEntry(2, "escapes", `CREATE TABLE before_it (id INTEGER);\n${statement}\nCREATE TABLE after_it (id INTEGER);`);
        const error = await rejection(() => db.migrate([createItems, escaping]));
        assert.equal(error.code, "TRANSACTION_ESCAPED", String(error.message));
        assert.equal(error.version, 2);
        // The guard sees its savepoint gone, not what the server did with the work before it.
        assert.ok(["unknown", committed].includes(String(error.committed)), String(error.committed));
        assert.deepEqual(await historyVersions(db), [1]);
        assert.ok(!(await db.tableNames()).includes("before_it"));
        // Nothing is left prepared in this database for a later COMMIT PREPARED to land. The view lists the whole
        // server's, and other tests' databases share the server.
        assert.deepEqual(await db.rows("SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE database = pg_catalog.current_database()"), []);
      });
    });
  }
});

await describeEachAsyncDriver("async suite: transaction false", QUICK_RUN, (h) => {
  test("a transaction: false migration runs outside a transaction and is recorded applied", () =>
    h.withDatabase(async (db) => {
      const outside = namedSqlEntry(2, "outside", "CREATE TABLE outside_tx (id INTEGER);", "DROP TABLE outside_tx;", { transaction: false });
      const result = await db.migrate([createItems, outside]);
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2],
      );
      const history = await db.manager([createItems, outside]).history();
      assert.deepEqual(
        history.map((row) => [row.version, row.state]),
        [
          [1, "applied"],
          [2, "applied"],
        ],
      );
      assert.deepEqual(
        (await db.manager([createItems, outside]).down()).steps.map((step) => step.version),
        [2],
      );
      assert.deepEqual(await db.tableNames(), ["items", "schema_migrations"]);
    }));

  test("a transaction: false body that starts statements without await: the run waits for them, and one that fails fails the migration, which is never recorded applied", () =>
    h.withDatabase(async (db) => {
      const waited = tsEntry(2, {
        transaction: false,
        up: (connection: unknown) => void startSql(connection, "CREATE TABLE started_unawaited (id INTEGER)"),
      } as unknown as MigrationDefinition<unknown>);
      await db.migrate([createItems, waited]);
      assert.ok((await db.tableNames()).includes("started_unawaited"));
      const failing = tsEntry(3, {
        transaction: false,
        up: (connection: unknown) => {
          startSql(connection, "INSERT INTO no_such_table VALUES (1)");
          startSql(connection, "CREATE TABLE after_failure (id INTEGER)");
        },
      } as unknown as MigrationDefinition<unknown>);
      const error = await rejection(() => db.migrate([createItems, waited, failing]));
      assert.deepEqual([error.code, error.version, error.rolledBack], ["MIGRATION_FAILED", 3, false]);
      // Its started row stays, as for any transaction: false migration that failed: the next up stops with INCOMPLETE_MIGRATION.
      const history = await db.manager([createItems, waited, failing]).history();
      assert.deepEqual(
        history.map((row) => [row.version, row.state]),
        [
          [1, "applied"],
          [2, "applied"],
          [3, "started"],
        ],
      );
    }));

  test("a transaction: false migration that fails leaves its started row: the next up stops with INCOMPLETE_MIGRATION", () =>
    h.withDatabase(async (db) => {
      const failing = namedSqlEntry(2, "fails_outside", "CREATE TABLE kept (id INTEGER); INSERT INTO no_such_table VALUES (1);", null, { transaction: false });
      const error = await rejection(() => db.migrate([createItems, failing]));
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.rolledBack, false);
      const next = await rejection(() => db.migrate([createItems, failing]));
      assert.equal(next.code, "INCOMPLETE_MIGRATION");
      assert.equal(next.version, 2);
      const status = await db.manager([createItems, failing]).status();
      assert.equal(status.problem?.code, "INCOMPLETE_MIGRATION");
    }));
});

await describeEachAsyncDriver("async suite: concurrency", QUICK_RUN, (h) => {
  test("two app instances racing up on their own connections apply each migration exactly once", () =>
    h.withDatabase(async (db) => {
      const counted = [
        createItems,
        h.capabilities.atomicBatch
          ? namedSqlEntry(2, "once", "INSERT INTO items (id, note) VALUES (2, 'once');")
          : runsBodiesInLine(h)
            ? (tsEntry(2, { up: (connection) => void runSql(connection, "INSERT INTO items (id, note) VALUES (2, 'once')") }) as MigrationEntry)
            : asyncEntry(2, async (connection) => {
                await runSql(connection, "INSERT INTO items (id, note) VALUES (2, 'once')");
              }),
      ];
      const other = await db.connectAnother();
      const results = await Promise.all([db.migrate(counted), h.entry.migrate(other, inDialect(counted, h.underTest.dialect))]);
      const appliedBy = results.map((result) => result.steps.map((step) => step.version));
      // SQLite and Cloudflare lock (or batch) one migration at a time, so the two instances may take
      // turns; what is promised is that each version is applied by exactly one of them, in order.
      assert.deepEqual(
        appliedBy.flat().sort((a, b) => a - b),
        [1, 2],
      );
      for (const versions of appliedBy)
        assert.deepEqual(
          versions,
          [...versions].sort((a, b) => a - b),
        );
      if (h.underTest.dialect === "postgres") {
        // PostgreSQL holds its advisory lock for the whole run (DESIGN.md), so one instance applies both.
        assert.deepEqual(
          appliedBy.sort((a, b) => b.length - a.length),
          [[1, 2], []],
        );
      }
      assert.deepEqual(await db.rows("SELECT id FROM items"), [{ id: 2 }]);
      assert.deepEqual(await historyVersions(db), [1, 2]);
    }));

  test("a transaction: false migration still running in this process is running, not interrupted: another instance's status says MIGRATION_IN_PROGRESS and its up waits, then succeeds", (t) => {
    if (runsBodiesInLine(h)) return skipWithReason(t, `${h.name} runs a migration to its end before any other call reaches the object`);
    return h.withDatabase(async (db) => {
      // Seen mid-run: its body waits between two statements until the other instance has read the status and started its up, however slow the machine.
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slow = asyncTsEntry(2, {
        transaction: false,
        up: async (connection: unknown) => {
          await runSql(connection, "CREATE TABLE big (i INTEGER)");
          await gate;
          await runSql(connection, "INSERT INTO big (i) VALUES (1)");
        },
      } as unknown as MigrationDefinition<unknown>) as MigrationEntry;
      const registry = [createItems, slow];
      const first = db.migrate(registry);
      const readState = () =>
        db.rows("SELECT state FROM schema_migrations WHERE version = 2").then(
          (rows) => rows[0]?.state,
          () => undefined,
        );
      let state: unknown;
      while ((state = await readState()) === undefined) await new Promise((resolve) => setTimeout(resolve, 2));
      let status: MigrationStatus;
      let second: unknown;
      try {
        const other = await db.connectAnother();
        status = await new h.entry.MigrationManager(other, inDialect(registry, h.underTest.dialect)).status();
        const waiting = h.entry.migrate(other, inDialect(registry, h.underTest.dialect), { busyTimeoutMs: 60_000 }).catch((error: unknown) => error);
        setTimeout(release, 100);
        second = await waiting;
      } finally {
        release();
      }
      const firstResult = await first;
      assert.equal(state, "started", "the first run was seen mid-migration");
      assert.equal(status.problem?.code, "MIGRATION_IN_PROGRESS");
      assert.deepEqual([firstResult.steps.map((step) => step.version), (second as MigrationResult).steps?.map((step) => step.version)], [[1, 2], []]);
      assert.equal(Number((await db.rows("SELECT count(*) AS n FROM big"))[0]?.n), 1);
      assert.deepEqual(await historyVersions(db), [1, 2]);
    });
  });

  test("three app instances racing down({ to: 0 }) over a transaction: false migration revert each migration once, and every one succeeds", () =>
    h.withDatabase(async (db) => {
      // Each revert logs itself in a table no migration drops: a second revert would be a second row.
      const registry = [namedSqlEntry(1, "log", "CREATE TABLE reverts (v INTEGER NOT NULL);", "INSERT INTO reverts (v) VALUES (1);")];
      for (let version = 2; version <= 5; version++)
        registry.push(
          namedSqlEntry(
            version,
            `step_${version}`,
            `CREATE TABLE t${version} (id INTEGER);`,
            `INSERT INTO reverts (v) VALUES (${version}); DROP TABLE t${version};`,
            version === 3 ? { transaction: false } : {},
          ),
        );
      const others = [await db.connectAnother(), await db.connectAnother()];
      // A few rounds: which instance meets which step first is up to the interleaving.
      for (let round = 0; round < 3; round++) {
        await db.migrate(registry);
        await db.rows("DELETE FROM reverts");
        const results = await Promise.all([
          db.manager(registry).down({ to: 0 }),
          ...others.map((other) => new h.entry.MigrationManager(other, inDialect(registry, h.underTest.dialect)).down({ to: 0 })),
        ]);
        assert.deepEqual(
          results.flatMap((result) => result.steps.map((step) => step.version)).sort((a, b) => a - b),
          [1, 2, 3, 4, 5],
        );
        assert.deepEqual(
          (await db.rows("SELECT v FROM reverts ORDER BY v")).map((row) => Number(row.v)),
          [1, 2, 3, 4, 5],
        );
        await db.rows("DROP TABLE reverts");
      }
    }));

  test('two app instances racing down({ to: 0, transaction: "all" }) revert each migration exactly once: one instance the whole run, the other nothing', (t) => {
    if (h.capabilities.atomicBatch) return skipWithReason(t, `${h.name} declares atomicBatch: down({ transaction: "all" }) is refused there`);
    return h.withDatabase(async (db) => {
      const three = threeFor(h);
      await db.migrate(three);
      const other = await db.connectAnother();
      const skipped: number[] = [];
      const results = await Promise.all([
        db.manager(three).down({ to: 0, transaction: "all" }),
        new h.entry.MigrationManager(other, inDialect(three, h.underTest.dialect), { onEvent: (event) => void (event.type === "skipped" && skipped.push(event.version)) }).down({
          to: 0,
          transaction: "all",
        }),
      ]);
      // The whole run holds the write lock (or the run lock) from its re-read to its commit.
      assert.deepEqual(
        results.map((result) => result.steps.map((step) => step.version)).sort((a, b) => b.length - a.length),
        [[3, 2, 1], []],
      );
      assert.deepEqual(await db.tableNames(), ["schema_migrations"]);
      assert.deepEqual(await historyVersions(db), []);
      // The second either planned after the first committed, or re-read under the lock and skipped what it had planned.
      assert.ok(skipped.length === 0 || skipped.join() === "3,2,1", skipped.join());
    });
  });
});
