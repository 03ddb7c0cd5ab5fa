/**
 * `stepwise import node-pg-migrate` and `adopt` against PostgreSQL databases node-pg-migrate's own runner migrated: numeric order that string order contradicts (2 before 10), ES module and CommonJS
 * migrations, a `.sql` migration (imported as SQL), shorthands exported by an earlier file, `pgm.noTransaction()`, `down = false` (--empty-down) and a missing down (run as up in reverse, as
 * node-pg-migrate does); then its refusals (SQLite, a file without a numeric prefix, `down = true`) and a noTransaction() the text hides, refused when it runs.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fixturesDir, runCli } from "./support/project.js";
import { migrateWithNodePgMigrate } from "./support/js-tool-migrators.js";
import { cliOn, jsToolProject, newTarget, runJsToolRoundTrip, schemaOf, type JsToolCase, type Json } from "./support/js-tool-import.js";

const FILES: Record<string, string> = {
  "1_create_users.js": `export const shorthands = { id: { type: "serial", primaryKey: true } };

export const up = (pgm) => {
  pgm.createTable("users", { id: "id", name: { type: "text", notNull: true } });
};
`,
  "2_status_type.cjs": `/** @type {import('node-pg-migrate').ColumnDefinitions | undefined} */
exports.shorthands = undefined;

exports.up = (pgm) => {
  pgm.createType("status", ["active"]);
  pgm.addColumn("users", { status: { type: "status", notNull: true, default: "active" } });
};
exports.down = (pgm) => {
  pgm.dropColumn("users", "status");
  pgm.dropType("status");
};
`,
  // A pg_dump header above the up comment: comments, which node-pg-migrate skips and the import keeps above its marker.
  "3_create_posts.sql": `--
-- PostgreSQL database dump
--
/* dumped from the first schema */

-- Up Migration
CREATE TABLE posts (id serial PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id), body text);

-- Down Migration
DROP TABLE posts;
`,
  "4_create_tags.js": `export const up = async (pgm) => {
  pgm.createTable("tags", { id: "id", label: { type: "text", unique: true } });
  pgm.createIndex("posts", "user_id");
  const { rows } = await pgm.db.query("SELECT count(*)::int AS n FROM users");
  pgm.sql(\`INSERT INTO tags (label) VALUES ('users: \${rows[0].n}')\`);
};
export const down = (pgm) => {
  pgm.dropIndex("posts", "user_id");
  pgm.dropTable("tags");
};
`,
  // node-pg-migrate runs it last: 10 after 4 as numbers, where strings put it second.
  "10_archive_status.js": `export const up = (pgm) => {
  pgm.noTransaction();
  pgm.addTypeValue("status", "archived", { ifNotExists: true });
};
export const down = false;
`,
};

const pgmCase: JsToolCase = {
  tool: "node-pg-migrate",
  dialect: "postgres",
  files: FILES,
  packages: ["node-pg-migrate"],
  toolTables: ["pgmigrations"],
  migrate: migrateWithNodePgMigrate,
  importArgs: ["--empty-down", "irreversible"],
};

test("node-pg-migrate: imported in its numeric order, pgm served by its MigrationBuilder on stepwise's client, adopted two behind, up, verify, and a fresh database gets its schema", async (t) => {
  const { project, imported } = await runJsToolRoundTrip(t, pgmCase, 2);
  assert.deepEqual(
    imported.migrations.map((migration: Json) => [migration.file, migration.transaction, migration.down]),
    [
      ["001_create_users.ts", true, "module"],
      ["002_status_type.ts", true, "module"],
      ["003_create_posts.sql", true, "sql"],
      ["004_create_tags.ts", true, "module"],
      ["005_archive_status.ts", false, "none"],
    ],
  );
  // 004 uses 001's shorthand: its wrapper brings 001 (and not 002, whose template exports shorthands = undefined).
  const wrapper = readFileSync(path.join(project.migrationsDir, "004_create_tags.ts"), "utf8");
  assert.match(wrapper, /import \* as earlier1 from "\.\.\/node-pg-migrate-migrations\/1_create_users\.js";/);
  assert.doesNotMatch(wrapper, /2_status_type/);
  // The missing down is node-pg-migrate's reverse of up: stepwise's down undoes 001 by dropping the table its createTable made; `down = false` stays irreversible.
  const target = await newTarget(t, project, "postgres", "down");
  assert.equal((await cliOn(project, target, "up")).code, 0);
  assert.equal((await cliOn(project, target, "down", "--to", "0")).json.error?.code, "IRREVERSIBLE_MIGRATION");
  const other = await newTarget(t, project, "postgres", "down-4");
  assert.equal((await cliOn(project, other, "up", "--to", "4")).code, 0);
  const down = await cliOn(project, other, "down", "--to", "0");
  assert.equal(down.code, 0, JSON.stringify(down.json));
  assert.deepEqual(await schemaOf(other, ["pgmigrations"]), []);
});

test("node-pg-migrate: a step its builder collected fails at the original's call that made it, not at the wrapper, in reverse mode too; nothing of it is kept", async (t) => {
  const fixture = path.join(fixturesDir, "node-pg-migrate-failing-down");
  const files = Object.fromEntries(readdirSync(fixture).map((name) => [name, readFileSync(path.join(fixture, name), "utf8")]));
  const { project } = jsToolProject(t, { ...pgmCase, files });
  assert.equal((await runCli(["import", "node-pg-migrate", "node-pg-migrate-migrations", "--yes"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const cases = [
    // 2's explicit down: its second step fails, after its first ran.
    { to: "2", version: 2, file: "migrations/002_add_default_value.ts", original: "2_add_default_value.js", line: 8 },
    // 3 has no down: the reverse of its first call fails, which reverse mode runs last.
    { to: "3", version: 3, file: "migrations/003_add_extra.ts", original: "3_add_extra.js", line: 3 },
  ];
  for (const { to, version, file, original, line } of cases) {
    const target = await newTarget(t, project, "postgres", `failing-down-${to}`);
    assert.equal((await cliOn(project, target, "up", "--to", to)).code, 0);
    const down = await cliOn(project, target, "down");
    assert.equal(down.json.error?.code, "MIGRATION_FAILED");
    assert.equal(down.json.error.file, file);
    assert.deepEqual({ file: down.json.error.location?.file, line: down.json.error.location?.line }, { file: `node-pg-migrate-migrations/${original}`, line });
    assert.match(down.json.error.fix, new RegExp(`^fix node-pg-migrate-migrations/${original.replace(".", "\\.")}:${line}, which the down section of ${file.replace(".", "\\.")} runs,`));
    assert.equal((await cliOn(project, target, "status")).json.currentVersion, version);
  }
});

test("node-pg-migrate refusals: a SQLite project, a file without a numeric prefix, `down = true`, SQL above a .sql file's up comment; a noTransaction() hidden from the text is refused when it runs", async (t) => {
  const { project, dir } = jsToolProject(t, { ...pgmCase, files: { "1_a.js": "export const up = () => {};\nexport const down = true;\n", "notes.txt": "not a migration\n" } });
  // A project of its own: this one's config gives its folder to postgres, where import refuses another dialect before reading the tool's files.
  const sqliteProject = jsToolProject(t, { ...pgmCase, dialect: "sqlite", files: { "1_a.js": "export const up = () => {};\n" } }).project;
  const sqlite = await runCli(["import", "node-pg-migrate", "node-pg-migrate-migrations", "--json"], { cwd: sqliteProject.root });
  assert.equal((JSON.parse(sqlite.stdout) as Json).error.code, "IMPORT_SOURCE_INVALID");
  const run = await runCli(["import", "node-pg-migrate", "node-pg-migrate-migrations", "--json"], { cwd: project.root });
  const error = (JSON.parse(run.stdout) as Json).error;
  assert.equal(error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    error.problems.map((problem: Json) => problem.file),
    ["node-pg-migrate-migrations/notes.txt"],
  );
  rmSync(path.join(dir, "notes.txt"));
  writeFileSync(path.join(dir, "2_b.sql"), "-- set up\nCREATE TABLE never_run (id int);\n-- Up Migration\nCREATE TABLE b (id int);\n");
  const downTrue = JSON.parse((await runCli(["import", "node-pg-migrate", "node-pg-migrate-migrations", "--json"], { cwd: project.root })).stdout) as Json;
  assert.deepEqual(
    downTrue.error.problems.map((problem: Json) => [problem.file, problem.line]),
    [
      ["node-pg-migrate-migrations/1_a.js", 2],
      ["node-pg-migrate-migrations/2_b.sql", 1],
    ],
  );
  rmSync(path.join(dir, "2_b.sql"));
  // noTransaction() behind a condition the text cannot see: imported as transactional, refused when it runs, with nothing applied.
  writeFileSync(path.join(dir, "1_a.js"), 'const method = "noTransaction";\nexport const up = (pgm) => {\n  pgm[method]();\n  pgm.sql("CREATE TABLE t (id int)");\n};\n');
  assert.equal((await runCli(["import", "node-pg-migrate", "node-pg-migrate-migrations", "--yes"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const target = await newTarget(t, project, "postgres", "hidden");
  const up = await cliOn(project, target, "up");
  assert.equal(up.code, 1);
  assert.equal(up.json.error.code, "MIGRATION_FAILED");
  assert.equal((await cliOn(project, target, "status")).json.currentVersion, 0);
});

test("gen on a folder of node-pg-migrate's .sql migrations names node-pg-migrate and its import", async (t) => {
  const { project } = jsToolProject(t, { ...pgmCase, files: {} });
  mkdirSync(project.migrationsDir, { recursive: true });
  writeFileSync(path.join(project.migrationsDir, "1700000000000_create_users.sql"), FILES["3_create_posts.sql"]!);
  writeFileSync(path.join(project.migrationsDir, "1700000000001_create_tags.sql"), "-- Up Migration\nCREATE TABLE tags (id int);\n");
  const gen = JSON.parse((await runCli(["gen", "--json"], { cwd: project.root })).stdout) as Json;
  assert.deepEqual(
    gen.problems.map((problem: Json) => [problem.code, problem.foreign?.tool]),
    [["FOREIGN_MIGRATIONS", "node-pg-migrate"]],
  );
  assert.match(gen.problems[0].message, /stepwise import node-pg-migrate migrations-node-pg-migrate/);
});
