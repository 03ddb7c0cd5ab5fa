/**
 * `stepwise import wrangler` and `stepwise adopt` of a D1 database `wrangler d1 migrations apply` migrated. The database is built as wrangler builds it, in Miniflare's real D1 (workerd): its
 * history table by wrangler's own statement, then each file in wrangler's order as one `batch()` with the `INSERT` of its name, the file trimmed of a dump's `BEGIN TRANSACTION;`/`COMMIT;`.
 */
import assert from "node:assert/strict";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { Miniflare } from "miniflare";
import { statementTexts } from "../src/core/dialects/sqlite.js";
import { compareMigrationPaths } from "../codegen/import/read-wrangler.js";
import Database from "better-sqlite3";
import { bundleWorker, rpcWorkerSource, startWorker } from "./support/cloudflare/workerd.js";
import { block, commandsOf, guideBlocks } from "./support/guide-blocks.js";
import { createTestProject, fixturesDir, makeTempDir, repoRoot, runCli, type TestProject } from "./support/project.js";

/** The table's name as wrangler writes it in SQL (its escapeIdentifier). */
const quoted = (table: string) => `"${table.replaceAll('"', '""')}"`;

/** wrangler's `CREATE TABLE IF NOT EXISTS` for its history table. */
const historyTable = (table: string) => `CREATE TABLE IF NOT EXISTS ${quoted(table)}(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`;

/** A local D1 database, persisted in `dir` as `wrangler dev` and `--local` keep it. */
async function openD1(dir: string): Promise<{ db: Awaited<ReturnType<Miniflare["getD1Database"]>>; file: () => string; dispose: () => Promise<void> }> {
  const miniflare = new Miniflare({ modules: true, script: "export default {}", d1Databases: { DB: "stepwise-test" }, d1Persist: path.join(dir, "d1") });
  const db = await miniflare.getD1Database("DB");
  const objects = path.join(dir, "d1", "miniflare-D1DatabaseObject");
  return {
    db,
    file: () =>
      path.join(
        objects,
        readdirSync(objects).find((name) => name.endsWith(".sqlite"))!,
      ),
    dispose: () => miniflare.dispose(),
  };
}

/** Applies `names` (paths below `migrationsDir`) as wrangler d1 migrations apply does. */
async function wranglerApply(db: Awaited<ReturnType<typeof openD1>>["db"], migrationsDir: string, names: readonly string[], table = "d1_migrations"): Promise<void> {
  await db.prepare(historyTable(table)).run();
  for (const name of names) {
    let sql = readFileSync(path.join(migrationsDir, name), "utf8");
    if (sql.includes("BEGIN TRANSACTION")) sql = sql.replace("BEGIN TRANSACTION;", "").replace("COMMIT;", "");
    const query = `${sql}\nINSERT INTO ${quoted(table)} (name)\nvalues ('${name.replace(/'/g, "''")}');`;
    await db.batch(statementTexts(query).map((statement) => db.prepare(statement)));
  }
}

/** A project holding the wrangler fixture (wrangler.toml, db/migrations/). */
function wranglerProject(t: { after(fn: () => void): void }): TestProject {
  const project = createTestProject(t);
  cpSync(path.join(fixturesDir, "import", "wrangler"), project.root, { recursive: true });
  return project;
}

/** The error `--json` prints: its code and its details' fields. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const errorOf = (stdout: string) => (JSON.parse(stdout) as { error: { code: string } & Record<string, any> }).error;

const inWranglerOrder = ["0001_create_notes.sql", "0002_tags.sql", "0003_rebuild_tags.sql", "0004_dump.sql", "10_add_index.sql"];

test("wrangler's order: the number each segment starts with, numbered before unnumbered, then by name", () => {
  const names = ["init.sql", "10_c.sql", "9_b.sql", "0001_a.sql", "1_a.sql", "0002_x/migration.sql", "0002_w.sql"];
  assert.deepEqual([...names].sort(compareMigrationPaths), ["0001_a.sql", "1_a.sql", "0002_w.sql", "0002_x/migration.sql", "9_b.sql", "10_c.sql", "init.sql"]);
});

test("import wrangler reads migrations_dir and migrations_table from wrangler.toml, orders as wrangler, and runs each file as D1 did", async (t) => {
  const project = wranglerProject(t);
  const result = await runCli(["import", "wrangler", ".", "--empty-down", "irreversible", "--yes", "--json"], { cwd: project.root });
  assert.equal(result.code, 0, result.stderr);
  const plan = JSON.parse(result.stdout) as { migrations: { file: string; originalId: string; transaction: boolean; foreignKeysOff: boolean; foreignKeysPragmas: number; history: unknown }[] };
  assert.deepEqual(
    plan.migrations.map((migration) => [migration.file, migration.originalId, migration.history]),
    inWranglerOrder.map((name, index) => [`00${index + 1}_${name.replace(/^\d+_|\.sql$/g, "")}.sql`, name.replace(/\.sql$/, ""), { name }]),
  );
  // D1 ran the rebuild's pragmas inside the batch's transaction, where they do nothing: comments, and no foreign_keys:off (which D1 cannot honour).
  assert.deepEqual(
    plan.migrations.map((migration) => [migration.transaction, migration.foreignKeysOff, migration.foreignKeysPragmas]),
    [
      [true, false, 0],
      [true, false, 0],
      [true, false, 2],
      [true, false, 0],
      [true, false, 0],
    ],
  );
  const dump = readFileSync(path.join(project.root, "migrations", "004_dump.sql"), "utf8");
  assert.match(dump, /^\/\* BEGIN TRANSACTION; \*\/$/m);
  assert.match(dump, /^\/\* COMMIT; \*\/$/m);
  // D1's SQL is SQLite's.
  const postgres = errorOf((await runCli(["import", "wrangler", ".", "--dir", "pg", "--dialect", "postgres", "--empty-down", "no-op", "--json"], { cwd: project.root })).stdout);
  assert.deepEqual([postgres.code, postgres.problems.length], ["IMPORT_SOURCE_INVALID", 1]);
  const map = JSON.parse(readFileSync(path.join(project.root, "migrations", "stepwise-import-map.json"), "utf8")) as { tool: string; oldTable?: string };
  assert.equal(map.tool, "wrangler");
  assert.equal(map.oldTable, "app_migrations");
});

test("gen on wrangler's folder beside wrangler.toml names the import, and the import it names, then gen, succeed", async (t) => {
  const project = createTestProject(t);
  cpSync(path.join(fixturesDir, "import", "wrangler", "db", "migrations"), path.join(project.root, "migrations"), { recursive: true });
  writeFileSync(path.join(project.root, "wrangler.toml"), '[[d1_databases]]\nbinding = "DB"\nmigrations_table = "app_migrations"\n');
  const generated = await project.generate();
  assert.deepEqual(
    generated.problems.map((problem) => [problem.code, problem.foreign?.tool]),
    [["FOREIGN_MIGRATIONS", "wrangler"]],
  );
  assert.match(generated.problems[0]!.message, /git mv migrations migrations-wrangler && stepwise import wrangler migrations-wrangler/);
  // Given the project folder, whose config names migrations/ as wrangler's folder: that folder is the target too.
  const inPlace = errorOf((await runCli(["import", "wrangler", ".", "--empty-down", "irreversible", "--json"], { cwd: project.root })).stdout);
  assert.equal(inPlace.code, "IMPORT_TARGET_NOT_EMPTY");
  assert.match(inPlace.message, /git mv migrations migrations-wrangler\), then run "stepwise import wrangler migrations-wrangler"/);
  // docs/adopting.md's commands, as written.
  const commands = commandsOf(block(guideBlocks(readFileSync(path.join(repoRoot, "docs", "adopting.md"), "utf8")), "import-wrangler"));
  assert.deepEqual(
    commands.map((words) => words.slice(0, 4).join(" ")),
    ["git mv migrations migrations-wrangler", "npx stepwise import wrangler", "npx stepwise gen"],
  );
  for (const words of commands) {
    // No git repository here: the move is the rename git would make.
    if (words[0] === "git") renameSync(path.join(project.root, words[2]!), path.join(project.root, words[3]!));
    else {
      const run = await runCli(words.slice(2), { cwd: project.root });
      assert.equal(run.code, 0, `${words.join(" ")}: ${run.stdout}${run.stderr}`);
    }
  }
  assert.equal((JSON.parse(readFileSync(path.join(project.root, "migrations", "stepwise-import-map.json"), "utf8")) as { oldTable?: string }).oldTable, "app_migrations");
  assert.equal(existsSync(project.registryFile), true);
});

test("import wrangler: wrangler.jsonc with comments, the migrations folder given itself, and the refusals", async (t) => {
  const project = createTestProject(t);
  cpSync(path.join(fixturesDir, "import", "wrangler", "db", "migrations"), path.join(project.root, "migrations-wrangler"), { recursive: true });
  // The folder moved aside: the config no longer names it, so the table every binding shares is the one recorded.
  writeFileSync(
    path.join(project.root, "wrangler.jsonc"),
    `{\n  // the app's database\n  "name": "app",\n  "d1_databases": [\n    { "binding": "DB", "database_name": "app", "migrations_table": "app_migrations", /* moved */ "migrations_dir": "migrations", },\n  ],\n}\n`,
  );
  const result = await runCli(["import", "wrangler", "migrations-wrangler", "--empty-down", "no-op", "--json"], { cwd: project.root });
  assert.equal(result.code, 0, result.stderr);
  assert.equal((JSON.parse(result.stdout) as { migrations: unknown[] }).migrations.length, 5);

  // Two bindings with their own folders: import one folder at a time.
  writeFileSync(path.join(project.root, "wrangler.json"), JSON.stringify({ d1_databases: [{ binding: "A", migrations_dir: "a" }, { binding: "B" }] }));
  const twoFolders = await runCli(["import", "wrangler", ".", "--empty-down", "no-op", "--json"], { cwd: project.root });
  assert.equal(twoFolders.code, 1);
  const problem = errorOf(twoFolders.stdout);
  assert.equal(problem.code, "IMPORT_SOURCE_INVALID");
  assert.equal(problem.problems[0]!.file, "./wrangler.json");

  // An absolute migrations_dir names the same folder.
  writeFileSync(path.join(project.root, "wrangler.json"), JSON.stringify({ d1_databases: [{ binding: "A", migrations_dir: path.join(project.root, "migrations-wrangler") }] }));
  const absolute = await runCli(["import", "wrangler", ".", "--empty-down", "no-op", "--json"], { cwd: project.root });
  assert.equal(absolute.code, 0, absolute.stdout);
  assert.deepEqual(
    (JSON.parse(absolute.stdout) as { migrations: { sources: { file: string }[] }[] }).migrations[0]!.sources.map((source) => source.file),
    ["migrations-wrangler/0001_create_notes.sql"],
  );

  // A statement on the history table the config names, which a database stepwise builds from empty lacks.
  writeFileSync(path.join(project.root, "wrangler.json"), JSON.stringify({ d1_databases: [{ binding: "A", migrations_dir: "migrations-wrangler", migrations_table: "app_migrations" }] }));
  writeFileSync(path.join(project.root, "migrations-wrangler", "0005_history.sql"), "CREATE TABLE x (id INTEGER);\nDELETE FROM app_migrations WHERE name = 'old.sql';\n");
  const history = errorOf((await runCli(["import", "wrangler", ".", "--empty-down", "no-op", "--json"], { cwd: project.root })).stdout);
  assert.equal(history.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    history.problems.map((entry: { file: string; line: number }) => [entry.file, entry.line]),
    [["./migrations-wrangler/0005_history.sql", 2]],
  );
  rmSync(path.join(project.root, "migrations-wrangler", "0005_history.sql"));

  // A file with two transactions, which wrangler refuses.
  writeFileSync(path.join(project.root, "wrangler.json"), JSON.stringify({ d1_databases: [{ binding: "A", migrations_dir: "migrations-wrangler" }] }));
  writeFileSync(path.join(project.root, "migrations-wrangler", "0005_twice.sql"), "BEGIN TRANSACTION;\nSELECT 1;\nCOMMIT;\nBEGIN TRANSACTION;\nSELECT 2;\nCOMMIT;\n");
  const twice = await runCli(["import", "wrangler", ".", "--empty-down", "no-op", "--json"], { cwd: project.root });
  const refused = errorOf(twice.stdout);
  assert.equal(refused.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    refused.problems.map((entry: { file: string; line: number }) => [entry.file, entry.line]),
    [["./migrations-wrangler/0005_twice.sql", 4]],
  );
});

test("import wrangler: wrangler.toml's quoted keys and spaced dotted headers are read as wrangler's TOML parser reads them", async (t) => {
  const project = createTestProject(t);
  rmSync(project.migrationsDir, { recursive: true, force: true });
  cpSync(path.join(fixturesDir, "import", "wrangler", "db", "migrations"), path.join(project.root, "db", "wrangler"), { recursive: true });
  const shapes = [
    `[[d1_databases]]\nbinding = "DB"\n"migrations_dir" = "db/wrangler" # quoted key\n'migrations_table' = 'app_migrations'\n`,
    `[env.staging]\n"d1_databases" = [\n  { binding = "DB", "migrations_dir" = "db/wrangler", 'migrations_table' = "app_migrations" },\n]\n`,
    `[[ env . staging . "d1_databases" ]]\nbinding = "DB"\nmigrations_dir = "db/wrangler"\nmigrations_table = "app_migrations"\n[[d1_databases]]\nbinding = "DB"\nmigrations_dir = "db"\n`,
  ];
  const read = [];
  for (const shape of shapes) {
    writeFileSync(path.join(project.root, "wrangler.toml"), shape);
    rmSync(project.migrationsDir, { recursive: true, force: true });
    const result = await runCli(["import", "wrangler", ".", "--empty-down", "no-op", "--json"], { cwd: project.root });
    const json = JSON.parse(result.stdout) as { migrations?: { sources: { file: string }[] }[]; error?: { code: string; problems: { file: string }[] } };
    read.push(json.migrations?.[0]?.sources[0]?.file ?? [json.error?.code, json.error?.problems[0]?.file]);
  }
  // The third names two folders (its env binding read too), so import asks for one.
  assert.deepEqual(read, ["db/wrangler/0001_create_notes.sql", "db/wrangler/0001_create_notes.sql", ["IMPORT_SOURCE_INVALID", "./wrangler.toml"]]);
  writeFileSync(path.join(project.root, "wrangler.toml"), shapes[0]!);
  rmSync(project.migrationsDir, { recursive: true, force: true });
  assert.equal((await runCli(["import", "wrangler", ".", "--empty-down", "no-op", "--yes"], { cwd: project.root })).code, 0);
  const map = JSON.parse(readFileSync(path.join(project.migrationsDir, "stepwise-import-map.json"), "utf8")) as { oldTable?: string };
  assert.equal(map.oldTable, "app_migrations");
});

test("import wrangler: an env's binding that records the same folder in a table of its own: the folder given itself imports, its map names no table, and a statement on either table is refused", async (t) => {
  const project = wranglerProject(t);
  writeFileSync(
    path.join(project.root, "wrangler.toml"),
    `[[d1_databases]]\nbinding = "DB"\nmigrations_dir = "db/migrations"\nmigrations_table = "app_migrations"\n\n[[env.staging.d1_databases]]\nbinding = "DB"\nmigrations_dir = "db/migrations"\nmigrations_table = "staging_migrations"\n`,
  );
  // The config's folder: which table is the one recorded cannot be told, so import asks for the folder.
  const atConfig = errorOf((await runCli(["import", "wrangler", ".", "--empty-down", "no-op", "--json"], { cwd: project.root })).stdout);
  assert.deepEqual([atConfig.code, atConfig.problems[0].file], ["IMPORT_SOURCE_INVALID", "./wrangler.toml"]);
  // The folder itself, as that refusal says: the files are the same for both databases; adopt names the table (--old-table).
  const migrations = path.join(project.root, "db", "migrations");
  writeFileSync(path.join(migrations, "0005_history.sql"), "DELETE FROM staging_migrations WHERE name = 'old.sql';\n");
  const history = errorOf((await runCli(["import", "wrangler", "db/migrations", "--empty-down", "no-op", "--json"], { cwd: project.root })).stdout);
  assert.deepEqual(
    history.problems.map((entry: { file: string; line: number }) => [entry.file, entry.line]),
    [["db/migrations/0005_history.sql", 1]],
  );
  rmSync(path.join(migrations, "0005_history.sql"));
  const imported = await runCli(["import", "wrangler", "db/migrations", "--empty-down", "no-op", "--yes", "--json"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout);
  const map = JSON.parse(readFileSync(path.join(project.migrationsDir, "stepwise-import-map.json"), "utf8")) as { oldTable?: string; migrations: unknown[] };
  assert.deepEqual([map.oldTable, map.migrations.length], [undefined, 5]);
});

test("import wrangler: a migration that is a symbolic link, which wrangler d1 migrations apply never runs, is refused, named", async (t) => {
  const project = createTestProject(t);
  const dir = path.join(project.root, "migrations-wrangler");
  mkdirSync(dir);
  writeFileSync(path.join(dir, "0001_a.sql"), "CREATE TABLE a (id INTEGER);\n");
  writeFileSync(path.join(project.root, "shared.sql"), "CREATE TABLE b (id INTEGER);\n");
  symlinkSync(path.join(project.root, "shared.sql"), path.join(dir, "0002_b.sql"));
  mkdirSync(path.join(project.root, "elsewhere", "0003_c"), { recursive: true });
  writeFileSync(path.join(project.root, "elsewhere", "0003_c", "migration.sql"), "CREATE TABLE c (id INTEGER);\n");
  symlinkSync(path.join(project.root, "elsewhere", "0003_c"), path.join(dir, "0003_c"), "dir");
  writeFileSync(path.join(dir, "0004_d.sql"), "CREATE TABLE d (id INTEGER);\n");
  const result = await runCli(["import", "wrangler", "migrations-wrangler", "--empty-down", "no-op", "--json"], { cwd: project.root });
  assert.equal(result.code, 1, result.stdout);
  const error = errorOf(result.stdout);
  assert.equal(error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    error.problems.map((entry: { file: string; line: number }) => [entry.file, entry.line]),
    [["migrations-wrangler/0002_b.sql", 1]],
  );
  // A folder per migration: a linked folder is skipped by wrangler as well.
  writeFileSync(path.join(project.root, "wrangler.toml"), `[[d1_databases]]\nbinding = "DB"\nmigrations_dir = "migrations-wrangler"\nmigrations_pattern = "migrations-wrangler/*/migration.sql"\n`);
  const folders = errorOf((await runCli(["import", "wrangler", "migrations-wrangler", "--empty-down", "no-op", "--json"], { cwd: project.root })).stdout);
  assert.deepEqual(
    folders.problems.map((entry: { file: string; line: number }) => [entry.file, entry.line]),
    [["migrations-wrangler/0003_c", 1]],
  );
});

test("import wrangler: migrations_pattern's folder per migration (drizzle-kit's layout) is read as wrangler reads it, its name the path below migrations_dir; ** is refused", async (t) => {
  const project = createTestProject(t);
  const folder = path.join(project.root, "drizzle");
  for (const [name, sql] of [
    ["0000_init", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"],
    ["0001_more", "CREATE TABLE b (id INTEGER PRIMARY KEY);\n"],
  ]) {
    mkdirSync(path.join(folder, name!), { recursive: true });
    writeFileSync(path.join(folder, name!, "migration.sql"), sql!);
    writeFileSync(path.join(folder, name!, "snapshot.json"), "{}");
  }
  writeFileSync(path.join(project.root, "wrangler.json"), JSON.stringify({ d1_databases: [{ binding: "DB", migrations_dir: "drizzle", migrations_pattern: "drizzle/*/migration.sql" }] }));
  const result = await runCli(["import", "wrangler", ".", "--empty-down", "no-op", "--json"], { cwd: project.root });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    (JSON.parse(result.stdout) as { migrations: { originalId: string; history: unknown }[] }).migrations.map((migration) => [migration.originalId, migration.history]),
    [
      ["0000_init", { name: "0000_init/migration.sql" }],
      ["0001_more", { name: "0001_more/migration.sql" }],
    ],
  );
  // ** in the pattern, and a pattern without migrations_dir (which wrangler refuses).
  for (const binding of [
    { binding: "DB", migrations_dir: "drizzle", migrations_pattern: "drizzle/**/*.sql" },
    { binding: "DB", migrations_pattern: "drizzle/*/migration.sql" },
  ]) {
    writeFileSync(path.join(project.root, "wrangler.json"), JSON.stringify({ d1_databases: [binding] }));
    const refused = errorOf((await runCli(["import", "wrangler", ".", "--empty-down", "no-op", "--json"], { cwd: project.root })).stdout);
    assert.equal(refused.code, "IMPORT_SOURCE_INVALID", JSON.stringify(refused));
    assert.deepEqual(
      refused.problems.map((problem: { file: string }) => problem.file),
      ["./wrangler.json"],
    );
  }
});

test("wrangler's folder per migration (migrations_pattern) is Prisma's or wrangler's to gen, and moved aside as gen says, import wrangler reads it with the bindings' pattern", async (t) => {
  const project = createTestProject(t);
  const folder = path.join(project.root, "migrations");
  for (const [name, sql] of [
    ["0000_init", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"],
    ["0001_more", "CREATE TABLE b (id INTEGER PRIMARY KEY);\n"],
  ]) {
    mkdirSync(path.join(folder, name!), { recursive: true });
    writeFileSync(path.join(folder, name!, "migration.sql"), sql!);
  }
  const config = (pattern: string) => `[[d1_databases]]\nbinding = "DB"\nmigrations_dir = "migrations"\nmigrations_pattern = "${pattern}"\n`;
  writeFileSync(path.join(project.root, "wrangler.toml"), config("migrations/*/migration.sql"));
  const generated = await project.generate();
  assert.deepEqual(
    generated.problems.map((problem) => [problem.code, problem.foreign?.tool]),
    [["FOREIGN_MIGRATIONS", "Prisma or wrangler"]],
  );
  assert.match(generated.problems[0]!.message, /stepwise import prisma\|wrangler migrations-imported/);
  renameSync(folder, path.join(project.root, "migrations-imported"));
  const imported = await runCli(["import", "wrangler", "migrations-imported", "--empty-down", "no-op", "--json"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout);
  assert.deepEqual(
    (JSON.parse(imported.stdout) as { migrations: { originalId: string; history: unknown }[] }).migrations.map((migration) => [migration.originalId, migration.history]),
    [
      ["0000_init", { name: "0000_init/migration.sql" }],
      ["0001_more", { name: "0001_more/migration.sql" }],
    ],
  );
  // Two bindings whose patterns differ: nothing tells which the moved folder followed.
  writeFileSync(path.join(project.root, "wrangler.toml"), `${config("migrations/*/migration.sql")}${config("migrations/*.sql").replace('"DB"', '"OTHER"')}`);
  const refused = errorOf((await runCli(["import", "wrangler", "migrations-imported", "--empty-down", "no-op", "--json"], { cwd: project.root })).stdout);
  assert.deepEqual([refused.code, refused.problems.map((problem: { file: string }) => path.basename(problem.file))], ["IMPORT_SOURCE_INVALID", ["wrangler.toml"]]);
});

test("adopt: a local D1 database wrangler migrated (Miniflare's file, as wrangler dev keeps it) is adopted with better-sqlite3, up applies the rest, verify is clean", async (t) => {
  const project = wranglerProject(t);
  const state = makeTempDir(t);
  const d1 = await openD1(state);
  // wrangler applied the first four files; the fifth came later.
  await wranglerApply(d1.db, path.join(project.root, "db", "migrations"), inWranglerOrder.slice(0, 4), "app_migrations");
  await d1.dispose();
  const database = d1.file();
  assert.equal((await runCli(["import", "wrangler", ".", "--empty-down", "irreversible", "--yes"], { cwd: project.root })).code, 0);
  const generated = await runCli(["gen"], { cwd: project.root });
  assert.equal(generated.code, 0, generated.stderr);
  const run = async (...args: string[]) => {
    const result = await runCli([...args, "--db", database, "--json"], { cwd: project.root });
    return { code: result.code, json: JSON.parse(result.stdout || result.stderr) as Record<string, unknown> & { details?: Record<string, unknown> } };
  };
  const adopted = await run("adopt");
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.equal(adopted.json.tool, "wrangler");
  assert.equal(adopted.json.oldTable, '"app_migrations"');
  assert.deepEqual(adopted.json.recorded, [1, 2, 3, 4]);
  assert.equal((await run("verify")).json.ok, true);
  assert.equal((await run("up")).code, 0);
  assert.equal((await run("verify")).json.ok, true);
});

test("adopt: a migrations_table holding a dot or a quote, which wrangler quotes, is read as that one table", async (t) => {
  const project = wranglerProject(t);
  const table = 'app.migrations "v1"';
  writeFileSync(path.join(project.root, "wrangler.toml"), `[[d1_databases]]\nbinding = "DB"\nmigrations_dir = "db/migrations"\nmigrations_table = '${table}'\n`);
  const d1 = await openD1(makeTempDir(t));
  await wranglerApply(d1.db, path.join(project.root, "db", "migrations"), inWranglerOrder.slice(0, 2), table);
  await d1.dispose();
  assert.equal((await runCli(["import", "wrangler", ".", "--empty-down", "irreversible", "--yes"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const adopted = JSON.parse((await runCli(["adopt", "--db", d1.file(), "--json"], { cwd: project.root })).stdout) as Record<string, unknown>;
  assert.deepEqual(adopted.recorded, [1, 2], JSON.stringify(adopted));
  assert.equal(JSON.parse((await runCli(["verify", "--db", d1.file(), "--json"], { cwd: project.root })).stdout).ok, true);
});

test("remote D1: a migrations_table holding a line break writes SQL whose comments stay comments: the file records the adoption and runs nothing else", async (t) => {
  const project = wranglerProject(t);
  // A legal name to wrangler (it quotes it), and one that, put raw in a -- comment, ends the comment and becomes a statement.
  const table = "app_migrations\nDELETE FROM notes; --";
  writeFileSync(path.join(project.root, "wrangler.json"), JSON.stringify({ d1_databases: [{ binding: "DB", migrations_dir: "db/migrations", migrations_table: table }] }));
  const d1 = await openD1(makeTempDir(t));
  t.after(() => d1.dispose());
  await wranglerApply(d1.db, path.join(project.root, "db", "migrations"), inWranglerOrder.slice(0, 2), table);
  await d1.db.prepare("INSERT INTO notes (body) VALUES ('kept')").run();
  assert.equal((await runCli(["import", "wrangler", ".", "--empty-down", "irreversible", "--yes"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const copy = path.join(makeTempDir(t), "copy.db");
  await exportToFile(async (sql) => (await d1.db.prepare(sql).all()).results as Record<string, unknown>[], copy);
  const adopted = await runCli(["adopt", "--db", copy, "--write-sql", "adopt.sql", "--json"], { cwd: project.root });
  assert.equal(adopted.code, 0, adopted.stdout);
  const sqlFile = path.join(project.root, "adopt.sql");
  const words = statementTexts(readFileSync(sqlFile, "utf8")).map((statement) => /^\s*(?:--[^\n]*\n\s*)*(\w+)/.exec(statement)?.[1]);
  assert.deepEqual([...new Set(words)].sort(), ["CREATE", "DROP", "INSERT"]);
  const notes = async () => (await d1.db.prepare("SELECT body FROM notes ORDER BY id").all<{ body: string }>()).results.map((row) => row.body);
  const before = await notes();
  assert.ok(before.includes("kept"));
  await executeFile(d1.db, sqlFile);
  assert.deepEqual(await notes(), before);
  assert.deepEqual(
    (await d1.db.prepare("SELECT version FROM schema_migrations ORDER BY version").all<{ version: number }>()).results.map((row) => row.version),
    [1, 2],
  );
});

test("adopt: wrangler's history out of its file order (a file added below the newest, applied last) is refused", async (t) => {
  const project = wranglerProject(t);
  const state = makeTempDir(t);
  const d1 = await openD1(state);
  await wranglerApply(d1.db, path.join(project.root, "db", "migrations"), ["0001_create_notes.sql", "0002_tags.sql", "0004_dump.sql", "0003_rebuild_tags.sql"], "app_migrations");
  await d1.dispose();
  assert.equal((await runCli(["import", "wrangler", ".", "--empty-down", "irreversible", "--yes"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const result = await runCli(["adopt", "--db", d1.file(), "--json"], { cwd: project.root });
  const error = errorOf(result.stdout);
  assert.equal(error.code, "ADOPT_HISTORY_UNORDERED");
  assert.deepEqual(
    error.applied.map((entry: { version: number }) => entry.version),
    [1, 2, 4, 3],
  );
});

/** What `wrangler d1 export` writes for a database `read` queries: each object's `CREATE` and each table's rows as `INSERT`s (Cloudflare's own `_cf_` tables and SQLite's left out), loaded into a new file as `sqlite3` would. */
async function exportToFile(read: (sql: string) => Promise<Record<string, unknown>[]>, file: string): Promise<void> {
  const objects = (await read(
    "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid",
  )) as { type: string; name: string; sql: string }[];
  const lines = objects.map((object) => `${object.sql};`);
  for (const table of objects.filter((object) => object.type === "table")) {
    for (const row of await read(`SELECT * FROM "${table.name}"`)) {
      const values = Object.values(row).map((value) => (value === null ? "NULL" : typeof value === "number" ? String(value) : `'${String(value).replaceAll("'", "''")}'`));
      lines.push(`INSERT INTO "${table.name}" VALUES(${values.join(",")});`);
    }
  }
  const copy = new Database(file);
  copy.exec(lines.join("\n"));
  copy.close();
}

type D1 = Awaited<ReturnType<Miniflare["getD1Database"]>>;

/** Runs a SQL file on `db` as `wrangler d1 execute --file` does: its statements in one batch, all or nothing. */
async function executeFile(db: D1, file: string): Promise<void> {
  await db.batch(statementTexts(readFileSync(file, "utf8")).map((statement) => db.prepare(statement)));
}

/** The project imported and generated, and a Worker on its registry with D1 persisted in a folder of its own. */
async function remoteSetup(t: { after(fn: () => unknown): void }) {
  const project = wranglerProject(t);
  assert.equal((await runCli(["import", "wrangler", ".", "--empty-down", "irreversible", "--yes"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const script = await bundleWorker(rpcWorkerSource, path.join(project.root, "dist"), { "stepwise-test-registry": project.registryFile });
  const persistDir = makeTempDir(t);
  const worker = await startWorker(script, { persistDir });
  // A test may have stopped it already, to read its files.
  t.after(() => worker.dispose().catch(() => undefined));
  const db = await worker.miniflare.getD1Database("DB");
  const apply = (names: readonly string[]) => wranglerApply(db, path.join(project.root, "db", "migrations"), names, "app_migrations");
  const adoptCopy = async (...args: string[]) => {
    const copy = path.join(makeTempDir(t), "copy.db");
    await exportToFile(async (sql) => (await db.prepare(sql).all()).results as Record<string, unknown>[], copy);
    const result = await runCli(["adopt", "--db", copy, "--write-sql", "adopt.sql", "--json", ...args], { cwd: project.root });
    return { copy, code: result.code, json: JSON.parse(result.stdout) as Record<string, unknown> & { error?: Record<string, unknown> } };
  };
  return { project, worker, db, apply, adoptCopy, persistDir };
}

test("remote D1: a copy exported and adopted writes the SQL that records the adoption; run as wrangler d1 execute runs a file, the Worker's up then applies only the rest", async (t) => {
  const { project, worker, db, apply } = await remoteSetup(t);
  await apply(inWranglerOrder.slice(0, 4));
  // Before: the Worker refuses the database wrangler made, and says how to adopt it here.
  const unmanaged = await worker.call("d1", "up");
  assert.equal(unmanaged.error?.code, "UNMANAGED_DATABASE");
  assert.deepEqual([unmanaged.error?.tables, unmanaged.error?.throughCopy], [["app_migrations", "authors", "notes", "tags"], true]);
  assert.doesNotMatch(String(unmanaged.error?.message), /baselineDatabase/);

  // docs/adopting.md's recipe: wrangler's export and execute done as they do it, stepwise's command as written.
  const recipe = commandsOf(block(guideBlocks(readFileSync(path.join(repoRoot, "docs", "adopting.md"), "utf8")), "adopt-d1"));
  assert.deepEqual(
    recipe.map((words) => words.slice(0, 4).join(" ")),
    ["npx wrangler d1 export", "sqlite3 d1-copy.db < d1-copy.sql", "npx stepwise adopt --db", "npx wrangler d1 execute"],
  );
  await exportToFile(async (sql) => (await db.prepare(sql).all()).results as Record<string, unknown>[], path.join(project.root, "d1-copy.db"));
  const adoptedRun = await runCli([...recipe[2]!.slice(2), "--json"], { cwd: project.root });
  const adopted = { code: adoptedRun.code, json: JSON.parse(adoptedRun.stdout) as Record<string, unknown> };
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.deepEqual(adopted.json.recorded, [1, 2, 3, 4]);
  assert.equal(adopted.json.sqlFile, "d1-adopt.sql");
  const sqlFile = path.join(project.root, "d1-adopt.sql");
  await executeFile(db, sqlFile);

  const up = await worker.call("d1", "up");
  assert.equal(up.error, undefined, JSON.stringify(up.error));
  assert.deepEqual(
    (up.result as { steps: { version: number }[] }).steps.map((step) => step.version),
    [5],
  );
  const history = (await worker.call("d1", "history")).result as { version: number; state: string }[];
  assert.deepEqual(
    history.map((row) => [row.version, row.state]),
    [1, 2, 3, 4, 5].map((version) => [version, "applied"]),
  );
  assert.equal(((await worker.call("d1", "status")).result as { problem: unknown }).problem, null);
  // The same file again fails whole: up changed the schema since the copy (and stepwise's tables exist now).
  await assert.rejects(executeFile(db, sqlFile), /CHECK constraint failed: schema_changed_since_the_copy/);
});

test("remote D1: the SQL fails whole, writing nothing, when wrangler applied another migration after the copy; a copy migrated after its adoption writes none (ADOPT_SQL_REFUSED)", async (t) => {
  const { project, worker, db, apply, adoptCopy } = await remoteSetup(t);
  await apply(inWranglerOrder.slice(0, 3));
  const adopted = await adoptCopy();
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.deepEqual(adopted.json.recorded, [1, 2, 3]);
  await apply(inWranglerOrder.slice(3, 4));
  await assert.rejects(executeFile(db, path.join(project.root, "adopt.sql")), /CHECK constraint failed: old_history_changed_since_the_copy/);
  assert.deepEqual((await worker.call("d1", "query", { sql: "SELECT name FROM sqlite_master WHERE name LIKE 'schema_migrations%'" })).result, []);

  // A copy that stepwise then migrated holds rows for migrations the database never ran.
  const copy = (await adoptCopy()).copy;
  assert.equal((await runCli(["up", "--db", copy], { cwd: project.root })).code, 0);
  const refused = await runCli(["adopt", "--db", copy, "--write-sql", "again.sql", "--json"], { cwd: project.root });
  const error = errorOf(refused.stdout);
  assert.equal(error.code, "ADOPT_SQL_REFUSED");
  assert.deepEqual([error.reason, error.adoptedVersion, error.versions], ["migrated-after-adoption", 4, [1, 2, 3, 4, 5]]);
  assert.equal(existsSync(path.join(project.root, "again.sql")), false);
  // Without the old table nothing could guard the file.
  const dropping = await runCli(["adopt", "--db", copy, "--write-sql", "again.sql", "--drop-old-table", "--json"], { cwd: project.root });
  assert.deepEqual([dropping.code, errorOf(dropping.stdout).code], [2, "USAGE"]);
});

test("remote D1: the SQL fails whole, writing nothing, when the database's schema changed after the copy though wrangler's table did not", async (t) => {
  const { project, worker, db, apply, adoptCopy } = await remoteSetup(t);
  await apply(inWranglerOrder.slice(0, 3));
  const adopted = await adoptCopy();
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  // A hand-run wrangler d1 execute after the export: the copy's check says nothing of this schema.
  for (const change of ["ALTER TABLE notes ADD COLUMN pinned INTEGER", "CREATE INDEX notes_body ON notes (body)"]) {
    await db.prepare(change).run();
    await assert.rejects(executeFile(db, path.join(project.root, "adopt.sql")), /CHECK constraint failed: schema_changed_since_the_copy/, change);
    assert.deepEqual((await worker.call("d1", "query", { sql: "SELECT name FROM sqlite_master WHERE name LIKE 'schema_migrations%'" })).result, []);
    await db.prepare(change.startsWith("ALTER") ? "ALTER TABLE notes DROP COLUMN pinned" : "DROP INDEX notes_body").run();
  }
  // Once the schema is the copy's again, the file runs.
  await executeFile(db, path.join(project.root, "adopt.sql"));
  assert.deepEqual(
    ((await worker.call("d1", "history")).result as { version: number }[]).map((row) => row.version),
    [1, 2, 3],
  );
});

test("remote D1 with an fts5 table, which wrangler d1 export refuses: the copy exported --table by --table, its virtual table made again from D1's own text, adopts, and the SQL runs", async (t) => {
  const project = wranglerProject(t);
  const migrations = path.join(project.root, "db", "migrations");
  writeFileSync(
    path.join(migrations, "0005_search.sql"),
    "CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes', content_rowid='id');\nCREATE TRIGGER notes_fts_insert AFTER INSERT ON notes BEGIN INSERT INTO notes_fts(rowid, body) VALUES (new.id, new.body); END;\n",
  );
  assert.equal((await runCli(["import", "wrangler", ".", "--empty-down", "irreversible", "--yes"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const d1 = await openD1(makeTempDir(t));
  t.after(() => d1.dispose());
  await wranglerApply(d1.db, migrations, [...inWranglerOrder.slice(0, 4), "0005_search.sql"], "app_migrations");
  // wrangler d1 export's dump (D1's and Miniflare's): a database holding a virtual table is refused whole.
  const dump = (...tables: string[]) =>
    d1.db
      .prepare("PRAGMA miniflare_d1_export(?,?,?);")
      .bind(false, false, ...tables)
      .raw();
  await assert.rejects(dump(), /cannot export databases with Virtual Tables/);
  // docs/adopting.md's route: every other object by --table, then the virtual table's CREATE as D1 holds it (which makes its shadow tables as D1's).
  const objects = (await d1.db.prepare(docsQuery("d1-fts-objects")).all<{ name: string }>()).results.map((row) => row.name);
  assert.deepEqual(objects.toSorted(), ["app_migrations", "authors", "notes", "notes_fts_insert", "tags"]);
  const virtual = (await d1.db.prepare(docsQuery("d1-fts-virtual")).all<{ sql: string }>()).results.map((row) => `${row.sql};`);
  const copy = path.join(project.root, "d1-copy.db");
  const file = new Database(copy);
  file.exec([...((await dump(...objects))[0] as string[]), ...virtual].join("\n"));
  file.close();
  const adopted = await runCli(["adopt", "--db", copy, "--write-sql", "d1-adopt.sql", "--json"], { cwd: project.root });
  assert.equal(adopted.code, 0, adopted.stdout);
  await executeFile(d1.db, path.join(project.root, "d1-adopt.sql"));
  assert.deepEqual(
    (await d1.db.prepare("SELECT version FROM schema_migrations ORDER BY version").all<{ version: number }>()).results.map((row) => row.version),
    [1, 2, 3, 4, 5],
  );
});

/** The SQL of a docs/adopting.md `sql` block, by its guide name. */
function docsQuery(name: string): string {
  return block(guideBlocks(readFileSync(path.join(repoRoot, "docs", "adopting.md"), "utf8")), name).text.trim();
}

test("a Durable Object's storage, adopted through a copy it exports: the object runs the written SQL in one transactionSync, and its up applies only the rest", async (t) => {
  const { project, worker } = await remoteSetup(t);
  const call = async (op: string, args: Record<string, unknown> = {}) => {
    const answer = await worker.call("do/app", op, args);
    assert.equal(answer.error, undefined, `${op}: ${JSON.stringify(answer.error)}`);
    return answer.result;
  };
  // The object's own runner applied four files as wrangler applies them to D1, each with its row, in one transaction.
  await call("exec", { sql: historyTable("app_migrations") });
  for (const name of inWranglerOrder.slice(0, 4)) {
    const sql = readFileSync(path.join(project.root, "db", "migrations", name), "utf8")
      .replace("BEGIN TRANSACTION;", "")
      .replace("COMMIT;", "");
    await call("exec-file", { sql: `${sql}\nINSERT INTO "app_migrations" (name) values ('${name}');` });
  }
  assert.equal((await worker.call("do/app", "up")).error?.throughCopy, true);
  const copy = path.join(makeTempDir(t), "object.db");
  await exportToFile(async (sql) => (await call("query", { sql })) as Record<string, unknown>[], copy);
  const adopted = await runCli(["adopt", "--db", copy, "--write-sql", "object-adopt.sql", "--json"], { cwd: project.root });
  assert.equal(adopted.code, 0, adopted.stdout);
  await call("exec-file", { sql: readFileSync(path.join(project.root, "object-adopt.sql"), "utf8") });
  assert.deepEqual(
    ((await call("up")) as { steps: { version: number }[] }).steps.map((step) => step.version),
    [5],
  );
  assert.equal(((await call("status")) as { problem: unknown }).problem, null);
});

test("a local Durable Object's file (wrangler dev's .wrangler/state/v3/do), which holds Cloudflare's _cf_KV, is adopted and verified with the SQLite CLI", async (t) => {
  const { project, worker, persistDir } = await remoteSetup(t);
  await worker.call("do/app", "exec", { sql: historyTable("app_migrations") });
  for (const name of inWranglerOrder.slice(0, 2)) {
    const sql = readFileSync(path.join(project.root, "db", "migrations", name), "utf8");
    assert.equal((await worker.call("do/app", "exec-file", { sql: `${sql}\nINSERT INTO "app_migrations" (name) values ('${name}');` })).error, undefined);
  }
  assert.equal((await worker.call("do/app", "kv-put", { key: "visits", value: 1 })).error, undefined);
  await worker.dispose();
  const objects = path.join(persistDir, "do", "-MigratedObject");
  const file = path.join(
    objects,
    readdirSync(objects).find((name) => name.endsWith(".sqlite"))!,
  );
  const run = async (...args: string[]) => JSON.parse((await runCli([...args, "--db", file, "--json"], { cwd: project.root })).stdout) as Record<string, unknown>;
  const adopted = await run("adopt");
  assert.deepEqual(adopted.recorded, [1, 2], JSON.stringify(adopted));
  assert.equal((await run("verify")).ok, true);
});

test("drizzle-kit's folder under a Wrangler config is either tool's to gen, and one wrangler applied to D1 is imported with wrangler and adopted", async (t) => {
  const project = createTestProject(t);
  cpSync(path.join(fixturesDir, "import", "drizzle"), path.join(project.root, "migrations"), { recursive: true });
  writeFileSync(path.join(project.root, "wrangler.toml"), '[[d1_databases]]\nbinding = "DB"\n');
  const generated = await project.generate();
  assert.deepEqual(
    generated.problems.map((problem) => [problem.code, problem.foreign?.tool]),
    [["FOREIGN_MIGRATIONS", "drizzle or wrangler"]],
  );
  assert.match(generated.problems[0]!.message, /stepwise import drizzle\|wrangler migrations-imported/);
  renameSync(path.join(project.root, "migrations"), path.join(project.root, "migrations-imported"));
  const state = makeTempDir(t);
  const d1 = await openD1(state);
  const names = readdirSync(path.join(project.root, "migrations-imported"))
    .filter((name) => name.endsWith(".sql"))
    .sort(compareMigrationPaths);
  await wranglerApply(d1.db, path.join(project.root, "migrations-imported"), names);
  await d1.dispose();
  // Imported as drizzle's, the map looks for __drizzle_migrations, and the error names the tool whose table the database holds.
  assert.equal((await runCli(["import", "drizzle", "migrations-imported", "--empty-down", "irreversible", "--yes"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const wrong = errorOf((await runCli(["adopt", "--db", d1.file(), "--json"], { cwd: project.root })).stdout);
  assert.deepEqual([wrong.code, wrong.table, wrong.otherTools], ["ADOPT_HISTORY_MISSING", "__drizzle_migrations", ["wrangler"]]);
  // stepwise's own (empty) history table bears dbmate's and golang-migrate's name: it is not theirs.
  const withOwn = path.join(makeTempDir(t), "with-own.db");
  copyFileSync(d1.file(), withOwn);
  const own = new Database(withOwn);
  own.exec(
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER, state TEXT NOT NULL DEFAULT 'applied' CHECK (state IN ('applied', 'started')), owner TEXT)",
  );
  own.close();
  const ownError = errorOf((await runCli(["adopt", "--db", withOwn, "--json"], { cwd: project.root })).stdout);
  assert.deepEqual([ownError.code, ownError.otherTools], ["ADOPT_HISTORY_MISSING", ["wrangler"]]);
  rmSync(path.join(project.root, "migrations"), { recursive: true });
  assert.equal((await runCli(["import", "wrangler", "migrations-imported", "--empty-down", "irreversible", "--yes"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const adopted = JSON.parse((await runCli(["adopt", "--db", d1.file(), "--json"], { cwd: project.root })).stdout) as Record<string, unknown>;
  assert.deepEqual(
    adopted.recorded,
    names.map((_, index) => index + 1),
    JSON.stringify(adopted),
  );
  assert.equal(JSON.parse((await runCli(["verify", "--db", d1.file(), "--json"], { cwd: project.root })).stdout).ok, true);
});
