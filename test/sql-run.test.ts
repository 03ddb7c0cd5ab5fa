/**
 * A run of consecutive migrations, checked on every driver. Each migration still commits on its own with its
 * history row and `user_version`; a commit by another connection in the middle of a run re-plans
 * (applied elsewhere: skipped; reverted elsewhere: applied again); a failure in the middle keeps what
 * committed before it and nothing of itself; events come in order; the async runner and a
 * rehearsal apply the same run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SyncMigrationManager } from "../src/core/manager.js";
import type { MigrationEvent } from "../src/core/events.js";
import type { MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { rehearseUp } from "../src/safety/index.js";
import type { rehearseUpAsync } from "../src/safety/rehearsal.js";
import { describeEachDriver, type DriverHarness, type TestDatabase } from "./support/driver-matrix.js";
import { asyncTsEntry, caught, sqlEntry, tsEntry, type PortableConnection } from "./support/registry-builders.js";
import { factsOf } from "./support/stepwise-failure.js";

/** Migration `version` as SQL: it logs itself in `ran`, so a migration applied twice shows twice. */
function logged(version: number, extra = ""): MigrationEntry {
  const upSql = version === 1 ? "CREATE TABLE ran (id INTEGER PRIMARY KEY, version INTEGER NOT NULL); INSERT INTO ran (version) VALUES (1);" : `INSERT INTO ran (version) VALUES (${version});${extra}`;
  return sqlEntry(version, upSql, { downSql: `DELETE FROM ran WHERE id = (SELECT max(id) FROM ran WHERE version = ${version});` });
}

/** Migration `version` as TypeScript, logging itself the same way. */
function loggedTs(version: number): MigrationEntry {
  return tsEntry<PortableConnection>(version, {
    up: (db) => void db.exec(`INSERT INTO ran (version) VALUES (${version})`),
    down: (db) => void db.exec(`DELETE FROM ran WHERE version = ${version}`),
  });
}

/**
 * Applies migration 1 of `migrations` (five, the fourth failing), then rehearses the rest in a
 * transaction and checks what every such rehearsal must report: 2 and 3 applied, 4 failed with
 * `MIGRATION_FAILED`, 5 not run. Returns the rehearsal and the database as it was before it.
 */
async function rehearseFailingAtFour(h: DriverHarness, db: TestDatabase, migrations: MigrationRegistry) {
  const manager = new h.entry.AsyncMigrationManager(db.native, migrations);
  await manager.up({ to: 1 });
  const before = db.snapshot();
  const { rehearsal } = await rehearseUp(manager as Parameters<typeof rehearseUpAsync>[0]);
  assert.equal(rehearsal.ok, false);
  assert.equal(rehearsal.failure?.code, "MIGRATION_FAILED");
  assert.equal(rehearsal.failure?.fields.version, 4);
  assert.deepEqual(
    rehearsal.steps.map((step) => [step.version, step.status]),
    [
      [2, "applied"],
      [3, "applied"],
      [4, "failed"],
      [5, "not-run"],
    ],
  );
  return { rehearsal, before };
}

const appliedVersions = (db: TestDatabase) => db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version);
const ranVersions = (db: TestDatabase) => db.rows("SELECT version FROM ran ORDER BY id").map((row) => row.version);

/** Runs `action` once, just before the `nth` `BEGIN IMMEDIATE` `manager` asks for (1-based). */
function beforeNthWriteLock(manager: SyncMigrationManager<unknown, MigrationRegistry>, nth: number, action: () => void): () => boolean {
  let seen = 0;
  const driver = manager.driver as { begin: (mode: "immediate" | "deferred") => void };
  const begin = driver.begin.bind(driver);
  driver.begin = (mode) => {
    if (mode === "immediate" && ++seen === nth) action();
    begin(mode);
  };
  return () => seen >= nth;
}

await describeEachDriver("a run of SQL migrations applied one after another", (h) => {
  test("each commits with its history row and user_version; `to` stops the run where it says", () =>
    h.withDatabase((db) => {
      const migrations = [1, 2, 3, 4, 5, 6].map((version) => logged(version));
      const result = db.manager(migrations).up({ to: 4 });
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2, 3, 4],
      );
      assert.ok(result.steps.every((step) => typeof step.durationMs === "number" && step.durationMs >= 0));
      assert.deepEqual(appliedVersions(db), [1, 2, 3, 4]);
      assert.deepEqual(ranVersions(db), [1, 2, 3, 4]);
      assert.equal(db.userVersion(), 4);
      assert.deepEqual(db.rows("SELECT name, checksum, state FROM schema_migrations WHERE version = 3"), [{ name: "step_3", checksum: "checksum-3", state: "applied" }]);
      assert.equal(db.value("SELECT count(*) FROM schema_migrations WHERE duration_ms IS NULL OR applied_at IS NULL"), 0);
      db.manager(migrations).up();
      assert.deepEqual(ranVersions(db), [1, 2, 3, 4, 5, 6]);
      assert.equal(db.userVersion(), 6);
      assert.equal(db.inTransaction(), false);
    }));

  test("events come in order, migrating then migrated with a duration, across SQL runs broken by TypeScript migrations", () =>
    h.withDatabase((db) => {
      const events: MigrationEvent[] = [];
      const lines: string[] = [];
      const migrations = [logged(1), logged(2), loggedTs(3), logged(4), logged(5), logged(6), loggedTs(7), logged(8)];
      db.manager(migrations, { onEvent: (event) => events.push(event), logger: { info: (line: string) => lines.push(line), warn: () => undefined, error: () => undefined } as never }).up();
      assert.deepEqual(
        events.map((event) => [event.type, "version" in event ? event.version : null]),
        [1, 2, 3, 4, 5, 6, 7, 8].flatMap((version) => [
          ["migrating", version],
          ["migrated", version],
        ]),
      );
      for (const event of events) {
        assert.equal((event as { direction?: string }).direction, "up");
        if (event.type === "migrated") assert.ok(typeof event.durationMs === "number" && event.durationMs >= 0);
      }
      assert.equal(lines.length, events.length, "the logger gets a line per event");
      assert.deepEqual(ranVersions(db), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(appliedVersions(db), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.equal(db.userVersion(), 8);
    }));

  test("a failure in the middle of a run keeps the migrations before it, nothing of itself, and reports MIGRATION_FAILED with its fields", () =>
    h.withDatabase((db) => {
      const events: string[] = [];
      const migrations = [logged(1), logged(2), logged(3), logged(4, " CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1);"), logged(5)];
      const error = caught(() => db.manager(migrations, { onEvent: (event) => events.push(`${event.type}:${"version" in event ? event.version : ""}`) }).up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 4);
      assert.equal(error.file, "migrations/004_step_4.sql");
      assert.equal(error.direction, "up");
      assert.equal(error.rolledBack, true);
      assert.deepEqual(appliedVersions(db), [1, 2, 3]);
      assert.deepEqual(ranVersions(db), [1, 2, 3]);
      assert.deepEqual(db.tableNames(), ["ran", "schema_migrations"]);
      assert.equal(db.userVersion(), 3);
      assert.equal(db.inTransaction(), false);
      assert.deepEqual(events.slice(-2), ["migrated:3", "migrating:4"]);
    }));

  test("a script in the middle of a run that writes its own version's history row is refused (the history table is stepwise's), rolled back and named", () =>
    h.withDatabase((db) => {
      const migrations = [logged(1), logged(2), logged(3, " INSERT INTO schema_migrations (version, name, checksum, applied_at, state) VALUES (3, 'squatter', 'x', 'now', 'applied');"), logged(4)];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "HISTORY_CHANGED_BY_MIGRATION");
      assert.equal(error.version, 3);
      assert.equal(error.rolledBack, true);
      assert.deepEqual(db.rows("SELECT version, name FROM schema_migrations ORDER BY version"), [
        { version: 1, name: "step_1" },
        { version: 2, name: "step_2" },
      ]);
      assert.deepEqual(ranVersions(db), [1, 2]);
      assert.equal(db.userVersion(), 2);
    }));

  test("another connection applying migrations in the middle of a run: they are skipped as applied elsewhere, none runs twice", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    await h.withDatabase(async (late) => {
      const early = await late.reopen();
      const migrations = [1, 2, 3, 4, 5, 6].map((version) => logged(version));
      const events: string[] = [];
      const manager = late.manager(migrations, { onEvent: (event) => events.push(`${event.type}:${"version" in event ? event.version : ""}`) });
      // The third write transaction is migration 3's: the other connection applies 3 and 4 first.
      const fired = beforeNthWriteLock(manager, 3, () => void early.manager(migrations).up({ to: 4 }));
      const result = manager.up();
      assert.ok(fired());
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2, 5, 6],
      );
      assert.ok(events.includes("skipped:3") && events.includes("skipped:4"), events.join(" "));
      assert.deepEqual(ranVersions(late), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(appliedVersions(late), [1, 2, 3, 4, 5, 6]);
      assert.equal(late.userVersion(), 6);
    });
  });

  test("another connection reverting a migration in the middle of a run: the run re-plans and applies it again before going on", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    await h.withDatabase(async (late) => {
      const early = await late.reopen();
      const migrations = [1, 2, 3, 4, 5].map((version) => logged(version));
      const manager = late.manager(migrations);
      // Before migration 4's transaction, the other connection reverts 3, which this run applied.
      const fired = beforeNthWriteLock(manager, 4, () => void early.manager(migrations).down({ steps: 1 }));
      const result = manager.up();
      assert.ok(fired());
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2, 3, 3, 4, 5],
      );
      // 3 ran, was reverted (its row deleted), ran again; nothing else twice.
      assert.deepEqual(ranVersions(late), [1, 2, 3, 4, 5]);
      assert.equal(late.value("SELECT count(*) FROM ran WHERE version = 3"), 1);
      assert.deepEqual(appliedVersions(late), [1, 2, 3, 4, 5]);
      assert.equal(late.userVersion(), 5);
    });
  });

  test("transaction-ending SQL in the middle of a run (END, END TRANSACTION, COMMIT) still meets the escape guard: TRANSACTION_ESCAPED names it, the migrations before it stay applied", async (t) => {
    if (h.lacks(t, "savepoints")) return;
    for (const ending of ["END", "END TRANSACTION", "COMMIT"]) {
      await h.withDatabase((db) => {
        const migrations = [logged(1), logged(2), logged(3, ` ${ending};`), logged(4)];
        const error = caught(() => db.manager(migrations).up());
        assert.equal(error.code, "TRANSACTION_ESCAPED", ending);
        assert.equal(error.version, 3, ending);
        assert.equal(error.direction, "up", ending);
        assert.deepEqual(appliedVersions(db), [1, 2], ending);
        assert.equal(db.userVersion(), 2, ending);
        assert.equal(db.inTransaction(), false, ending);
      });
    }
  });

  test("dropping a table a foreign key references in the middle of a run is still refused before it runs, naming the table and its children", () =>
    h.withDatabase((db) => {
      db.exec("PRAGMA foreign_keys = ON");
      const migrations = [
        logged(1),
        logged(2, " CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent_id INTEGER REFERENCES parent (id)); INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1);"),
        logged(3, " DROP TABLE parent;"),
        logged(4),
      ];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 3);
      assert.equal(error.rolledBack, true);
      assert.deepEqual(error.foreignKeyRebuild && { ...(error.foreignKeyRebuild as object), fix: undefined }, { table: "parent", referencedBy: ["child"], fix: undefined });
      assert.deepEqual(appliedVersions(db), [1, 2]);
      assert.deepEqual(ranVersions(db), [1, 2]);
      assert.equal(db.userVersion(), 2);
    }));

  test("a deferred foreign key failing at a run's COMMIT fails that migration, rolled back, and keeps the ones before it", () =>
    h.withDatabase((db) => {
      db.exec("PRAGMA foreign_keys = ON");
      const migrations = [
        logged(1),
        logged(2, " CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent_id INTEGER REFERENCES parent (id));"),
        logged(3, " PRAGMA defer_foreign_keys = ON; INSERT INTO child VALUES (7);"),
        logged(4),
      ];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 3);
      assert.equal(error.direction, "up");
      assert.equal(error.rolledBack, true);
      assert.deepEqual(appliedVersions(db), [1, 2]);
      assert.deepEqual(ranVersions(db), [1, 2]);
      assert.equal(db.value("SELECT count(*) FROM child"), 0);
      assert.equal(db.userVersion(), 2);
      assert.equal(db.inTransaction(), false);
    }));

  test("an onEvent listener that throws on a run's migrated event: that migration stays applied, none after it runs, and the caller gets the listener's error", () =>
    h.withDatabase((db) => {
      const thrown = new Error("listener");
      const migrations = [1, 2, 3, 4].map((version) => logged(version));
      const error = caught(() =>
        db
          .manager(migrations, {
            onEvent: (event) => {
              if (event.type === "migrated" && event.version === 2) throw thrown;
            },
          })
          .up(),
      );
      assert.equal(error, thrown);
      assert.deepEqual(appliedVersions(db), [1, 2]);
      assert.deepEqual(ranVersions(db), [1, 2]);
      assert.equal(db.userVersion(), 2);
      assert.equal(db.inTransaction(), false);
    }));

  test("an async onEvent listener or logger that rejects neither stops the run nor leaves an unhandled rejection", async () =>
    h.withDatabase(async (db) => {
      const unhandled: unknown[] = [];
      const record = (reason: unknown) => void unhandled.push(reason);
      process.on("unhandledRejection", record);
      try {
        const manager = db.manager(
          [1, 2].map((version) => logged(version)),
          // An async listener and logger, typed as the void ones they are passed as.
          { onEvent: (() => Promise.reject(new Error("telemetry down"))) as () => void, logger: { info: (async () => Promise.reject(new Error("log sink down"))) as () => void } },
        );
        assert.deepEqual(
          (await Promise.resolve(manager.up())).steps.map((step) => step.version),
          [1, 2],
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        process.off("unhandledRejection", record);
      }
      assert.deepEqual(unhandled, []);
      assert.deepEqual(appliedVersions(db), [1, 2]);
    }));

  test("another connection holding the write lock when a run's next migration begins: DATABASE_LOCKED after the busy timeout, the migrations before it kept", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    await h.withDatabase(async (late) => {
      const early = await late.reopen();
      const migrations = [1, 2, 3, 4].map((version) => logged(version));
      const manager = late.manager(migrations, { busyTimeoutMs: 50 });
      // The third write transaction is migration 3's, inside the run.
      const fired = beforeNthWriteLock(manager, 3, () => early.exec("BEGIN IMMEDIATE"));
      try {
        const error = caught(() => manager.up());
        assert.ok(fired());
        assert.equal(error.code, "DATABASE_LOCKED");
        assert.equal(error.nativeCode, "SQLITE_BUSY");
      } finally {
        early.exec("ROLLBACK");
      }
      assert.deepEqual(appliedVersions(late), [1, 2]);
      assert.deepEqual(ranVersions(late), [1, 2]);
      assert.equal(late.userVersion(), 2);
      assert.equal(late.inTransaction(), false);
      assert.deepEqual(
        manager.up().steps.map((step) => step.version),
        [3, 4],
      );
    });
  });

  test("the async runner applies the same run, an async TypeScript migration among the SQL, with the same events and failure", () =>
    h.withDatabase(async (db) => {
      const events: string[] = [];
      const asyncTs = asyncTsEntry<PortableConnection>(3, {
        async up(connection) {
          await Promise.resolve();
          connection.exec("INSERT INTO ran (version) VALUES (3)");
        },
      });
      const migrations = [logged(1), logged(2), asyncTs, logged(4), logged(5), logged(6, " INSERT INTO no_such_table VALUES (1);"), logged(7)];
      const manager = new h.entry.AsyncMigrationManager(db.native, migrations, { onEvent: (event) => events.push(`${event.type}:${"version" in event ? event.version : ""}`) });
      const error = await manager.up().then(
        () => assert.fail("expected a failure"),
        (thrown: unknown) => factsOf(thrown),
      );
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 6);
      assert.equal(error.rolledBack, true);
      assert.deepEqual(ranVersions(db), [1, 2, 3, 4, 5]);
      assert.deepEqual(appliedVersions(db), [1, 2, 3, 4, 5]);
      assert.equal(db.userVersion(), 5);
      assert.deepEqual(events, ["migrating:1", "migrated:1", "migrating:2", "migrated:2", "migrating:3", "migrated:3", "migrating:4", "migrated:4", "migrating:5", "migrated:5", "migrating:6"]);
    }));

  test("a rehearsal in a transaction runs a run of SQL migrations as its savepoints, reports each, and leaves the database as it was", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "savepoints")) return;
      const migrations = [logged(1), logged(2), logged(3), logged(4, " INSERT INTO no_such_table VALUES (1);"), logged(5)];
      const { rehearsal, before } = await rehearseFailingAtFour(h, db, migrations);
      assert.equal(rehearsal.reachedVersion, 3);
      assert.deepEqual(db.snapshot(), before);
      assert.equal(db.inTransaction(), false);
    }));
});

/** A TypeScript migration that logs itself, reports progress twice, and (when `fail`) throws after its write. */
function reportingTs(version: number, fail = false): MigrationEntry {
  return tsEntry<PortableConnection>(version, {
    up(db, context) {
      db.exec(`INSERT INTO ran (version) VALUES (${version})`);
      context.progress(1, 2);
      context.progress(2, 2);
      if (fail) throw new Error(`migration ${version} fails after its write`);
    },
    down: (db) => void db.exec(`DELETE FROM ran WHERE version = ${version}`),
  });
}

await describeEachDriver("TypeScript migrations applied in a run, each under the escape guard", (h) => {
  test("consecutive TypeScript migrations each commit with their history row and user_version, and send migrating, progress and migrated in order", () =>
    h.withDatabase((db) => {
      const events: string[] = [];
      const migrations = [logged(1), reportingTs(2), reportingTs(3), logged(4), reportingTs(5)];
      const result = db.manager(migrations, { onEvent: (event) => events.push(`${event.type}:${"version" in event ? event.version : ""}`) }).up();
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2, 3, 4, 5],
      );
      assert.deepEqual(appliedVersions(db), [1, 2, 3, 4, 5]);
      assert.deepEqual(ranVersions(db), [1, 2, 3, 4, 5]);
      assert.equal(db.userVersion(), 5);
      const ts = (version: number) => [`migrating:${version}`, `progress:${version}`, `progress:${version}`, `migrated:${version}`];
      assert.deepEqual(events, ["migrating:1", "migrated:1", ...ts(2), ...ts(3), "migrating:4", "migrated:4", ...ts(5)]);
      assert.equal(db.value("SELECT count(*) FROM temp.sqlite_master"), 0, "the run's witness table is gone");
      assert.equal(db.inTransaction(), false);
    }));

  test("a TypeScript migration failing after another in the same run: MIGRATION_FAILED with its fields, rolled back, the ones before it kept", () =>
    h.withDatabase((db) => {
      const events: string[] = [];
      const migrations = [logged(1), reportingTs(2), reportingTs(3, true), logged(4)];
      const error = caught(() => db.manager(migrations, { onEvent: (event) => events.push(`${event.type}:${"version" in event ? event.version : ""}`) }).up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 3);
      assert.equal(error.file, "migrations/003_step_3.ts");
      assert.equal(error.direction, "up");
      assert.equal(error.rolledBack, true);
      assert.equal((error.cause as Error).message, "migration 3 fails after its write");
      assert.deepEqual(appliedVersions(db), [1, 2]);
      assert.deepEqual(ranVersions(db), [1, 2]);
      assert.equal(db.userVersion(), 2);
      assert.equal(db.inTransaction(), false);
      assert.deepEqual(events.slice(-4), ["migrated:2", "migrating:3", "progress:3", "progress:3"]);
    }));

  test("another connection applying migrations between two TypeScript migrations of a run: they are skipped as applied elsewhere, none runs twice", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    await h.withDatabase(async (late) => {
      const early = await late.reopen();
      const migrations = [logged(1), loggedTs(2), loggedTs(3), loggedTs(4), loggedTs(5), logged(6)];
      const events: string[] = [];
      const manager = late.manager(migrations, { onEvent: (event) => events.push(`${event.type}:${"version" in event ? event.version : ""}`) });
      // The fourth write transaction is migration 4's: the other connection applies 4 first.
      const fired = beforeNthWriteLock(manager, 4, () => void early.manager(migrations).up({ to: 4 }));
      const result = manager.up();
      assert.ok(fired());
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2, 3, 5, 6],
      );
      assert.ok(events.includes("skipped:4"), events.join(" "));
      assert.deepEqual(ranVersions(late), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(appliedVersions(late), [1, 2, 3, 4, 5, 6]);
      assert.equal(late.userVersion(), 6);
    });
  });

  test("another connection reverting a TypeScript migration between two of a run: the run re-plans and applies it again before going on", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    await h.withDatabase(async (late) => {
      const early = await late.reopen();
      const migrations = [logged(1), loggedTs(2), loggedTs(3), loggedTs(4), logged(5)];
      const manager = late.manager(migrations);
      // Before migration 4's transaction, the other connection reverts 3, which this run applied.
      const fired = beforeNthWriteLock(manager, 4, () => void early.manager(migrations).down({ steps: 1 }));
      const result = manager.up();
      assert.ok(fired());
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2, 3, 3, 4, 5],
      );
      assert.equal(late.value("SELECT count(*) FROM ran WHERE version = 3"), 1);
      assert.deepEqual(appliedVersions(late), [1, 2, 3, 4, 5]);
      assert.equal(late.userVersion(), 5);
    });
  });

  test("a rehearsal in a transaction runs TypeScript migrations of a run as its savepoints, reports each, and leaves the database as it was", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "savepoints")) return;
      const migrations = [logged(1), reportingTs(2), reportingTs(3), reportingTs(4, true), logged(5)];
      const { before } = await rehearseFailingAtFour(h, db, migrations);
      assert.deepEqual(db.snapshot(), before);
      assert.equal(db.inTransaction(), false);
    }));
});

/** A TypeScript migration logging itself, then ending the transaction with `ending`, through `exec` or a statement it prepared. */
function endingTs(version: number, ending: string, how: "exec" | "prepare"): MigrationEntry {
  return tsEntry<PortableConnection & { prepare(sql: string): { run(): unknown } }>(version, {
    up(db) {
      db.exec(`INSERT INTO ran (version) VALUES (${version})`);
      if (how === "exec") db.exec(ending);
      else db.prepare(ending).run();
    },
  });
}

await describeEachDriver("a rehearsal in a transaction, against a TypeScript body that ends it", (h) => {
  for (const [ending, how] of [
    ["COMMIT", "exec"],
    ["END TRANSACTION", "exec"],
    ["COMMIT; BEGIN", "exec"],
    ["ROLLBACK", "exec"],
    ["COMMIT", "prepare"],
  ] as const) {
    test(`${ending} through ${how} is refused before it runs: MIGRATION_FAILED for that migration, the database as it was`, (t) =>
      h.withDatabase(async (db) => {
        if (h.lacks(t, "savepoints")) return;
        const migrations = [logged(1), logged(2), loggedTs(3), endingTs(4, ending, how), logged(5)];
        const manager = new h.entry.AsyncMigrationManager(db.native, migrations);
        await manager.up({ to: 1 });
        const before = db.snapshot();
        const { rehearsal } = await rehearseUp(manager as Parameters<typeof rehearseUpAsync>[0]);
        assert.equal(rehearsal.ok, false);
        assert.equal(rehearsal.failure?.code, "MIGRATION_FAILED");
        assert.equal(rehearsal.failure?.fields.version, 4);
        assert.equal(rehearsal.failure?.cause?.name, "RehearsalStatementRefusedError");
        assert.deepEqual(
          rehearsal.steps.map((step) => [step.version, step.status]),
          [
            [2, "applied"],
            [3, "applied"],
            [4, "failed"],
            [5, "not-run"],
          ],
        );
        assert.deepEqual(db.snapshot(), before);
        assert.equal(db.inTransaction(), false);
      }));
  }

  /**
   * The libraries' other calls that run SQL, each ending the transaction: sql.js's `each` and
   * `iterateStatements`, node:sqlite's tag store. A driver whose library has none of them still runs
   * `exec`, so every driver proves the refusal.
   */
  const endingCalls: Record<string, (connection: Record<string, (...args: unknown[]) => unknown>) => void> = {
    exec: (c) => void c.exec!("COMMIT"),
    each: (c) => void c.each!("COMMIT", [], () => undefined),
    iterateStatements: (c) => {
      for (const statement of c.iterateStatements!("COMMIT") as Iterable<{ step(): unknown; free(): unknown }>) {
        statement.step();
        statement.free();
      }
    },
    createTagStore: (c) => {
      const store = c.createTagStore!() as { run(strings: TemplateStringsArray): unknown };
      void store.run`COMMIT`;
    },
  };

  test("COMMIT through each of the library's calls that run SQL (exec, sql.js's each and iterateStatements, node:sqlite's tag store) is refused before it runs", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "savepoints")) return;
      const calls = Object.keys(endingCalls).filter((call) => typeof (db.native as Record<string, unknown>)[call] === "function");
      for (const call of calls) {
        const ending = tsEntry<Record<string, (...args: unknown[]) => unknown>>(2, {
          up(connection) {
            connection.exec!("INSERT INTO ran (version) VALUES (2)");
            endingCalls[call]!(connection);
          },
        });
        const manager = new h.entry.AsyncMigrationManager(db.native, [logged(1), ending, logged(3)]);
        await manager.up({ to: 1 });
        const before = db.snapshot();
        const { rehearsal } = await rehearseUp(manager as Parameters<typeof rehearseUpAsync>[0]);
        assert.equal(rehearsal.failure?.code, "MIGRATION_FAILED", call);
        assert.equal(rehearsal.failure?.fields.version, 2, call);
        assert.equal(rehearsal.failure?.cause?.name, "RehearsalStatementRefusedError", call);
        assert.deepEqual(db.snapshot(), before, call);
        assert.equal(db.inTransaction(), false, call);
      }
    }));

  test("a body's own savepoint, rolled back to and released, runs in a rehearsal as in a real run", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "savepoints")) return;
      const ownSavepoint = tsEntry<PortableConnection>(2, {
        up: (d) => void d.exec("SAVEPOINT mine; INSERT INTO ran (version) VALUES (20); ROLLBACK TO mine; ROLLBACK TRANSACTION TO SAVEPOINT mine; RELEASE mine; INSERT INTO ran (version) VALUES (2)"),
      });
      const manager = new h.entry.AsyncMigrationManager(db.native, [logged(1), ownSavepoint]);
      await manager.up({ to: 1 });
      const before = db.snapshot();
      const { rehearsal } = await rehearseUp(manager as Parameters<typeof rehearseUpAsync>[0]);
      assert.equal(rehearsal.ok, true);
      assert.deepEqual(db.snapshot(), before);
    }));
});
