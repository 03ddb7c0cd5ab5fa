/**
 * `stepwise import` on shapes found in real projects' histories (goose, golang-migrate, dbmate, sqlx, Diesel): a file that holds its own `BEGIN`/`COMMIT` or a `CREATE INDEX CONCURRENTLY`, run
 * as the tool ran it, and a statement on the tool's own history table, refused at its line. Fixtures are small files written in those shapes. The bin in-process; PostgreSQL is the shared server.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createTestProject, runCli, type TestProject } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";

/** A project of `dialect` with `files` in `<tool>-migrations/`; `settings`: the rest of its stepwise config. */
function projectWith(t: test.TestContext, tool: string, dialect: string, files: Record<string, string>, settings: Record<string, string> = { tableName: "stepwise_history" }): TestProject {
  const project = createTestProject(t, { packageJson: { stepwise: { dialect, ...settings } } });
  for (const [file, text] of Object.entries(files)) {
    const at = path.join(project.root, `${tool}-migrations`, file);
    mkdirSync(path.dirname(at), { recursive: true });
    writeFileSync(at, text);
  }
  return project;
}

/** The `--json` output of an import, with its exit code checked. */
async function importJson(project: TestProject, tool: string, code: number, ...extra: string[]) {
  const run = await runCli(["import", tool, `${tool}-migrations`, "--empty-down", "no-op", "--json", ...extra], { cwd: project.root });
  assert.equal(run.code, code, run.stdout + run.stderr);
  return JSON.parse(run.stdout) as {
    error?: { code: string; problems?: { file: string; line: number; message: string; code?: string; relatedLine?: number }[] };
    migrations?: { originalId: string; transaction: boolean }[];
  };
}

const TABLE = "CREATE TABLE accounts (id integer PRIMARY KEY);\n";
/** A migration that wraps itself in a transaction, as projects write them for a tool they believe runs none. */
const OWN = "-- Atomic on its own.\nBEGIN;\n    ALTER TABLE accounts ADD COLUMN note text;\n    UPDATE accounts SET note = '';\nCOMMIT;\n";
const CONCURRENT = "CREATE UNIQUE INDEX CONCURRENTLY accounts_note ON accounts (note);\n";

/** Each tool's files for: a table, a migration with its own BEGIN/COMMIT, and a concurrent index (`marked`: with the tool's no-transaction mark, where it has one). */
const SHAPES: Record<string, (marked: boolean) => Record<string, string>> = {
  "golang-migrate": () => ({
    "000001_accounts.up.sql": TABLE,
    "000001_accounts.down.sql": "DROP TABLE accounts;\n",
    "000002_note.up.sql": OWN,
    "000002_note.down.sql": "BEGIN;\nALTER TABLE accounts DROP COLUMN note;\nCOMMIT;\n",
    "000003_index.up.sql": CONCURRENT,
    "000003_index.down.sql": "DROP INDEX CONCURRENTLY accounts_note;\n",
  }),
  sqlx: (marked) => ({ "20240101000000_accounts.sql": TABLE, "20240102000000_note.sql": OWN, "20240103000000_index.sql": `${marked ? "-- no-transaction\n" : ""}${CONCURRENT}` }),
  goose: (marked) => ({
    "00001_accounts.sql": `-- +goose Up\n${TABLE}`,
    "00002_note.sql": `-- +goose Up\n${OWN}`,
    "00003_index.sql": `${marked ? "-- +goose NO TRANSACTION\n" : ""}-- +goose Up\n${CONCURRENT}`,
  }),
  dbmate: (marked) => ({
    "20240101000000_accounts.sql": `-- migrate:up\n${TABLE}\n-- migrate:down\n`,
    "20240102000000_note.sql": `-- migrate:up\n${OWN}\n-- migrate:down\n`,
    "20240103000000_index.sql": `-- migrate:up${marked ? " transaction:false" : ""}\n${CONCURRENT}\n-- migrate:down\n`,
  }),
  diesel: (marked) => ({
    "2024-01-01-000000_accounts/up.sql": TABLE,
    "2024-01-02-000000_note/up.sql": OWN,
    "2024-01-03-000000_index/up.sql": CONCURRENT,
    ...(marked ? { "2024-01-03-000000_index/metadata.toml": "run_in_transaction = false\n" } : {}),
  }),
};

test("PostgreSQL: a migration holding its own BEGIN/COMMIT is imported with transaction:false for every tool (the tool's BEGIN only warned there, its COMMIT ended the tool's transaction), golang-migrate's CONCURRENTLY too (its driver wraps nothing); gen passes and up applies them", async (t) => {
  for (const tool of Object.keys(SHAPES)) {
    const project = projectWith(t, tool, "postgres", SHAPES[tool]!(true));
    const plan = await importJson(project, tool, 0, "--yes");
    assert.deepEqual(
      plan.migrations!.map((migration) => migration.transaction),
      [true, false, false],
      tool,
    );
    await project.generateAsBin();
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const up = await runCli(["up", "--driver", "pg", "--url", database.url, "--json"], { cwd: project.root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined } });
    assert.equal(up.code, 0, `${tool}: ${up.stdout}${up.stderr}`);
  }
});

test("SQLite: golang-migrate's file with its own BEGIN/COMMIT ran under x-no-tx-wrap, so it is imported with transaction:false; the tools that always wrap refuse it at its line, naming their own no-transaction mark", async (t) => {
  const sqlite = (text: string) => text.replace("CONCURRENTLY ", "");
  const project = projectWith(t, "golang-migrate", "sqlite", Object.fromEntries(Object.entries(SHAPES["golang-migrate"]!(true)).map(([file, text]) => [file, sqlite(text)])));
  const plan = await importJson(project, "golang-migrate", 0);
  assert.deepEqual(
    plan.migrations!.map((migration) => migration.transaction),
    [true, false, true],
  );
  for (const [tool, file, mark] of [
    ["sqlx", "20240102000000_note.sql", "-- no-transaction"],
    ["goose", "00002_note.sql", "-- +goose NO TRANSACTION"],
    ["dbmate", "20240102000000_note.sql", "transaction:false"],
    ["diesel", "2024-01-02-000000_note/up.sql", "run_in_transaction = false"],
  ] as const) {
    const files = Object.fromEntries(Object.entries(SHAPES[tool]!(true)).map(([name, text]) => [name, sqlite(text)]));
    const error = (await importJson(projectWith(t, tool, "sqlite", files), tool, 1)).error!;
    assert.equal(error.code, "IMPORT_SOURCE_INVALID");
    const line = tool === "goose" || tool === "dbmate" ? 3 : 2;
    assert.deepEqual(
      error.problems!.map((problem) => [problem.file, problem.line]),
      [
        [`${tool}-migrations/${file}`, line],
        [`${tool}-migrations/${file}`, line + 3],
      ],
    );
    assert.deepEqual(
      error.problems!.map((problem) => problem.code),
      ["SQL_TRANSACTION_CONTROL", "SQL_TRANSACTION_CONTROL"],
      tool,
    );
    assert.ok(
      error.problems!.every((problem) => problem.message.includes(mark)),
      tool,
    );
  }
});

test("PostgreSQL: a CONCURRENTLY without the tool's no-transaction mark failed under the tool too: IMPORT_SOURCE_INVALID at its line, the fix naming the tool's mark, not stepwise's flag", async (t) => {
  for (const [tool, file, line, mark] of [
    ["sqlx", "20240103000000_index.sql", 1, "-- no-transaction"],
    ["goose", "00003_index.sql", 2, "-- +goose NO TRANSACTION"],
    ["dbmate", "20240103000000_index.sql", 2, "transaction:false"],
    ["diesel", "2024-01-03-000000_index/up.sql", 1, "run_in_transaction = false"],
  ] as const) {
    const error = (await importJson(projectWith(t, tool, "postgres", SHAPES[tool]!(false)), tool, 1)).error!;
    assert.deepEqual(
      error.problems!.map((problem) => [problem.file, problem.line]),
      [[`${tool}-migrations/${file}`, line]],
    );
    assert.ok(error.problems![0]!.message.includes(mark) && !error.problems![0]!.message.includes('-- migrate:up" line'), tool);
    assert.equal(error.problems![0]!.code, "SQL_NEEDS_NO_TRANSACTION");
  }
  // A down the tool never ran (crates.io's shape: an index rebuilt concurrently in down.sql of a migration that runs in a transaction) is refused at its own line.
  const files = { ...SHAPES.diesel!(true), "2024-01-04-000000_drop_note/up.sql": "DROP INDEX accounts_note;\n", "2024-01-04-000000_drop_note/down.sql": `-- Rebuild it.\n${CONCURRENT}` };
  const error = (await importJson(projectWith(t, "diesel", "postgres", files), "diesel", 1)).error!;
  assert.deepEqual(
    error.problems!.map((problem) => [problem.file, problem.line]),
    [["diesel-migrations/2024-01-04-000000_drop_note/down.sql", 2]],
  );
});

test("a statement on the tool's own history table (a trigger on it, a column added to it) is IMPORT_SOURCE_INVALID at its line for every tool, quoted or in the default schema too; another schema's table of that name, a string or a comment is imported", async (t) => {
  const TABLES: Record<string, [string, (up: string) => Record<string, string>, string]> = {
    "golang-migrate": ["schema_migrations", (up) => ({ "1_a.up.sql": TABLE, "2_b.up.sql": up }), "2_b.up.sql"],
    sqlx: ["_sqlx_migrations", (up) => ({ "1_a.sql": TABLE, "2_b.sql": up }), "2_b.sql"],
    goose: ["goose_db_version", (up) => ({ "1_a.sql": `-- +goose Up\n${TABLE}`, "2_b.sql": `-- +goose Up\n${up}` }), "2_b.sql"],
    dbmate: ["schema_migrations", (up) => ({ "1_a.sql": `-- migrate:up\n${TABLE}-- migrate:down\n`, "2_b.sql": `-- migrate:up\n${up}-- migrate:down\n` }), "2_b.sql"],
    diesel: ["__diesel_schema_migrations", (up) => ({ "2020-01-01-000000_a/up.sql": TABLE, "2020-01-02-000000_b/up.sql": up }), "2020-01-02-000000_b/up.sql"],
  };
  for (const [tool, [table, files, file]] of Object.entries(TABLES)) {
    const offset = tool === "goose" || tool === "dbmate" ? 1 : 0;
    const refused = `-- Keep the old tool away.\nCREATE INDEX accounts_id ON accounts (id);\nALTER TABLE ${table} ADD COLUMN note text;\nCREATE TRIGGER stop BEFORE INSERT ON "${table}"\n  FOR EACH ROW EXECUTE FUNCTION stop();\nDROP TABLE IF EXISTS public.${table};\n`;
    const error = (await importJson(projectWith(t, tool, "postgres", files(refused)), tool, 1)).error!;
    assert.equal(error.code, "IMPORT_SOURCE_INVALID");
    assert.deepEqual(
      error.problems!.map((problem) => [problem.file, problem.line]),
      [3, 4, 6].map((line) => [`${tool}-migrations/${file}`, line + offset]),
      tool,
    );
    const kept = `ALTER TABLE auth.${table} OWNER TO CURRENT_USER;\nCOMMENT ON TABLE accounts IS 'not ${table}';\n-- ${table} is the old tool's\nCREATE TABLE ${table}_archive (id integer);\n`;
    await importJson(projectWith(t, tool, "postgres", files(kept)), tool, 0);
  }
});

test("a statement naming stepwise's own history table (an older tool's schema_migrations the project dropped, the configured tableName) is IMPORT_SOURCE_INVALID at its line with STEPWISE_HISTORY_TABLE_NAMED for every SQL tool whose own table is named otherwise, up or down; with another tableName, or the name in another schema, it is imported", async (t) => {
  const DROP = "-- The old runner's table.\nDROP TABLE IF EXISTS schema_migrations;\n";
  const RESTORE = "CREATE TABLE schema_migrations (version bigint);\n";
  const TOOLS: Record<string, [string, (up: string, down: string) => Record<string, string>, string, string, number]> = {
    sqlx: ["sqlite", (up, down) => ({ "1_a.up.sql": TABLE, "1_a.down.sql": "", "2_b.up.sql": up, "2_b.down.sql": down }), "2_b.up.sql", "2_b.down.sql", 0],
    goose: ["sqlite", (up, down) => ({ "1_a.sql": `-- +goose Up\n${TABLE}`, "2_b.sql": `-- +goose Up\n${up}-- +goose Down\n${down}` }), "2_b.sql", "2_b.sql", 1],
    diesel: [
      "sqlite",
      (up, down) => ({ "2020-01-01-000000_a/up.sql": TABLE, "2020-01-02-000000_b/up.sql": up, "2020-01-02-000000_b/down.sql": down }),
      "2020-01-02-000000_b/up.sql",
      "2020-01-02-000000_b/down.sql",
      0,
    ],
    prisma: ["sqlite", (up) => ({ "20200101000000_a/migration.sql": TABLE, "20200102000000_b/migration.sql": up }), "20200102000000_b/migration.sql", "", 0],
    flyway: ["sqlite", (up, down) => ({ "V1__A.sql": TABLE, "V2__B.sql": up, "U2__B.sql": down }), "V2__B.sql", "U2__B.sql", 0],
    wrangler: ["sqlite", (up) => ({ "0001_a.sql": TABLE, "0002_b.sql": up }), "0002_b.sql", "", 0],
  };
  for (const [tool, [dialect, files, upFile, downFile, offset]] of Object.entries(TOOLS)) {
    const refused = (await importJson(projectWith(t, tool, dialect, files(DROP, RESTORE), {}), tool, 1)).error!;
    assert.equal(refused.code, "IMPORT_SOURCE_INVALID", tool);
    const expected = [[upFile, 2 + offset], ...(downFile === "" ? [] : [[downFile, downFile === upFile ? 5 : 1]])];
    assert.deepEqual(
      refused.problems!.map((problem) => [problem.file, problem.line, problem.code]),
      expected.map(([file, line]) => [`${tool}-migrations/${file}`, line, "STEPWISE_HISTORY_TABLE_NAMED"]),
      tool,
    );
    // The table stepwise is told to use is the one refused, whatever its name.
    const renamed = (await importJson(projectWith(t, tool, dialect, files("DROP TABLE app_history;\n", ""), { tableName: "App_History" }), tool, 1)).error!;
    assert.deepEqual(
      renamed.problems!.map((problem) => [problem.file, problem.code]),
      [[`${tool}-migrations/${upFile}`, "STEPWISE_HISTORY_TABLE_NAMED"]],
      tool,
    );
    await importJson(projectWith(t, tool, dialect, files(DROP, RESTORE)), tool, 0);
  }
  // On PostgreSQL the name counts in the schema stepwise's table is in: the configured one, not public.
  const inSchema = (up: string) => projectWith(t, "sqlx", "postgres", { "1_a.up.sql": up }, { schema: "app" });
  const refused = (await importJson(inSchema("DROP TABLE app.schema_migrations;\nDROP TABLE schema_migrations;\n"), "sqlx", 1)).error!;
  assert.deepEqual(
    refused.problems!.map((problem) => [problem.line, problem.code]),
    [
      [1, "STEPWISE_HISTORY_TABLE_NAMED"],
      [2, "STEPWISE_HISTORY_TABLE_NAMED"],
    ],
  );
  await importJson(inSchema("DROP TABLE public.schema_migrations;\n"), "sqlx", 0);
  // The project's whole history then runs: gen replays the drop, which no longer meets stepwise's table.
  const project = projectWith(t, "diesel", "sqlite", TOOLS.diesel![1](DROP, RESTORE));
  await importJson(project, "diesel", 0, "--yes");
  await project.generateAsBin();
  const check = await runCli(["gen", "--check", "--require-replay"], { cwd: project.root });
  assert.equal(check.code, 0, check.stdout + check.stderr);
});

test("only a name in a table's place is the history table, compared as the dialect compares names: a column, an index or a trigger of that name, a quoted name of other case on PostgreSQL, or one in another schema is imported", async (t) => {
  const files = (dialect: string, statements: string[]) => projectWith(t, "golang-migrate", dialect, { "1_a.up.sql": TABLE, "2_b.up.sql": statements.map((statement) => `${statement}\n`).join("") });
  const lines = async (dialect: string, statements: string[]) => {
    const error = (await importJson(files(dialect, statements), "golang-migrate", 1)).error!;
    assert.equal(error.code, "IMPORT_SOURCE_INVALID");
    return error.problems!.map((problem) => [problem.file, problem.line]);
  };
  const each = (statements: string[]) => statements.map((_, index) => ["golang-migrate-migrations/2_b.up.sql", index + 1]);
  const refused = [
    "ALTER TABLE schema_migrations ADD COLUMN note text;",
    "CREATE TRIGGER stop AFTER INSERT ON Schema_Migrations FOR EACH ROW EXECUTE FUNCTION stop();",
    "INSERT INTO schema_migrations (version, dirty) VALUES (2, false);",
    "UPDATE ONLY PUBLIC.schema_migrations SET dirty = false;",
    'DELETE FROM "schema_migrations" WHERE version = 1;',
    "TRUNCATE accounts, schema_migrations;",
    "LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE;",
    "ALTER TABLE accounts ADD FOREIGN KEY (id) REFERENCES schema_migrations (version);",
    "CREATE TABLE copied (LIKE schema_migrations);",
    "CREATE INDEX by_version ON public.schema_migrations (version);",
    "SELECT * FROM accounts JOIN schema_migrations ON schema_migrations.version = accounts.id;",
    "ALTER TABLE accounts RENAME TO schema_migrations;",
    "DROP TABLE accounts, schema_migrations;",
    "SELECT 1 FROM accounts AS a, schema_migrations s;",
    "SELECT 1 FROM accounts a, public.schema_migrations;",
  ];
  assert.deepEqual(await lines("postgres", refused), each(refused));
  const kept = [
    "CREATE TABLE t (schema_migrations int);",
    "CREATE INDEX schema_migrations ON accounts (id);",
    'CREATE TABLE "Schema_Migrations" (id int);',
    'ALTER TABLE "Public".schema_migrations ADD COLUMN x int;',
    "ALTER TABLE accounts ADD COLUMN schema_migrations int;",
    "UPDATE accounts SET id = 1, schema_migrations = 2;",
    "SELECT id, schema_migrations FROM accounts;",
    "CREATE TRIGGER schema_migrations BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION stop();",
    "INSERT INTO accounts (id, schema_migrations) VALUES (1, 2);",
    "SELECT id FROM accounts ORDER BY id, schema_migrations;",
    "SELECT id FROM accounts a GROUP BY a.id, schema_migrations;",
    "ALTER TABLE accounts DROP COLUMN id, DROP COLUMN schema_migrations;",
  ];
  await importJson(files("postgres", kept), "golang-migrate", 0);
  // SQLite ignores case, quoted or not, and its default schema is main; temp's table of that name is another.
  const sqliteRefused = [
    'CREATE TRIGGER stop AFTER INSERT ON "Schema_Migrations" BEGIN SELECT 1; END;',
    "UPDATE OR IGNORE MAIN.[schema_migrations] SET dirty = 0;",
    "DELETE FROM `SCHEMA_MIGRATIONS`;",
  ];
  assert.deepEqual(await lines("sqlite", sqliteRefused), each(sqliteRefused));
  await importJson(files("sqlite", ["CREATE TABLE t (schema_migrations int);", "DELETE FROM temp.schema_migrations;", "CREATE INDEX schema_migrations ON accounts (id);"]), "golang-migrate", 0);
});

test("goose: ENVSUB ON around SQL it does not change (real files turn it on by habit) is imported, its lines dropped and the SQL kept; one that substitutes a $NAME, a ${NAME}, or makes $$ or \\$ one $, is IMPORT_SOURCE_INVALID at its ENVSUB ON line", async (t) => {
  const body = "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN NEW;\nEND;\n$$;\n";
  const kept = {
    // A comment naming a variable stays a comment; $( is left as written; ENVSUB OFF ends it before the $$ body.
    "00001_a.sql": `-- +goose Up\n-- +goose ENVSUB ON\n-- Grant to $APP_USER by hand.\nCREATE TABLE a (id integer, note text DEFAULT '$(none)');\n-- +goose ENVSUB OFF\n-- +goose StatementBegin\n${body}-- +goose StatementEnd\n`,
    "00002_b.sql": "-- +goose Up\n-- +goose StatementBegin\n-- +goose ENVSUB ON\nCREATE TABLE b (id integer);\n-- +goose ENVSUB OFF\n-- +goose StatementEnd\n-- +goose Down\nDROP TABLE b;\n",
  };
  const project = projectWith(t, "goose", "postgres", kept);
  await importJson(project, "goose", 0, "--yes");
  const written = readFileSync(path.join(project.migrationsDir, "001_a.sql"), "utf8");
  assert.ok(!written.includes("ENVSUB") && written.includes("'$(none)'") && written.includes(body));
  await project.generateAsBin();
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const up = await runCli(["up", "--driver", "pg", "--url", database.url, "--json"], { cwd: project.root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined } });
  assert.equal(up.code, 0, up.stdout + up.stderr);

  for (const [line, substituted] of [
    ["ALTER TABLE a OWNER TO $APP_USER;", 4],
    ["ALTER TABLE a OWNER TO ${APP_USER:-app};", 4],
    ["SELECT '\\$5';", 4],
  ] as const) {
    const files = { "00001_a.sql": `-- +goose Up\nCREATE TABLE a (id integer);\n-- +goose ENVSUB ON\n${line}\n` };
    const error = (await importJson(projectWith(t, "goose", "postgres", files), "goose", 1)).error!;
    assert.deepEqual(
      error.problems!.map((problem) => [problem.file, problem.line]),
      [["goose-migrations/00001_a.sql", 3]],
    );
    assert.deepEqual([error.problems![0]!.code, error.problems![0]!.relatedLine], ["GOOSE_ENVSUB_SUBSTITUTES", substituted]);
  }
  // A dollar-quoted body inside the ENVSUB region: goose would send it with one $ where $$ stood.
  const dollar = { "00001_a.sql": `-- +goose Up\n-- +goose ENVSUB ON\nCREATE TABLE a (id integer);\n-- +goose StatementBegin\n${body}-- +goose StatementEnd\n` };
  const error = (await importJson(projectWith(t, "goose", "postgres", dollar), "goose", 1)).error!;
  assert.deepEqual(
    error.problems!.map((problem) => [problem.file, problem.line]),
    [["goose-migrations/00001_a.sql", 2]],
  );
  assert.deepEqual([error.problems![0]!.code, error.problems![0]!.relatedLine], ["GOOSE_ENVSUB_SUBSTITUTES", 5]);
});

test("SQLite: SQLite's rebuild recipe written out (PRAGMA foreign_keys=OFF, BEGIN … COMMIT, PRAGMA foreign_keys=ON) in a migration the tool ran outside its transaction (golang-migrate under x-no-tx-wrap, Diesel's run_in_transaction = false) is imported as written with transaction:false, and keeps the child rows as the tool did", async (t) => {
  const parent =
    "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE);\nINSERT INTO parent VALUES (1, 'a');\nINSERT INTO child VALUES (1, 1), (2, 1);\n";
  const rebuild =
    "PRAGMA foreign_keys=OFF;\nBEGIN;\nCREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\nINSERT INTO parent_new SELECT id, coalesce(name, '') FROM parent;\nDROP TABLE parent;\nALTER TABLE parent_new RENAME TO parent;\nCOMMIT;\nPRAGMA foreign_keys=ON;\n";
  const shapes: Record<string, Record<string, string>> = {
    "golang-migrate": { "1_parent.up.sql": parent, "2_rebuild.up.sql": rebuild },
    diesel: { "2020-01-01-000000_parent/up.sql": parent, "2020-01-02-000000_rebuild/up.sql": rebuild, "2020-01-02-000000_rebuild/metadata.toml": "run_in_transaction = false\n" },
  };
  for (const [tool, files] of Object.entries(shapes)) {
    const project = projectWith(t, tool, "sqlite", files);
    const plan = await importJson(project, tool, 0, "--yes");
    assert.deepEqual(
      plan.migrations!.map((migration) => migration.transaction),
      [true, false],
      tool,
    );
    assert.ok(readFileSync(path.join(project.migrationsDir, "002_rebuild.sql"), "utf8").includes(`\n${rebuild}`), tool);
    await project.generateAsBin();
    const file = project.databasePath("app.db");
    const up = await runCli(["up", "--db", file, "--json"], { cwd: project.root });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const database = new Database(file, { readonly: true });
    t.after(() => database.close());
    assert.deepEqual(database.prepare("SELECT count(*) AS n FROM child").get(), { n: 2 }, tool);
  }
});

/** Each tool's files for one migration whose up and down are given, at version 1, and the file (and line offset) of its down. */
const PAIRS: Record<string, { files: (up: string, down: string) => Record<string, string>; down: string; offset: number }> = {
  sqlx: { files: (up, down) => ({ "1_ab.up.sql": up, "1_ab.down.sql": down }), down: "1_ab.down.sql", offset: 0 },
  "golang-migrate": { files: (up, down) => ({ "1_ab.up.sql": up, "1_ab.down.sql": down }), down: "1_ab.down.sql", offset: 0 },
  diesel: { files: (up, down) => ({ "2024-01-01-000000_ab/up.sql": up, "2024-01-01-000000_ab/down.sql": down }), down: "2024-01-01-000000_ab/down.sql", offset: 0 },
  flyway: { files: (up, down) => ({ "V1__ab.sql": up, "U1__ab.sql": down }), down: "U1__ab.sql", offset: 0 },
  goose: { files: (up, down) => ({ "1_ab.sql": `-- +goose Up\n${up}-- +goose Down\n${down}` }), down: "1_ab.sql", offset: 2 },
  dbmate: { files: (up, down) => ({ "1_ab.sql": `-- migrate:up\n${up}-- migrate:down\n${down}` }), down: "1_ab.sql", offset: 2 },
};

test("PostgreSQL: a down with its own BEGIN/COMMIT under an up the tool ran atomically in several statements is DOWN_NEEDS_NO_TRANSACTION at the down's BEGIN for every tool, so the up never loses its transaction; under a one-statement up it is imported with transaction:false; without the down's BEGIN/COMMIT the up applies all or nothing", async (t) => {
  const up = "CREATE TABLE a (id integer);\nCREATE TABLE b (id integer);\n";
  const down = "-- Both or neither.\nBEGIN;\nDROP TABLE b;\nDROP TABLE a;\nCOMMIT;\n";
  for (const [tool, pair] of Object.entries(PAIRS)) {
    const upLines = pair.offset === 0 ? 0 : 2;
    const error = (await importJson(projectWith(t, tool, "postgres", pair.files(up, down)), tool, 1)).error!;
    assert.equal(error.code, "IMPORT_SOURCE_INVALID", tool);
    assert.deepEqual(
      error.problems!.map((problem) => [problem.file, problem.line, problem.code]),
      [[`${tool}-migrations/${pair.down}`, 2 + pair.offset + upLines, "DOWN_NEEDS_NO_TRANSACTION"]],
      tool,
    );
    const single = await importJson(projectWith(t, tool, "postgres", pair.files("CREATE TABLE a (id integer);\n", down)), tool, 0);
    assert.deepEqual(
      single.migrations!.map((migration) => migration.transaction),
      [false],
      tool,
    );
  }
  // The same up with a plain down keeps its transaction: a failing second statement leaves nothing, as under sqlx.
  const project = projectWith(t, "sqlx", "postgres", PAIRS.sqlx!.files("CREATE TABLE a (id integer);\nCREATE TABLE a (id integer);\n", "DROP TABLE a;\n"));
  assert.deepEqual(
    (await importJson(project, "sqlx", 0, "--yes")).migrations!.map((migration) => migration.transaction),
    [true],
  );
  await project.generateAsBin();
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const run = await runCli(["up", "--driver", "pg", "--url", database.url, "--json"], { cwd: project.root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined } });
  assert.notEqual(run.code, 0);
  assert.equal((JSON.parse(run.stdout) as { error: { code: string; rolledBack: boolean } }).error.rolledBack, true);
});

test("PostgreSQL: a down the tool's own mark takes out of a transaction (dbmate's -- migrate:down transaction:false, sqlx's -- no-transaction in the .down.sql) under a several-statement up (or Flyway's executeInTransaction=false in the undo's .conf) is DOWN_NEEDS_NO_TRANSACTION at the mark's line; a CONCURRENTLY in an unmarked dbmate down names dbmate's down marker, not its up marker", async (t) => {
  const up = "CREATE TABLE a (id integer);\nCREATE INDEX a_id ON a (id);\n";
  const dbmate = { "1_ab.sql": `-- migrate:up\n${up}-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY a_id;\n` };
  const sqlx = { "1_ab.up.sql": up, "1_ab.down.sql": "-- no-transaction\nDROP INDEX CONCURRENTLY a_id;\n" };
  // Flyway's mark sits in the undo script's own .conf, which is where the fix is.
  const flyway = { "V1__ab.sql": up, "U1__ab.sql": "DROP INDEX a_id;\n", "U1__ab.sql.conf": "# the undo runs alone\nexecuteInTransaction=false\n" };
  for (const [tool, files, file, line] of [
    ["dbmate", dbmate, "1_ab.sql", 4],
    ["sqlx", sqlx, "1_ab.down.sql", 1],
    ["flyway", flyway, "U1__ab.sql.conf", 2],
  ] as const) {
    const error = (await importJson(projectWith(t, tool, "postgres", files), tool, 1)).error!;
    assert.deepEqual(
      error.problems!.map((problem) => [problem.file, problem.line, problem.code]),
      [[`${tool}-migrations/${file}`, line, "DOWN_NEEDS_NO_TRANSACTION"]],
      tool,
    );
  }
  // Unmarked: dbmate ran the down in a transaction, where it failed; the fix is its own section's marker (the up is one statement, so that mark is a fix).
  const unmarked = { "1_ab.sql": "-- migrate:up\nCREATE INDEX a_id ON a (id);\n-- migrate:down\nDROP INDEX CONCURRENTLY a_id;\n" };
  const error = (await importJson(projectWith(t, "dbmate", "postgres", unmarked), "dbmate", 1)).error!;
  assert.deepEqual(
    error.problems!.map((problem) => [problem.line, problem.code]),
    [[4, "SQL_NEEDS_NO_TRANSACTION"]],
  );
  assert.ok(error.problems![0]!.message.includes("`-- migrate:down` line") && !error.problems![0]!.message.includes("`-- migrate:up` line"), error.problems![0]!.message);
  const marked = { "1_ab.sql": "-- migrate:up\nCREATE INDEX a_id ON a (id);\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY a_id;\n" };
  assert.deepEqual(
    (await importJson(projectWith(t, "dbmate", "postgres", marked), "dbmate", 0)).migrations!.map((migration) => migration.transaction),
    [false],
  );
});

test("PostgreSQL: goose's END; CREATE INDEX CONCURRENTLY …; BEGIN; (which goose runs, sending statements one at a time) is refused at each line with codes, its fix saying to delete the up's own transaction statements and add goose's NO TRANSACTION, never that goose failed", async (t) => {
  const files = { "00001_index.sql": "-- +goose Up\nCREATE TABLE a (id integer);\nEND;\nCREATE INDEX CONCURRENTLY a_id ON a (id);\nBEGIN;\n-- +goose Down\nDROP TABLE a;\n" };
  const error = (await importJson(projectWith(t, "goose", "postgres", files), "goose", 1)).error!;
  assert.deepEqual(
    error.problems!.map((problem) => [problem.line, problem.code]),
    [
      [3, "SQL_TRANSACTION_CONTROL"],
      [4, "SQL_NEEDS_NO_TRANSACTION"],
      [5, "SQL_TRANSACTION_CONTROL"],
    ],
  );
  for (const problem of error.problems!) {
    assert.ok(problem.message.includes("-- +goose NO TRANSACTION") && problem.message.includes("delete the up's own transaction statements"), problem.message);
    assert.ok(!problem.message.includes("fails the same way"), problem.message);
  }
  // Done as the message says, it is imported outside a transaction and applies.
  const fixed = { "00001_index.sql": "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE TABLE a (id integer);\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n-- +goose Down\nDROP TABLE a;\n" };
  const project = projectWith(t, "goose", "postgres", fixed);
  assert.deepEqual(
    (await importJson(project, "goose", 0, "--yes")).migrations!.map((migration) => migration.transaction),
    [false],
  );
  await project.generateAsBin();
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const run = await runCli(["up", "--driver", "pg", "--url", database.url, "--json"], { cwd: project.root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined } });
  assert.equal(run.code, 0, run.stdout + run.stderr);
});
