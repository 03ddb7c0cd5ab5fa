/**
 * The parameterised suite's harness (`describeEachDriver`) on every driver available here: a fresh
 * database per test, reads through the driver, a reopened connection that sees what was written (sql.js
 * included, through its save), skips only by declared capability, and a driver's file is the one
 * SQLite opened.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { MigrationEntry } from "../src/core/types.js";
import { describeEachDriver } from "./support/driver-matrix.js";

const notes: MigrationEntry = {
  kind: "sql",
  version: 1,
  name: "notes",
  file: "migrations/001_notes.sql",
  description: null,
  checksum: "sha256:1",
  reversible: true,
  transaction: true,
  disableForeignKeys: false,
  upSql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes (body) VALUES ('kept');",
  downSql: "DROP TABLE notes;",
};

await describeEachDriver("the driver harness", (h) => {
  test("a fresh database per test, read through the driver", () =>
    h.withDatabase((db) => {
      assert.deepEqual(db.tableNames(), []);
      assert.equal(db.userVersion(), 0);
      db.migrate([notes]);
      assert.deepEqual(db.tableNames(), ["notes", "schema_migrations"]);
      assert.deepEqual(db.rows("SELECT id, body FROM notes"), [{ id: 1, body: "kept" }]);
      assert.equal(db.value("SELECT count(*) FROM notes"), 1);
      assert.equal(db.userVersion(), 1);
    }));

  test("a reopened connection sees what the first one committed, and the first still works", () =>
    h.withDatabase(async (db) => {
      db.migrate([notes]);
      const other = await db.reopen();
      assert.deepEqual(other.rows("SELECT body FROM notes"), [{ body: "kept" }]);
      assert.equal(other.manager([notes]).status().currentVersion, 1);
      assert.equal(db.value("SELECT count(*) FROM notes"), 1);
    }));

  test("the file outlives close; skipping is by declared capability only", async (t) => {
    let file = "";
    await h.withDatabase((db) => {
      file = db.file;
      db.migrate([notes]);
      db.close();
      assert.ok(existsSync(file));
    });
    assert.equal(existsSync(file), false);
    if (h.lacks(t, "fileLocking")) {
      assert.equal(h.capabilities.fileLocking, false);
      return;
    }
    assert.equal(h.capabilities.fileLocking, true);
  });

  test("the driver's file is the absolute path SQLite opened, though the app passed a relative one and then changed folder", async (t) => {
    if (h.lacks(t, "openFile")) return;
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "stepwise-relative-")));
    mkdirSync(path.join(dir, "data"));
    mkdirSync(path.join(dir, "elsewhere"));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const db = await h.open(path.join("data", "app.db"));
      try {
        process.chdir(path.join(dir, "elsewhere"));
        assert.equal(db.driver.filePath, path.join(dir, "data", "app.db"));
      } finally {
        db.close();
      }
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
