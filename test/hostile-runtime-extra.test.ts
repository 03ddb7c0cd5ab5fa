/**
 * Hostile tester H3: cases the transaction guard, the owner lock and forEachBatch did not hold when
 * they were written. Each test states the promise it checks. They run on every driver through the
 * harness; the one whose other process repairs through the better-sqlite3 entry stays on that driver.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "./support/stepwise.js";
import { createBetterSqlite3Driver } from "../src/drivers/better-sqlite3.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { startDriverChild } from "./support/driver-child.js";
import { caught, createItems, registryLosingStartedRow, sqlEntry, tsEntry } from "./support/registry-builders.js";
import { describeForDriver } from "./support/single-driver.js";
import { makeTempDir } from "./support/project.js";
import { factsOf } from "./support/stepwise-failure.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

await describeEachDriver("an escaped transaction: committed must never be 'no' when something was committed", (h) => {
  test('ROLLBACK; PRAGMA application_id = 7; BEGIN — the header write is committed, so committed is not "no"', () =>
    h.withDatabase((db) => {
      const migrations = [createItems, tsEntry(2, { up: (d) => void d.exec("ROLLBACK; PRAGMA application_id = 7; BEGIN") })];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(db.value("PRAGMA application_id"), 7, "precondition: the write really is committed");
      assert.notEqual(error.committed, "no");
    }));

  for (const mode of ["delete", "wal"] as const) {
    test(`ROLLBACK, then another connection writes a row, then BEGIN (${mode} journal mode) — a committed row, so committed is not "no"`, (t) =>
      h.withDatabase(async (db) => {
        // sql.js shares no file between connections (no fileLocking): there is no "another connection" to write.
        if (h.lacks(t, "fileLocking")) return;
        db.exec(`PRAGMA journal_mode = ${mode}`);
        db.manager([createItems]).up();
        const other = await db.reopen();
        const migrations = [
          createItems,
          tsEntry(2, {
            up(d) {
              d.exec("ROLLBACK");
              other.exec("INSERT INTO items (note) VALUES ('written by a second connection')");
              d.exec("BEGIN");
            },
          }),
        ];
        const error = caught(() => db.manager(migrations).up());
        assert.equal(error.code, "TRANSACTION_ESCAPED");
        assert.equal(db.value("SELECT count(*) FROM items"), 1, "precondition: the row really is committed");
        assert.notEqual(error.committed, "no");
      }));
  }

  test("the body savepoint's name is derivable from the witness table: COMMIT; BEGIN; SAVEPOINT <it>; throw is reported rolled back while its row stays", () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        tsEntry(2, {
          up(d) {
            // The witness is listed in temp.sqlite_master, and the savepoint shares its prefix and counter.
            const witness = String(db.value("SELECT name FROM temp.sqlite_master WHERE name LIKE 'stepwise_guard_%_witness_%'"));
            const counter = Number(witness.slice(witness.lastIndexOf("_") + 1));
            const body = witness.replace(/_witness_\d+$/, `_body_${counter + 1}`);
            d.exec(`INSERT INTO items (note) VALUES ('escaped'); COMMIT; BEGIN IMMEDIATE; SAVEPOINT "${body}"`);
            throw new Error("failed after committing");
          },
        }),
      ];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(db.value("SELECT count(*) FROM items"), 1, "precondition: the row really is committed");
      // Either detected as an escape that committed, or at least never "rolled back".
      assert.ok(error.code === "TRANSACTION_ESCAPED" ? error.committed !== "no" : error.rolledBack !== true, `got ${String(error.code)} rolledBack=${String(error.rolledBack)}`);
    }));
});

// The other process repairs through the better-sqlite3 entry's manager.
await describeForDriver("better-sqlite3", "the owner lock of a transaction: false migration, for one database reached by two paths", () => {
  test("an owner that opened the database through a symlink is alive to a process that opened the real path; repair refuses", (t) => {
    const dir = makeTempDir(t);
    mkdirSync(path.join(dir, "real"));
    const realPath = path.join(dir, "real", "app.db");
    new Database(realPath).close();
    const linkPath = path.join(dir, "link.db");
    symlinkSync(realPath, linkPath);

    // Another process, opening the real path, as a second container or a cron job configured differently would.
    const childScript = `
      import Database from "better-sqlite3";
      import { MigrationManager } from ${JSON.stringify(path.join(repoRoot, "src/entries/better-sqlite3.ts"))};
      import { repairIncompleteMigration } from ${JSON.stringify(path.join(repoRoot, "src/index.ts"))};
      const migrations = JSON.parse(process.env.REGISTRY);
      const db = new Database(process.env.DB);
      const manager = new MigrationManager(db, migrations, { busyTimeoutMs: 200 });
      const out = { status: manager.status().problem?.code ?? null };
      try { repairIncompleteMigration(manager, { version: 2, resolution: "forget" }); out.repair = "repaired"; } catch (e) { out.repair = e.code; }
      console.log(JSON.stringify(out));
    `;
    const childRegistry = [createItems, sqlEntry(2, "VACUUM;", { transaction: false })];
    let seen: { status: string | null; repair: string; probe: string } | undefined;
    let bodyRuns = 0;
    const migrations = [
      createItems,
      tsEntry(
        2,
        {
          transaction: false,
          up() {
            bodyRuns++;
            // Only the first run asks the other process; a second run is itself the failure asserted below.
            if (seen) return;
            const probeDb = new Database(realPath, { readonly: true });
            const lockFile = (JSON.parse(probeDb.prepare("SELECT owner FROM schema_migrations WHERE version = 2").pluck().get() as string) as { lockFile: string }).lockFile;
            const probe = createBetterSqlite3Driver(probeDb).probeOwnerLock!(lockFile);
            probeDb.close();
            const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", childScript], {
              cwd: repoRoot,
              env: { ...process.env, DB: realPath, REGISTRY: JSON.stringify(childRegistry) },
              encoding: "utf8",
              timeout: 60_000,
            });
            assert.equal(child.status, 0, child.stderr);
            seen = { ...(JSON.parse(child.stdout.trim().split("\n").pop()!) as { status: string | null; repair: string }), probe };
          },
        },
        { checksum: "checksum-2" },
      ),
    ];
    const owner = new Database(linkPath);
    t.after(() => owner.close());
    // Whatever the child did, this owner's run must not be broken silently; its outcome is not the point.
    try {
      new MigrationManager(owner, migrations).up();
    } catch {
      // A repair that deleted our started row mid-run makes markApplied fail; that is the symptom, asserted below.
    }
    assert.ok(seen, "the migration body ran");
    assert.deepEqual(seen, { probe: "held", status: "MIGRATION_IN_PROGRESS", repair: "MIGRATION_IN_PROGRESS" });
    assert.equal(bodyRuns, 1, "exactly once");
  });
});

await describeEachDriver("forEachBatch visits every row exactly once, or throws", (h) => {
  test("a handler that moves each row's key forward is not walked forever nor handed the same row twice", () =>
    h.withDatabase((db) => {
      const rows = Array.from({ length: 10 }, (_, i) => `(${i + 1}, 0)`).join(", ");
      let handed = 0;
      const migrations = [
        sqlEntry(1, `CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO t (id, n) VALUES ${rows};`),
        tsEntry(2, {
          up(d, context) {
            context.forEachBatch<{ id: number }>({ table: "t", batchSize: 3 }, (batch) => {
              for (const row of batch) {
                handed++;
                if (handed > 100) throw new Error("walked forever");
                d.exec(`UPDATE t SET id = id + 1000 WHERE id = ${row.id}`);
              }
            });
          },
        }),
      ];
      let outcome: Record<string, unknown> | null = null;
      try {
        db.manager(migrations).up();
      } catch (error) {
        outcome = factsOf(error);
      }
      // Either each of the 10 rows once, or a `BATCH_KEY_INVALID` (as the failed migration's cause); never a walk that does not end.
      if (outcome !== null) {
        assert.equal(outcome.code, "MIGRATION_FAILED", String(outcome));
        assert.equal((outcome.cause as { code?: string }).code, "BATCH_KEY_INVALID", String(outcome.cause));
      } else assert.equal(handed, 10);
    }));

  test("a refused walk in a transaction: false migration that already wrote is MIGRATION_FAILED, rolledBack false, with the refusal as its cause", () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        tsEntry(
          2,
          {
            transaction: false,
            up(d, context) {
              d.exec("INSERT INTO items (note) VALUES ('kept')");
              context.forEachBatch({ table: "items", batchSize: -1 }, () => undefined);
            },
          },
          { transaction: false },
        ),
      ];
      // It was BATCH_OPTIONS_INVALID alone, "Nothing was walked", while the row stayed and the next start found the migration interrupted.
      const outcome = factsOf(caught(() => db.manager(migrations).up()));
      assert.deepEqual({ code: outcome.code, version: outcome.version, rolledBack: outcome.rolledBack }, { code: "MIGRATION_FAILED", version: 2, rolledBack: false });
      assert.equal((outcome.cause as { code?: string }).code, "BATCH_OPTIONS_INVALID");
      assert.deepEqual(db.rows("SELECT note FROM items"), [{ note: "kept" }]);
      assert.equal(factsOf(caught(() => db.manager(migrations).up())).code, "INCOMPLETE_MIGRATION");
    }));
});

await describeEachDriver("a transaction: false migration whose started row disappears while it runs", (h) => {
  test("its body runs once, and up does not report it applied without a history row", (t) =>
    h.withDatabase(async (db) => {
      // Another connection deletes the row; sql.js shares no file between connections (no fileLocking).
      if (h.lacks(t, "fileLocking")) return;
      db.manager([createItems]).up();
      const other = await db.reopen();
      // What a repair --forget from a process that misjudged the owner does (see the symlink test).
      const { migrations, bodyRuns } = registryLosingStartedRow(() => other.exec("DELETE FROM schema_migrations WHERE version = 2"));
      let outcome: Record<string, unknown> | null = null;
      let result: { steps: readonly { version: number }[] } | null = null;
      try {
        result = db.manager(migrations).up();
      } catch (error) {
        outcome = factsOf(error);
      }
      assert.equal(bodyRuns(), 1, `the body ran ${bodyRuns()} times; result ${JSON.stringify(result?.steps)}; error ${String(outcome?.code)}`);
      assert.equal(db.value("SELECT count(*) FROM items"), 1);
      if (outcome === null) assert.equal(db.value("SELECT state FROM schema_migrations WHERE version = 2"), "applied");
    }));
});

await describeEachDriver("connection settings a migration changes, seen by stepwise itself and by other processes", (h) => {
  test("PRAGMA query_only = 1 in a migration is that migration's failure, not a read-only database", () =>
    h.withDatabase((db) => {
      const migrations = [createItems, tsEntry(2, { up: (d) => void d.exec("PRAGMA query_only = 1") })];
      const error = caught(() => db.manager(migrations).up());
      // The file is writable; the migration switched writes off. DATABASE_UNUSABLE sends people to chmod.
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 2);
      assert.equal(error.rolledBack, true);
      assert.equal(db.value("PRAGMA query_only"), 0);
    }));

  test("a transaction: false migration that switches to WAL with locking_mode = EXCLUSIVE does not lock other connections out after up", (t) =>
    h.withDatabase(async (db) => {
      // The lock is on a file other connections share; sql.js has none (no fileLocking).
      if (h.lacks(t, "fileLocking")) return;
      const migrations = [
        createItems,
        tsEntry(2, {
          transaction: false,
          up(d) {
            d.exec("PRAGMA journal_mode = WAL");
            d.exec("PRAGMA locking_mode = EXCLUSIVE");
            d.exec("INSERT INTO items (note) VALUES ('x')");
          },
        }),
      ];
      db.manager(migrations).up();
      assert.equal(db.value("PRAGMA locking_mode"), "normal");
      // Before the migration another connection could write; locking_mode is in the restored list.
      const other = await db.reopen();
      other.exec("PRAGMA busy_timeout = 200");
      let kind: string | null = null;
      try {
        other.exec("INSERT INTO items (note) VALUES ('another connection')");
      } catch (error) {
        kind = other.driver.classifyError(error).kind;
      }
      assert.equal(kind, null);
    }));

  test("a transaction: false migration that sets busy_timeout = 0 does not make its own history write fail on a brief lock", (t) =>
    h.withDatabase(async (db) => {
      // The lock is held by another process on the shared file; sql.js has none (no fileLocking).
      if (h.lacks(t, "fileLocking")) return;
      const held = path.join(db.dir, "held");
      const migrations = [
        createItems,
        tsEntry(2, {
          transaction: false,
          up(d) {
            d.exec("PRAGMA busy_timeout = 0");
            // Another process takes the write lock for half a second, as a concurrent app write would.
            startDriverChild(h.name, db.file, "hold-write", "500", held);
            const until = Date.now() + 30_000;
            while (!existsSync(held) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
            assert.ok(existsSync(held), "the other process never took the lock");
          },
        }),
      ];
      const error = (() => {
        try {
          db.manager(migrations, { busyTimeoutMs: 30_000 }).up();
          return null;
        } catch (e) {
          return e as Record<string, unknown>;
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.equal(error?.code ?? null, null, `got ${String(error?.code)} rolledBack=${String(error?.rolledBack)}`);
      assert.equal(db.value("SELECT state FROM schema_migrations WHERE version = 2"), "applied");
    }));
});
