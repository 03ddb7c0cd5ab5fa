/**
 * What the smoke test does not show about the libsql driver: SQLite's file locking between two
 * connections on one file (the busy timeout honoured, `BEGIN IMMEDIATE` blocking), the owner lock of a
 * `transaction: false` migration, the foreign-key switch, and an app connection with
 * `defaultSafeIntegers(true)`. Real files in temp folders (the multi-process races and crashes run on every driver,
 * libsql included, in `concurrency.test.ts`, `concurrency-races.test.ts` and `crash-safety.test.ts`).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import Database from "libsql";
import { createLibsqlDriver } from "../src/drivers/libsql.js";
import { MigrationManager, migrate } from "../src/entries/libsql.js";
import { ownerLockFileName } from "../src/drivers/sqlite-shared.js";
import type { MigrationContext, MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { factsOf } from "./support/stepwise-failure.js";

function openFile(t: TestContext): { file: string; open: () => Database.Database } {
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-libsql-"));
  const file = path.join(dir, "app.db");
  const opened: Database.Database[] = [];
  t.after(() => {
    for (const db of opened) if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    file,
    open: () => {
      const db = new Database(file);
      opened.push(db);
      return db;
    },
  };
}

function entry(version: number, fields: Partial<MigrationEntry> & ({ upSql: string } | { module: { up: (db: never, context: MigrationContext) => void } })): MigrationEntry {
  const base = {
    version,
    name: `m${version}`,
    description: null,
    checksum: `sha256:${version}`,
    reversible: false,
    transaction: true,
    disableForeignKeys: false,
  };
  return "upSql" in fields
    ? ({ ...base, kind: "sql", file: `migrations/00${version}_m${version}.sql`, downSql: null, ...fields } as MigrationEntry)
    : ({ ...base, kind: "ts", file: `migrations/00${version}_m${version}.ts`, ...fields } as MigrationEntry);
}

const registry: MigrationRegistry = [entry(1, { upSql: "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT);" })];

test("libsql: the driver finds the database file through SQLite, since libsql leaves db.name empty", (t) => {
  const { file, open } = openFile(t);
  const db = open();
  assert.equal(db.name, "");
  assert.equal(createLibsqlDriver(db).filePath, file);
  assert.equal(createLibsqlDriver(new Database(":memory:")).filePath, null);
});

test("libsql: a second connection's write transaction makes up wait out the busy timeout, then DATABASE_LOCKED with nothing applied", (t) => {
  const { open } = openFile(t);
  const holder = open();
  holder.exec("BEGIN IMMEDIATE");
  const db = open();
  const started = Date.now();
  assert.throws(
    () => migrate(db, registry, { busyTimeoutMs: 300 }),
    (raw: unknown) => {
      const error = factsOf(raw);
      assert.equal(error.code, "DATABASE_LOCKED");
      assert.equal(error.busyTimeoutMs, 300);
      return true;
    },
  );
  assert.ok(Date.now() - started >= 250, `gave up after ${Date.now() - started} ms`);
  holder.exec("ROLLBACK");
  assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name = 'contacts'").all(), []);
  // Once the other writer is gone, the same call goes through; a second connection then sees it applied.
  assert.deepEqual(
    migrate(db, registry).steps.map((step) => step.version),
    [1],
  );
  assert.deepEqual(new MigrationManager(open(), registry).up().steps, []);
  // The connection's own busy timeout is put back after the run.
  assert.equal((db.prepare("PRAGMA busy_timeout").all()[0] as { timeout?: number } | undefined)?.timeout, 0);
});

test("libsql: a transaction:false migration holds the owner lock sidecar, which another connection sees as held, and batches in their own transactions", (t) => {
  const { file, open } = openFile(t);
  const lockFile = ownerLockFileName(file, "schema_migrations");
  let seen: string | null = null;
  const probe = createLibsqlDriver(open());
  const slow = entry(2, {
    transaction: false,
    module: {
      up: (db: Database.Database, context: MigrationContext) => {
        db.exec("INSERT INTO contacts (name) VALUES ('a'), ('b'), ('c')");
        seen = probe.probeOwnerLock!(lockFile) as string;
        // Outside a transaction each batch gets its own, through libsql's db.transaction().
        const summary = context.forEachBatch<{ id: number }>({ table: "contacts", batchSize: 2 }, (rows) => {
          assert.equal(db.inTransaction, true);
          for (const row of rows) db.prepare("UPDATE contacts SET name = upper(name) WHERE id = ?").run(row.id);
        });
        assert.deepEqual(summary, { rows: 3, batches: 2 });
      },
    },
  });
  migrate(open(), [...registry, slow]);
  assert.equal(seen, "held");
  assert.deepEqual(probe.query("SELECT name FROM contacts ORDER BY id", []), [{ name: "A" }, { name: "B" }, { name: "C" }]);
  assert.equal(probe.probeOwnerLock!(lockFile), "free");
  assert.ok(existsSync(path.join(path.dirname(file), lockFile)));
  // A probe never creates a sidecar that is not there.
  assert.equal(probe.probeOwnerLock!("app.db-stepwise-owner-other"), "free");
  assert.equal(existsSync(path.join(path.dirname(file), "app.db-stepwise-owner-other")), false);
});

test("libsql: a disableForeignKeys migration runs with enforcement off and the connection gets it back", (t) => {
  const { open } = openFile(t);
  const db = open();
  db.exec("PRAGMA foreign_keys = ON");
  const rebuild = entry(2, {
    disableForeignKeys: true,
    upSql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, contact_id INTEGER REFERENCES contacts(id)); INSERT INTO notes VALUES (1, 99); DELETE FROM notes;",
  });
  assert.deepEqual(
    migrate(db, [...registry, rebuild]).steps.map((step) => step.version),
    [1, 2],
  );
  assert.equal((db.prepare("PRAGMA foreign_keys").all()[0] as { foreign_keys?: number } | undefined)?.foreign_keys, 1);
});

test("libsql: an app connection with defaultSafeIntegers(true) migrates and reports plain numbers", (t) => {
  const { open } = openFile(t);
  const db = open();
  db.defaultSafeIntegers(true);
  const manager = new MigrationManager(db, registry);
  manager.up();
  const status = manager.status();
  assert.equal(status.currentVersion, 1);
  assert.equal(typeof status.migrations[0]?.durationMs, "number");
  assert.deepEqual(manager.up().steps, []);
});
