/**
 * Table rebuilds with foreign keys. Rebuilding a parent table (create, copy, DROP, rename) with
 * enforcement on cascade-deletes its children, because DROP TABLE deletes every row first. The
 * `foreign_keys:off` flag (TS: `disableForeignKeys`) switches enforcement off around the
 * transaction, checks `PRAGMA foreign_key_check` before committing, and restores it. The runtime
 * tests run on every driver available here; they need the declared `foreignKeySwitch`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { describeEachDriver, type DriverHarness } from "./support/driver-matrix.js";
import { createTestProject, readBytes } from "./support/project.js";
import { sqlEntry, tsEntry, type PortableConnection } from "./support/registry-builders.js";
import type { StepwiseError } from "../src/core/errors.js";

const REBUILD = "002_rebuild_authors_born_integer.sql";

async function openWithForeignKeys(h: DriverHarness, t: { after(fn: () => void): void }, file: string) {
  const db = await h.open(file);
  t.after(() => db.close());
  db.exec("PRAGMA foreign_keys = ON");
  return db;
}

/** Migration 2's rebuild of `authors` was refused, rolled back, naming `books`, whose four rows all stay. */
function assertRebuildRefused(manager: { up(): unknown; currentVersion(): number }, db: { value(sql: string): unknown }): void {
  assert.throws(
    () => manager.up(),
    (error: StepwiseError<"MIGRATION_FAILED">) =>
      error.code === "MIGRATION_FAILED" &&
      error.details.version === 2 &&
      error.details.rolledBack &&
      error.details.foreignKeyRebuild?.table === "authors" &&
      error.details.foreignKeyRebuild.referencedBy.join() === "books",
  );
  assert.equal(manager.currentVersion(), 1);
  assert.equal(db.value("SELECT count(*) FROM books"), 4, "a child row was deleted");
}

await describeEachDriver("foreign-key rebuilds", (h) => {
  test("rebuilding a parent table with foreign_keys:off keeps every child row, and enforcement is restored", async (t) => {
    if (h.lacks(t, "foreignKeySwitch")) return;
    const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
    const migrations = await project.load();
    const db = await openWithForeignKeys(h, t, project.databasePath());
    db.manager(migrations).up();
    assert.equal(db.value("SELECT count(*) FROM books"), 4);
    assert.equal(db.value("SELECT typeof(born) FROM authors WHERE id = 1"), "integer");
    assert.equal(db.value("PRAGMA foreign_keys"), 1);
    assert.deepEqual(db.rows("PRAGMA foreign_key_check"), []);
  });

  // A pragma in a comment (as an importer leaves the one the old tool ran) manages nothing.
  for (const header of ["-- migrate:up", "-- migrate:up\n-- PRAGMA foreign_keys=OFF;", "-- migrate:up\n/* PRAGMA defer_foreign_keys = ON; */"]) {
    test(`the same rebuild without the flag, which would cascade-delete the children, is refused before it runs; their rows stay (${JSON.stringify(header)})`, async (t) => {
      const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
      const file = path.join(project.migrationsDir, REBUILD);
      writeFileSync(file, readFileSync(file, "utf8").replace("-- migrate:up foreign_keys:off", header));
      const migrations = await project.load();
      const db = await openWithForeignKeys(h, t, project.databasePath());
      const manager = db.manager(migrations);
      manager.up({ to: 1 });
      assert.equal(db.value("SELECT count(*) FROM books"), 4);
      assertRebuildRefused(manager, db);
    });
  }

  // The drop hidden from a reading of the text by a comment inside the statement.
  const hiddenDrops: Array<[string, string]> = [
    [
      "a block comment inside DROP TABLE",
      "-- migrate:up\nCREATE TABLE authors_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born INTEGER);\nDROP /* the old one */ TABLE authors;\nALTER TABLE authors_new RENAME TO authors;\n",
    ],
    [
      "a line comment between DROP and TABLE",
      "-- migrate:up\nCREATE TABLE authors_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born INTEGER);\nDROP -- the old one\nTABLE authors;\nALTER TABLE authors_new RENAME TO authors;\n",
    ],
  ];
  for (const [what, source] of hiddenDrops) {
    test(`a parent rebuild without the flag is refused however the drop is written, and the children keep their rows (${what})`, async (t) => {
      const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
      rmSync(path.join(project.migrationsDir, REBUILD));
      project.writeMigration("002_rebuild.sql", source);
      const migrations = await project.load();
      const db = await openWithForeignKeys(h, t, project.databasePath());
      const manager = db.manager(migrations);
      manager.up({ to: 1 });
      assertRebuildRefused(manager, db);
    });
  }

  test("SQLite's own rebuild recipe outside a transaction (foreign keys switched off in a statement) runs, though a string before it holds // or --", async (t) => {
    const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
    rmSync(path.join(project.migrationsDir, REBUILD));
    project.writeMigration(
      "002_recipe.sql",
      "-- migrate:up transaction:false\nINSERT INTO authors (id, name) VALUES (9, 'https://example.com -- not a comment');\nPRAGMA foreign_keys = OFF;\nBEGIN;\nCREATE TABLE authors_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born INTEGER);\nINSERT INTO authors_new (id, name, born) SELECT id, name, CAST(born AS INTEGER) FROM authors;\nDROP TABLE authors;\nALTER TABLE authors_new RENAME TO authors;\nCOMMIT;\nPRAGMA foreign_keys = ON;\n",
    );
    const migrations = await project.load();
    const db = await openWithForeignKeys(h, t, project.databasePath());
    assert.deepEqual(
      db
        .manager(migrations)
        .up()
        .steps.map((step) => step.version),
      [1, 2],
    );
    assert.equal(db.value("SELECT count(*) FROM books"), 4);
  });

  // tsc keeps the comments of the compiled body Function.prototype.toString reads, esbuild and tsx drop them: a comment must decide nothing either way, a string still must.
  test("a TypeScript body is read without its comments: a drop or rename in a comment is not refused, one in a string is, also after a regular expression holding /*; a pragma in a comment manages nothing", async (t) => {
    const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
    rmSync(path.join(project.migrationsDir, REBUILD));
    const [schema] = await project.load();
    const addNote = 'db.exec("ALTER TABLE books ADD COLUMN note TEXT");';
    const rebuild =
      'db.exec("CREATE TABLE authors_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born INTEGER)"); db.exec("DROP TABLE authors"); db.exec("ALTER TABLE authors_new RENAME TO authors");';
    const bodies: Array<[boolean, string]> = [
      [false, `// We used to DROP TABLE authors here and rebuild it; not any more.\n/* ALTER TABLE authors RENAME TO writers */\n${addNote}`],
      [false, `const url = "https://example.com"; /* DROP TABLE authors; */ ${addNote} // DROP TABLE "authors"`],
      [true, `// PRAGMA foreign_keys = OFF;\n/* PRAGMA defer_foreign_keys = ON */\n${rebuild}`],
      [true, `if (/[/*]/.test("a")) db.exec("SELECT 1"); ${rebuild} /* done */`],
      [
        true,
        `db.exec(\`CREATE TABLE authors_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, site TEXT DEFAULT '//example.com/*')\`); db.exec("DROP TABLE authors"); db.exec("ALTER TABLE authors_new RENAME TO authors");`,
      ],
    ];
    for (const [index, [refused, statements]] of bodies.entries()) {
      const up = new Function("db", statements) as (db: PortableConnection) => void;
      assert.ok(Function.prototype.toString.call(up).includes(statements));
      const db = await openWithForeignKeys(h, t, project.databasePath(`body-${index}.db`));
      const manager = db.manager([schema!, tsEntry(2, { up })]);
      manager.up({ to: 1 });
      if (refused) {
        assertRebuildRefused(manager, db);
        continue;
      }
      assert.deepEqual(
        manager.up().steps.map((step) => step.version),
        [2],
        statements,
      );
      assert.equal(db.value("SELECT count(*) FROM books WHERE note IS NULL"), 4);
    }
  });

  test("a migration that drops the children with the parent, or sets the foreign-key pragmas itself, is not refused", async (t) => {
    const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
    project.writeMigration("003_drop_both.sql", "-- migrate:up\nDROP TABLE books;\nDROP TABLE authors;\n");
    const migrations = await project.load();
    const db = await openWithForeignKeys(h, t, project.databasePath());
    db.manager(migrations).up();
    assert.equal(db.value("SELECT count(*) FROM sqlite_master WHERE name IN ('books', 'authors')"), 0);

    const manual = createTestProject(t, { fixture: "fk-parent-rebuild" });
    const file = path.join(manual.migrationsDir, REBUILD);
    // A rebuild that manages the keys itself: deferred checks, children without ON DELETE CASCADE rows lost.
    writeFileSync(file, readFileSync(file, "utf8").replace("-- migrate:up foreign_keys:off", "-- migrate:up\nPRAGMA defer_foreign_keys = ON;"));
    const manualMigrations = await manual.load();
    const other = await openWithForeignKeys(h, t, manual.databasePath());
    assert.deepEqual(
      other
        .manager(manualMigrations)
        .up()
        .steps.map((step) => step.version),
      [1, 2],
    );
  });

  test("a rebuild that leaves dangling references rolls back with FOREIGN_KEY_VIOLATION", async (t) => {
    if (h.lacks(t, "foreignKeySwitch")) return;
    const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
    const file = path.join(project.migrationsDir, REBUILD);
    writeFileSync(file, readFileSync(file, "utf8").replace("FROM authors;", "FROM authors WHERE id <> 3;"));
    const migrations = await project.load();
    const databaseFile = project.databasePath();
    const first = await h.open(databaseFile);
    first.manager(migrations).up({ to: 1 });
    first.close();
    const before = readBytes(databaseFile);
    const db = await openWithForeignKeys(h, t, databaseFile);
    const manager = db.manager(migrations);
    assert.throws(
      () => manager.up(),
      (error: StepwiseError<"FOREIGN_KEY_VIOLATION">) =>
        error.code === "FOREIGN_KEY_VIOLATION" &&
        error.details.version === 2 &&
        error.details.violationCount === 1 &&
        error.details.violations[0]!.table === "books" &&
        error.details.violations[0]!.parent === "authors",
    );
    assert.equal(manager.currentVersion(), 1);
    assert.equal(db.value("PRAGMA foreign_keys"), 1, "enforcement was not restored");
    db.close();
    assert.deepEqual(readBytes(databaseFile), before, "the failed rebuild changed the file");
  });

  test("a dangling reference already there (written with enforcement off, as another tool's connection leaves it) does not fail a foreign_keys:off migration; one the migration adds still does, and only it is reported", async (t) => {
    if (h.lacks(t, "foreignKeySwitch")) return;
    const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
    const migrations = await project.load();
    const keeps = project.databasePath("keeps.db");
    const first = await h.open(keeps);
    first.manager(migrations).up({ to: 1 });
    first.exec("PRAGMA foreign_keys = OFF");
    first.exec("INSERT INTO books (id, author_id, title) VALUES (90, 99, 'orphan')");
    first.close();
    const db = await openWithForeignKeys(h, t, keeps);
    const manager = db.manager(migrations);
    manager.up();
    assert.equal(manager.currentVersion(), 2);

    const file = path.join(project.migrationsDir, REBUILD);
    writeFileSync(file, readFileSync(file, "utf8").replace("FROM authors;", "FROM authors WHERE id <> 3;"));
    const dropping = await project.load();
    const drops = project.databasePath("drops.db");
    const second = await h.open(drops);
    second.manager(dropping).up({ to: 1 });
    second.exec("PRAGMA foreign_keys = OFF");
    second.exec("INSERT INTO books (id, author_id, title) VALUES (90, 99, 'orphan')");
    second.close();
    const refused = await openWithForeignKeys(h, t, drops);
    assert.throws(
      () => refused.manager(dropping).up(),
      (error: StepwiseError<"FOREIGN_KEY_VIOLATION">) =>
        error.code === "FOREIGN_KEY_VIOLATION" && error.details.violationCount === 1 && error.details.violations.every((violation) => violation.rowid !== 90),
    );
  });

  test("a parent's children are found however their keys are written: table constraints, other cases, quoted names and keys added later", async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), "stepwise-fk-children-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const parents: [string, string][] = [
      ["Authors", 'CREATE TABLE "Authors" (id INTEGER PRIMARY KEY)'],
      ['odd"name', 'CREATE TABLE "odd""name" (id INTEGER PRIMARY KEY)'],
      ["tick`name", "CREATE TABLE `tick``name` (id INTEGER PRIMARY KEY)"],
    ];
    const children = [
      "CREATE TABLE books (id INTEGER PRIMARY KEY, author INTEGER, FOREIGN KEY (author) references authors (id))",
      'CREATE TABLE quotes (id INTEGER PRIMARY KEY, source INTEGER REFERENCES "odd""name" (id))',
      "CREATE TABLE ticks (id INTEGER PRIMARY KEY)",
      "ALTER TABLE ticks ADD COLUMN parent INTEGER REFERENCES `tick``name` (id)",
      // Many tables without a key, so a child is not found by being the only table there.
      ...Array.from({ length: 20 }, (_, index) => `CREATE TABLE plain_${index} (id INTEGER PRIMARY KEY)`),
      // A row in every child: a drop whose children hold none loses nothing and is let through.
      'INSERT INTO "Authors" VALUES (1)',
      "INSERT INTO books (author) VALUES (1)",
      'INSERT INTO "odd""name" VALUES (1)',
      "INSERT INTO quotes (source) VALUES (1)",
      "INSERT INTO `tick``name` VALUES (1)",
      "INSERT INTO ticks (parent) VALUES (1)",
    ];
    const expected = new Map([
      ["Authors", "books"],
      ['odd"name', "quotes"],
      ["tick`name", "ticks"],
    ]);
    for (const [index, [parent, create]] of parents.entries()) {
      const db = await openWithForeignKeys(h, t, path.join(dir, `parent-${index}.db`));
      const schema = sqlEntry(1, [...parents.map(([, sql]) => sql), ...children].join(";\n") + ";");
      const quoted = `"${parent.replaceAll('"', '""')}"`;
      const drop = sqlEntry(2, `DROP TABLE ${quoted};`);
      const manager = db.manager([schema, drop]);
      manager.up({ to: 1 });
      assert.throws(
        () => manager.up(),
        (error: StepwiseError<"MIGRATION_FAILED">) =>
          error.code === "MIGRATION_FAILED" &&
          error.details.version === 2 &&
          error.details.foreignKeyRebuild?.table === parent &&
          error.details.foreignKeyRebuild.referencedBy.join() === expected.get(parent),
        `dropping ${create}`,
      );
      assert.equal(manager.currentVersion(), 1);
    }
  });

  test("a drop of a referenced table whose children hold no row runs as written (a database built from zero); a rename is refused whatever they hold, and so is the drop once a child holds a row", async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), "stepwise-fk-empty-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const schema = sqlEntry(
      1,
      "CREATE TABLE parents (id INTEGER PRIMARY KEY, note TEXT);\nCREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id) ON DELETE CASCADE);\nINSERT INTO parents VALUES (1, 'kept');",
    );
    const rebuild = sqlEntry(
      2,
      "CREATE TABLE parents_new (id INTEGER PRIMARY KEY, note TEXT NOT NULL DEFAULT '');\nINSERT INTO parents_new SELECT id, note FROM parents;\nDROP TABLE parents;\nALTER TABLE parents_new RENAME TO parents;",
    );
    const empty = await openWithForeignKeys(h, t, path.join(dir, "empty.db"));
    assert.deepEqual(
      empty
        .manager([schema, rebuild])
        .up()
        .steps.map((step) => step.version),
      [1, 2],
    );
    assert.equal(empty.value("SELECT note FROM parents WHERE id = 1"), "kept");
    assert.deepEqual(
      empty.rows("PRAGMA foreign_key_list(children)").map((key) => (key as { table: string }).table),
      ["parents"],
    );

    const withChild = await openWithForeignKeys(h, t, path.join(dir, "with-child.db"));
    const manager = withChild.manager([schema, rebuild]);
    manager.up({ to: 1 });
    withChild.exec("INSERT INTO children (parent_id) VALUES (1)");
    assert.throws(
      () => manager.up(),
      (error: StepwiseError<"MIGRATION_FAILED">) => error.code === "MIGRATION_FAILED" && error.details.version === 2 && error.details.foreignKeyRebuild?.referencedBy.join() === "children",
    );
    assert.equal(withChild.value("SELECT count(*) FROM children"), 1);

    // Renaming the parent away repoints the children's keys to the old table, rows or not.
    const renameAway = sqlEntry(
      2,
      "ALTER TABLE parents RENAME TO parents_old;\nCREATE TABLE parents (id INTEGER PRIMARY KEY, note TEXT);\nINSERT INTO parents SELECT * FROM parents_old;\nDROP TABLE parents_old;",
    );
    const renamed = await openWithForeignKeys(h, t, path.join(dir, "renamed.db"));
    assert.throws(
      () => renamed.manager([schema, renameAway]).up(),
      (error: StepwiseError<"MIGRATION_FAILED">) => error.code === "MIGRATION_FAILED" && error.details.version === 2 && error.details.foreignKeyRebuild?.table === "parents",
    );
  });
});

test("gen flags PRAGMA foreign_keys inside a transactional migration, SQL and TypeScript", async (t) => {
  const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
  project.writeMigration("003_pragma_in_transaction.sql", "-- migrate:up\nPRAGMA foreign_keys = OFF;\nDROP TABLE books;\n");
  project.writeMigration(
    "004_pragma_in_transaction.ts",
    `import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up(db) { db.exec("PRAGMA foreign_keys = OFF"); } });\n`,
  );
  const result = await project.generate();
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.problems.filter((problem) => problem.code === "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION").map((problem) => problem.file),
    ["migrations/003_pragma_in_transaction.sql", "migrations/004_pragma_in_transaction.ts"],
  );
});
