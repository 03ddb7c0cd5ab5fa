/**
 * `stepwise import knex` and `adopt` against databases Knex itself migrated, on SQLite (better-sqlite3) and PostgreSQL: a folder whose string order (Knex's) differs from its numeric order, ES module
 * and CommonJS migrations, `config = { transaction: false }`, a nested `knex.transaction()` (a savepoint inside stepwise's transaction); then Knex's refusals.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import knex from "knex";
import { block, commandsOf, guideBlocks } from "./support/guide-blocks.js";
import { fixturesDir, repoRoot, runCli } from "./support/project.js";
import { migrateWithKnex } from "./support/js-tool-migrators.js";
import { cliOn, jsToolProject, newTarget, runJsToolRoundTrip, schemaOf, type JsToolCase, type Json } from "./support/js-tool-import.js";

const FILES: Record<string, string> = {
  "1_create_users.js": `export async function up(knex) {
  await knex.schema.createTable("users", (table) => {
    table.increments("id");
    table.string("name").notNullable();
  });
}
export async function down(knex) {
  await knex.schema.dropTable("users");
}
`,
  // Knex runs it first: "10_" sorts before "1_" as strings ("0" before "_").
  "10_create_tags.cjs": `exports.config = { transaction: false };
exports.up = (knex) => knex.schema.createTable("tags", (table) => {
  table.increments("id");
  table.string("label").notNullable().unique();
});
exports.down = (knex) => knex.schema.dropTable("tags");
`,
  "2_create_posts.js": `export async function up(knex) {
  await knex.schema.createTable("posts", (table) => {
    table.increments("id");
    table.integer("user_id").notNullable().references("id").inTable("users");
    table.text("body");
  });
  // A nested transaction: under Knex a savepoint of the migration's transaction.
  await knex.transaction(async (trx) => {
    await trx("users").insert({ name: "first" });
  });
}
export async function down(knex) {
  await knex.schema.dropTable("posts");
}
`,
  "3_add_email.js": `export const up = (knex) => knex.schema.alterTable("users", (table) => {
  table.string("email");
  table.index(["name"], "users_name");
});
export const down = (knex) => knex.schema.alterTable("users", (table) => {
  table.dropIndex(["name"], "users_name");
  table.dropColumn("email");
});
`,
  "README.md": "Not a migration: Knex loads only its extensions.\n",
};

const knexCase = (dialect: "sqlite" | "postgres"): JsToolCase => ({
  tool: "knex",
  dialect,
  files: FILES,
  packages: ["knex"],
  toolTables: ["knex_migrations", "knex_migrations_lock"],
  migrate: migrateWithKnex,
});

for (const dialect of ["sqlite", "postgres"] as const) {
  test(`knex on ${dialect}: imported in Knex's order, served over stepwise's connection, adopted one behind, up, verify, and a fresh database gets Knex's schema`, async (t) => {
    const { project, imported } = await runJsToolRoundTrip(t, knexCase(dialect), 1);
    assert.deepEqual(
      imported.migrations.map((migration: Json) => [migration.file, migration.transaction, migration.down]),
      [
        ["001_create_tags.ts", false, "module"],
        ["002_create_users.ts", true, "module"],
        ["003_create_posts.ts", true, "module"],
        ["004_add_email.ts", true, "module"],
      ],
    );
    assert.deepEqual(imported.helpers, ["lib/stepwise-knex.ts"]);
    const wrapper = readFileSync(path.join(project.root, "migrations", "001_create_tags.ts"), "utf8");
    assert.match(wrapper, /from "\.\.\/knex-migrations\/10_create_tags\.cjs"/);
    assert.match(wrapper, new RegExp(`from "stepwise-migrate/${dialect === "sqlite" ? "better-sqlite3" : "pg"}"`));
    if (dialect === "postgres") return;
    // The registry is a static import graph a bundler follows to the originals.
    const bundle = await build({ entryPoints: [path.join(project.root, "generated", "registry.ts")], bundle: true, write: false, platform: "node", format: "esm", packages: "external" });
    assert.match(bundle.outputFiles[0]!.text, /users_name/);
    // gen's checksum covers each original: an edit to one (its code, as gen hashes by meaning) is a stale registry.
    const original = path.join(project.root, "knex-migrations", "3_add_email.js");
    writeFileSync(original, readFileSync(original, "utf8").replaceAll('"email"', '"email_address"'));
    const stale = await runCli(["gen", "--check"], { cwd: project.root });
    assert.equal(stale.code, 1, stale.stdout + stale.stderr);
  });
}

test("knex refusals: a seed, a migration without down, a config stepwise cannot read, CoffeeScript, TypeScript's export =; each at its file and line, nothing written", async (t) => {
  const { project } = jsToolProject(t, {
    ...knexCase("sqlite"),
    files: {
      "1_seed_users.js": "export async function seed(knex) {\n  await knex('users').insert({ name: 'a' });\n}\n",
      "2_no_down.js": "export async function up(knex) {}\n",
      "3_config.js": "const transaction = process.env.TX === '1';\nexport const config = { transaction };\nexport async function up() {}\nexport async function down() {}\n",
      "4_coffee.coffee": "exports.up = (knex) ->\n",
      "5_cjs.ts": "const migration = { up() {}, down() {} };\nexport = migration;\n",
    },
  });
  const run = await runCli(["import", "knex", "knex-migrations", "--json"], { cwd: project.root });
  assert.equal(run.code, 1);
  const error = (JSON.parse(run.stdout) as Json).error;
  assert.equal(error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    error.problems.map((problem: Json) => [problem.file, problem.line]),
    [
      ["knex-migrations/1_seed_users.js", 1],
      ["knex-migrations/2_no_down.js", 1],
      ["knex-migrations/3_config.js", 2],
      ["knex-migrations/4_coffee.coffee", 1],
      ["knex-migrations/5_cjs.ts", 2],
    ],
  );
});

test("docs/adopting.md's import-knex commands, typed as written on a Knex folder that gen names, import it, gen passes, and the page's wrapper is the one written", async (t) => {
  const { project } = jsToolProject(t, knexCase("sqlite"));
  renameSync(path.join(project.root, "knex-migrations"), project.migrationsDir);
  const gen = await runCli(["gen", "--json"], { cwd: project.root });
  assert.equal(gen.code, 1);
  const problems = (JSON.parse(gen.stdout) as Json).problems as Json[];
  assert.deepEqual(
    problems.map((problem) => [problem.code, problem.foreign?.tool]),
    [["FOREIGN_MIGRATIONS", "Knex"]],
  );
  assert.match(problems[0]!.message, /stepwise import knex migrations-knex/);
  const page = readFileSync(path.join(repoRoot, "docs", "adopting.md"), "utf8");
  const commands = commandsOf(block(guideBlocks(page), "import-knex"));
  assert.deepEqual(
    commands.map((words) => words.slice(0, 3).join(" ")),
    ["git mv migrations", "npx stepwise import", "npx stepwise import", "npx stepwise gen"],
  );
  for (const words of commands) {
    // No git repository here: the move is the rename git would make.
    if (words[0] === "git") renameSync(path.join(project.root, words[2]!), path.join(project.root, words[3]!));
    else {
      const run = await runCli(words.slice(2), { cwd: project.root });
      assert.equal(run.code, 0, `${words.join(" ")}: ${run.stdout}${run.stderr}`);
    }
  }
  const shown = /A wrapper \(`migrations\/(\S+)`\) reads:\n\n```ts\n([\s\S]*?)```/.exec(page)!;
  assert.equal(readFileSync(path.join(project.migrationsDir, shown[1]!), "utf8"), shown[2]);
});

test("knex: file names with quotes stay file names in the wrapper (its import and comment), and the migration applies; a backslash, % or line break is refused; a helper already there is IMPORT_TARGET_NOT_EMPTY", async (t) => {
  const body = 'export const up = (knex) => knex.schema.createTable("odd", (table) => table.increments("id"));\nexport const down = (knex) => knex.schema.dropTable("odd");\n';
  const { project } = jsToolProject(t, { ...knexCase("sqlite"), files: { '1_it\'s "odd" *.js': body } });
  const imported = await runCli(["import", "knex", "knex-migrations", "--yes"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "odd");
  const up = await cliOn(project, target, "up");
  assert.equal(up.code, 0, JSON.stringify(up.json) + up.stderr);
  assert.equal((await cliOn(project, target, "status")).json.currentVersion, 1);

  const hostile = jsToolProject(t, { ...knexCase("sqlite"), files: { "1_a\\b.js": body, "2_c%41.js": body } });
  const refusedNames = JSON.parse((await runCli(["import", "knex", "knex-migrations", "--json"], { cwd: hostile.project.root })).stdout) as Json;
  assert.equal(refusedNames.error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    refusedNames.error.problems.map((problem: Json) => problem.file),
    ["knex-migrations/1_a\\b.js", "knex-migrations/2_c%41.js"],
  );
  // A line break is refused as the folder is listed, for every tool, before any file is read.
  const broken = jsToolProject(t, { ...knexCase("sqlite"), files: { "1_a.js": body, "3_d\ne.js": body } });
  const refusedBreak = JSON.parse((await runCli(["import", "knex", "knex-migrations", "--json"], { cwd: broken.project.root })).stdout) as Json;
  assert.equal(refusedBreak.error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    refusedBreak.error.problems.map((problem: Json) => problem.file),
    ["knex-migrations/3_d\ne.js"],
  );

  const again = jsToolProject(t, { ...knexCase("sqlite"), files: { "1_a.js": body } });
  mkdirSync(path.join(again.project.migrationsDir, "lib"), { recursive: true });
  writeFileSync(path.join(again.project.migrationsDir, "lib", "stepwise-knex.ts"), "// the app's own\n");
  const refused = JSON.parse((await runCli(["import", "knex", "knex-migrations", "--yes", "--json"], { cwd: again.project.root })).stdout) as Json;
  assert.equal(refused.error.code, "IMPORT_TARGET_NOT_EMPTY");
  assert.deepEqual(refused.error.files, ["lib/stepwise-knex.ts"]);
});

test("knex: a migration that throws after its queries leaves nothing, its knex having run them inside stepwise's transaction", async (t) => {
  const { project } = jsToolProject(t, {
    ...knexCase("sqlite"),
    files: {
      "1_fails.js": `export async function up(knex) {
  await knex.schema.createTable("kept", (table) => table.increments("id"));
  await knex("kept").insert({});
  await knex.transaction(async (trx) => trx.schema.createTable("nested", (table) => table.increments("id")));
  throw new Error("fails after its queries");
}
export async function down() {}
`,
    },
  });
  assert.equal((await runCli(["import", "knex", "knex-migrations", "--yes"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "fails");
  const up = await cliOn(project, target, "up");
  assert.equal(up.json.error?.code, "MIGRATION_FAILED");
  assert.deepEqual(await schemaOf(target, []), []);
});

for (const dialect of ["sqlite", "postgres"] as const) {
  test(`knex on ${dialect}: gen --check reports an original that fails at its own file and line, as up does, not at its wrapper, with a fix`, async (t) => {
    const { project } = jsToolProject(t, {
      ...knexCase(dialect),
      files: {
        ...FILES,
        "3_add_email.js": `export async function up(knex) {\n  await knex.raw("SELEC broken");\n}\nexport async function down() {}\n`,
      },
    });
    assert.equal((await runCli(["import", "knex", "knex-migrations", "--yes"], { cwd: project.root })).code, 0);
    assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
    const database = dialect === "postgres" ? await newTarget(t, project, dialect, "replay") : null;
    const env = { DATABASE_URL: database?.dialect === "postgres" ? database.url : undefined };
    // The bin as a child: the stack's depth is the bin's own setting.
    const check = await runCli(["gen", "--check", "--json"], { cwd: project.root, env, child: true });
    const report = JSON.parse(check.stdout) as Json;
    assert.deepEqual(
      report.problems.map((problem: Json) => [problem.code, problem.file, problem.line, problem.column]),
      [["REPLAY_FAILED", "knex-migrations/3_add_email.js", 2, 3]],
      check.stdout,
    );
    assert.match(report.fix, /knex-migrations\/3_add_email\.js:2/);
    const text = await runCli(["gen", "--check"], { cwd: project.root, env, child: true });
    assert.match(text.stderr, /^knex-migrations\/3_add_email\.js:2:3: .*\[REPLAY_FAILED\]$/m);
  });
}

test("knex: a database whose knex_migrations names the migrations with another script extension (run from the .ts source, imported from compiled .js, or the other way) is adopted; another name is still ADOPT_UNKNOWN_MIGRATION", async (t) => {
  const { project, dir } = jsToolProject(t, knexCase("sqlite"));
  assert.equal((await runCli(["import", "knex", "knex-migrations", "--yes"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const migrateRenamed = async (name: string, extra: string[]) => {
    const target = await newTarget(t, project, "sqlite", name);
    const names = await migrateWithKnex(target, dir);
    const db = knex({ client: "better-sqlite3", connection: { filename: (target as { file: string }).file }, useNullAsDefault: true });
    try {
      await db.raw("UPDATE knex_migrations SET name = replace(name, '.js', '.ts')");
      for (const added of extra) await db("knex_migrations").insert({ name: added, batch: 2, migration_time: new Date() });
    } finally {
      await db.destroy();
    }
    return { target, names };
  };
  const { target, names } = await migrateRenamed("renamed", []);
  const adopted = await cliOn(project, target, "adopt");
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.equal(adopted.json.version, names.length);
  assert.equal((await cliOn(project, target, "verify")).json.ok, true);

  const other = await migrateRenamed("other", ["99_elsewhere.ts"]);
  const refused = await cliOn(project, other.target, "adopt");
  assert.deepEqual([refused.code, refused.json.error?.code, refused.json.error?.ids], [1, "ADOPT_UNKNOWN_MIGRATION", ["99_elsewhere.ts"]]);
});

test("knex: files named by a release version (2.2.17.js, as Wiki.js names them) keep the whole version as their name; a history a semver migrationSource ordered is ADOPT_HISTORY_UNORDERED", async (t) => {
  const fixture = path.join(fixturesDir, "knex-semver-names");
  const files = Object.fromEntries(readdirSync(fixture).map((name) => [name, readFileSync(path.join(fixture, name), "utf8")]));
  const { project, dir } = jsToolProject(t, { ...knexCase("sqlite"), files });
  const imported = await runCli(["import", "knex", "knex-migrations", "--yes", "--json"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  assert.deepEqual(
    (JSON.parse(imported.stdout) as Json).migrations.map((migration: Json) => [migration.file, migration.originalId]),
    [
      ["001_2_0_0.ts", "2.0.0.js"],
      ["002_2_2_17.ts", "2.2.17.js"],
      ["003_2_2_3.ts", "2.2.3.js"],
    ],
  );
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "semver");
  // The app's migrationSource sorts the names as versions: 2.2.3 runs before 2.2.17, where Knex's default source (and the import) puts it after.
  const semver = (name: string) => name.replace(/\.js$/, "").split(".").map(Number);
  const bySemver = (a: string, b: string) => semver(a).reduce((order, part, index) => order || part - semver(b)[index]!, 0);
  const migrationSource = {
    getMigrations: async () => Object.keys(files).sort(bySemver),
    getMigrationName: (name: string) => name,
    getMigration: async (name: string) => (await import(path.join(dir, name))) as knex.Knex.Migration,
  };
  const db = knex({ client: "better-sqlite3", connection: { filename: (target as { file: string }).file }, useNullAsDefault: true, migrations: { migrationSource } });
  await db.migrate.latest();
  await db.destroy();
  const refused = await cliOn(project, target, "adopt");
  assert.equal(refused.json.error?.code, "ADOPT_HISTORY_UNORDERED");
  assert.equal((await cliOn(project, target, "status")).json.currentVersion, 0);
});

for (const dialect of ["sqlite", "postgres"] as const) {
  test(`knex on ${dialect}: a down that fails under Knex's runner is located at the original's line by the bin, past Knex's frames (on PostgreSQL, whose driver fails the query where no frame of the migration is left), inside knex.transaction() too; one that returns Knex's promise without awaiting it, at the wrapper's`, async (t) => {
    const fixture = path.join(fixturesDir, "knex-failing-down");
    const awaited = Object.fromEntries(readdirSync(fixture).map((name) => [name, readFileSync(path.join(fixture, name), "utf8")]));
    const returned = {
      "1_create_items.js": 'export const up = (knex) => knex.schema.createTable("items", (table) => table.increments("id"));\nexport const down = (knex) => knex.schema.dropTable("joplin_items");\n',
    };
    // Knex runs a transaction's queries through a client of its own, made from the dialect's prototype.
    const inTransaction = {
      "1_create_items.js":
        'export const up = (knex) => knex.schema.createTable("items", (table) => table.increments("id"));\nexport async function down(knex) {\n  await knex.transaction(async (trx) => {\n    await trx.schema.dropTable("joplin_items");\n  });\n}\n',
    };
    const located: Json[] = [];
    for (const files of [awaited, inTransaction, returned]) {
      const { project } = jsToolProject(t, { ...knexCase(dialect), files });
      assert.equal((await runCli(["import", "knex", "knex-migrations", "--yes"], { cwd: project.root })).code, 0);
      await project.generateAsBin();
      const target = await newTarget(t, project, dialect, "app");
      const where = target.dialect === "sqlite" ? ["--db", target.file] : ["--driver", "pg", "--url", target.url];
      // The bin as a child: the stack's depth is the bin's own setting.
      const run = (...args: string[]) => runCli([...args, ...where, "--json"], { cwd: project.root, child: true });
      assert.equal((await run("up")).code, 0);
      const down = await run("down");
      const { error } = JSON.parse(down.stdout) as Json;
      assert.equal(error.code, "MIGRATION_FAILED");
      located.push({ file: error.location?.file, line: error.location?.line });
    }
    assert.deepEqual(located, [
      { file: "knex-migrations/1_create_items.js", line: 7 },
      { file: "knex-migrations/1_create_items.js", line: 4 },
      { file: "migrations/001_create_items.ts", line: 13 },
    ]);
  });
}
