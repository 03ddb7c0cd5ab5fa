/**
 * sql.js's `migrate` verifies first when handed `verifySchema`, stepwise's or the app's own around it,
 * as every sync entry's `migrate` does.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import initSqlJs from "sql.js";
import { migrate, type MigrationManager } from "../src/entries/sql-js.js";
import { verifySchema } from "../src/safety/verify.js";
import { createItems, sqlEntry } from "./support/registry-builders.js";

test("stepwise-migrate/sql-js migrate({ verifySchema }) verifies before applying, the app's own function around it too", async () => {
  const SQL = await initSqlJs();
  const migrations = [createItems, sqlEntry(2, "CREATE TABLE tags (name TEXT);")];
  const db = new SQL.Database();
  try {
    const tables = (): string[] => (db.exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")[0]?.values ?? []).map((row) => String(row[0]));
    // The app's own function around stepwise's, typed as the option takes it.
    let calls = 0;
    const wrapped = (manager: MigrationManager<[typeof createItems]>, options: { readonly refuseDrift: true; readonly cacheExpectedSchema: true }): unknown => {
      calls++;
      return verifySchema(manager, options);
    };
    assert.deepEqual(
      migrate(db, [createItems], { verifySchema: wrapped }).steps.map((step) => step.version),
      [1],
    );
    assert.equal(calls, 1);
    // Drift made by hand is refused before the pending migration runs.
    db.exec("CREATE INDEX by_hand ON items (note)");
    assert.throws(() => migrate(db, migrations, { verifySchema }), { code: "SCHEMA_DRIFT" });
    assert.deepEqual(tables(), ["items", "schema_migrations"]);
    db.exec("DROP INDEX by_hand");
    assert.deepEqual(
      migrate(db, migrations, { verifySchema }).steps.map((step) => step.version),
      [2],
    );
  } finally {
    db.close();
  }
});
