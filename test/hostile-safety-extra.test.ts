/**
 * Hostile cases of verify and baseline beyond test/schema-drift-catalogue.test.ts: each test here
 * failed against main when it was written (hostile-h1). Real files and the real bin.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager, baselineDatabase, verifySchema, type MigrationRegistry } from "./support/stepwise.js";
import { createTestProject, runCli } from "./support/project.js";

// ---------------------------------------------------------------------------------------------
// verify and baseline

async function driftProject(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t);
  project.writeMigration(
    "001_init.sql",
    `-- migrate:up
CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT DEFAULT Active, note TEXT DEFAULT "Hello", raw BLOB DEFAULT x'00ff');
CREATE VIEW v AS SELECT id, status AS Status FROM t;
-- migrate:down
DROP VIEW v;
DROP TABLE t;
`,
  );
  return { project, migrations: await project.load<MigrationRegistry>() };
}

function migrated(file: string, migrations: MigrationRegistry, edit: string): Database.Database {
  const db = new Database(file);
  new MigrationManager(db, migrations).up();
  db.exec(edit);
  return db;
}

const REBUILD_T = (columns: string) => `
DROP VIEW v;
CREATE TABLE t_new (${columns});
INSERT INTO t_new SELECT * FROM t;
DROP TABLE t;
ALTER TABLE t_new RENAME TO t;
CREATE VIEW v AS SELECT id, status AS Status FROM t;
`;

const CASE_DRIFTS: ReadonlyArray<readonly [string, string]> = [
  // SELECT * FROM v now returns { status } where the app reads { Status }.
  ["a view's result column renamed by case", "DROP VIEW v; CREATE VIEW v AS SELECT id, status AS status FROM t;"],
  // A bare word after DEFAULT is a string: new rows get 'active' instead of 'Active'.
  ["DEFAULT bare-word string, case changed", REBUILD_T(`id INTEGER PRIMARY KEY, status TEXT DEFAULT active, note TEXT DEFAULT "Hello", raw BLOB DEFAULT x'00ff'`)],
  // So is a double-quoted word: new rows get 'hello' instead of 'Hello'.
  ["DEFAULT double-quoted string, case changed", REBUILD_T(`id INTEGER PRIMARY KEY, status TEXT DEFAULT Active, note TEXT DEFAULT "hello", raw BLOB DEFAULT x'00ff'`)],
  // A trigger made by hand on the history table fires on the next migration and empties t.
  ["a trigger added by hand on the history table", "CREATE TRIGGER wipe AFTER INSERT ON schema_migrations BEGIN DELETE FROM t; END;"],
];

for (const [what, edit] of CASE_DRIFTS) {
  test(`verify reports drift: ${what}`, async (t) => {
    const { project, migrations } = await driftProject(t);
    const db = migrated(project.databasePath(), migrations, edit);
    t.after(() => db.close());
    const verification = verifySchema(new MigrationManager(db, migrations));
    assert.equal(verification.ok, false, `no drift reported for: ${what}`);
    assert.ok(verification.differences.length > 0);
  });
}

test("baseline refuses a legacy DEFAULT whose string differs only in case, with SCHEMA_MISMATCH", async (t) => {
  const { project, migrations } = await driftProject(t);
  const db = new Database(project.databasePath("legacy.db"));
  t.after(() => db.close());
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT DEFAULT active, note TEXT DEFAULT "Hello", raw BLOB DEFAULT x'00ff');
CREATE VIEW v AS SELECT id, status AS Status FROM t;`);
  assert.throws(
    () => baselineDatabase(new MigrationManager(db, migrations), 1),
    (error: { code?: string }) => error.code === "SCHEMA_MISMATCH",
  );
});

test("baseline accepts a blob literal whose hex digits are spelled in another case (the same value)", async (t) => {
  const { project, migrations } = await driftProject(t);
  const db = new Database(project.databasePath("legacy.db"));
  t.after(() => db.close());
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT DEFAULT Active, note TEXT DEFAULT "Hello", raw BLOB DEFAULT X'00FF');
CREATE VIEW v AS SELECT id, status AS Status FROM t;`);
  const result = baselineDatabase(new MigrationManager(db, migrations), 1);
  assert.deepEqual(result.differences, []);
});

test("baseline accepts declared column types spelled with other whitespace or comments (formatting, not drift)", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_prices.sql",
    `-- migrate:up
CREATE TABLE prices (id INTEGER PRIMARY KEY, amount DECIMAL(10,2), code VARCHAR(10), ratio DOUBLE PRECISION);
-- migrate:down
DROP TABLE prices;
`,
  );
  const migrations = await project.load<MigrationRegistry>();
  const db = new Database(project.databasePath("legacy.db"));
  t.after(() => db.close());
  db.exec(`CREATE TABLE prices (
  id INTEGER PRIMARY KEY,
  amount DECIMAL(10, 2),
  code VARCHAR (10),
  ratio DOUBLE   PRECISION /* IEEE */
);`);
  const result = baselineDatabase(new MigrationManager(db, migrations), 1);
  assert.deepEqual(result.differences, []);
});

test("verify through the bin exits 1 on drift the pragmas cannot see (AUTOINCREMENT added by hand)", async (t) => {
  const project = createTestProject(t, { fixture: "safety-nets" });
  const migrations = await project.load<MigrationRegistry>();
  const file = project.databasePath();
  const db = new Database(file);
  new MigrationManager(db, migrations).up({ to: 3 });
  db.exec(`
    CREATE TABLE notes_rebuild (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, updated_at TEXT, priority INTEGER NOT NULL DEFAULT 0);
    INSERT INTO notes_rebuild SELECT id, body, updated_at, priority FROM notes;
    DROP TABLE notes;
    ALTER TABLE notes_rebuild RENAME TO notes;
    CREATE INDEX idx_notes_body ON notes (body);
    CREATE INDEX idx_notes_priority ON notes (priority);
  `);
  db.close();
  const result = await runCli(["--db", file, "verify", "--json"], { cwd: project.root });
  assert.equal(result.code, 1, result.stderr);
  const report = JSON.parse(result.stdout) as { ok: boolean; differences: Array<{ objectType: string; name: string; details: Array<{ aspect: string }> }> };
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.differences.map((d) => [d.objectType, d.name, d.details.map((detail) => detail.aspect)]),
    [["table", "notes", ["definition"]]],
  );
});

// ---------------------------------------------------------------------------------------------
// verify and baseline: more spellings SQLite reads alike or apart

async function oneMigration(t: Parameters<typeof createTestProject>[0], sql: string) {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", `-- migrate:up\n${sql}\n-- migrate:down\nSELECT 1;\n`);
  return { project, migrations: await project.load<MigrationRegistry>() };
}

const BASE = `CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT CHECK (status IN ('Open', 'Closed')), amount NUMERIC(10,2) DEFAULT X'0A', name TEXT COLLATE NOCASE);
CREATE VIEW v AS SELECT id, Status, CAST(amount AS TEXT) AS Amount FROM t WHERE name <> 'Nobody';
CREATE TRIGGER t_note AFTER INSERT ON t BEGIN UPDATE t SET name = 'Someone' WHERE id = NEW.id AND name IS NULL; END;`;

const CASE_DRIFT: ReadonlyArray<readonly [string, string]> = [
  ["a view column named by its expression, case changed", "DROP VIEW v; CREATE VIEW v AS SELECT id, status, CAST(amount AS TEXT) AS Amount FROM t WHERE name <> 'Nobody';"],
  ["a string literal in a view, case changed", "DROP VIEW v; CREATE VIEW v AS SELECT id, Status, CAST(amount AS TEXT) AS Amount FROM t WHERE name <> 'nobody';"],
  ["a string literal in a trigger body, case changed", "DROP TRIGGER t_note; CREATE TRIGGER t_note AFTER INSERT ON t BEGIN UPDATE t SET name = 'someone' WHERE id = NEW.id AND name IS NULL; END;"],
  ["an index added by hand on the history table", "CREATE INDEX by_name ON schema_migrations (name);"],
];

for (const [what, edit] of CASE_DRIFT) {
  test(`verify reports drift: ${what}`, async (t) => {
    const { project, migrations } = await oneMigration(t, BASE);
    const db = new Database(project.databasePath());
    t.after(() => db.close());
    new MigrationManager(db, migrations).up();
    db.exec(edit);
    const verification = verifySchema(new MigrationManager(db, migrations));
    assert.equal(verification.ok, false, `no drift reported for: ${what}`);
  });
}

test("baseline accepts the same schema with keywords, function names, types, collations, CAST types and blob digits in other case and spacing", async (t) => {
  const { project, migrations } = await oneMigration(t, BASE);
  const db = new Database(project.databasePath("legacy.db"));
  t.after(() => db.close());
  db.exec(`create table t (
  id integer primary key,
  status text check (status in ('Open', 'Closed')),
  amount numeric ( 10 , 2 ) default x'0a',
  name Text collate nocase -- names are compared without case
);
create view v as select id, Status, cast(amount as text) as Amount from t where name <> 'Nobody';
create trigger t_note after insert on t begin update t set name = 'Someone' where id = new.id and name is null; end;`);
  const result = baselineDatabase(new MigrationManager(db, migrations), 1);
  assert.deepEqual(result.differences, []);
});

test("baseline accepts an index and a trigger whose bare names are spelled in another case (SQLite resolves them alike)", async (t) => {
  const { project, migrations } = await oneMigration(
    t,
    `${BASE}
CREATE INDEX t_name ON t (name, status);`,
  );
  const db = new Database(project.databasePath("legacy.db"));
  t.after(() => db.close());
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT CHECK (status IN ('Open', 'Closed')), amount NUMERIC(10,2) DEFAULT X'0A', name TEXT COLLATE NOCASE);
CREATE VIEW v AS SELECT id, Status, CAST(amount AS TEXT) AS Amount FROM t WHERE name <> 'Nobody';
CREATE TRIGGER t_note AFTER INSERT ON T BEGIN UPDATE T SET Name = 'Someone' WHERE ID = NEW.Id AND NAME IS NULL; END;
CREATE INDEX t_name ON T (Name, STATUS);`);
  const result = baselineDatabase(new MigrationManager(db, migrations), 1);
  assert.deepEqual(result.differences, []);
});
