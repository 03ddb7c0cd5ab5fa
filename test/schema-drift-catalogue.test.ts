/**
 * Drift the pragmas cannot see: every clause of a table, index, trigger or view definition that
 * changes behaviour must count, for `verify` and for `baseline`; formatting must not.
 *
 * On every driver that declares `snapshot`: the schema is read through the driver, and replayed on a
 * scratch database the driver opens.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import type { MigrationRegistry } from "../src/core/types.js";
import { baselineDatabase, verifySchema } from "../src/safety/index.js";
import { describeEachDriver, type DriverHarness, type TestDatabase } from "./support/driver-matrix.js";
import { createTestProject, makeTempDir } from "./support/project.js";
import type { StepwiseError } from "../src/core/errors.js";

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

/** A fresh database in `dir`, on the harness's driver, holding `script` as a legacy app wrote it. */
async function withScript(h: DriverHarness, dir: string, name: string, script: string): Promise<TestDatabase> {
  const db = await h.open(path.join(dir, `${name.replace(/\W+/g, "-")}.db`));
  db.exec(script);
  return db;
}

/** A migrated database whose objects were then dropped and re-created by hand from `script`. */
async function migratedThenRewritten(h: DriverHarness, dir: string, migrations: MigrationRegistry, name: string, script: string): Promise<TestDatabase> {
  const db = await h.open(path.join(dir, `${name.replace(/\W+/g, "-")}.db`));
  db.manager(migrations).up();
  db.exec("DROP VIEW v; DROP TABLE t; DROP TABLE parent;");
  db.exec(script);
  return db;
}

await describeEachDriver("the drift catalogue", { quickOn: ["better-sqlite3"] }, (h) => {
  test("verify reports every behaviour-changing edit of a definition as drift", async (t) => {
    if (h.lacks(t, "snapshot")) return;
    const migrations = await loadCatalogue(t);
    const dir = makeTempDir(t);
    const clean = await migratedThenRewritten(h, dir, migrations, "clean", SCHEMA);
    try {
      assert.deepEqual(verifySchema(clean.manager(migrations)).differences, [], "the hand-written schema itself must match");
    } finally {
      // Closed here, not in t.after: sql.js saves its bytes on close, into the folder t.after removes.
      clean.close();
    }

    const missed: string[] = [];
    for (const [what, from, to] of DRIFTS) {
      assert.ok(SCHEMA.includes(from), `${what}: the test's own replacement does not apply`);
      const live = await migratedThenRewritten(h, dir, migrations, what, SCHEMA.replace(from, to));
      try {
        const verification = verifySchema(live.manager(migrations));
        if (verification.ok) missed.push(what);
        else assert.ok(verification.drift.length > 0);
      } finally {
        live.close();
      }
    }
    assert.deepEqual(missed, [], "verify missed these");
  });

  test("verify does not report formatting: whitespace, comments, keyword case, quoting, ADD COLUMN text", async (t) => {
    if (h.lacks(t, "snapshot")) return;
    const migrations = await loadCatalogue(t);
    const db = await migratedThenRewritten(h, makeTempDir(t), migrations, "spelled", SAME_SCHEMA_SPELLED_DIFFERENTLY);
    try {
      const verification = verifySchema(db.manager(migrations));
      assert.deepEqual(verification.drift, []);
      assert.equal(verification.ok, true);
    } finally {
      db.close();
    }
  });

  test("baseline refuses every behaviour-changing edit with SCHEMA_MISMATCH and records nothing", async (t) => {
    if (h.lacks(t, "snapshot")) return;
    const migrations = await loadCatalogue(t);
    const dir = makeTempDir(t);
    const accepted: string[] = [];
    for (const [what, from, to] of DRIFTS) {
      const db = await withScript(h, dir, what, SCHEMA.replace(from, to));
      try {
        const manager = db.manager(migrations);
        try {
          baselineDatabase(manager, 2);
          accepted.push(what);
        } catch (error) {
          assert.equal((error as StepwiseError<"SCHEMA_MISMATCH">).code, "SCHEMA_MISMATCH", `${what}: ${String(error)}`);
          assert.ok((error as StepwiseError<"SCHEMA_MISMATCH">).details.differences.length > 0);
        }
        if (!accepted.includes(what)) assert.equal(manager.currentVersion(), 0, `${what}: something was recorded`);
      } finally {
        db.close();
      }
    }
    assert.deepEqual(accepted, [], "baseline accepted these");
  });

  test("baseline accepts the same schema written with other formatting and with a column written in place instead of added", async (t) => {
    if (h.lacks(t, "snapshot")) return;
    const migrations = await loadCatalogue(t);
    const dir = makeTempDir(t);
    for (const [label, script] of [
      ["as migrations build it", SCHEMA],
      ["spelled differently", SAME_SCHEMA_SPELLED_DIFFERENTLY],
    ] as const) {
      const db = await withScript(h, dir, label, script);
      try {
        const result = baselineDatabase(db.manager(migrations), 2);
        assert.deepEqual(result.drift, [], label);
        assert.deepEqual(result.recorded, [1, 2]);
      } finally {
        db.close();
      }
    }
  });
});
