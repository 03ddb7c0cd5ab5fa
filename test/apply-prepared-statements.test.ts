/**
 * What a run keeps prepared on the app's connection, and the reads that keep it few. Every statement
 * a driver keeps prepared costs SQLite work in each later migration of the run (on libsql, in its
 * binding, about 1,800 instructions a statement per migration), so the connection settings are
 * read by one statement. These tests check, on every driver, that those reads answer what the
 * setting-by-setting reads answer, and that a run prepares no statement per setting.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { restoreConnectionSettingsAfterOneRead, snapshotConnectionSettings, snapshotConnectionSettingsInOneRead } from "../src/core/connection-settings.js";
import { runSync } from "../src/core/runners.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { createItems, sqlEntry, tsEntry } from "./support/registry-builders.js";

/** Settings away from SQLite's defaults, so a value read from the wrong place shows. */
const CHANGED_SETTINGS = [
  "recursive_triggers = 1",
  "legacy_alter_table = 1",
  "reverse_unordered_selects = 1",
  "cell_size_check = 1",
  "secure_delete = 1",
  "automatic_index = 0",
  "trusted_schema = 0",
  "defer_foreign_keys = 1",
  "case_sensitive_like = 1",
  "synchronous = 3",
  "cache_size = -4321",
  "temp_store = 2",
  "busy_timeout = 1234",
  "journal_size_limit = 98765",
  "analysis_limit = 77",
  "max_page_count = 123456",
  "wal_autocheckpoint = 321",
];

/** The settings the one statement reads, as `PRAGMA <name>` would prepare them. */
const READ_TOGETHER_PRAGMAS = ["PRAGMA recursive_triggers", "PRAGMA foreign_keys", "PRAGMA cache_size", "PRAGMA temp_store", "PRAGMA synchronous", "PRAGMA threads"];

await describeEachDriver("the reads that keep a run's prepared statements few", (h) => {
  test("the connection settings read by one statement are those read setting by setting, changed ones included", () =>
    h.withDatabase((db) => {
      for (const setting of CHANGED_SETTINGS) db.exec(`PRAGMA ${setting}`);
      const together = runSync(snapshotConnectionSettingsInOneRead(), db.driver);
      assert.deepEqual(together, runSync(snapshotConnectionSettings(), db.driver));
      // Read from where they were set, not merely equal: the changed values themselves.
      assert.equal(together.recursive_triggers, 1);
      assert.equal(together.cache_size, -4321);
      assert.equal(together.busy_timeout, 1234);
      assert.equal(together.case_sensitive_like, 1);
      assert.equal(together.wal_autocheckpoint, 321);
    }));

  test("restoring after the one read puts back what a migration changed, and only that", () =>
    h.withDatabase((db) => {
      const before = runSync(snapshotConnectionSettingsInOneRead(), db.driver);
      db.exec("PRAGMA recursive_triggers = 1");
      db.exec("PRAGMA cache_size = -4321");
      db.exec("PRAGMA wal_autocheckpoint = 321");
      // cache_spill follows cache_size: restoring cache_size puts it back too, so it is not restored itself.
      assert.deepEqual(runSync(restoreConnectionSettingsAfterOneRead(before), db.driver), ["recursive_triggers", "cache_size", "wal_autocheckpoint"]);
      assert.deepEqual(runSync(snapshotConnectionSettings(), db.driver), before);
    }));

  test("a table or view named as a setting's pragma function never stands in for the setting: what a migration changed is put back", () =>
    h.withDatabase((db) => {
      // SQLite looks a name up among the schemas' tables and views before its eponymous pragma_<name>.
      db.exec("CREATE TEMP VIEW pragma_recursive_triggers AS SELECT 0 AS recursive_triggers");
      db.exec("PRAGMA recursive_triggers = 1");
      const before = runSync(snapshotConnectionSettingsInOneRead(), db.driver);
      assert.deepEqual(before, runSync(snapshotConnectionSettings(), db.driver));
      db.manager([sqlEntry(1, "CREATE TABLE t (x);\nPRAGMA recursive_triggers = 0;")]).up();
      assert.equal(db.value("PRAGMA recursive_triggers"), 1);
    }));

  test("a run prepares no statement per connection setting on the app's connection, and few in all", () =>
    h.withDatabase((db) => {
      const native = db.native as unknown as { prepare(sql: string): unknown };
      const prepare = native.prepare.bind(native);
      const prepared = new Set<string>();
      native.prepare = (sql: string) => {
        prepared.add(sql);
        return prepare(sql);
      };
      const migrations = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('two');"), tsEntry(3, { up: (d) => void d.exec("INSERT INTO items (note) VALUES ('three')") })];
      db.manager(migrations).up();
      assert.equal(db.value("SELECT count(*) FROM items"), 2);
      assert.deepEqual(
        READ_TOGETHER_PRAGMAS.filter((sql) => prepared.has(sql)),
        [],
      );
      // The history reads and writes, the change counter, the guard's reads and witness, the one
      // read of the settings and the few read on their own: 42 before the settings were read together.
      assert.ok(prepared.size <= 24, `${prepared.size} statements prepared: ${[...prepared].join(" | ")}`);
    }));
});
