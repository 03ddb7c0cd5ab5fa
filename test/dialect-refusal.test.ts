/**
 * A registry generated for another dialect is refused by every SQLite driver at construction, with
 * `REGISTRY_DIALECT_MISMATCH` and its facts, before anything touches the database; a registry that
 * names no dialect (hand-built, or from before dialects) is sqlite and runs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MigrationEntry } from "../src/core/types.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { caught, namedSqlEntry, tsEntry } from "./support/registry-builders.js";

const notes = namedSqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);", "DROP TABLE notes;");
const tags = namedSqlEntry(2, "tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE tags;");
let bodyRuns = 0;
const touch = tsEntry(2, {
  up(db) {
    bodyRuns++;
    db.exec("CREATE TABLE touched (id INTEGER)");
  },
});
const postgres = <E extends MigrationEntry>(entry: E): E => ({ ...entry, dialect: "postgres" });

await describeEachDriver("a registry of another dialect", (h) => {
  test("is refused by MigrationManager and migrate with REGISTRY_DIALECT_MISMATCH naming both dialects and the driver; nothing is touched", () =>
    h.withDatabase((db) => {
      const before = db.snapshot();
      const registries: Array<readonly MigrationEntry[]> = [
        [postgres(notes), postgres(tags)],
        // One entry of the other dialect is enough: a registry stitched from both is refused too.
        [notes, postgres(touch)],
      ];
      for (const migrations of registries) {
        for (const attempt of [() => db.manager(migrations), () => db.migrate(migrations)]) {
          const error = caught(attempt);
          assert.equal(error.code, "REGISTRY_DIALECT_MISMATCH");
          assert.equal(error.registryDialect, "postgres");
          assert.equal(error.driverDialect, "sqlite");
          assert.equal(error.driver, h.name);
          const first = migrations.find((entry) => entry.dialect === "postgres")!;
          assert.deepEqual([error.version, error.file], [first.version, first.file]);
        }
      }
      assert.equal(bodyRuns, 0);
      assert.deepEqual(db.snapshot(), before, "the database is exactly as it was: no history table, no user_version");
      assert.equal(db.inTransaction(), false);
    }));

  test("a registry that names no dialect, or names sqlite, is sqlite and applies", () =>
    h.withDatabase((db) => {
      db.migrate([notes, { ...tags, dialect: "sqlite" }]);
      assert.deepEqual(db.tableNames(), ["notes", "schema_migrations", "tags"]);
      assert.equal(db.manager([notes, tags]).status().currentVersion, 2);
    }));
});
