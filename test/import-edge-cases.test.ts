/**
 * `stepwise import` on the shapes real histories take that the per-tool fixtures do not: symbolic links, Flyway's subfolders, goose's version and statement rules, a BOM in an sqlx
 * file's checksum, and a source that is a file. The bin in-process.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs, { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { planImport, writeImport } from "../codegen/import/import-plan.js";
import { renderWrapper } from "../codegen/import/render-wrapper.js";
import type { ForeignMigration } from "../codegen/import/source.js";
import { ts } from "ts-morph";
import { createTestDatabase } from "./support/postgres-server.js";
import { createTestProject, runCli, type TestProject } from "./support/project.js";

/** A project with `files` in `<tool>-migrations/`. */
function projectWith(t: test.TestContext, tool: string, files: Record<string, string | Buffer>): TestProject {
  const project = createTestProject(t);
  for (const [file, text] of Object.entries(files)) {
    const at = path.join(project.root, `${tool}-migrations`, file);
    mkdirSync(path.dirname(at), { recursive: true });
    writeFileSync(at, text);
  }
  return project;
}

/** The `--json` output of a run, with its exit code checked. */
async function importJson(project: TestProject, args: readonly string[], code: number) {
  const run = await runCli(["import", ...args, "--json"], { cwd: project.root });
  assert.equal(run.code, code, run.stdout + run.stderr);
  return JSON.parse(run.stdout) as {
    error?: { code: string; problems?: { file: string; line: number }[] };
    migrations?: { originalId: string; file: string; down: string; transaction: boolean; emptyUp: boolean; foreignKeysPragmas: number; history: Record<string, unknown> }[];
  };
}

const DBMATE = (table: string) => `-- migrate:up\nCREATE TABLE ${table} (id INTEGER);\n-- migrate:down\nDROP TABLE ${table};\n`;

test("a symbolic link to a migration file or folder is imported as the tool reads it (through the link); a broken link is IMPORT_SOURCE_INVALID at it", async (t) => {
  const dbmate = projectWith(t, "dbmate", { "2_b.sql": DBMATE("b") });
  writeFileSync(path.join(dbmate.root, "1_a.sql"), DBMATE("a"));
  symlinkSync(path.join(dbmate.root, "1_a.sql"), path.join(dbmate.root, "dbmate-migrations", "1_a.sql"));
  const plan = await importJson(dbmate, ["dbmate", "dbmate-migrations"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => migration.originalId),
    ["1_a", "2_b"],
  );

  const diesel = projectWith(t, "diesel", { "2020-01-02-000000_b/up.sql": "CREATE TABLE b (id INTEGER);\n", "2020-01-02-000000_b/down.sql": "DROP TABLE b;\n" });
  mkdirSync(path.join(diesel.root, "shared"));
  writeFileSync(path.join(diesel.root, "shared", "up.sql"), "CREATE TABLE a (id INTEGER);\n");
  writeFileSync(path.join(diesel.root, "shared", "down.sql"), "DROP TABLE a;\n");
  symlinkSync(path.join(diesel.root, "shared"), path.join(diesel.root, "diesel-migrations", "2020-01-01-000000_a"));
  const folders = await importJson(diesel, ["diesel", "diesel-migrations"], 0);
  assert.deepEqual(
    folders.migrations!.map((migration) => migration.originalId),
    ["2020-01-01-000000_a", "2020-01-02-000000_b"],
  );

  const broken = projectWith(t, "dbmate", { "2_b.sql": DBMATE("b") });
  symlinkSync(path.join(broken.root, "nowhere.sql"), path.join(broken.root, "dbmate-migrations", "1_a.sql"));
  const error = (await importJson(broken, ["dbmate", "dbmate-migrations", "--yes"], 1)).error!;
  assert.equal(error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    error.problems!.map((problem) => [problem.file, problem.line]),
    [["dbmate-migrations/1_a.sql", 1]],
  );
  assert.equal(existsSync(broken.migrationsDir), false);
});

test("Flyway: migrations in subfolders are imported in version order with the rest, as Flyway scans subfolders; its history keeps the file name", async (t) => {
  const project = projectWith(t, "flyway", {
    "V1__a.sql": "CREATE TABLE a (id INTEGER);\n",
    "release2/V2__b.sql": "CREATE TABLE b (id INTEGER);\n",
    "release2/deeper/V1.5__c.sql": "CREATE TABLE c (id INTEGER);\n",
  });
  symlinkSync(".", path.join(project.root, "flyway-migrations", "release2", "again"));
  const plan = await importJson(project, ["flyway", "flyway-migrations", "--empty-down", "no-op"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => [migration.originalId, migration.history.script]),
    [
      ["V1__a", "V1__a.sql"],
      ["release2/deeper/V1.5__c", "V1.5__c.sql"],
      ["release2/V2__b", "V2__b.sql"],
    ],
  );
  const twice = projectWith(t, "flyway", { "V1__a.sql": "SELECT 1;\n", "old/V1__a.sql": "SELECT 1;\n" });
  const error = (await importJson(twice, ["flyway", "flyway-migrations", "--empty-down", "no-op"], 1)).error!;
  assert.equal(error.code, "IMPORT_SOURCE_INVALID");
});

test("goose: what goose itself refuses is IMPORT_SOURCE_INVALID at its line: version 0 or past 64 bits, StatementBegin without StatementEnd (or the reverse), an annotation line goose cannot read, an unfinished up statement", async (t) => {
  const UP = "-- +goose Up\nCREATE TABLE a (id INTEGER);\n";
  const cases: [files: Record<string, string>, file: string, line: number][] = [
    [{ "0_init.sql": UP }, "0_init.sql", 1],
    [{ "9223372036854775808_big.sql": UP }, "9223372036854775808_big.sql", 1],
    [{ "1_a.sql": "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (id INTEGER);\n-- +goose Down\nDROP TABLE a;\n" }, "1_a.sql", 2],
    [{ "1_a.sql": "-- +goose Up\nCREATE TABLE a (id INTEGER);\n-- +goose Down\n-- +goose StatementBegin\nDROP TABLE a;\n" }, "1_a.sql", 4],
    [{ "1_a.sql": "-- +goose Up\nCREATE TABLE a (id INTEGER);\n-- +goose StatementEnd\n" }, "1_a.sql", 3],
    // goose refuses an indented annotation (stepwise read it as a comment, so the down's SQL joined the up), and any comment line holding "+goose".
    [{ "1_a.sql": "-- +goose Up\nCREATE TABLE a (id INTEGER);\n  -- +goose Down\nDROP TABLE a;\n" }, "1_a.sql", 3],
    [{ "1_a.sql": "-- +goose Up\n-- written for +goose v3\nCREATE TABLE a (id INTEGER);\n" }, "1_a.sql", 2],
    // goose's "missing semicolon": the up's last statement unfinished, at the Down or at the end (a statement in StatementBegin/End needs none).
    [{ "1_a.sql": "-- +goose Up\nCREATE TABLE a (id INTEGER);\n\nCREATE TABLE b (id INTEGER)\n-- +goose Down\nDROP TABLE a;\n" }, "1_a.sql", 4],
    [{ "1_a.sql": "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (id INTEGER)\n-- +goose StatementEnd\nSELECT 1; -- done\nSELECT 2 -- not done;\n" }, "1_a.sql", 6],
  ];
  for (const [files, file, line] of cases) {
    const project = projectWith(t, "goose", files);
    const error = (await importJson(project, ["goose", "goose-migrations", "--empty-down", "no-op", "--yes"], 1)).error!;
    assert.equal(error.code, "IMPORT_SOURCE_INVALID");
    assert.deepEqual(
      error.problems!.map((problem) => [problem.file, problem.line]),
      [[`goose-migrations/${file}`, line]],
    );
    assert.equal(existsSync(project.migrationsDir), false);
  }
  // What goose accepts: the largest version, annotations in any case, with no space after `--`, CRLF; and a Go test file it skips.
  const accepted = projectWith(t, "goose", {
    "9223372036854775807_big.sql": "--+goose up\r\nCREATE TABLE a (id INTEGER);\r\n-- +goose   DOWN \r\nDROP TABLE a;\r\n",
    "00002_helpers_test.go": "package migrations\n",
  });
  const plan = await importJson(accepted, ["goose", "goose-migrations"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => migration.down),
    ["sql"],
  );
});

test("sqlx: the history checksum is SHA-384 of the file's bytes as sqlx hashes them, a BOM and CRLF included", async (t) => {
  const bytes = Buffer.from("\uFEFFCREATE TABLE a (id INTEGER);\r\n", "utf8");
  const project = projectWith(t, "sqlx", { "1_a.sql": bytes });
  const plan = await importJson(project, ["sqlx", "sqlx-migrations", "--empty-down", "no-op"], 0);
  assert.equal(plan.migrations![0]!.history.checksum, createHash("sha384").update(bytes).digest("hex"));
});

test("sqlx: a .sql file without `_` is left out as sqlx leaves it out, an empty description is kept, and a version sqlx cannot parse is IMPORT_SOURCE_INVALID", async (t) => {
  const project = projectWith(t, "sqlx", { "schema.sql": "CREATE TABLE dump (id INTEGER);\n", "1_.sql": "CREATE TABLE a (id INTEGER);\n", "2_b.sql": "CREATE TABLE b (id INTEGER);\n" });
  const plan = await importJson(project, ["sqlx", "sqlx-migrations", "--empty-down", "no-op"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => migration.originalId),
    ["1_", "2_b"],
  );
  for (const file of ["seed_data.sql", "9223372036854775808_big.sql"]) {
    const refused = projectWith(t, "sqlx", { "1_a.sql": "SELECT 1;\n", [file]: "SELECT 1;\n" });
    const error = (await importJson(refused, ["sqlx", "sqlx-migrations", "--empty-down", "no-op"], 1)).error!;
    assert.deepEqual(
      error.problems!.map((problem) => problem.file),
      [`sqlx-migrations/${file}`],
    );
  }
});

test("sqlx and Flyway: the up (V) file names the migration and gives the history its description and version as written, though its down (U) file of another name sorts first", async (t) => {
  const sqlx = projectWith(t, "sqlx", { "20240101000000_create_users.up.sql": "CREATE TABLE users (id INTEGER);\n", "20240101000000_add_back.down.sql": "DROP TABLE users;\n" });
  const sqlxPlan = await importJson(sqlx, ["sqlx", "sqlx-migrations", "--empty-down", "no-op"], 0);
  assert.deepEqual(
    sqlxPlan.migrations!.map((migration) => [migration.file, migration.history.description]),
    [["001_create_users.sql", "create users"]],
  );
  const flyway = projectWith(t, "flyway", {
    "V1__create_users.sql": "CREATE TABLE users (id INTEGER);\n",
    "U1__drop_users.sql": "DROP TABLE users;\n",
    "V01_1__add_posts.sql": "CREATE TABLE posts (id INTEGER);\n",
    "U1.1__add_posts.sql": "DROP TABLE posts;\n",
  });
  const flywayPlan = await importJson(flyway, ["flyway", "flyway-migrations", "--empty-down", "no-op"], 0);
  assert.deepEqual(
    flywayPlan.migrations!.map((migration) => [migration.file, migration.history.version, migration.history.description]),
    [
      ["001_create_users.sql", "1", "create users"],
      ["002_add_posts.sql", "01.1", "add posts"],
    ],
  );
});

test("a carriage return without a line feed does not end a line for goose or dbmate: a file of such line breaks (which both refuse) is IMPORT_SOURCE_INVALID at line 1, not imported as an empty migration; after sqlx's -- no-transaction or node-pg-migrate's section comment, PostgreSQL runs what follows it and SQLite reads it as the comment", async (t) => {
  for (const [tool, text] of [
    ["goose", "-- +goose Up\rCREATE TABLE a (id INTEGER);\r-- +goose Down\rDROP TABLE a;\r"],
    ["dbmate", "-- migrate:up\rCREATE TABLE a (id INTEGER);\r-- migrate:down\rDROP TABLE a;\r"],
  ] as const) {
    const project = projectWith(t, tool, { "00001_a.sql": text });
    const error = (await importJson(project, [tool, `${tool}-migrations`, "--empty-down", "no-op"], 1)).error!;
    assert.equal(error.code, "IMPORT_SOURCE_INVALID", tool);
    assert.deepEqual(
      error.problems!.map((problem) => [problem.file, problem.line]),
      [[`${tool}-migrations/00001_a.sql`, 1]],
      tool,
    );
  }
  const files = { "1_a.sql": "CREATE TABLE a (id integer, n integer);\n", "2_b.sql": "-- no-transaction\rCREATE INDEX CONCURRENTLY a_n ON a (n);\n" };
  const postgres = projectWith(t, "sqlx", files);
  const plan = await importJson(postgres, ["sqlx", "sqlx-migrations", "--dialect", "postgres", "--empty-down", "no-op", "--yes"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => [migration.emptyUp, migration.transaction]),
    [
      [false, true],
      [false, false],
    ],
  );
  assert.match(fs.readFileSync(path.join(postgres.root, "migrations", "002_b.sql"), "utf8"), /^\rCREATE INDEX CONCURRENTLY a_n ON a \(n\);$/m);
  // node-pg-migrate sends the section from its marker comment, which PostgreSQL ends at the lone carriage return.
  const pgm = projectWith(t, "node-pg-migrate", { "1700000000000_a.sql": "-- Up Migration\rCREATE TABLE a (id integer);\r-- Down Migration\rDROP TABLE a;\r" });
  const pgmPlan = await importJson(pgm, ["node-pg-migrate", "node-pg-migrate-migrations", "--dialect", "postgres", "--yes"], 0);
  assert.deepEqual(
    pgmPlan.migrations!.map((migration) => [migration.emptyUp, migration.down]),
    [[false, "sql"]],
  );
  const written = fs.readFileSync(path.join(pgm.root, "migrations", "001_a.sql"), "utf8");
  assert.match(written, /^\rCREATE TABLE a \(id integer\);\r$/m);
  assert.match(written, /^\rDROP TABLE a;\r$/m);
  const sqlite = projectWith(t, "sqlx", files);
  const comment = await importJson(sqlite, ["sqlx", "sqlx-migrations", "--dialect", "sqlite", "--empty-down", "no-op"], 0);
  assert.deepEqual(
    comment.migrations!.map((migration) => migration.emptyUp),
    [false, true],
  );
});

test("a migration the tool itself would never run is refused at its file, not imported to run as the newest: a golang-migrate version past 2^64 - 1 (which it skips), a folder named like a goose SQL migration (which goose fails to read)", async (t) => {
  const golang = projectWith(t, "golang-migrate", {
    "1_a.up.sql": "CREATE TABLE a (id INTEGER);\n",
    "18446744073709551615_last.up.sql": "CREATE TABLE b (id INTEGER);\n",
    "18446744073709551616_past.up.sql": "CREATE TABLE c (id INTEGER);\n",
  });
  const golangError = (await importJson(golang, ["golang-migrate", "golang-migrate-migrations", "--empty-down", "no-op"], 1)).error!;
  assert.equal(golangError.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    golangError.problems!.map((problem) => [problem.file, problem.line]),
    [["golang-migrate-migrations/18446744073709551616_past.up.sql", 1]],
  );
  fs.rmSync(path.join(golang.root, "golang-migrate-migrations", "18446744073709551616_past.up.sql"));
  const plan = await importJson(golang, ["golang-migrate", "golang-migrate-migrations", "--empty-down", "no-op"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => migration.history.version),
    ["1", "18446744073709551615"],
  );
  const goose = projectWith(t, "goose", { "00001_a.sql": "-- +goose Up\nCREATE TABLE a (id INTEGER);\n", "00002_b.sql/readme.txt": "not a migration\n" });
  const gooseError = (await importJson(goose, ["goose", "goose-migrations", "--empty-down", "no-op"], 1)).error!;
  assert.equal(gooseError.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    gooseError.problems!.map((problem) => [problem.file, problem.line]),
    [["goose-migrations/00002_b.sql", 1]],
  );
  assert.equal(existsSync(path.join(goose.root, "migrations")), false);
});

test("a `-- migrate:down` line in a tool's up SQL (a comment to the tool) is IMPORT_SOURCE_INVALID at its line, not a down cut out of the up", async (t) => {
  const project = projectWith(t, "sqlx", { "1_a.sql": "CREATE TABLE a (id INTEGER);\n-- migrate:down\nCREATE TABLE b (id INTEGER);\n" });
  for (const emptyDown of ["irreversible", "no-op"]) {
    const error = (await importJson(project, ["sqlx", "sqlx-migrations", "--empty-down", emptyDown, "--yes"], 1)).error!;
    assert.equal(error.code, "IMPORT_SOURCE_INVALID");
    assert.equal(error.problems![0]!.file, "sqlx-migrations/1_a.sql");
    assert.equal(error.problems![0]!.line, 2);
  }
  assert.equal(existsSync(project.migrationsDir), false);
});

test("a source that is a file, or missing, is IMPORT_SOURCE_INVALID naming the source itself, for every tool", async (t) => {
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, "notes.sql"), "SELECT 1;\n");
  for (const tool of ["drizzle", "diesel", "flyway"]) {
    for (const dir of ["notes.sql", "nowhere"]) {
      const error = (await importJson(project, [tool, dir], 1)).error!;
      assert.equal(error.code, "IMPORT_SOURCE_INVALID");
      assert.deepEqual(
        error.problems!.map((problem) => [problem.file, problem.line]),
        [[dir, 1]],
      );
    }
  }
});

test("a write that fails midway removes what it wrote, the folders it created included", (t) => {
  const project = projectWith(t, "dbmate", { "1_a.sql": DBMATE("a"), "2_b.sql": DBMATE("b") });
  const migrationsDir = path.join(project.root, "db", "migrations");
  const plan = planImport({ tool: "dbmate", sourceDir: path.join(project.root, "dbmate-migrations"), migrationsDir, projectRoot: project.root, dialect: "sqlite", emptyDown: undefined });
  const link = fs.linkSync;
  t.after(() => {
    fs.linkSync = link;
    syncBuiltinESMExports();
  });
  let links = 0;
  fs.linkSync = (...args: Parameters<typeof link>) => {
    if (++links === 2) throw Object.assign(new Error("no room left"), { code: "ENOSPC" });
    link(...args);
  };
  syncBuiltinESMExports();
  assert.throws(
    () => writeImport(plan, migrationsDir),
    (error: { code?: string }) => error.code === "FILE_WRITE_FAILED",
  );
  assert.equal(links, 2);
  assert.equal(existsSync(path.join(project.root, "db")), false);
});

test("drizzle: a journal that is null, or holds a null entry, is IMPORT_SOURCE_INVALID at the journal, not an unexpected error", async (t) => {
  for (const journal of ["null\n", '{ "entries": [null] }\n']) {
    const project = projectWith(t, "drizzle", { "meta/_journal.json": journal });
    const error = (await importJson(project, ["drizzle", "drizzle-migrations", "--empty-down", "no-op"], 1)).error!;
    assert.equal(error.code, "IMPORT_SOURCE_INVALID");
    assert.deepEqual(
      error.problems!.map((problem) => problem.file),
      ["drizzle-migrations/meta/_journal.json"],
    );
  }
});

test("two migrations of one version follow each tool's rule: dbmate compares versions as written, the others by value", async (t) => {
  const dbmate = projectWith(t, "dbmate", { "1_b.sql": DBMATE("b"), "01_a.sql": DBMATE("a") });
  assert.deepEqual(
    (await importJson(dbmate, ["dbmate", "dbmate-migrations"], 0)).migrations!.map((migration) => [migration.originalId, migration.history.version]),
    [
      ["01_a", "01"],
      ["1_b", "1"],
    ],
  );
  const refused: [tool: string, files: Record<string, string>][] = [
    ["goose", { "1_a.sql": "-- +goose Up\nSELECT 1;\n", "01_b.sql": "-- +goose Up\nSELECT 1;\n" }],
    ["golang-migrate", { "1_a.up.sql": "SELECT 1;\n", "01_b.up.sql": "SELECT 1;\n" }],
    ["sqlx", { "1_a.sql": "SELECT 1;\n", "01_b.sql": "SELECT 1;\n" }],
    ["diesel", { "2019-01-01-000000_a/up.sql": "SELECT 1;\n", "20190101000000_b/up.sql": "SELECT 1;\n" }],
    ["flyway", { "V1__a.sql": "SELECT 1;\n", "V1.0.0__b.sql": "SELECT 1;\n" }],
  ];
  for (const [tool, files] of refused) {
    const project = projectWith(t, tool, files);
    const error = (await importJson(project, [tool, `${tool}-migrations`, "--empty-down", "no-op"], 1)).error!;
    assert.equal(error.code, "IMPORT_SOURCE_INVALID", tool);
    assert.equal(error.problems!.length, 1, tool);
  }
});

test("golang-migrate reads any extension after .up./.down. as it does (a .up..sql typo, a .pgsql), so no migration it ran is left out and none after it renumbered; the direction is the last .up./.down. as its pattern reads it; a second file of one direction is refused", async (t) => {
  const project = projectWith(t, "golang-migrate", {
    "1_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
    "2_flag.up..sql": "ALTER TABLE a ADD COLUMN flag INTEGER;\n",
    "2_flag.down..sql": "ALTER TABLE a DROP COLUMN flag;\n",
    "3_index.up.pgsql": "CREATE INDEX a_flag ON a (flag);\n",
    "4_x.down.y.up.sql": "CREATE TABLE x (id INTEGER);\n",
    "README.md": "not a migration\n",
    "5_notes.txt": "not a migration either\n",
  });
  const plan = await importJson(project, ["golang-migrate", "golang-migrate-migrations", "--empty-down", "no-op"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => [migration.originalId, migration.history.version]),
    [
      ["1_a", "1"],
      ["2_flag", "2"],
      ["3_index", "3"],
      ["4_x.down.y", "4"],
    ],
  );
  const twice = projectWith(t, "golang-migrate", { "1_a.up.sql": "SELECT 1;\n", "1_a.up.sql.orig": "SELECT 1;\n", "2_b.down..sql": "SELECT 1;\n" });
  const error = (await importJson(twice, ["golang-migrate", "golang-migrate-migrations", "--empty-down", "no-op"], 1)).error!;
  assert.equal(error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(error.problems!.map((problem) => problem.file).sort(), ["golang-migrate-migrations/1_a.up.sql.orig", "golang-migrate-migrations/2_b.down..sql"]);
});

test("diesel: a metadata.toml without run_in_transaction runs the migration outside a transaction, as Diesel reads it (its field defaults to false); no file, inside", async (t) => {
  const project = projectWith(t, "diesel", {
    "2020-01-01-000000_a/up.sql": "CREATE TABLE a (id INTEGER);\n",
    "2020-01-02-000000_b/up.sql": "CREATE TABLE b (id INTEGER);\n",
    "2020-01-02-000000_b/metadata.toml": "# notes\n",
    "2020-01-03-000000_c/up.sql": "CREATE TABLE c (id INTEGER);\n",
    "2020-01-03-000000_c/metadata.toml": "run_in_transaction = true\n",
  });
  const plan = await importJson(project, ["diesel", "diesel-migrations", "--empty-down", "no-op"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => migration.transaction),
    [true, false, true],
  );
});

test("a PRAGMA foreign_keys inside a comment or a string is not one the tool ran: the migration keeps the tool's transaction and flags", async (t) => {
  const project = projectWith(t, "sqlx", {
    "1_a.sql": "-- no-transaction\n-- PRAGMA foreign_keys = OFF;\nCREATE TABLE a (id INTEGER, note TEXT DEFAULT 'PRAGMA foreign_keys=OFF;');\nVACUUM;\n",
  });
  const plan = await importJson(project, ["sqlx", "sqlx-migrations", "--empty-down", "no-op"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => [migration.transaction, migration.foreignKeysPragmas]),
    [[false, 0]],
  );
});

test("a migrations folder that holds the tool's folder is IMPORT_TARGET_NOT_EMPTY naming it, in the dry run too (gen would find the tool's files there)", async (t) => {
  const project = createTestProject(t);
  mkdirSync(path.join(project.migrationsDir, "dbmate"), { recursive: true });
  writeFileSync(path.join(project.migrationsDir, "dbmate", "1_a.sql"), DBMATE("a"));
  for (const yes of [[], ["--yes"]]) {
    const run = await runCli(["import", "dbmate", "migrations/dbmate", ...yes, "--json"], { cwd: project.root });
    assert.equal(run.code, 1, run.stdout);
    const error = (JSON.parse(run.stdout) as { error: { code: string; files: string[] } }).error;
    assert.equal(error.code, "IMPORT_TARGET_NOT_EMPTY");
    assert.deepEqual(error.files, ["dbmate"]);
  }
  assert.deepEqual(fs.readdirSync(project.migrationsDir), ["dbmate"]);
});

test("CRLF files keep their no-transaction settings in every tool's spelling", async (t) => {
  const cases: [tool: string, files: Record<string, string>][] = [
    ["dbmate", { "1_a.sql": "-- migrate:up transaction:false \r\nVACUUM;\r\n-- migrate:down\r\nSELECT 1;\r\n" }],
    ["goose", { "1_a.sql": "-- +goose Up\r\n-- +goose NO TRANSACTION\r\nVACUUM;\r\n-- +goose Down\r\nSELECT 1;\r\n" }],
    ["sqlx", { "1_a.sql": "-- no-transaction\r\nVACUUM;\r\n" }],
    ["flyway", { "V1__a.sql": "VACUUM;\r\n", "V1__a.sql.conf": "executeInTransaction=false\r\n" }],
    ["diesel", { "2020-01-01-000000_a/up.sql": "VACUUM;\r\n", "2020-01-01-000000_a/metadata.toml": "run_in_transaction = false\r\n" }],
  ];
  for (const [tool, files] of cases) {
    const project = projectWith(t, tool, files);
    const plan = await importJson(project, [tool, `${tool}-migrations`, "--empty-down", "no-op"], 0);
    assert.deepEqual(
      plan.migrations!.map((migration) => migration.transaction),
      [false],
      tool,
    );
  }
});

/** Each tool's files for one migration whose up is `body`, the file that holds the up, and the up's first line in it. */
const ONE_MIGRATION: Record<string, (body: string) => { files: Record<string, string>; up: string; first: number }> = {
  sqlx: (body) => ({ files: { "1_a.sql": body }, up: "1_a.sql", first: 1 }),
  dbmate: (body) => ({ files: { "1_a.sql": `-- migrate:up\n${body}-- migrate:down\nDROP TABLE t;\n` }, up: "1_a.sql", first: 2 }),
  goose: (body) => ({ files: { "00001_a.sql": `-- +goose Up\n${body}-- +goose Down\nDROP TABLE t;\n` }, up: "00001_a.sql", first: 2 }),
  "golang-migrate": (body) => ({ files: { "1_a.up.sql": body, "1_a.down.sql": "DROP TABLE t;\n" }, up: "1_a.up.sql", first: 1 }),
  diesel: (body) => ({ files: { "2020-01-01-000000_a/up.sql": body, "2020-01-01-000000_a/down.sql": "DROP TABLE t;\n" }, up: "2020-01-01-000000_a/up.sql", first: 1 }),
  flyway: (body) => ({ files: { "V1__a.sql": body }, up: "V1__a.sql", first: 1 }),
  drizzle: (body) => ({
    files: { "0000_a.sql": body, "meta/_journal.json": JSON.stringify({ version: "7", dialect: "sqlite", entries: [{ idx: 0, version: "6", when: 1, tag: "0000_a", breakpoints: true }] }) },
    up: "0000_a.sql",
    first: 1,
  }),
  prisma: (body) => ({ files: { "20200101000000_a/migration.sql": body }, up: "20200101000000_a/migration.sql", first: 1 }),
};

/** Imports one migration whose SQL holds `comment` after its first statement: refused as IMPORT_SOURCE_INVALID, at `comment`'s `line` (1 for its first) in the tool's file alone. */
async function assertRefusedAt(t: test.TestContext, tool: string, make: (typeof ONE_MIGRATION)[string], comment: string, line: number): Promise<void> {
  const { files, up, first } = make(`CREATE TABLE t (x TEXT);\n${comment}\nINSERT INTO t VALUES ('a');\n`);
  const error = (await importJson(projectWith(t, tool, files), [tool, `${tool}-migrations`, "--empty-down", "no-op"], 1)).error!;
  assert.equal(error.code, "IMPORT_SOURCE_INVALID", `${tool}: ${comment}`);
  assert.deepEqual(
    error.problems!.map((problem) => [problem.file, problem.line]),
    [[`${tool}-migrations/${up}`, first + line]],
    `${tool}: ${comment}`,
  );
}

test("a comment in a tool's SQL that stepwise reads as its marker, flag, description or a near miss is IMPORT_SOURCE_INVALID at its line in the tool's file, for every tool; the same text in a string or a block comment is imported and runs as the tool ran it", async (t) => {
  const comments = ["-- migrate:down", "-- migrate:up", "-- migrate:empty nothing", "-- description: x", "-- transaction:false", "-- Migrate:Down", "-- foreign_keys:off", "-- +goose Down"];
  const inert = ["INSERT INTO t VALUES ('\n-- migrate:down\n-- +goose Down\n');\n", "/*\n-- migrate:up\n-- description: x\n*/\n"];
  for (const [tool, make] of Object.entries(ONE_MIGRATION)) {
    for (const comment of [...comments, "SELECT 1; -- migrate:down"]) {
      // dbmate and goose read their own marker lines wherever they are: a second block, which their readers refuse as the tools do.
      if ((tool === "dbmate" && comment.startsWith("-- migrate:")) || (tool === "goose" && comment.includes("+goose"))) continue;
      await assertRefusedAt(t, tool, make, comment, 1);
    }
    if (tool === "dbmate" || tool === "goose") continue;
    for (const text of inert) {
      const project = projectWith(t, tool, make(`CREATE TABLE t (x TEXT);\n${text}INSERT INTO t VALUES ('a');\n`).files);
      assert.equal((await importJson(project, [tool, `${tool}-migrations`, "--empty-down", "no-op", "--yes"], 0)).migrations?.length, 1, `${tool}: ${text}`);
      await project.generateAsBin();
      const up = await runCli(["up", "--db", "app.db", "--json"], { cwd: project.root });
      assert.equal(up.code, 0, `${tool}: ${up.stdout}`);
      const db = new Database(path.join(project.root, "app.db"), { readonly: true });
      const rows = (db.prepare("SELECT x FROM t").all() as { x: string }[]).map((row) => row.x);
      db.close();
      assert.deepEqual(rows, text.startsWith("INSERT") ? ["\n-- migrate:down\n-- +goose Down\n", "a"] : ["a"], `${tool}: ${text}`);
    }
  }
});

test("a migrate:down or migrate:up a comment of the tool's SQL holds after other text on its line (a U+2028 an editor draws as a line break, tabs, a block comment) is IMPORT_SOURCE_INVALID at that line in the tool's file, for every tool", async (t) => {
  const comments = ["-- create t\u2028-- migrate:down", `-- end of up${"\t".repeat(30)}-- migrate:down`, "/* note\u2029-- migrate:up */", "/* a note\n that ends here\f-- migrate:down */"];
  for (const [tool, make] of Object.entries(ONE_MIGRATION)) {
    for (const comment of comments) {
      await assertRefusedAt(t, tool, make, comment, comment.split("\n").length);
    }
    // Found in the tool's file with its other near misses, in one run, not after they are fixed.
    const { files, up, first } = make("CREATE TABLE t (x TEXT);\n-- Migrate:Down\n-- note\u2028-- migrate:down\nINSERT INTO t VALUES ('a');\n");
    const error = (await importJson(projectWith(t, tool, files), [tool, `${tool}-migrations`, "--empty-down", "no-op"], 1)).error!;
    assert.deepEqual(
      error.problems!.map((problem) => [problem.file, problem.line]),
      [
        [`${tool}-migrations/${up}`, first + 1],
        [`${tool}-migrations/${up}`, first + 2],
      ],
      tool,
    );
  }
});

/** Each tool's files for two migrations: `first` in a transaction, `second` run outside one by the tool's own opt-out (golang-migrate and drizzle have none on SQLite: both in one). */
const NO_TRANSACTION_REBUILD: Record<string, { files(first: string, second: string): Record<string, string>; foreignKeysOn: boolean; second: "outside" | "inside" }> = {
  sqlx: { files: (first, second) => ({ "1_a.sql": first, "2_b.sql": `-- no-transaction\n${second}` }), foreignKeysOn: true, second: "outside" },
  dbmate: {
    files: (first, second) => ({ "1_a.sql": `-- migrate:up\n${first}-- migrate:down\n`, "2_b.sql": `-- migrate:up transaction:false\n${second}-- migrate:down\n` }),
    foreignKeysOn: false,
    second: "outside",
  },
  goose: {
    files: (first, second) => ({ "00001_a.sql": `-- +goose Up\n${first}`, "00002_b.sql": `-- +goose NO TRANSACTION\n-- +goose Up\n${second}` }),
    foreignKeysOn: false,
    second: "outside",
  },
  "golang-migrate": { files: (first, second) => ({ "1_a.up.sql": first, "2_b.up.sql": second }), foreignKeysOn: false, second: "inside" },
  diesel: {
    files: (first, second) => ({ "2020-01-01-000000_a/up.sql": first, "2020-01-02-000000_b/up.sql": second, "2020-01-02-000000_b/metadata.toml": "run_in_transaction = false\n" }),
    foreignKeysOn: false,
    second: "outside",
  },
  flyway: { files: (first, second) => ({ "V1__a.sql": first, "V2__b.sql": second, "V2__b.sql.conf": "executeInTransaction=false\n" }), foreignKeysOn: false, second: "outside" },
  drizzle: {
    // drizzle-orm's migrator runs one statement at a time, split at its breakpoints.
    files: (first, second) => ({
      "0000_a.sql": first.replace(/;\n(?=.)/gs, ";--> statement-breakpoint\n"),
      "0001_b.sql": second.replace(/;\n(?=.)/gs, ";--> statement-breakpoint\n"),
      "meta/_journal.json": JSON.stringify({ version: "7", dialect: "sqlite", entries: ["0000_a", "0001_b"].map((tag, idx) => ({ idx, version: "6", when: idx + 1, tag, breakpoints: true })) }),
    }),
    foreignKeysOn: true,
    second: "inside",
  },
  prisma: { files: (first, second) => ({ "20200101000000_a/migration.sql": first, "20200102000000_b/migration.sql": second }), foreignKeysOn: true, second: "outside" },
};

test("a parent table rebuilt between the tool's own PRAGMA foreign_keys=OFF and ON, in a migration the tool runs outside a transaction (or in one): stepwise builds the schema and keeps the rows the tool did, for every tool; a rebuild that leaves a dangling key is FOREIGN_KEY_VIOLATION where the tool kept it", async (t) => {
  const first =
    "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES authors (id) ON DELETE CASCADE);\n" +
    "INSERT INTO authors VALUES (1, 'a'), (2, 'b');\nINSERT INTO books VALUES (1, 1), (2, 2);\n";
  const rebuild = (where: string) =>
    `PRAGMA foreign_keys=OFF;\nCREATE TABLE new_authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\nINSERT INTO new_authors SELECT id, coalesce(name, '') FROM authors${where};\n` +
    "DROP TABLE authors;\nALTER TABLE new_authors RENAME TO authors;\nPRAGMA foreign_keys=ON;\n";
  const schemaOf = (db: Database.Database) =>
    db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'schema_migrations%' AND name <> '__drizzle_migrations' ORDER BY name").all();
  for (const [tool, spec] of Object.entries(NO_TRANSACTION_REBUILD)) {
    // With a VACUUM after the rebuild, which no transaction may hold: the migration stays outside one, its pragmas statements, as the tool ran it.
    for (const [where, vacuum] of [["", false], [" WHERE id <> 2", false], ...(spec.second === "outside" ? [["", true] as const] : [])] as const) {
      const second = rebuild(where) + (vacuum ? "VACUUM;\n" : "");
      const project = projectWith(t, tool, spec.files(first, second));
      assert.equal((await importJson(project, [tool, `${tool}-migrations`, "--empty-down", "no-op", "--yes"], 0)).migrations?.length, 2, tool);
      await project.generateAsBin();
      const up = await runCli(["up", "--db", "app.db", "--json"], { cwd: project.root });
      // As the tool ran them: its connection's foreign-key setting, each script in a transaction or not.
      // drizzle's by drizzle-orm's own migrator.
      const byTool = new Database(":memory:");
      byTool.pragma(`foreign_keys = ${spec.foreignKeysOn ? "ON" : "OFF"}`);
      if (tool === "drizzle") migrate(drizzle(byTool), { migrationsFolder: path.join(project.root, "drizzle-migrations") });
      else {
        byTool.exec(first);
        if (spec.second === "outside") byTool.exec(second);
        else byTool.transaction(() => byTool.exec(second))();
      }
      // drizzle's PRAGMA foreign_keys=OFF does nothing inside its one transaction, so its DROP TABLE cascade-deleted the children: stepwise does what the pragmas say and keeps them.
      const lost = tool === "drizzle";
      if (where !== "") {
        assert.equal(up.code, 1, `${tool}: ${up.stdout}`);
        assert.equal((JSON.parse(up.stdout) as { error: { code: string } }).error.code, "FOREIGN_KEY_VIOLATION", tool);
        assert.equal((byTool.prepare("PRAGMA foreign_key_check").all() as unknown[]).length, lost ? 0 : 1, `${tool} kept the dangling key`);
        continue;
      }
      assert.equal(up.code, 0, `${tool}: ${up.stdout}`);
      const db = new Database(path.join(project.root, "app.db"), { readonly: true });
      assert.deepEqual(schemaOf(db), schemaOf(byTool), tool);
      const books = db.prepare("SELECT * FROM books ORDER BY id").all();
      assert.deepEqual(
        books,
        lost
          ? [
              { id: 1, author_id: 1 },
              { id: 2, author_id: 2 },
            ]
          : byTool.prepare("SELECT * FROM books ORDER BY id").all(),
        tool,
      );
      if (lost) assert.deepEqual(byTool.prepare("SELECT * FROM books").all(), []);
      db.close();
    }
  }
});

const DRIZZLE_REBUILD = [
  "PRAGMA foreign_keys = OFF;",
  "BEGIN TRANSACTION;",
  "CREATE TABLE new_authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');",
  "INSERT INTO new_authors SELECT id, coalesce(name, '') FROM authors;",
  "DROP TABLE authors;",
  "ALTER TABLE new_authors RENAME TO authors;",
  "COMMIT TRANSACTION;",
  "PRAGMA foreign_keys = ON;",
];

/** A drizzle SQLite project of two files: authors and books with rows, then `second`'s statements. */
function drizzleSqliteProject(t: test.TestContext, second: readonly string[]): TestProject {
  const first =
    "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT);--> statement-breakpoint\nCREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES authors (id) ON DELETE CASCADE);--> statement-breakpoint\n" +
    "INSERT INTO authors VALUES (1, 'a'), (2, 'b');--> statement-breakpoint\nINSERT INTO books VALUES (1, 1), (2, 2);\n";
  const journal = { version: "7", dialect: "sqlite", entries: ["0000_a", "0001_b"].map((tag, idx) => ({ idx, version: "6", when: idx + 1, tag, breakpoints: true })) };
  return projectWith(t, "drizzle", { "0000_a.sql": first, "0001_b.sql": `${second.join("--> statement-breakpoint\n")}\n`, "meta/_journal.json": JSON.stringify(journal) });
}

for (const [shape, second] of [
  ["first", ["-- Custom SQL migration file, put your code below! --\nCOMMIT TRANSACTION;", ...DRIZZLE_REBUILD, "BEGIN TRANSACTION;"]],
  ["after statements of drizzle's transaction", ["CREATE TABLE pre (id INTEGER);", "INSERT INTO pre VALUES (1);", "END TRANSACTION;", ...DRIZZLE_REBUILD, "BEGIN;"]],
  ["with statements after its last BEGIN", ["COMMIT;", ...DRIZZLE_REBUILD, "BEGIN;", "CREATE TABLE post (id INTEGER);", "INSERT INTO post VALUES (1);"]],
] as const) {
  test(`drizzle on SQLite: a file that commits drizzle's transaction (${shape}) and opens one last, to switch foreign keys off around its own BEGIN … COMMIT, is imported outside a transaction with those two as comments, passes gen --check (its pragma manages the keys, as at run time), and builds what drizzle's migrator built, rows included`, async (t) => {
    const project = drizzleSqliteProject(t, second);
    const plan = await importJson(project, ["drizzle", "drizzle-migrations", "--empty-down", "no-op", "--yes"], 0);
    assert.deepEqual(
      plan.migrations!.map((migration) => migration.transaction),
      [true, false],
    );
    await project.generateAsBin();
    const check = await runCli(["gen", "--check"], { cwd: project.root });
    assert.equal(check.code, 0, check.stderr);
    const up = await runCli(["up", "--db", "app.db", "--json"], { cwd: project.root });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const byTool = new Database(":memory:");
    migrate(drizzle(byTool), { migrationsFolder: path.join(project.root, "drizzle-migrations") });
    const db = new Database(path.join(project.root, "app.db"), { readonly: true });
    const read = (from: Database.Database) => [
      from.prepare("SELECT type, name, sql FROM sqlite_master WHERE name IN ('authors', 'books', 'pre', 'post') ORDER BY name").all(),
      from.prepare("SELECT * FROM books ORDER BY id").all(),
      from.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('pre', 'post')").get(),
    ];
    assert.deepEqual(read(db), read(byTool));
    assert.equal((db.prepare("SELECT count(*) AS n FROM books").get() as { n: number }).n, 2);
    db.close();
  });
}

test("drizzle on SQLite: a file that ends drizzle's transaction in a shape drizzle's own run fails on (no last BEGIN, or a BEGIN before its COMMIT) is refused at its transaction statements with drizzle's advice, not a marker line drizzle files do not have", async (t) => {
  for (const second of [
    ["CREATE TABLE pre (id INTEGER);", "COMMIT;", ...DRIZZLE_REBUILD],
    ["BEGIN;", "CREATE TABLE pre (id INTEGER);", "COMMIT;", ...DRIZZLE_REBUILD, "BEGIN;"],
  ]) {
    const project = drizzleSqliteProject(t, second);
    assert.throws(() => migrate(drizzle(new Database(":memory:")), { migrationsFolder: path.join(project.root, "drizzle-migrations") }));
    const { error } = await importJson(project, ["drizzle", "drizzle-migrations", "--empty-down", "no-op", "--yes"], 1);
    assert.equal(error!.code, "IMPORT_SOURCE_INVALID");
    const problems = error!.problems as unknown as { file: string; code?: string; message: string }[];
    assert.ok(problems.length > 0);
    for (const problem of problems) {
      assert.deepEqual([problem.file, problem.code], ["drizzle-migrations/0001_b.sql", "SQL_TRANSACTION_CONTROL"]);
      assert.doesNotMatch(problem.message, /migrate:up/);
    }
  }
});

test("drizzle on PostgreSQL: a file that commits drizzle's transaction after ALTER TYPE … ADD VALUE, so the rest may use the value, is imported outside a transaction and builds what drizzle's migrator built; that database is adopted", async (t) => {
  const journal = { version: "7", dialect: "postgresql", entries: ["0000_a", "0001_b"].map((tag, idx) => ({ idx, version: "7", when: idx + 1, tag, breakpoints: true })) };
  const project = projectWith(t, "drizzle", {
    "0000_a.sql": `CREATE TYPE "kind" AS ENUM ('a');--> statement-breakpoint\nCREATE TABLE "items" ("id" serial PRIMARY KEY, "kind" "kind");\n`,
    "0001_b.sql": `ALTER TYPE "kind" ADD VALUE 'b';--> statement-breakpoint\nCOMMIT TRANSACTION;--> statement-breakpoint\nALTER TABLE "items" ALTER COLUMN "kind" SET DEFAULT 'b';\n`,
    "meta/_journal.json": JSON.stringify(journal),
  });
  writeFileSync(path.join(project.root, "package.json"), JSON.stringify({ name: "test-app", private: true, type: "module", stepwise: { dialect: "postgres" } }));
  const plan = await importJson(project, ["drizzle", "drizzle-migrations", "--empty-down", "no-op", "--yes"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => migration.transaction),
    [true, false],
  );
  await project.generateAsBin();
  const [fresh, migrated] = [await createTestDatabase(), await createTestDatabase()];
  t.after(() => Promise.all([fresh.drop(), migrated.drop()]));
  const up = await runCli(["up", "--driver", "pg", "--url", fresh.url, "--json"], { cwd: project.root });
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const client = new pg.Client({ connectionString: migrated.url });
  await client.connect();
  try {
    await migratePg(drizzlePg(client), { migrationsFolder: path.join(project.root, "drizzle-migrations") });
  } finally {
    await client.end();
  }
  for (const command of ["adopt", "verify"]) {
    const run = await runCli([command, "--driver", "pg", "--url", migrated.url, "--json"], { cwd: project.root });
    assert.equal(run.code, 0, `${command}: ${run.stdout}${run.stderr}`);
  }
});

test("prisma: migration.sql runs in a transaction on PostgreSQL (Prisma sent it as one multi-statement query, one implicit transaction) unless it holds CONCURRENTLY, VACUUM or its own BEGIN/COMMIT; outside one on SQLite", async (t) => {
  const files = {
    "20200101000000_init/migration.sql": 'CREATE TABLE "a" ("id" INTEGER PRIMARY KEY);\nCREATE TABLE "b" ("id" INTEGER PRIMARY KEY);\n',
    "20200102000000_index/migration.sql": 'CREATE INDEX CONCURRENTLY "a_id" ON "a" ("id");\n',
    "20200103000000_vacuum/migration.sql": "VACUUM;\n",
    "20200104000000_own/migration.sql": 'BEGIN;\nCREATE TABLE "c" ("id" INTEGER PRIMARY KEY);\nCOMMIT;\n',
    // CONCURRENTLY inside a string or a comment is text: the script still runs in one transaction.
    "20200105000000_text/migration.sql": "-- not CREATE INDEX CONCURRENTLY\nCOMMENT ON TABLE \"a\" IS 'CREATE INDEX CONCURRENTLY x';\n",
  };
  const flags = async (dialect: string) => {
    const project = projectWith(t, "prisma", files);
    const plan = await importJson(project, ["prisma", "prisma-migrations", "--empty-down", "no-op", "--dialect", dialect], 0);
    return plan.migrations!.map((migration) => migration.transaction);
  };
  assert.deepEqual(await flags("postgres"), [true, false, false, false, true]);
  assert.deepEqual(await flags("sqlite"), [false, false, false, false, false]);
});

test("a migration whose name holds a line break (CR, LF, U+2028) is IMPORT_SOURCE_INVALID naming it exactly, for every tool, and nothing is written: the name patterns' `.` stops at a line break, so dbmate's, goose's, golang-migrate's and Flyway's import left such a file out and succeeded without it, and sqlx's called a name sqlx reads unparsable", async (t) => {
  const cases: [tool: string, files: Record<string, string>, broken: string][] = [
    ["dbmate", { "1_a\rb.sql": DBMATE("a"), "2_c.sql": DBMATE("c") }, "1_a\rb.sql"],
    ["goose", { "00001_a\nb.sql": "-- +goose Up\nCREATE TABLE a (id INTEGER);\n", "00002_c.sql": "-- +goose Up\nCREATE TABLE c (id INTEGER);\n" }, "00001_a\nb.sql"],
    ["golang-migrate", { "1_a\u2028b.up.sql": "CREATE TABLE a (id INTEGER);\n", "2_c.up.sql": "CREATE TABLE c (id INTEGER);\n" }, "1_a\u2028b.up.sql"],
    ["sqlx", { "1_a\u2029b.sql": "CREATE TABLE a (id INTEGER);\n", "2_c.sql": "CREATE TABLE c (id INTEGER);\n" }, "1_a\u2029b.sql"],
    ["flyway", { "sql/V1__a\rb.sql": "CREATE TABLE a (id INTEGER);\n", "V2__c.sql": "CREATE TABLE c (id INTEGER);\n" }, "sql/V1__a\rb.sql"],
    ["prisma", { "20200101000000_a\u2028b/migration.sql": "CREATE TABLE a (id INTEGER);\n", "20200102000000_c/migration.sql": "CREATE TABLE c (id INTEGER);\n" }, "20200101000000_a\u2028b"],
  ];
  for (const [tool, files, broken] of cases) {
    const project = projectWith(t, tool, files);
    const refused = await importJson(project, [tool, `${tool}-migrations`, "--empty-down", "no-op"], 1);
    assert.equal(refused.error?.code, "IMPORT_SOURCE_INVALID", tool);
    assert.deepEqual(
      refused.error.problems!.map((problem) => [problem.file, problem.line]),
      [[`${tool}-migrations/${broken}`, 1]],
      tool,
    );
    assert.equal(existsSync(project.migrationsDir), false, tool);
  }
});

test("a wrapper's header comment holds a file name with U+2028 or U+2029 on its one line: the wrapper parses, and the name's separators are escaped there", () => {
  const file = "001_line\u2028para\u2029graph.js";
  const migration = { id: file, name: "line para graph", up: { text: "", line: 1 }, down: null, transaction: true, sources: [file], module: { file } } as unknown as ForeignMigration;
  const serve = { helper: "serve-knex.ts", run: "runKnexMigration", text: () => "" };
  const wrapper = renderWrapper(migration, { tool: "knex", serve, entry: "stepwise-migrate/better-sqlite3", migrationsDir: "/p/migrations", sourceDir: "/p/knex", down: "none", sourceLabel: "knex" });
  const source = ts.createSourceFile("wrapper.ts", wrapper, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  assert.deepEqual((source as unknown as { parseDiagnostics: unknown[] }).parseDiagnostics, []);
  const header = wrapper.split("\n")[0]!;
  assert.ok(header.startsWith("// Imported from knex ") && header.includes("\\u2028") && header.includes("\\u2029") && !/[\u2028\u2029]/.test(header), header);
});

test("a comment or string left open at the end of a tool's section, which the tool ends there, is IMPORT_SOURCE_INVALID where it opens: in one stepwise file it would run on over the next marker", async (t) => {
  // Each tool runs these as written (SQLite ends an open block comment at the end of what it is given); one file would run the down's DROP in the up and lose the down.
  const cases: Array<[string, Record<string, string>, string, number]> = [
    ["golang-migrate", { "1_a.up.sql": "CREATE TABLE t (a TEXT);\n/* TODO: add an index later\n", "1_a.down.sql": "/* drop the table */\nDROP TABLE t;\n" }, "1_a.up.sql", 2],
    ["goose", { "1_a.sql": "-- +goose Up\nCREATE TABLE t (a TEXT);\n/* note;\n-- +goose Down\n*/\nDROP TABLE t;\n" }, "1_a.sql", 3],
    ["dbmate", { "1_a.sql": "-- migrate:up\nCREATE TABLE t (a TEXT);\n/*\n-- migrate:down\n*/\nDROP TABLE t;\n" }, "1_a.sql", 3],
  ];
  for (const [tool, files, file, line] of cases) {
    const project = projectWith(t, tool, { ...files, ...(tool === "golang-migrate" ? { "2_b.up.sql": "CREATE TABLE t2 (a TEXT);\n", "2_b.down.sql": "DROP TABLE t2;\n" } : {}) });
    const { error } = await importJson(project, [tool, `${tool}-migrations`, "--yes"], 1);
    assert.equal(error?.code, "IMPORT_SOURCE_INVALID", tool);
    assert.deepEqual(
      error!.problems!.map((problem) => [problem.file, problem.line]),
      [[`${tool}-migrations/${file}`, line]],
      tool,
    );
    assert.equal(existsSync(project.migrationsDir) && fs.readdirSync(project.migrationsDir).length > 0, false, `${tool}: the import wrote migrations`);
  }
  // Closed, with CRLF line breaks inside a string: imported as it is.
  const crlf = projectWith(t, "golang-migrate", { "1_a.up.sql": "CREATE TABLE t (a TEXT DEFAULT 'one\r\ntwo');\r\n", "1_a.down.sql": "DROP TABLE t;\r\n" });
  const plan = await importJson(crlf, ["golang-migrate", "golang-migrate-migrations", "--yes"], 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => [migration.originalId, migration.down]),
    [["1_a", "sql"]],
  );
});
