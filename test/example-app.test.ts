import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import { migrations, latestVersion } from "../generated/registry.js";
import { MigrationManager } from "./support/stepwise.js";
import { makeTempDir, repoRoot, runCli } from "./support/project.js";
import path from "node:path";

test("the example app's migrations apply to a fresh database and a second up changes nothing", (t) => {
  const dir = makeTempDir(t);
  const db = new Database(path.join(dir, "app.db"));
  t.after(() => db.close());
  db.pragma("foreign_keys = ON");
  const manager = new MigrationManager(db, migrations);

  const first = manager.up();
  assert.equal(first.steps.length, latestVersion);
  assert.equal(manager.currentVersion(), latestVersion);
  assert.equal(db.pragma("user_version", { simple: true }), latestVersion);

  const schemaBefore = db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all();
  const historyBefore = manager.history();
  const second = manager.up();
  assert.deepEqual(second.steps, []);
  assert.deepEqual(db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all(), schemaBefore);
  assert.deepEqual(manager.history(), historyBefore);
});

test("the committed registry is current: gen --check passes on the repo", async () => {
  const result = await runCli(["gen", "--check"], { cwd: repoRoot });
  assert.equal(result.code, 0, result.stderr);
});
