/**
 * `stepwise import umzug` and `adopt` against SQLite databases Umzug itself migrated with its JSONStorage, the driver connection (better-sqlite3) as context: a folder whose code-unit order (Umzug's
 * sort of its glob) differs from its numeric order, ES module, CommonJS and TypeScript migrations, one without down; then the same history in SequelizeStorage's `SequelizeMeta` table, and the
 * refusals (a Sequelize QueryInterface migration, a .sql file).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { JSONStorage, Umzug } from "umzug";
import { globToRegExp } from "../codegen/import/glob-pattern.js";
import { block, commandsOf, guideBlocks } from "./support/guide-blocks.js";
import { repoRoot, runCli } from "./support/project.js";
import { migrateWithUmzug, storageOf } from "./support/js-tool-migrators.js";
import { cliOn, jsToolProject, newTarget, runJsToolRoundTrip, type JsToolCase, type Json, type Target } from "./support/js-tool-import.js";

const FILES: Record<string, string> = {
  "1_create_users.mjs": `export async function up({ context: db }) {
  db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
}
export async function down({ context: db }) {
  db.exec("DROP TABLE users");
}
`,
  // Umzug runs it first: "10_" sorts before "1_" as strings ("0" before "_").
  "10_create_tags.cjs": `module.exports = {
  async up({ context }) {
    context.exec("CREATE TABLE tags (label TEXT PRIMARY KEY)");
  },
  async down({ context }) {
    context.exec("DROP TABLE tags");
  },
};
`,
  "2_add_email.ts": `import type { MigrationFn } from "umzug";
import type { Database } from "better-sqlite3";

export const up: MigrationFn<Database> = async ({ context, name }) => {
  context.exec("ALTER TABLE users ADD COLUMN email TEXT");
  context.prepare("INSERT INTO tags (label) VALUES (?)").run(name);
};
`,
  "3_index_users.js": `export const up = async ({ context }) => {
  context.exec("CREATE INDEX users_name ON users (name)");
};
export const down = async ({ context }) => {
  context.exec("DROP INDEX users_name");
};
`,
};

const umzugCase: JsToolCase = {
  tool: "umzug",
  dialect: "sqlite",
  files: FILES,
  packages: ["umzug"],
  toolTables: [],
  migrate: migrateWithUmzug,
  importArgs: ["--empty-down", "no-op"],
  adoptArgs: (target) => ["--history-file", storageOf(target)],
};

test("umzug: imported in Umzug's order, { name, path, context } served with stepwise's connection as context, adopted from its JSONStorage one behind, up, verify, and a fresh database gets its schema", async (t) => {
  const { imported } = await runJsToolRoundTrip(t, umzugCase, 1);
  assert.deepEqual(
    imported.migrations.map((migration: Json) => [migration.file, migration.originalId, migration.transaction, migration.down]),
    [
      ["001_create_tags.ts", "10_create_tags.cjs", false, "module"],
      ["002_create_users.ts", "1_create_users.mjs", false, "module"],
      ["003_add_email.ts", "2_add_email.ts", false, "no-op"],
      ["004_index_users.ts", "3_index_users.js", false, "module"],
    ],
  );
});

test("umzug: the history in SequelizeStorage's SequelizeMeta table is adopted, kept out of verify, and dropped with --drop-old-table; --history-file with it is a usage error, and a file in another shape ADOPT_HISTORY_MISSING", async (t) => {
  const { project, dir } = jsToolProject(t, umzugCase);
  assert.equal((await runCli(["import", "umzug", "umzug-migrations", "--yes", "--empty-down", "irreversible"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "sequelize");
  const names = await migrateWithUmzug(target, dir, 3);
  const db = new Database((target as { file: string }).file);
  // SequelizeStorage's table, as Sequelize creates it on SQLite.
  db.exec("CREATE TABLE IF NOT EXISTS `SequelizeMeta` (`name` VARCHAR(255) NOT NULL UNIQUE PRIMARY KEY)");
  for (const name of names) db.prepare("INSERT INTO SequelizeMeta (name) VALUES (?)").run(name);
  db.close();
  assert.equal((await cliOn(project, target, "adopt", "--drop-old-table", "--history-file", storageOf(target))).code, 2);
  writeFileSync(`${storageOf(target)}.bad`, JSON.stringify({ executed: names }));
  writeFileSync(`${storageOf(target)}.broken`, '["1_create_users.mjs",');
  // A file in another shape, one that is not JSON, and one that does not exist: each named with why, as the map's own error does.
  const refusals: Json[] = [];
  for (const suffix of [".bad", ".broken", ".none"]) {
    const refused = await cliOn(project, target, "adopt", "--history-file", `${storageOf(target)}${suffix}`);
    assert.equal(refused.code, 1, JSON.stringify(refused.json));
    refusals.push(refused.json.error);
  }
  assert.deepEqual(
    refusals.map(({ code, tool, table, schema }) => [code, tool, table, schema]),
    [".bad", ".broken", ".none"].map((suffix) => ["ADOPT_HISTORY_MISSING", "umzug", `${storageOf(target)}${suffix}`, null]),
  );
  assert.equal(refusals[0]!.reason, "it is not umzug's history file");
  assert.match(refusals[1]!.reason, /^it cannot be read as JSON \(/);
  assert.equal(refusals[2]!.reason, "it does not exist");
  const adopted = await cliOn(project, target, "adopt");
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.equal(adopted.json.version, 3);
  assert.equal(adopted.json.oldTable, '"SequelizeMeta"');
  assert.equal((await cliOn(project, target, "verify")).json.ok, true);
  assert.equal((await cliOn(project, target, "adopt", "--drop-old-table")).json.oldTableDropped, true);
  assert.equal((await cliOn(project, target, "up")).code, 0);
  assert.equal((await cliOn(project, target, "verify")).json.ok, true);
});

test("umzug on PostgreSQL: a query whose promise the migration returns without awaiting it fails located at the migration's call, not at the wrapper", async (t) => {
  const files = {
    "1_create_users.js": `export const up = ({ context }) => context.query("CREATE TABLE users (id serial PRIMARY KEY)");
// Drops a table up never made, as a real history's down did, and returns the query's promise: the down fails at line 3.
export const down = ({ context }) => context.query("DROP TABLE accounts");
`,
  };
  const { project } = jsToolProject(t, { ...umzugCase, dialect: "postgres", files });
  assert.equal((await runCli(["import", "umzug", "umzug-migrations", "--yes"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const target = await newTarget(t, project, "postgres", "unawaited");
  assert.equal((await cliOn(project, target, "up")).code, 0);
  const down = await cliOn(project, target, "down");
  assert.equal(down.json.error?.code, "MIGRATION_FAILED");
  assert.equal(down.json.error.file, "migrations/001_create_users.ts");
  assert.deepEqual({ file: down.json.error.location?.file, line: down.json.error.location?.line }, { file: "umzug-migrations/1_create_users.js", line: 3 });
});

test("umzug refusals: a Sequelize QueryInterface migration and a .sql file, at their lines", async (t) => {
  const { project } = jsToolProject(t, {
    ...umzugCase,
    files: {
      "1_users.js": "export async function up({ context: queryInterface }) {\n  await queryInterface.createTable('users', {});\n}\n",
      "2_raw.sql": "CREATE TABLE t (id INTEGER);\n",
    },
  });
  const run = JSON.parse((await runCli(["import", "umzug", "umzug-migrations", "--json"], { cwd: project.root })).stdout) as Json;
  assert.equal(run.error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    run.error.problems.map((problem: Json) => [problem.file, problem.line]),
    [
      ["umzug-migrations/2_raw.sql", 1],
      ["umzug-migrations/1_users.js", 1],
    ],
  );
});

test("docs/adopting.md's adopt-umzug commands, typed as written, adopt a database Umzug migrated with its JSONStorage one behind, up applies the rest, and verify passes", async (t) => {
  const { project, dir } = jsToolProject(t, umzugCase);
  assert.equal((await runCli(["import", "umzug", "umzug-migrations", "--yes", "--empty-down", "no-op"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  mkdirSync(path.join(project.root, "data"));
  const target: Target = { dialect: "sqlite", file: path.join(project.root, "data", "app.db") };
  await migrateWithUmzug(target, dir, 3);
  renameSync(storageOf(target), path.join(project.root, "umzug.json"));
  const commands = commandsOf(block(guideBlocks(readFileSync(path.join(repoRoot, "docs", "adopting.md"), "utf8")), "adopt-umzug"));
  assert.deepEqual(
    commands.map((words) => words.slice(0, 3).join(" ")),
    ["npx stepwise adopt", "npx stepwise up", "npx stepwise verify"],
  );
  for (const words of commands) {
    const run = await runCli(words.slice(2), { cwd: project.root });
    assert.equal(run.code, 0, `${words.join(" ")}: ${run.stdout}${run.stderr}`);
  }
  assert.equal((await cliOn(project, target, "status")).json.currentVersion, 4);
});

test("umzug: a JSONStorage history naming the migrations as their compiled .js files (the import read the .ts, .cjs and .mjs sources) is adopted one behind, up, verify", async (t) => {
  await runJsToolRoundTrip(
    t,
    {
      ...umzugCase,
      adoptArgs: (target) => {
        const names = JSON.parse(readFileSync(storageOf(target), "utf8")) as string[];
        writeFileSync(`${storageOf(target)}.built`, JSON.stringify(names.map((name) => name.replace(/\.[cm]?[jt]s$/, ".js"))));
        return ["--history-file", `${storageOf(target)}.built`];
      },
    },
    1,
  );
});

test("umzug --glob: only the files the project's glob matches are migrations (a template beside them, which Umzug never ran, is left out), adopted from Umzug's history; --glob for another tool, or with **, is a usage error", async (t) => {
  const { project, dir } = jsToolProject(t, {
    ...umzugCase,
    files: {
      "20240101-create-users.cjs": `exports.up = async ({ context }) => {\n  context.exec("CREATE TABLE users (id INTEGER PRIMARY KEY)");\n};\n`,
      "20240102-add-email.cjs": `exports.up = async ({ context }) => {\n  context.exec("ALTER TABLE users ADD COLUMN email TEXT");\n};\n`,
      // The project's "create" command copies it; its glob (*-*.cjs) does not match it.
      "migration.template.cjs": `module.exports = {\n  async up({ context: queryInterface }) {},\n};\n`,
    },
  });
  const args = ["import", "umzug", "umzug-migrations", "--empty-down", "no-op", "--json"];
  assert.equal((JSON.parse((await runCli(args, { cwd: project.root })).stdout) as Json).error.code, "IMPORT_SOURCE_INVALID");
  const imported = await runCli([...args, "--glob", "migrations/*-*.cjs", "--yes"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  assert.deepEqual(
    (JSON.parse(imported.stdout) as Json).migrations.map((migration: Json) => migration.originalId),
    ["20240101-create-users.cjs", "20240102-add-email.cjs"],
  );
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "globbed");
  const db = new Database((target as { file: string }).file);
  try {
    await new Umzug({ migrations: { glob: ["*-*.cjs", { cwd: dir }] }, context: db, storage: new JSONStorage({ path: storageOf(target) }), logger: undefined }).up();
  } finally {
    db.close();
  }
  const adopted = await cliOn(project, target, "adopt", "--history-file", storageOf(target));
  assert.equal(adopted.json.version, 2, JSON.stringify(adopted.json));
  assert.equal((await cliOn(project, target, "verify")).json.ok, true);
  for (const refused of [
    ["import", "knex", "umzug-migrations", "--glob", "*.cjs", "--json"],
    ["import", "umzug", "umzug-migrations", "--glob", "migrations/**/*.cjs", "--json"],
    ["import", "umzug", "umzug-migrations", "--glob", "migrations/*/index.cjs", "--json"],
    // Patterns stepwise would read otherwise than a glob library: nested braces, an empty, unclosed or POSIX-named class, a range out of order, an unclosed brace.
    ["import", "umzug", "umzug-migrations", "--glob", "migrations/{0,{1,2}}*.cjs", "--json"],
    ["import", "umzug", "umzug-migrations", "--glob", "migrations/[]]*.cjs", "--json"],
    ["import", "umzug", "umzug-migrations", "--glob", "migrations/[!]]*.cjs", "--json"],
    ["import", "umzug", "umzug-migrations", "--glob", "migrations/[0-9*.cjs", "--json"],
    ["import", "umzug", "umzug-migrations", "--glob", "migrations/[[:digit:]]*.cjs", "--json"],
    ["import", "umzug", "umzug-migrations", "--glob", "migrations/[9-0]*.cjs", "--json"],
    ["import", "umzug", "umzug-migrations", "--glob", "migrations/{0,1*.cjs", "--json"],
  ]) {
    const run = await runCli(refused, { cwd: project.root });
    assert.equal(run.code, 2);
    assert.equal((JSON.parse(run.stdout) as Json).error.code, "USAGE");
  }
});

test("a --glob matches names as glob libraries do: no wildcard or class matches a leading dot, braces are alternatives, and \\ escapes", () => {
  const matches = (glob: string, names: string[]) => names.filter((name) => globToRegExp(glob)!.test(name));
  const names = [".x.js", "_x.js", "a.js", "b.js", "c.js", "ab.js", "*.js"];
  assert.deepEqual(matches("[!_]*.js", names), ["a.js", "b.js", "c.js", "ab.js", "*.js"]);
  assert.deepEqual(matches("[^_]*.js", names), ["a.js", "b.js", "c.js", "ab.js", "*.js"]);
  assert.deepEqual(matches("[._a]*.js", names), ["_x.js", "a.js", "ab.js"]);
  assert.deepEqual(matches("?*.js", names), ["_x.js", "a.js", "b.js", "c.js", "ab.js", "*.js"]);
  assert.deepEqual(matches("{*,.x}.js", names), [".x.js", "_x.js", "a.js", "b.js", "c.js", "ab.js", "*.js"]);
  assert.deepEqual(matches("m/{a,b}.js", names), ["a.js", "b.js"]);
  assert.deepEqual(matches("\\*.js", names), ["*.js"]);
  for (const glob of ["m/{a,{b,c}}.js", "[]]", "[!]]", "[a", "[[:alpha:]].js", "[z-a].js", "{a,b"]) assert.equal(globToRegExp(glob), null, glob);
});
