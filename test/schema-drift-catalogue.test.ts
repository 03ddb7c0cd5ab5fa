/**
 * Drift the pragmas cannot see: every clause of a table, index, trigger or view definition that
 * changes behaviour must count, for `verify` and for `baseline`; formatting must not.
 *
 * On better-sqlite3 only for now: `verifySchema` and `baselineDatabase` take a better-sqlite3 manager
 * (the safety nets are moving onto the driver primitives). Once they take any driver declaring
 * `snapshot`, this becomes `describeEachDriver` with `h.lacks(t, "snapshot")`.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { describeForDriver } from "./support/single-driver.js";
import Database from "better-sqlite3";
import { MigrationManager, baselineDatabase, verifySchema, type MigrationRegistry, type SchemaMismatchError } from "./support/stepwise.js";
import { createTestProject, makeTempDir } from "./support/project.js";

/** What migrations 1..2 of the drift-catalogue fixture build, written as one legacy app would. */
const SCHEMA = `
CREATE TABLE parent (id INTEGER PRIMARY KEY);
CREATE TABLE t (
  id INTEGER PRIMARY KEY,
  a TEXT NOT NULL,
  b TEXT,
  p INTEGER REFERENCES parent (id),
  c INTEGER GENERATED ALWAYS AS (id * 2) VIRTUAL,
  d TEXT DEFAULT 'none',
  UNIQUE (a),
  CHECK (length(a) > 0)
);
CREATE INDEX t_b ON t (b) WHERE b IS NOT NULL;
CREATE INDEX t_lower_a ON t (lower(a));
CREATE TRIGGER t_touch AFTER UPDATE OF a ON t BEGIN UPDATE t SET b = 'x' WHERE id = NEW.id; END;
CREATE VIEW v AS SELECT id, a FROM t WHERE b IS NULL;
`;

/** One behaviour-changing edit each: [what, text in SCHEMA, replacement]. */
const DRIFTS: ReadonlyArray<readonly [string, string, string]> = [
  ["AUTOINCREMENT", "id INTEGER PRIMARY KEY,\n  a", "id INTEGER PRIMARY KEY AUTOINCREMENT,\n  a"],
  ["INTEGER PRIMARY KEY DESC", "id INTEGER PRIMARY KEY,\n  a", "id INTEGER PRIMARY KEY DESC,\n  a"],
  ["ON CONFLICT on the primary key", "id INTEGER PRIMARY KEY,\n  a", "id INTEGER PRIMARY KEY ON CONFLICT REPLACE,\n  a"],
  ["ON CONFLICT on UNIQUE", "UNIQUE (a)", "UNIQUE (a) ON CONFLICT IGNORE"],
  ["ON CONFLICT on NOT NULL", "a TEXT NOT NULL", "a TEXT NOT NULL ON CONFLICT IGNORE"],
  ["ON CONFLICT on CHECK", "CHECK (length(a) > 0)", "CHECK (length(a) > 0) ON CONFLICT FAIL"],
  ["DEFERRABLE INITIALLY DEFERRED", "REFERENCES parent (id)", "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED"],
  ["generated column expression", "AS (id * 2)", "AS (id * 3)"],
  ["generated column STORED", "AS (id * 2) VIRTUAL", "AS (id * 2) STORED"],
  ["CHECK expression", "length(a) > 0", "length(a) > 1"],
  ["COLLATE on a column", "b TEXT,", "b TEXT COLLATE NOCASE,"],
  ["DEFAULT expression", "DEFAULT 'none'", "DEFAULT 'None'"],
  ["STRICT", "CHECK (length(a) > 0)\n)", "CHECK (length(a) > 0)\n) STRICT"],
  ["WITHOUT ROWID", "CHECK (length(a) > 0)\n)", "CHECK (length(a) > 0)\n) WITHOUT ROWID"],
  ["partial index WHERE", "WHERE b IS NOT NULL", "WHERE b IS NULL"],
  ["index expression", "ON t (lower(a))", "ON t (upper(a))"],
  ["index collation", "ON t (lower(a))", "ON t (lower(a) COLLATE NOCASE)"],
  ["index sort order", "ON t (b)", "ON t (b DESC)"],
  ["trigger body", "SET b = 'x'", "SET b = 'y'"],
  ["view body", "WHERE b IS NULL;\n", "WHERE b IS NOT NULL;\n"],
];

/** Formatting only: the same schema, spelled differently. */
const SAME_SCHEMA_SPELLED_DIFFERENTLY = SCHEMA.replace("CREATE TABLE t (", 'create   table "t" ( -- the main table\n')
  .replace("a TEXT NOT NULL", "[a] text /* required */ not null")
  .replace("REFERENCES parent (id)", 'references "parent"("id")')
  .replace("CREATE INDEX t_b ON t (b)", "create index `t_b` on `t`(`b`)")
  .replace("CREATE VIEW v AS SELECT id, a FROM t", 'CREATE VIEW v AS\n  SELECT "id", [a]\n  FROM "t"');

async function loadCatalogue(t: Parameters<typeof createTestProject>[0]): Promise<MigrationRegistry> {
  return createTestProject(t, { fixture: "drift-catalogue" }).load<MigrationRegistry>();
}

function applyScript(file: string, script: string): void {
  const db = new Database(file);
  try {
    db.exec(script);
  } finally {
    db.close();
  }
}

/** A migrated database whose objects were then dropped and re-created by hand from `script`. */
function migratedThenRewritten(dir: string, migrations: MigrationRegistry, name: string, script: string): string {
  const file = path.join(dir, `${name.replace(/\W+/g, "-")}.db`);
  const db = new Database(file);
  try {
    new MigrationManager(db, migrations).up();
    db.exec("DROP VIEW v; DROP TABLE t; DROP TABLE parent;");
    db.exec(script);
  } finally {
    db.close();
  }
  return file;
}

await describeForDriver("better-sqlite3", "the drift catalogue", () => {
  test("verify reports every behaviour-changing edit of a definition as drift", async (t) => {
    const migrations = await loadCatalogue(t);
    const dir = makeTempDir(t);
    const clean = migratedThenRewritten(dir, migrations, "clean", SCHEMA);
    const db = new Database(clean);
    t.after(() => db.close());
    assert.deepEqual(verifySchema(new MigrationManager(db, migrations)).differences, [], "the hand-written schema itself must match");

    const missed: string[] = [];
    for (const [what, from, to] of DRIFTS) {
      assert.ok(SCHEMA.includes(from), `${what}: the test's own replacement does not apply`);
      const file = migratedThenRewritten(dir, migrations, what, SCHEMA.replace(from, to));
      const live = new Database(file, { readonly: true });
      try {
        const verification = verifySchema(new MigrationManager(live, migrations));
        if (verification.ok) missed.push(what);
        else assert.ok(verification.drift.length > 0);
      } finally {
        live.close();
      }
    }
    assert.deepEqual(missed, [], "verify missed these");
  });

  test("verify does not report formatting: whitespace, comments, keyword case, quoting, ADD COLUMN text", async (t) => {
    const migrations = await loadCatalogue(t);
    const file = migratedThenRewritten(makeTempDir(t), migrations, "spelled", SAME_SCHEMA_SPELLED_DIFFERENTLY);
    const db = new Database(file);
    t.after(() => db.close());
    const verification = verifySchema(new MigrationManager(db, migrations));
    assert.deepEqual(verification.drift, []);
    assert.equal(verification.ok, true);
  });

  test("baseline refuses every behaviour-changing edit with SCHEMA_MISMATCH and records nothing", async (t) => {
    const migrations = await loadCatalogue(t);
    const dir = makeTempDir(t);
    const accepted: string[] = [];
    for (const [what, from, to] of DRIFTS) {
      const file = path.join(dir, `${what.replace(/\W+/g, "-")}.db`);
      applyScript(file, SCHEMA.replace(from, to));
      const db = new Database(file);
      try {
        const manager = new MigrationManager(db, migrations);
        try {
          baselineDatabase(manager, 2);
          accepted.push(what);
        } catch (error) {
          assert.equal((error as SchemaMismatchError).code, "SCHEMA_MISMATCH", `${what}: ${String(error)}`);
          assert.ok((error as SchemaMismatchError).differences.length > 0);
        }
        if (!accepted.includes(what)) assert.equal(manager.currentVersion(), 0, `${what}: something was recorded`);
      } finally {
        db.close();
      }
    }
    assert.deepEqual(accepted, [], "baseline accepted these");
  });

  test("baseline accepts the same schema written with other formatting and with a column written in place instead of added", async (t) => {
    const migrations = await loadCatalogue(t);
    const dir = makeTempDir(t);
    for (const [label, script] of [["as migrations build it", SCHEMA], ["spelled differently", SAME_SCHEMA_SPELLED_DIFFERENTLY]] as const) {
      const file = path.join(dir, `${label.replace(/\W+/g, "-")}.db`);
      applyScript(file, script);
      const db = new Database(file);
      try {
        const result = baselineDatabase(new MigrationManager(db, migrations), 2);
        assert.deepEqual(result.drift, [], label);
        assert.deepEqual(result.recorded, [1, 2]);
      } finally {
        db.close();
      }
    }
  });
});
