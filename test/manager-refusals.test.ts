/**
 * Refusals: the manager stops before changing anything, with a typed error, and the database file is
 * byte for byte what it was.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager, type MigrationRegistry } from "./support/stepwise.js";
import { createTestProject, readBytes } from "./support/project.js";

/** Runs `attempt` on a fresh connection and checks that it throws `expected` and leaves the file unchanged. */
function assertRefusedWithoutChange(file: string, migrations: MigrationRegistry, attempt: (manager: MigrationManager) => unknown, expected: object): void {
  const bytesBefore = readBytes(file);
  const db = new Database(file);
  try {
    assert.throws(() => attempt(new MigrationManager(db, migrations)), expected);
    assert.equal(db.inTransaction, false);
  } finally {
    db.close();
  }
  assert.ok(readBytes(file).equals(bytesBefore), "a refusal changed the database file");
}

async function appliedProject(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const original = await project.load();
  const file = project.databasePath();
  const db = new Database(file);
  new MigrationManager(db, original).up();
  db.close();
  return { project, original, file };
}

test("an applied migration edited afterwards is refused with both checksums and the file", async (t) => {
  const { project, original, file } = await appliedProject(t);
  const edited = path.join(project.migrationsDir, "002_add_items.sql");
  writeFileSync(edited, readFileSync(edited, "utf8").replace("('third')", "('third'), ('fourth')"));
  const drifted = await project.load();
  assert.notEqual(drifted[1]!.checksum, original[1]!.checksum);

  const expected = {
    code: "CHECKSUM_MISMATCH",
    version: 2,
    file: "migrations/002_add_items.sql",
    registryChecksum: drifted[1]!.checksum,
    databaseChecksum: original[1]!.checksum,
  };
  assertRefusedWithoutChange(file, drifted, (manager) => manager.up(), expected);
  assertRefusedWithoutChange(file, drifted, (manager) => manager.down({ to: 0 }), expected);
  assertRefusedWithoutChange(file, drifted, (manager) => manager.down({ steps: 1 }), expected);

  // status reports it as data instead of throwing.
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  const status = new MigrationManager(db, drifted).status();
  assert.equal(status.problem?.code, "CHECKSUM_MISMATCH");
  assert.deepEqual(status.migrations.map((row) => row.state), ["applied", "changed", "applied"]);
});

test("a database migrated by a newer app is refused", async (t) => {
  const { project, file } = await appliedProject(t);
  rmSync(path.join(project.migrationsDir, "003_bump_counter.ts"));
  const older = await project.load();
  assert.equal(older.length, 2);

  const expected = { code: "DATABASE_AHEAD", unknownVersions: [3], latestKnownVersion: 2 };
  assertRefusedWithoutChange(file, older, (manager) => manager.up(), expected);
  assertRefusedWithoutChange(file, older, (manager) => manager.down({ steps: 1 }), expected);
});

test("a database with tables but no history is refused as unmanaged", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const migrations = await project.load();
  const file = project.databasePath();
  const setup = new Database(file);
  setup.exec("CREATE TABLE legacy_contacts (id INTEGER PRIMARY KEY); INSERT INTO legacy_contacts VALUES (1);");
  setup.close();

  assertRefusedWithoutChange(file, migrations, (manager) => manager.up(), { code: "UNMANAGED_DATABASE", tables: ["legacy_contacts"] });
});

test("a history table owned by another tool is refused with HISTORY_TABLE_INVALID", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const migrations = await project.load();
  const file = project.databasePath();
  const setup = new Database(file);
  // The shape dbmate and others use for a table of the same name.
  setup.exec("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000');");
  setup.close();

  assertRefusedWithoutChange(file, migrations, (manager) => manager.up(), { code: "HISTORY_TABLE_INVALID", table: "schema_migrations" });
  assertRefusedWithoutChange(file, migrations, (manager) => manager.status(), { code: "HISTORY_TABLE_INVALID", table: "schema_migrations" });
});

test("a history table name that is not a plain identifier is refused with INVALID_TABLE_NAME, before any SQL", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const migrations = await project.load();
  const db = new Database(project.databasePath());
  t.after(() => db.close());
  for (const tableName of ["bad-name", "1st", 'x"; DROP TABLE y; --', ""]) {
    assert.throws(() => new MigrationManager(db, migrations, { tableName }), { code: "INVALID_TABLE_NAME", tableName });
  }
  assert.deepEqual(db.prepare("SELECT name FROM sqlite_master").all(), []);
});

test("a hand-edited registry that breaks the version rules is refused on construction", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const migrations = await project.load();
  const file = project.databasePath();
  writeFileSync(file, "");
  const gap = [migrations[0]!, migrations[2]!];
  assertRefusedWithoutChange(file, gap, (manager) => manager.up(), { code: "REGISTRY_INVALID" });
  const forgedReversible = [migrations[0]!, { ...migrations[1]!, reversible: false }, migrations[2]!] as MigrationRegistry;
  assertRefusedWithoutChange(file, forgedReversible, (manager) => manager.up(), { code: "REGISTRY_INVALID" });
});
