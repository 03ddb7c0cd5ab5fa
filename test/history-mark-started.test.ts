/**
 * The history store marks a row started for a `transaction: false` down only while the row is
 * applied. On D1 a write section takes no lock, so two reverts planned at once both reach this
 * update; the second must find nothing to mark (HISTORY_ROW_MISSING) before its body runs, or the
 * down would run twice. Real SQLite file, the store's own step run by the sync runner.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { HistoryStore } from "../src/core/history.js";
import { runSync } from "../src/core/runners.js";
import { createBetterSqlite3Driver } from "../src/drivers/better-sqlite3.js";
import { makeTempDir } from "./support/project.js";

test("marking a row started for a down changes an applied row once; a second mark finds nothing and says so", (t) => {
  const db = new Database(path.join(makeTempDir(t), "app.db"));
  t.after(() => db.close());
  const driver = createBetterSqlite3Driver(db);
  const store = new HistoryStore();
  runSync(store.ensure(), driver);
  runSync(store.insertApplied({ version: 1, name: "notes", checksum: "sha256:1", appliedAt: "2026-11-22T00:00:00.000Z", durationMs: 1 }), driver);

  runSync(store.markStarted(1, "2026-11-22T01:00:00.000Z", "first"), driver);
  assert.throws(() => runSync(store.markStarted(1, "2026-11-22T01:00:01.000Z", "second"), driver), { code: "HISTORY_ROW_MISSING" });
  assert.deepEqual(db.prepare("SELECT version, state, owner FROM schema_migrations").all(), [{ version: 1, state: "started", owner: "first" }]);
});
