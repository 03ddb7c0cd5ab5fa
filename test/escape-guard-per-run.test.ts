/**
 * The escape guard's markers are made once per run, not per migration (issue 11's fresh-apply
 * target): one witness table whose row each transaction overwrites with its own token, and one body
 * savepoint name per run. These tests check what that must not cost: detection in a later
 * migration of the run, the witness surviving what deletes temp tables between transactions, and
 * nothing left in the temp schema afterwards. They run on every driver through the harness.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachDriver } from "./support/driver-matrix.js";
import { caught, createItems, sqlEntry, tsEntry } from "./support/registry-builders.js";

/** The temp tables stepwise's guard left on the connection. */
const GUARD_TABLES = "SELECT count(*) FROM temp.sqlite_master WHERE name LIKE 'stepwise\\_guard\\_%' ESCAPE '\\'";

await describeEachDriver("the escape guard, made once per run", (h) => {
  test("a COMMIT in the fifth migration of one run is still caught and proven committed by the run's witness", () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        sqlEntry(2, "INSERT INTO items (note) VALUES ('two');"),
        sqlEntry(3, "INSERT INTO items (note) VALUES ('three');"),
        sqlEntry(4, "INSERT INTO items (note) VALUES ('four');"),
        tsEntry(5, { up: (d) => void d.exec("INSERT INTO items (note) VALUES ('five'); COMMIT; BEGIN") }),
        sqlEntry(6, "INSERT INTO items (note) VALUES ('six');"),
      ];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 5);
      assert.equal(error.committed, "yes");
      // Migrations 1–4 are recorded; 5 committed its row without a history row; 6 never ran.
      assert.deepEqual(
        db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
        [1, 2, 3, 4],
      );
      assert.equal(db.value("SELECT count(*) FROM items WHERE note = 'six'"), 0);
    }));

  test("ROLLBACK; BEGIN in a later migration of the run is proven 'no': the token of an earlier, committed transaction does not count", () =>
    h.withDatabase((db) => {
      const migrations = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('two');"), tsEntry(3, { up: (d) => void d.exec("ROLLBACK; BEGIN") })];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 3);
      assert.equal(error.committed, "no");
    }));

  test("a transaction: false migration that changes temp_store (which deletes every temp table) leaves the next migration's guard working", () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        tsEntry(2, { transaction: false, up: (d) => void d.exec("PRAGMA temp_store = MEMORY") }),
        tsEntry(3, { up: (d) => void d.exec("INSERT INTO items (note) VALUES ('three'); COMMIT; BEGIN") }),
      ];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 3);
      assert.equal(error.committed, "yes");
    }));

  test("after a run, successful or not, no guard table is left in the connection's temp schema", () =>
    h.withDatabase((db) => {
      db.manager([createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('two');")]).up();
      assert.equal(db.value(GUARD_TABLES), 0);
      const two = sqlEntry(2, "INSERT INTO items (note) VALUES ('two');", { downSql: "DELETE FROM items WHERE note = 'two';" });
      const failing = [createItems, two, sqlEntry(3, "INSERT INTO missing_table VALUES (1);")];
      assert.equal(caught(() => db.manager(failing).up()).code, "MIGRATION_FAILED");
      assert.equal(db.value(GUARD_TABLES), 0);
      db.manager(failing.slice(0, 2)).up({ transaction: "all" });
      db.manager(failing.slice(0, 2)).down({ to: 0 });
      assert.equal(db.value(GUARD_TABLES), 0);
    }));
});

await describeEachDriver("the escape guard, when a migration tampers with the run's witness", (h) => {
  test("a migration that deletes the witness row does not blind the guard: a later COMMIT is still proven committed", () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        tsEntry(2, {
          up(d) {
            const table = String(db.value("SELECT name FROM temp.sqlite_master WHERE name LIKE 'stepwise\\_guard\\_%' ESCAPE '\\'"));
            d.exec(`DELETE FROM temp."${table}"`);
          },
        }),
        tsEntry(3, { up: (d) => void d.exec("COMMIT; BEGIN") }),
      ];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 3);
      assert.equal(error.committed, "yes");
    }));
});
