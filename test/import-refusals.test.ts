/**
 * What `stepwise import` refuses, writing nothing: an empty or missing down without `--empty-down` (naming the files), an unknown tool, a folder that already holds migrations (the tool's own, when
 * importing in place), and a source file the tool or stepwise would refuse (naming its file and line). The bin in-process.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTestProject, fixturesDir, runCli, type TestProject } from "./support/project.js";

/** A project with the tool's fixture (or `files`) in `<tool>-migrations/`. */
function projectWith(t: test.TestContext, tool: string, files?: Record<string, string>): TestProject {
  const project = createTestProject(t);
  const source = path.join(project.root, `${tool}-migrations`);
  if (files === undefined) cpSync(path.join(fixturesDir, "import", tool), source, { recursive: true });
  for (const [file, text] of Object.entries(files ?? {})) {
    mkdirSync(path.dirname(path.join(source, file)), { recursive: true });
    writeFileSync(path.join(source, file), text);
  }
  return project;
}

/** The `--json` error of a failed run. */
async function importError(project: TestProject, args: readonly string[], code = 1) {
  const run = await runCli(["import", ...args, "--json"], { cwd: project.root });
  assert.equal(run.code, code, run.stdout + run.stderr);
  return (JSON.parse(run.stdout) as { error: { code: string; [field: string]: unknown } }).error;
}

test("an empty or missing down without --empty-down is IMPORT_EMPTY_DOWN naming each file, and nothing is written, --yes or not", async (t) => {
  const project = projectWith(t, "diesel");
  for (const yes of [[], ["--yes"]]) {
    const error = await importError(project, ["diesel", "diesel-migrations", ...yes]);
    assert.equal(error.code, "IMPORT_EMPTY_DOWN");
    assert.deepEqual(error.files, ["diesel-migrations/2019-02-27-100000_create-posts/down.sql", "diesel-migrations/2019-03-01-000000_compact/down.sql"]);
  }
  const sqlx = projectWith(t, "sqlx");
  const missing = await importError(sqlx, ["sqlx", "sqlx-migrations", "--yes"]);
  // A down that is missing has no file: its up file stands for it.
  assert.deepEqual(missing.files, ["sqlx-migrations/2_create_posts.up.sql", "sqlx-migrations/3_compact.down.sql"]);
  assert.equal(existsSync(project.migrationsDir) || existsSync(sqlx.migrationsDir), false);
});

test("IMPORT_EMPTY_DOWN's files are paths that exist, for every tool's fixture that has a missing or empty down", async (t) => {
  const refused: string[] = [];
  for (const tool of readdirSync(path.join(fixturesDir, "import"))) {
    const project = projectWith(t, tool);
    const run = await runCli(["import", tool, `${tool}-migrations`, "--json"], { cwd: project.root });
    const error = run.code === 1 ? (JSON.parse(run.stdout) as { error: { code: string; files?: string[] } }).error : undefined;
    if (error?.code !== "IMPORT_EMPTY_DOWN") continue;
    refused.push(tool);
    for (const file of error.files!) assert.equal(existsSync(path.join(project.root, file)), true, `${tool}: ${file}`);
  }
  assert.ok(
    ["sqlx", "drizzle", "prisma"].every((tool) => refused.includes(tool)),
    refused.join(", "),
  );
});

test("--empty-down irreversible writes no down section; no-op writes a down marked empty", async (t) => {
  const project = projectWith(t, "golang-migrate");
  const run = await runCli(["import", "golang-migrate", "golang-migrate-migrations", "--empty-down", "irreversible", "--yes"], { cwd: project.root });
  assert.equal(run.code, 0, run.stderr);
  const read = (file: string) => readFileSync(path.join(project.migrationsDir, file), "utf8");
  assert.doesNotMatch(read("002_create_posts.sql"), /migrate:down/);
  assert.doesNotMatch(read("003_add_email.sql"), /migrate:down/);
  const noOp = projectWith(t, "golang-migrate");
  assert.equal((await runCli(["import", "golang-migrate", "golang-migrate-migrations", "--empty-down", "no-op", "--yes"], { cwd: noOp.root })).code, 0);
  assert.match(readFileSync(path.join(noOp.migrationsDir, "002_create_posts.sql"), "utf8"), /^-- migrate:down\n-- migrate:empty .+\n$/m);
  assert.equal((await importError(noOp, ["golang-migrate", "golang-migrate-migrations", "--empty-down", "maybe"], 2)).code, "USAGE");
});

test("an unknown tool is a usage error (exit 2) naming the tools import reads", async (t) => {
  const project = projectWith(t, "sqlx");
  const error = await importError(project, ["liquibase", "sqlx-migrations"], 2);
  assert.equal(error.code, "USAGE");
  assert.match(String(error.message), /diesel, sqlx, dbmate, golang-migrate, goose, flyway, drizzle, prisma/);
});

test("a folder that already holds migrations is IMPORT_TARGET_NOT_EMPTY, in the dry run too; importing the tool's folder in place says to move it aside", async (t) => {
  const project = projectWith(t, "goose");
  const args = ["goose", "goose-migrations", "--empty-down", "no-op"];
  assert.equal((await runCli(["import", ...args, "--yes"], { cwd: project.root })).code, 0);
  const before = readdirSync(project.migrationsDir);
  for (const yes of [[], ["--yes"]]) {
    const error = await importError(project, [...args, ...yes]);
    assert.equal(error.code, "IMPORT_TARGET_NOT_EMPTY");
    assert.equal(error.dir, "migrations");
    assert.equal((error.files as string[]).length, 6);
  }
  assert.deepEqual(readdirSync(project.migrationsDir), before);

  // The goose folder is the project's migrations folder.
  const inPlace = createTestProject(t);
  cpSync(path.join(fixturesDir, "import", "goose"), inPlace.migrationsDir, { recursive: true });
  const error = await importError(inPlace, ["goose", "migrations", "--empty-down", "no-op", "--yes"]);
  assert.equal(error.code, "IMPORT_TARGET_NOT_EMPTY");
  assert.match(String(error.message), /git mv migrations migrations-goose/);
});

test("a malformed source file is IMPORT_SOURCE_INVALID at its file and line, and nothing is written", async (t) => {
  const cases: [tool: string, files: Record<string, string>, file: string, line: number][] = [
    ["goose", { "00001_a.sql": "CREATE TABLE a (id INTEGER);\n" }, "goose-migrations/00001_a.sql", 1],
    ["goose", { "00001_a.sql": "-- +goose Up\nCREATE TABLE a (id INTEGER);\n-- +goose ENVSUB ON\nALTER TABLE a RENAME TO ${TABLE};\n" }, "goose-migrations/00001_a.sql", 3],
    ["dbmate", { "1_a.sql": "-- migrate:up\nCREATE TABLE a (id INTEGER);\n" }, "dbmate-migrations/1_a.sql", 1],
    ["flyway", { "V1__a.sql": "CREATE TABLE a (id INTEGER);\n", "V2__b.sql": "\nCREATE TABLE ${prefix}b (id INTEGER);\n" }, "flyway-migrations/V2__b.sql", 2],
    // One folder per database under the folder named (each its own Flyway location): one version twice, at the second.
    ["flyway", { "h2/V1__a.sql": "CREATE TABLE a (id INT);\n", "postgresql/V1__a.sql": "CREATE TABLE a (id integer);\n" }, "flyway-migrations/postgresql/V1__a.sql", 1],
    // Two repeatable scripts of one description, which Flyway refuses (one repeatable script is imported: test/import-flyway-shapes.test.ts).
    [
      "flyway",
      { "V1__a.sql": "CREATE TABLE a (id INTEGER);\n", "R__views.sql": "CREATE VIEW v AS SELECT 1;\n", "sub/R__views.sql": "CREATE VIEW w AS SELECT 1;\n" },
      "flyway-migrations/sub/R__views.sql",
      1,
    ],
    ["drizzle", { "meta/_journal.json": '{\n  "entries": [\n    { "idx": 0, "tag": "0000_missing" }\n  ]\n}\n' }, "drizzle-migrations/meta/_journal.json", 3],
    // A Flyway callback run during migrate (in a subfolder too, with a description): stepwise has none, and skipping it would drop what it does.
    ["flyway", { "V1__a.sql": "CREATE TABLE a (id INTEGER);\n", "afterMigrate.sql": "DELETE FROM a;\n" }, "flyway-migrations/afterMigrate.sql", 1],
    ["flyway", { "V1__a.sql": "CREATE TABLE a (id INTEGER);\n", "callbacks/beforeEachMigrate__log.sql": "SELECT 1;\n" }, "flyway-migrations/callbacks/beforeEachMigrate__log.sql", 1],
    // The database the tool wrote the SQL for, as it records it, is not the project's (SQLite here): at the line that names it.
    ...["mysql", "postgresql"].map((provider): [string, Record<string, string>, string, number] => [
      "prisma",
      { "migration_lock.toml": `# Please do not edit this file manually\nprovider = "${provider}"\n`, "20200101000000_a/migration.sql": "CREATE TABLE a (id INTEGER);\n" },
      "prisma-migrations/migration_lock.toml",
      2,
    ]),
    [
      "drizzle",
      {
        "meta/_journal.json": '{\n  "version": "7",\n  "dialect": "postgresql",\n  "entries": [\n    { "idx": 0, "when": 1700000000000, "tag": "0000_a" }\n  ]\n}\n',
        "0000_a.sql": "CREATE TABLE a (id INTEGER);\n",
      },
      "drizzle-migrations/meta/_journal.json",
      3,
    ],
    // An entry without a "when", or one that is not a number of milliseconds, at its line: drizzle records it, so no value stands in for it.
    ...["", '"when": "1700000000001", ', '"when": 1.5, ', '"when": null, '].map((when): [string, Record<string, string>, string, number] => [
      "drizzle",
      {
        "meta/_journal.json": `{\n  "entries": [\n    { "idx": 0, "when": 1700000000000, "tag": "0000_a" },\n    { "idx": 1, ${when}"tag": "0001_b" }\n  ]\n}\n`,
        "0000_a.sql": "CREATE TABLE a (id INTEGER);\n",
        "0001_b.sql": "CREATE TABLE b (id INTEGER);\n",
      },
      "drizzle-migrations/meta/_journal.json",
      4,
    ]),
    // SQL stepwise would refuse: a transaction ended inside a migration that runs in one (at its line in the file, goose's dropped annotation lines counted).
    ["goose", { "00001_a.sql": "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (id INTEGER);\n-- +goose StatementEnd\nCOMMIT;\n" }, "goose-migrations/00001_a.sql", 5],
    ["sqlx", { "1_a.sql": "CREATE TABLE a (id INTEGER);\n\nCOMMIT;\n" }, "sqlx-migrations/1_a.sql", 3],
    ["diesel", { "2020-01-01-000000_a/up.sql": "", "2020-01-01-000000_a/down.sql": "SELECT 1;\n" }, "diesel-migrations/2020-01-01-000000_a/up.sql", 1],
  ];
  for (const [tool, files, file, line] of cases) {
    const project = projectWith(t, tool, files);
    const error = await importError(project, [tool, `${tool}-migrations`, "--empty-down", "no-op", "--yes"]);
    assert.equal(error.code, "IMPORT_SOURCE_INVALID", `${tool}: ${String(error.message)}`);
    assert.deepEqual(
      (error.problems as { file: string; line: number }[]).map((problem) => [problem.file, problem.line]),
      [[file, line]],
      String(error.message),
    );
    assert.equal(existsSync(project.migrationsDir), false);
  }
});

test("a JavaScript migration whose local imports gen would refuse (a file missing, here or in a helper outside the folder, or a helper that does not parse) is IMPORT_SOURCE_INVALID at the import's line; nothing is written", async (t) => {
  const migration = (specifier: string) =>
    `// Seeds from a list beside it.\nconst list = require(${JSON.stringify(specifier)});\nexports.up = async (knex) => knex.schema.createTable("a", (table) => table.integer("id"));\nexports.down = async (knex) => knex.schema.dropTable("a");\n`;
  const cases: [specifier: string, outside: Record<string, string>, file: string, line: number][] = [
    ["./list.json", {}, "knex-migrations/20240101000000_a.cjs", 2],
    ["../shared/helper.cjs", { "shared/helper.cjs": "// The seed list.\nmodule.exports = require('./gone.json');\n" }, "shared/helper.cjs", 2],
    ["../shared/helper.cjs", { "shared/helper.cjs": "module.exports = {\n  rows: [1, 2,,\n};\n" }, "shared/helper.cjs", 3],
  ];
  for (const [specifier, outside, file, line] of cases) {
    const project = projectWith(t, "knex", { "20240101000000_a.cjs": migration(specifier) });
    for (const [name, text] of Object.entries(outside)) {
      mkdirSync(path.dirname(path.join(project.root, name)), { recursive: true });
      writeFileSync(path.join(project.root, name), text);
    }
    const error = await importError(project, ["knex", "knex-migrations", "--yes"]);
    assert.equal(error.code, "IMPORT_SOURCE_INVALID", String(error.message));
    assert.deepEqual(
      (error.problems as { file: string; line: number }[]).map((problem) => [problem.file, problem.line]),
      [[file, line]],
      String(error.message),
    );
    assert.equal(existsSync(project.migrationsDir), false);
  }
  // One helper that many migrations import is one problem.
  const shared = projectWith(t, "knex", { "20240101000000_a.cjs": migration("../shared/helper.cjs"), "20240102000000_b.cjs": migration("../shared/helper.cjs") });
  mkdirSync(path.join(shared.root, "shared"));
  writeFileSync(path.join(shared.root, "shared", "helper.cjs"), "module.exports = {\n  rows: [1, 2,,\n};\n");
  const once = await importError(shared, ["knex", "knex-migrations", "--yes"]);
  assert.deepEqual(
    (once.problems as { file: string; line: number }[]).map((problem) => [problem.file, problem.line]),
    [["shared/helper.cjs", 3]],
  );
});

test("a source folder that does not exist, or holds none of the tool's migrations, is IMPORT_SOURCE_INVALID", async (t) => {
  const project = projectWith(t, "sqlx", { "README.md": "notes\n" });
  for (const dir of ["sqlx-migrations", "nowhere"]) {
    const error = await importError(project, ["sqlx", dir]);
    assert.equal(error.code, "IMPORT_SOURCE_INVALID");
  }
});

test("an up with only comments is imported as -- migrate:empty, since the tool applied and recorded it, and gen passes", async (t) => {
  const project = projectWith(t, "golang-migrate", {
    "1_a.up.sql": "CREATE TABLE a (id INTEGER);\n",
    "1_a.down.sql": "DROP TABLE a;\n",
    "2_placeholder.up.sql": "-- kept for numbering\n",
    "2_placeholder.down.sql": "",
  });
  const run = await runCli(["import", "golang-migrate", "golang-migrate-migrations", "--empty-down", "no-op", "--yes"], { cwd: project.root });
  assert.equal(run.code, 0, run.stderr);
  assert.match(readFileSync(path.join(project.migrationsDir, "002_placeholder.sql"), "utf8"), /^-- migrate:up.*\n-- migrate:empty .+\n-- kept for numbering\n/m);
  assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 1, "stale before gen");
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
});

test("the dialect the tool records is matched to the project's: drizzle-kit's turso is SQLite, Prisma's postgresql is PostgreSQL; a Flyway callback of another command than migrate is left out", async (t) => {
  const cases: [tool: string, files: Record<string, string>, dialect: string][] = [
    [
      "drizzle",
      {
        "meta/_journal.json": JSON.stringify({ version: "7", dialect: "turso", entries: [{ idx: 0, version: "6", when: 1, tag: "0000_a", breakpoints: true }] }),
        "0000_a.sql": "CREATE TABLE a (id INTEGER);\n",
      },
      "sqlite",
    ],
    ["prisma", { "migration_lock.toml": 'provider = "postgresql"\n', "20200101000000_a/migration.sql": 'CREATE TABLE "a" ("id" SERIAL PRIMARY KEY);\n' }, "postgres"],
    ["flyway", { "V1__a.sql": "CREATE TABLE a (id INTEGER);\n", "beforeClean.sql": "SELECT 1;\n" }, "sqlite"],
  ];
  for (const [tool, files, dialect] of cases) {
    const project = projectWith(t, tool, files);
    const run = await runCli(["import", tool, `${tool}-migrations`, "--dialect", dialect, "--empty-down", "no-op", "--json"], { cwd: project.root });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal((JSON.parse(run.stdout) as { migrations: unknown[] }).migrations.length, 1);
  }
});
