/**
 * Issue 13.10: the start-up `verify` compares against the expected schema stored in the database
 * (`<tableName>_expected_schema`), keyed by the registry, instead of replaying every start. On every
 * driver: `migrate({ verifySchema })` stores it, later starts read it, `verifySchema` alone only reads,
 * drift is still seen, a registry change (a repaired checksum) never reuses the old schema, and a
 * cache row that lies is what verify compares with (so the tests can tell a hit from a replay).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { verifySchema } from "../src/safety/index.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { describeEachDriver, type DriverHarness, type TestDatabase } from "./support/driver-matrix.js";
import { createTestProject, type TestProject } from "./support/project.js";

const CACHE = "schema_migrations_expected_schema";

function writeHistory(project: TestProject, withIndex = true): void {
  project.writeMigration("001_contacts.sql", "-- migrate:up\nCREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n-- migrate:down\nDROP TABLE contacts;\n");
  project.writeMigration(
    "002_seed.sql",
    "-- description: a seed, as data migrations are\n-- migrate:up\nINSERT INTO contacts (name) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT 'c' || i FROM n;\n",
  );
  project.writeMigration("003_index.sql", `-- migrate:up\nALTER TABLE contacts ADD COLUMN email TEXT;\n${withIndex ? "CREATE INDEX contacts_email ON contacts (email);\n" : ""}`);
}

async function openProject(h: DriverHarness, t: { after(fn: () => void): void }, project: TestProject): Promise<{ db: TestDatabase; migrations: MigrationRegistry }> {
  const migrations = await project.load();
  const db = await h.open(project.databasePath());
  t.after(() => db.close());
  return { db, migrations };
}

await describeEachDriver("verify's expected-schema cache", (h) => {
  test("migrate({ verifySchema }) stores the expected schema once the history matches; verifySchema alone never writes it", async (t) => {
    if (h.lacks(t, "snapshot")) return;
    const project = createTestProject(t);
    writeHistory(project);
    const { db, migrations } = await openProject(h, t, project);
    db.migrate(migrations, { verifySchema });
    assert.ok(!db.tableNames().includes(CACHE), "stored before any migration was applied");
    assert.equal(verifySchema(db.manager(migrations)).ok, true);
    assert.ok(!db.tableNames().includes(CACHE), "verifySchema on its own wrote the cache");
    // Only true stores it: a truthy "false" is refused, not read as yes.
    assert.throws(() => verifySchema(db.manager(migrations), { cacheExpectedSchema: "false" as unknown as boolean }), { code: "USAGE" });
    assert.ok(!db.tableNames().includes(CACHE), 'a cacheExpectedSchema of "false" wrote the cache');
    db.migrate(migrations, { verifySchema });
    assert.deepEqual(
      db.rows(`SELECT version FROM ${CACHE}`).map((row) => Number(row.version)),
      [3],
    );
    // The cache is not drift, and later starts pass on it.
    assert.deepEqual(verifySchema(db.manager(migrations)), { ok: true, version: 3, differences: [], drift: [] });
    db.migrate(migrations, { verifySchema });
    assert.equal(db.rows(`SELECT * FROM ${CACHE}`).length, 1);
  });

  test("a later verify compares with the stored schema, not a replay (a row that lies is believed), and drift made by hand is still seen", async (t) => {
    if (h.lacks(t, "snapshot")) return;
    const project = createTestProject(t);
    writeHistory(project);
    const { db, migrations } = await openProject(h, t, project);
    db.migrate(migrations);
    db.migrate(migrations, { verifySchema });
    const stored = JSON.parse(String(db.value(`SELECT snapshot FROM ${CACHE}`))) as { indexes: { name: string }[] };
    db.exec(`UPDATE ${CACHE} SET snapshot = '${JSON.stringify({ ...stored, indexes: [] }).replace(/'/g, "''")}'`);
    const lied = verifySchema(db.manager(migrations));
    assert.deepEqual(
      lied.differences.map((difference) => [difference.change, difference.objectType, difference.name]),
      [["added", "index", "contacts_email"]],
    );
    db.exec(`UPDATE ${CACHE} SET snapshot = '${JSON.stringify(stored).replace(/'/g, "''")}'`);
    db.exec("ALTER TABLE contacts ADD COLUMN nickname TEXT");
    const drifted = verifySchema(db.manager(migrations));
    assert.equal(drifted.ok, false);
    assert.ok(drifted.differences.some((difference) => difference.change === "added" && difference.objectType === "column"));
    assert.throws(() => db.migrate(migrations, { verifySchema }), { code: "SCHEMA_DRIFT" });
  });

  test("a registry change is never answered from the old schema: a migration's schema effect changed (checksum repaired) makes verify replay and notice", async (t) => {
    if (h.lacks(t, "snapshot")) return;
    const project = createTestProject(t);
    writeHistory(project);
    const { db, migrations } = await openProject(h, t, project);
    db.migrate(migrations);
    db.migrate(migrations, { verifySchema });
    assert.equal(db.rows(`SELECT * FROM ${CACHE}`).length, 1);
    // The team edits applied migration 3 (no index any more) and realigns the recorded checksum.
    writeHistory(project, false);
    const edited = await project.load();
    db.exec(`UPDATE schema_migrations SET checksum = '${edited[2]!.checksum}' WHERE version = 3`);
    const verification = verifySchema(db.manager(edited));
    assert.equal(verification.ok, false);
    assert.deepEqual(
      verification.differences.map((difference) => [difference.change, difference.objectType, difference.name]),
      [["added", "index", "contacts_email"]],
    );
  });

  test("a read-only connection gets the check without the cache, and reset drops the cache with everything else", async (t) => {
    if (h.lacks(t, "snapshot")) return;
    const project = createTestProject(t);
    writeHistory(project);
    const { db, migrations } = await openProject(h, t, project);
    db.migrate(migrations);
    db.exec("PRAGMA query_only = ON");
    assert.equal(verifySchema(db.manager(migrations), { cacheExpectedSchema: true }).ok, true);
    db.exec("PRAGMA query_only = OFF");
    assert.ok(!db.tableNames().includes(CACHE));
    db.migrate(migrations, { verifySchema });
    assert.ok(db.tableNames().includes(CACHE));
    db.manager(migrations).reset({ dangerouslyDropAllData: true });
    assert.ok(!db.tableNames().includes(CACHE), "reset left the cache");
    assert.equal(verifySchema(db.manager(migrations)).ok, true);
  });
});
