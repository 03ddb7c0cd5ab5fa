/**
 * A SQL migration applied with its history writes as one `exec` (`src/core/dialects/sqlite-script-with-history.ts`),
 * on every SQLite driver: hostile history values (quotes, backslashes, line breaks, NUL, lone
 * surrogates) are stored exactly as the usual path binds them; a script that ends inside a comment, a
 * string or a quoted name, or holds a NUL, never swallows the history `INSERT` (the row is written, or
 * the migration fails with nothing kept); a failing statement, the migration's or the `INSERT`'s,
 * leaves nothing. Each test also checks which path ran, by the statements the manager's driver was
 * sent: one `exec` carrying script, row and `user_version` where the entry's dialect carries the path
 * (the file drivers), the usual statements elsewhere (sql.js, held to its bundle budget).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { caught, createItems, sqlEntry } from "./support/registry-builders.js";
import { canAppendToSqliteScript } from "../src/core/sqlite-script-end.js";
import { tokenizeSqliteSql } from "../src/shared/sqlite-tokens.js";
import type { MigrationRegistry } from "../src/core/types.js";
import type { SyncMigrationManager } from "../src/core/manager.js";

/** What the manager's driver was asked to run, in order. */
interface Recorded {
  readonly execs: string[];
  readonly runs: string[];
}

/** A manager on `db` whose driver records each `exec` and `run` it is sent. */
function recordingManager(db: TestDatabase, migrations: MigrationRegistry): { manager: SyncMigrationManager<unknown, MigrationRegistry>; recorded: Recorded } {
  const manager = db.manager(migrations);
  const recorded: Recorded = { execs: [], runs: [] };
  const driver = manager.driver as { exec(sql: string): unknown; run(sql: string, params: readonly unknown[]): unknown };
  const exec = driver.exec.bind(driver);
  const run = driver.run.bind(driver);
  driver.exec = (sql) => {
    recorded.execs.push(sql);
    return exec(sql);
  };
  driver.run = (sql, params) => {
    recorded.runs.push(sql);
    return run(sql, params);
  };
  return { manager, recorded };
}

/** Whether the entry's dialect applies SQL migrations in one exec (the file drivers' entries). */
function oneExec(manager: SyncMigrationManager<unknown, MigrationRegistry>): boolean {
  return manager.executor.dialect.applyScriptWithHistory !== undefined;
}

/** What precedes the script in its exec: nothing, or (after the run's first transaction) BEGIN and the counter check. */
const PREFIX = /^(?:BEGIN IMMEDIATE;\n[^\n]*pragma_data_version[^\n]*;\n)?$/;

/**
 * Asserts the path `script` took: one exec holding it and its row, or the script alone then (unless
 * `scriptFailed`) a bound INSERT.
 */
function assertPath(manager: SyncMigrationManager<unknown, MigrationRegistry>, recorded: Recorded, script: string, expectOneExec: boolean, scriptFailed = false): void {
  const marker = `${script}\n;\nINSERT INTO "schema_migrations"`;
  const carrying = recorded.execs.filter((sql) => sql.includes(marker) && PREFIX.test(sql.slice(0, sql.indexOf(marker))));
  const boundInserts = recorded.runs.filter((sql) => /^INSERT INTO "schema_migrations"/.test(sql));
  if (expectOneExec && oneExec(manager)) {
    assert.equal(carrying.length, 1, "one exec carries the script");
    assert.match(carrying[0]!, /;\nPRAGMA user_version = \d+$/);
    assert.equal(boundInserts.length, 0, "no history INSERT of its own");
    assert.ok(!recorded.execs.includes(script), "the script did not also run alone");
  } else {
    assert.ok(recorded.execs.includes(script), "the script ran alone");
    if (!scriptFailed) assert.ok(boundInserts.length > 0, "the history row went as a bound INSERT");
  }
}

function historyRows(db: TestDatabase): Record<string, unknown>[] {
  return db.rows("SELECT version, name, checksum, state FROM schema_migrations ORDER BY version");
}

await describeEachDriver("a SQL migration with its history writes as one exec", (h) => {
  for (const [label, name, checksum, oneExecExpected] of [
    ["quotes", 'it\'s "quoted" `twice`', "sha256:'; DROP TABLE items; --", true],
    ["backslashes and a line break", "back\\slash\\'\nnew line\r\n-- not a comment", "a\\b", true],
    ["a NUL", "nul\u0000inside", "nul\u0000sum", false],
    ["a lone surrogate", "lone \uD800 surrogate", "c", false],
    ["characters past ASCII", "naïve 迁移 🚀", "ü", true],
  ] as const) {
    test(`a history value with ${label} is stored as binding it stores it, and the run is whole`, () =>
      h.withDatabase((db) => {
        // What the library stores for a bound value (a lone surrogate becomes U+FFFD, each library its own way).
        const stored = (value: string) => db.value("SELECT ? AS v", [value]);
        const script = "INSERT INTO items (note) VALUES ('two');";
        const { manager, recorded } = recordingManager(db, [createItems, sqlEntry(2, script, { name, checksum })]);
        manager.up();
        assert.deepEqual(historyRows(db), [
          { version: 1, name: "step_1", checksum: "checksum-1", state: "applied" },
          { version: 2, name: stored(name), checksum: stored(checksum), state: "applied" },
        ]);
        assert.equal(db.userVersion(), 2);
        assert.deepEqual(db.rows("SELECT note FROM items"), [{ note: "two" }]);
        assertPath(manager, recorded, script, oneExecExpected);
      }));
  }

  for (const [label, script, oneExecExpected] of [
    ["a trailing -- comment with no line break", "INSERT INTO items (note) VALUES ('two'); -- done, no newline", true],
    ["a trailing -- comment ending in CR", "INSERT INTO items (note) VALUES ('two'); -- done\r", true],
    ["no final semicolon", "INSERT INTO items (note) VALUES ('two')", true],
    ["only a comment", "-- nothing to do here", true],
    ["an empty script", "", true],
    ["an unclosed block comment", "INSERT INTO items (note) VALUES ('two'); /* never closed", false],
    ["an unclosed block comment holding a quote", "INSERT INTO items (note) VALUES ('two'); /* it's open", false],
    ["a NUL before more statements", "INSERT INTO items (note) VALUES ('two');\u0000INSERT INTO items (note) VALUES ('hidden');", false],
    ["a -- comment holding what would open a Tcl variable and a string", "INSERT INTO items (note) VALUES ('two'); -- $x('\n", true],
  ] as const) {
    test(`a script ending in ${label} gets its history row`, () =>
      h.withDatabase((db) => {
        const { manager, recorded } = recordingManager(db, [createItems, sqlEntry(2, script)]);
        manager.up();
        assert.deepEqual(
          historyRows(db).map((row) => row.version),
          [1, 2],
        );
        assert.equal(db.userVersion(), 2);
        assertPath(manager, recorded, script, oneExecExpected);
      }));
  }

  for (const [label, script] of [
    ["an unclosed string", "INSERT INTO items (note) VALUES ('two'); SELECT 'open"],
    ["an unclosed double-quoted name", "INSERT INTO items (note) VALUES ('two'); SELECT \"open"],
    ["an unclosed bracketed name", "INSERT INTO items (note) VALUES ('two'); SELECT [open"],
    ["an unclosed backquoted name", "INSERT INTO items (note) VALUES ('two'); SELECT `open"],
    ["a Tcl variable with an open parenthesis", "INSERT INTO items (note) VALUES ('two'); SELECT $x('a) '"],
  ] as const) {
    test(`a script ending in ${label} fails on its own, with nothing kept`, () =>
      h.withDatabase((db) => {
        db.manager([createItems]).up();
        const before = db.snapshot();
        const { manager, recorded } = recordingManager(db, [createItems, sqlEntry(2, script)]);
        const error = caught(() => manager.up());
        assert.equal(error.code, "MIGRATION_FAILED");
        assert.equal(error.version, 2);
        assert.equal(error.direction, "up");
        assert.equal(error.rolledBack, true);
        assert.deepEqual(db.snapshot(), before);
        assert.ok(recorded.execs.includes(script), "the script ran alone, so its own error is the one reported");
      }));
  }

  test("a failing statement in the middle leaves nothing: MIGRATION_FAILED with the library's code, the same on both paths", () =>
    h.withDatabase((db) => {
      db.manager([createItems]).up();
      const before = db.snapshot();
      const script = "INSERT INTO items (note) VALUES ('kept?');\nINSERT INTO missing_table VALUES (1);\nCREATE TABLE after_failure (id INTEGER);";
      const { manager, recorded } = recordingManager(db, [createItems, sqlEntry(2, script)]);
      const error = caught(() => manager.up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 2);
      assert.equal(error.file, "migrations/002_step_2.sql");
      assert.equal(error.rolledBack, true);
      assert.equal(error.nativeCode, "SQLITE_ERROR");
      assert.equal(error.foreignKeyRebuild, null);
      assert.deepEqual(db.snapshot(), before);
      assert.equal(db.inTransaction(), false);
      assertPath(manager, recorded, script, true, true);
    }));

  test("a history INSERT that fails (the script wrote the row itself) rolls back the script too", () =>
    h.withDatabase((db) => {
      db.manager([createItems]).up();
      const before = db.snapshot();
      const script = "INSERT INTO items (note) VALUES ('two');\nINSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (2, 'sneaky', 'x', 'y');";
      const { manager, recorded } = recordingManager(db, [createItems, sqlEntry(2, script)]);
      const error = caught(() => manager.up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 2);
      assert.equal(error.rolledBack, true);
      assert.match(String(error.nativeCode), /^SQLITE_CONSTRAINT/);
      assert.deepEqual(db.snapshot(), before);
      assertPath(manager, recorded, script, true);
    }));

  test("the history row's duration is SQLite's measure of the script, within the client's", () =>
    h.withDatabase((db) => {
      // A script that takes a measurable time: a recursive CTE over some 200,000 rows.
      const script = "CREATE TABLE counted AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT count(*) AS c FROM n;";
      const events: { type: string; version?: number; durationMs?: number }[] = [];
      const result = db.manager([createItems, sqlEntry(2, script)], { onEvent: (event) => void events.push(event as never) }).up();
      const clientMs = result.steps.find((step) => step.version === 2)!.durationMs;
      assert.equal(events.find((event) => event.type === "migrated" && event.version === 2)?.durationMs, clientMs);
      const stored = Number(db.value("SELECT duration_ms FROM schema_migrations WHERE version = 2"));
      assert.ok(Number.isInteger(stored) && stored >= 0, `duration_ms ${stored}`);
      // Both clocks tick in whole milliseconds at worst; the client's span holds SQLite's.
      assert.ok(stored <= Math.ceil(clientMs) + 2, `duration_ms ${stored} against the client's ${clientMs}`);
      assert.ok(stored >= Math.floor(clientMs / 4), `duration_ms ${stored} against the client's ${clientMs}`);
      assert.equal(db.value("SELECT c FROM counted"), 200000);
    }));

  test("a migration naming a transaction-control keyword still takes the guarded path, statement by statement", () =>
    h.withDatabase((db) => {
      const script = "CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT); CREATE TRIGGER items_audit AFTER INSERT ON items BEGIN INSERT INTO audit (note) VALUES (new.note); END;";
      const { manager, recorded } = recordingManager(db, [createItems, sqlEntry(2, script)]);
      manager.up();
      assert.ok(recorded.execs.includes(script), "the script ran alone");
      assert.deepEqual(
        historyRows(db).map((row) => row.version),
        [1, 2],
      );
    }));

  test("after the run's first transaction, BEGIN, the counter check, the script and its row go as one exec, then COMMIT", () =>
    h.withDatabase((db) => {
      const scripts = ["INSERT INTO items (note) VALUES ('two');", "INSERT INTO items (note) VALUES ('three');"];
      const { manager, recorded } = recordingManager(db, [createItems, sqlEntry(2, scripts[0]!), sqlEntry(3, scripts[1]!)]);
      const driver = manager.driver as { begin(mode: string): unknown; commit(): unknown };
      const calls: string[] = [];
      for (const name of ["begin", "commit"] as const) {
        const original = driver[name].bind(driver) as (...args: unknown[]) => unknown;
        driver[name] = (...args: unknown[]) => {
          calls.push(name);
          return original(...args);
        };
      }
      manager.up();
      assert.deepEqual(
        historyRows(db).map((row) => row.version),
        [1, 2, 3],
      );
      assert.equal(db.userVersion(), 3);
      for (const script of scripts) assertPath(manager, recorded, script, true);
      if (oneExec(manager)) {
        // The first transaction makes the history table the usual way, the next two open their own,
        // and the last, empty, checks under the lock that nothing is left.
        assert.deepEqual(calls, ["begin", "commit", "commit", "commit", "begin", "commit"]);
        for (const script of scripts) assert.ok(recorded.execs.some((sql) => sql.startsWith("BEGIN IMMEDIATE;\n") && sql.includes(script)));
      } else {
        assert.deepEqual(calls, ["begin", "commit", "begin", "commit", "begin", "commit", "begin", "commit"]);
      }
    }));

  for (const [label, otherWrites, expected] of [
    ["applies the migration this one was about to run", "up", { notes: ["two", "three", "four"], steps: [1, 2, 4], forThree: ["skipped applied-elsewhere"] }],
    [
      "reverts the one this one just ran, so the plan is stale though the next would apply cleanly",
      "down",
      { notes: ["two", "three", "four"], steps: [1, 2, 2, 3, 4], forThree: ["migrating", "migrated"] },
    ],
    ["writes a row of the app's own", "app row", { notes: ["two", "app", "three", "four"], steps: [1, 2, 3, 4], forThree: ["migrating", "migrated"] }],
  ] as const) {
    test(`another connection that commits between two migrations (it ${label}) makes the next one re-plan, with nothing run twice`, async (t) => {
      if (h.lacks(t, "fileLocking")) return;
      await h.withDatabase(async (db) => {
        const other = await db.reopen();
        const migrations = [
          createItems,
          sqlEntry(2, "INSERT INTO items (note) VALUES ('two');", { downSql: "DELETE FROM items WHERE note = 'two';" }),
          sqlEntry(3, "INSERT INTO items (note) VALUES ('three');"),
          sqlEntry(4, "INSERT INTO items (note) VALUES ('four');"),
        ];
        const events: { type: string; version?: number; reason?: string }[] = [];
        let interleaved = false;
        const result = db
          .manager(migrations, {
            onEvent: (event) => {
              events.push(event as never);
              if (event.type !== "migrated" || event.version !== 2 || interleaved) return;
              interleaved = true;
              if (otherWrites === "up") other.manager(migrations).up({ to: 3 });
              else if (otherWrites === "down") other.manager(migrations).down({ to: 1 });
              else other.exec("INSERT INTO items (note) VALUES ('app');");
            },
          })
          .up();
        assert.deepEqual(
          historyRows(db).map((row) => row.version),
          [1, 2, 3, 4],
        );
        assert.equal(db.userVersion(), 4);
        assert.deepEqual(
          db.rows("SELECT note FROM items ORDER BY id").map((row) => row.note),
          expected.notes,
        );
        assert.deepEqual(
          result.steps.map((step) => step.version),
          expected.steps,
        );
        const forThree = events.filter((event) => event.version === 3).map((event) => (event.type === "skipped" ? `skipped ${event.reason}` : event.type));
        assert.deepEqual(forThree, expected.forThree);
      });
    });
  }

  test("a run of many SQL migrations on one path ends with every row, user_version and the schema, and a second up changes nothing", () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        ...Array.from({ length: 30 }, (_, index) => sqlEntry(index + 2, `CREATE TABLE t${index + 2} (id INTEGER PRIMARY KEY); INSERT INTO items (note) VALUES ('${index + 2}');`)),
      ];
      db.manager(migrations).up();
      assert.deepEqual(
        historyRows(db).map((row) => row.version),
        migrations.map((entry) => entry.version),
      );
      assert.equal(db.userVersion(), 31);
      assert.equal(db.value("SELECT count(*) FROM items"), 30);
      const after = db.snapshot();
      assert.deepEqual(db.manager(migrations).up().steps, []);
      assert.deepEqual(db.snapshot(), after);
    }));
});

test("the append check answers as SQLite's tokenizer reads the script's end, on every ending the tokenizer knows", () => {
  const endings = ["", "x", "'a'", "'a''b'", "'open", '"id"', '"open', "[id]", "[open", "`id`", "`open", "/* c */", "/* open", "-- c", "-- c\n", "x'00'", "'it''s"];
  for (const first of endings) {
    for (const second of endings) {
      const script = `SELECT ${first} ${second}`;
      const tokens = tokenizeSqliteSql(script);
      const unclosed = tokens.length > 0 && tokens[tokens.length - 1]!.unterminated;
      assert.equal(canAppendToSqliteScript(script), !unclosed, JSON.stringify(script));
    }
  }
  assert.equal(canAppendToSqliteScript("SELECT 1;\u0000"), false);
  assert.equal(canAppendToSqliteScript("SELECT :name, @p, $v, #1, $a::b"), true);
  assert.equal(canAppendToSqliteScript("SELECT $v(x)"), false);
});
