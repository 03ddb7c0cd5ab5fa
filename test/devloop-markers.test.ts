/**
 * Issue 13.2 and 13.6: `create`'s templates fail `gen` until they are written (TEMPLATE_UNEDITED), and
 * `-- migrate:empty <reason>` makes a deliberately empty section valid while an accidentally empty one
 * is still refused.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createMigration } from "../codegen/create.js";
import { generateRegistry } from "../codegen/generate.js";
import { checksumSqlMigration } from "../src/shared/checksum.js";
import { parseSqlMigrationSource, type SqlSourceResult } from "../src/shared/sql-source.js";
import { MigrationManager } from "./support/stepwise.js";
import { createTestProject, readBytes, runCli } from "./support/project.js";

function codes(result: SqlSourceResult): Array<[string, number]> {
  return result.ok ? [] : result.problems.map((problem) => [problem.code, problem.line]);
}

for (const dialect of ["sqlite", "postgres"] as const) {
  for (const kind of ["sql", "ts"] as const) {
    test(`an unedited ${kind} template for ${dialect} fails gen with TEMPLATE_UNEDITED at each placeholder, and create leaves the registry alone`, async (t) => {
      const project = createTestProject(t);
      project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
      assert.equal((await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, dialect })).ok, true);
      const registry = readBytes(project.registryFile);
      const created = await createMigration({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, description: "add color", kind, dialect });
      assert.ok(readBytes(project.registryFile).equals(registry), "create rewrote the registry");

      const result = await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, dialect });
      assert.equal(result.ok, false);
      const text = readFileSync(created.absolutePath, "utf8").split("\n");
      const placeholderLines = text.flatMap((line, index) => (line.includes("stepwise:todo") ? [index + 1] : []));
      assert.equal(placeholderLines.length, 2);
      assert.deepEqual(
        result.problems.map((problem) => [problem.code, problem.file, problem.line]),
        placeholderLines.map((line) => ["TEMPLATE_UNEDITED", created.file, line]),
      );
      assert.ok(readBytes(project.registryFile).equals(registry), "a failed gen changed the registry");
    });
  }
}

test("a half-edited template (up written, down still the placeholder) fails only at down, and says down can be deleted instead", async (t) => {
  for (const kind of ["sql", "ts"] as const) {
    const project = createTestProject(t);
    const created = await createMigration({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, description: "add items", kind });
    const text = readFileSync(created.absolutePath, "utf8");
    const written =
      kind === "sql"
        ? text.replace(/-- stepwise:todo: write the migration's SQL here[^\n]*\n/, "CREATE TABLE items (id INTEGER PRIMARY KEY);\n")
        : text.replace(/\/\/ stepwise:todo: write the migration's code here[^\n]*\n/, 'db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY)");\n');
    assert.notEqual(written, text);
    writeFileSync(created.absolutePath, written);
    const result = await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile });
    assert.deepEqual(
      result.problems.map((problem) => problem.code),
      ["TEMPLATE_UNEDITED"],
      kind,
    );
    assert.match(result.problems[0]!.message, /down/);
  }
});

test("the placeholder is refused wherever it is copied, but not as data in a string; a deliberate SELECT 1 is a real migration", () => {
  assert.deepEqual(codes(parseSqlMigrationSource("-- migrate:up\nCREATE TABLE t (id INTEGER);\n/* stepwise:todo index */\n")), [["TEMPLATE_UNEDITED", 3]]);
  assert.deepEqual(codes(parseSqlMigrationSource("-- stepwise:todo describe\n-- migrate:up\nCREATE TABLE t (id INTEGER);\n")), [["TEMPLATE_UNEDITED", 1]]);
  assert.deepEqual(codes(parseSqlMigrationSource("-- migrate:up\nINSERT INTO notes (body) VALUES ('-- stepwise:todo');\n")), []);
  assert.deepEqual(codes(parseSqlMigrationSource("-- migrate:up\nSELECT 1;\n")), []);
  assert.deepEqual(codes(parseSqlMigrationSource("-- migrate:up\nSELECT $$ -- stepwise:todo $$;\n", { dialect: "postgres" })), []);
});

test("a TypeScript placeholder in a string or template literal is data; in a comment anywhere it is refused", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_notes.ts",
    'import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db) {\n    db.exec(`CREATE TABLE notes (body TEXT DEFAULT \'// stepwise:todo\')`);\n    db.prepare("INSERT INTO notes VALUES (?)").run("/* stepwise:todo */");\n  },\n});\n',
  );
  assert.deepEqual((await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile })).problems, []);
  project.writeMigration("002_more.ts", 'import { defineMigration } from "stepwise-migrate";\n\n/* stepwise:todo */\nexport default defineMigration({\n  up() {},\n});\n');
  const result = await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile });
  assert.deepEqual(
    result.problems.map((problem) => [problem.code, problem.file, problem.line]),
    [["TEMPLATE_UNEDITED", "migrations/002_more.ts", 3]],
  );
});

test("a TypeScript placeholder on the same line as code (a trailing comment) is refused too", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_notes.ts",
    'import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db) { // stepwise:todo write it\n  },\n  down(db) {\n    db.exec("DROP TABLE IF EXISTS x"); // stepwise:todo\n  },\n});\n',
  );
  const result = await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile });
  assert.deepEqual(
    result.problems.map((problem) => [problem.code, problem.line]),
    [
      ["TEMPLATE_UNEDITED", 4],
      ["TEMPLATE_UNEDITED", 7],
    ],
  );
});

test("create through the bin exits 0, prints only the path on stdout and the next step on stderr", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const registry = readBytes(project.registryFile);
  const created = await runCli(["create", "add color", "--sql"], { cwd: project.root });
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout, "migrations/002_add_color.sql\n");
  assert.match(created.stderr, /stepwise gen/);
  assert.ok(readBytes(project.registryFile).equals(registry));
  const gen = await runCli(["gen"], { cwd: project.root });
  assert.equal(gen.code, 1);
  assert.match(gen.stderr, /^migrations\/002_add_color\.sql:3:1: .*\[TEMPLATE_UNEDITED\]$/m);
});

test("-- migrate:empty <reason> makes an up or down section deliberately empty; accidents are still SQL_EMPTY_UP", () => {
  for (const dialect of ["sqlite", "postgres"] as const) {
    const up = parseSqlMigrationSource("-- migrate:up\n-- migrate:empty SQLite integers are already 64-bit\n", { dialect });
    assert.ok(up.ok, JSON.stringify(up));
    assert.equal(up.migration.emptyUpReason, "SQLite integers are already 64-bit");
    assert.equal(up.migration.downSql, null);
    const both = parseSqlMigrationSource("-- migrate:up\n-- migrate:empty no-op on this dialect\n-- migrate:down\n-- migrate:empty nothing to undo\n", { dialect });
    assert.ok(both.ok, JSON.stringify(both));
    assert.equal(both.migration.emptyDownReason, "nothing to undo");
    const downOnly = parseSqlMigrationSource("-- migrate:up\nCREATE TABLE t (id INTEGER);\n-- migrate:down\n-- migrate:empty the table is dropped by 009\n", { dialect });
    assert.ok(downOnly.ok, JSON.stringify(downOnly));
  }
  // Empty by accident: only comments, only whitespace, only semicolons.
  for (const up of ["-- TODO\n", "   \n\t\n", ";\n", ";;\n", "/* later */ ;\n"]) {
    assert.deepEqual(codes(parseSqlMigrationSource(`-- migrate:up\n${up}`)), [["SQL_EMPTY_UP", 1]], JSON.stringify(up));
  }
  const accidental = parseSqlMigrationSource("-- migrate:up\n");
  assert.ok(!accidental.ok && accidental.problems[0]!.message.includes("-- migrate:empty"));
  assert.deepEqual(codes(parseSqlMigrationSource("-- migrate:up\nCREATE TABLE t (id INTEGER);\n-- migrate:down\n-- nothing\n")), [["SQL_EMPTY_DOWN", 3]]);
});

test("the empty marker's own mistakes: no reason, SQL beside it, above the up marker, twice, after SQL on a line", () => {
  assert.deepEqual(codes(parseSqlMigrationSource("-- migrate:up\n-- migrate:empty\n")), [["SQL_EMPTY_REASON_MISSING", 2]]);
  assert.deepEqual(codes(parseSqlMigrationSource("-- migrate:up\n-- migrate:empty no-op\nCREATE TABLE t (id INTEGER);\n")), [["SQL_EMPTY_WITH_SQL", 2]]);
  assert.deepEqual(codes(parseSqlMigrationSource("-- migrate:empty no-op\n-- migrate:up\nSELECT 1;\n")), [["SQL_MISPLACED_EMPTY", 1]]);
  assert.deepEqual(codes(parseSqlMigrationSource("-- migrate:up\n-- migrate:empty a\n-- migrate:empty b\n")), [["SQL_DUPLICATE_EMPTY", 3]]);
  assert.deepEqual(codes(parseSqlMigrationSource("-- migrate:up\nSELECT 1; -- migrate:empty no-op\n")), [["SQL_MISPLACED_MARKER", 2]]);
});

test("the empty marker is part of the checksum; its reason is documentation and is not; older checksums are unchanged", () => {
  const parse = (source: string) => {
    const result = parseSqlMigrationSource(source);
    assert.ok(result.ok, JSON.stringify(result));
    return result.migration.checksum;
  };
  const emptyUp = parse("-- migrate:up\n-- migrate:empty one reason\n");
  assert.equal(parse("-- migrate:up\n-- migrate:empty another reason\n"), emptyUp);
  assert.notEqual(parse("-- migrate:up\n-- migrate:empty one reason\n-- migrate:down\n-- migrate:empty nothing to undo\n"), emptyUp);
  assert.notEqual(parse("-- migrate:up\nCREATE TABLE t (id INTEGER);\n-- migrate:down\n-- migrate:empty kept\n"), parse("-- migrate:up\nCREATE TABLE t (id INTEGER);\n"));
  const plain = { upSql: "CREATE TABLE t (id INTEGER);", downSql: null, transaction: true, disableForeignKeys: false };
  assert.equal(checksumSqlMigration({ ...plain, emptyUp: false, emptyDown: false }), checksumSqlMigration(plain));
  assert.equal(parse("-- migrate:up\nCREATE TABLE t (id INTEGER);\n"), checksumSqlMigration(plain));
});

test("a deliberately empty migration is generated with its reason as description, applied, recorded and reverted; a TypeScript up() {} needs no marker", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE items;\n");
  project.writeMigration("002_bigint_ids.sql", "-- migrate:up\n-- migrate:empty SQLite integers are already 64-bit\n-- migrate:down\n-- migrate:empty nothing to undo\n");
  project.writeMigration(
    "003_noop.ts",
    'import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  description: "kept so versions line up",\n  up() {},\n  down() {},\n});\n',
  );
  const migrations = await project.load();
  assert.deepEqual(
    migrations.map((entry) => [entry.version, entry.description, entry.reversible]),
    [
      [1, null, true],
      [2, "SQLite integers are already 64-bit", true],
      [3, "kept so versions line up", true],
    ],
  );
  const db = new Database(project.databasePath());
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);
  assert.deepEqual(
    manager.up().steps.map((step) => step.version),
    [1, 2, 3],
  );
  const recorded = db.prepare("SELECT version, checksum FROM schema_migrations ORDER BY version").all() as Array<{ version: number; checksum: string }>;
  assert.deepEqual(
    recorded.map((row) => [row.version, row.checksum]),
    migrations.map((entry) => [entry.version, entry.checksum]),
  );
  assert.deepEqual(
    manager.down({ to: 1 }).steps.map((step) => step.version),
    [3, 2],
  );
  assert.equal(manager.status().currentVersion, 1);
});
