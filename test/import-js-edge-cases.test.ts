/**
 * Hostile and real-world inputs for the JavaScript tools' import and adopt: migrations as real projects write them (CommonJS objects, quoted config keys, commented-out exports, helpers beside
 * them, names with dots and spaces), and histories the tools leave behind (a lock still held, extra or missing entries), each checked against a database the tool itself made.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { build } from "esbuild";
import knex from "knex";
import { FileMigrationProvider, Kysely, Migrator, SqliteDialect } from "kysely";
import pg from "pg";
import { JSONStorage, Umzug } from "umzug";
import { repoRoot, runCli } from "./support/project.js";
import { migrateWithKnex, migrateWithNodePgMigrate, migrateWithUmzug, storageOf } from "./support/js-tool-migrators.js";
import { cliOn, jsToolProject, newTarget, runJsToolRoundTrip, type JsToolCase, type Json, type Target } from "./support/js-tool-import.js";

const KNEX_FILES: Record<string, string> = {
  // A CommonJS folder in an ES module app, as a long-lived Knex project's is.
  "package.json": '{ "type": "commonjs" }\n',
  // module.exports of functions declared above it, and an old config left in a comment: Knex runs it in a transaction.
  "20240101000000_init.js": `// exports.config = { transaction: false };
/* module.exports.config = { transaction: false } */
async function up(knex) {
  await knex.schema.createTable("users", (table) => {
    table.increments("id");
    table.string("name").notNullable();
  });
  await knex.raw("INSERT INTO users (name) VALUES (?), (?)", ["ada", "grace"]);
}
async function down(knex) {
  await knex.schema.dropTable("users");
}
module.exports = { up, down };
`,
  // Quoted keys, as JSON-minded code writes them: Knex reads transaction: false. A // inside a string or a regular expression starts no comment.
  "20240101000001_posts.cjs": `const guide = "https://knexjs.org/guide/migrations.html", slashes = /\\/\\//; exports.config = { "transaction": false };
exports.up = async function (knex) {
  await knex.schema.createTable("posts", (table) => {
    table.increments("id");
    table.integer("user_id").references("id").inTable("users");
    table.string("title");
    table.string("legacy");
  });
};
exports.down = async function (knex) {
  await knex.schema.dropTable("posts");
};
`,
  // TypeScript with Knex's types; a column dropped, which Knex does on SQLite by rebuilding the table (foreign keys and all).
  "20240101000002_drop_legacy.ts": `import type { Knex } from "knex";

export const config: Knex.MigrationConfig = { transaction: true };

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("posts", (table) => {
    table.dropColumn("legacy");
  });
  const [{ count }] = await knex("users").count({ count: "*" });
  await knex("posts").insert({ user_id: 1, title: \`users: \${count}\` });
}

export async function down(knex: Knex): Promise<void> {
  await knex("posts").del();
  await knex.schema.alterTable("posts", (table) => {
    table.string("legacy");
  });
}
`,
  // Arrow functions returning Knex's promise, and a transaction of its own inside.
  "20240101000003_tags.js": `exports.up = (knex) =>
  knex.transaction(async (trx) => {
    await trx.schema.createTable("tags", (table) => table.string("label").primary());
    await trx("tags").insert([{ label: "a" }, { label: "b" }]);
  });
exports.down = (knex) => knex.schema.dropTable("tags");
`,
  // A config declared, then exported by shorthand; a row's column named transaction later in the file is not Knex's setting.
  "20240101000004_audit.js": `const config = { transaction: false };
async function up(knex) {
  await knex.schema.createTable("audit", (table) => table.boolean("transaction"));
  await knex("audit").insert({ transaction: true });
}
async function down(knex) {
  await knex.schema.dropTable("audit");
}
module.exports = { up, down, config };
`,
  // A config typed with an object type of its own: the value after the `=` is Knex's setting, not the type's `transaction: boolean`, nor a union's first member.
  "20240101000005_typed.ts": `import type { Knex } from "knex";
export const config: { transaction: boolean } = { transaction: false };
export async function up(knex: Knex) {
  await knex.raw("CREATE TABLE typed (id integer)");
}
export async function down(knex: Knex) {
  await knex.raw("DROP TABLE typed");
}
`,
  "20240101000006_union.ts": `import type { Knex } from "knex";
export const config: { transaction: false } | { transaction: true } = { transaction: true };
export async function up(knex: Knex) {
  await knex.raw("CREATE TABLE unioned (id integer)");
}
export async function down(knex: Knex) {
  await knex.raw("DROP TABLE unioned");
}
`,
};

test("knex as real projects write it: module.exports of declared functions, a config left in comments, quoted config keys, TypeScript, a config typed with an object type, raw bindings, a SQLite table rebuild, a nested transaction", async (t) => {
  const spec: JsToolCase = { tool: "knex", dialect: "sqlite", files: KNEX_FILES, packages: ["knex"], toolTables: ["knex_migrations", "knex_migrations_lock"], migrate: migrateWithKnex };
  const { imported } = await runJsToolRoundTrip(t, spec, 2);
  assert.deepEqual(
    imported.migrations.map((migration: Json) => [migration.file, migration.transaction]),
    [
      ["001_init.ts", true],
      ["002_posts.ts", false],
      ["003_drop_legacy.ts", true],
      ["004_tags.ts", true],
      ["005_audit.ts", false],
      ["006_typed.ts", false],
      ["007_union.ts", true],
    ],
  );
});

/** Migrates a SQLite `target` with Kysely's Migrator and FileMigrationProvider: all migrations, or up to the `count`th. */
async function migrateWithKysely(target: Target, dir: string, count?: number): Promise<string[]> {
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database((target as { file: string }).file) }) });
  try {
    const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder: dir }) });
    const all = await migrator.getMigrations();
    const { error } = count === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(all[count - 1]!.name);
    if (error) throw error;
    return (await migrator.getMigrations()).filter((migration) => migration.executedAt !== undefined).map((migration) => migration.name);
  } finally {
    await db.destroy();
  }
}

const KYSELY_FILES: Record<string, string> = {
  // A helper the migrations import, whose comments speak of up() and down(): Kysely skips it (it exports no up).
  "columns.ts": `import type { CreateTableBuilder } from "kysely";

// Called from each migration's up() and down(): { up: adds, down: nothing }.
export function withTimestamps<T extends string>(table: CreateTableBuilder<T>) {
  return table.addColumn("created_at", "text", (column) => column.notNull().defaultTo("now"));
}
`,
  // A factory of migrations: its up is in the object it returns, so it is a helper, which Kysely skips.
  "factory.ts": `import type { Kysely } from "kysely";

export function createLookupTable(name: string) {
  return {
    up: async (db: Kysely<any>) => {
      await db.schema.createTable(name).addColumn("code", "text", (column) => column.primaryKey()).execute();
    },
    down: async (db: Kysely<any>) => {
      await db.schema.dropTable(name).execute();
    },
  };
}
`,
  // A migration the factory made.
  "2024.01.04_countries.ts": `import { createLookupTable } from "./factory.js";

const countries = createLookupTable("countries");
export const up = countries.up;
export const down = countries.down;
`,
  // A name with dots, and the sql template tag.
  "2024.01.01.init.ts": `import { sql, type Kysely } from "kysely";
import { withTimestamps } from "./columns.js";

export async function up(db: Kysely<any>): Promise<void> {
  await withTimestamps(db.schema.createTable("users").addColumn("id", "integer", (column) => column.primaryKey())).execute();
  await sql\`INSERT INTO users (id) VALUES (\${1})\`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("users").execute();
}
`,
  // A name with spaces, an .mts file, alterTable, and an up exported as a const arrow function.
  "2024.01.02 add email.mts": `import type { Kysely } from "kysely";

export const up = async (db: Kysely<any>) => {
  await db.schema.alterTable("users").addColumn("email", "text").execute();
};
`,
  // up and down on the default export, as FileMigrationProvider also reads them.
  "2024.01.03-index.js": `export default {
  async up(db) {
    await db.schema.createIndex("users_email").on("users").column("email").execute();
  },
  async down(db) {
    await db.schema.dropIndex("users_email").execute();
  },
};
`,
};

test("kysely as real projects write it: shared helpers beside the migrations (skipped: comments and a factory's returned up are no sign), a migration the factory made, names with dots and spaces, .mts, the sql tag, alterTable, a default export", async (t) => {
  const spec: JsToolCase = {
    tool: "kysely",
    dialect: "sqlite",
    files: KYSELY_FILES,
    packages: ["kysely"],
    toolTables: ["kysely_migration", "kysely_migration_lock"],
    migrate: migrateWithKysely,
    importArgs: ["--empty-down", "no-op"],
  };
  const { imported, project } = await runJsToolRoundTrip(t, spec, 1);
  assert.deepEqual(
    imported.migrations.map((migration: Json) => [migration.file, migration.originalId]),
    [
      ["001_init.ts", "2024.01.01.init"],
      ["002_add_email.ts", "2024.01.02 add email"],
      ["003_index.ts", "2024.01.03-index"],
      ["004_countries.ts", "2024.01.04_countries"],
    ],
  );
  // The helper is part of each importing wrapper's checksum: an edit to it is a stale registry.
  const helper = path.join(project.root, "kysely-migrations", "columns.ts");
  writeFileSync(helper, readFileSync(helper, "utf8").replace('"now"', '"today"'));
  assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 1);
});

const PGM_FILES: Record<string, string> = {
  // 17 digits are a UTC time: 2023-11-14, before the 13-digit millisecond timestamps below though it sorts after them as text. A dollar-quoted function holds semicolons.
  "20231114000000000_touch.sql": `-- Up Migration
CREATE FUNCTION touch() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- Down Migration
DROP FUNCTION touch();
`,
  "1700000000000_users.cjs": `exports.shorthands = { id: { type: "serial", primaryKey: true } };
exports.up = (pgm) => {
  pgm.createTable("users", { id: "id", full_name: "text", updated_at: "timestamptz" });
  pgm.sql("CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()");
};
exports.down = (pgm) => pgm.dropTable("users");
`,
  // An index built concurrently, outside any transaction, as node-pg-migrate requires.
  "1700000100000_index.cjs": `exports.up = (pgm) => {
  pgm.noTransaction();
  pgm.createIndex("users", "full_name", { concurrently: true, name: "users_full_name" });
};
exports.down = (pgm) => {
  pgm.noTransaction();
  pgm.dropIndex("users", "full_name", { concurrently: true, name: "users_full_name" });
};
`,
  // No down: node-pg-migrate reverses renameColumn. A noTransaction() left in a comment is not a call.
  "1700000200000_rename.cjs": `// pgm.noTransaction(); // once needed, no longer
exports.up = (pgm) => {
  pgm.renameColumn("users", "full_name", "name");
};
`,
  // noTransaction() in its down only: stepwise's setting covers both directions, so its up runs without a transaction too, and is not refused for not calling it.
  "1700000300000_nickname.cjs": `exports.up = (pgm) => {
  pgm.addColumn("users", { nickname: "text" });
  pgm.createIndex("users", "nickname", { name: "users_nickname" });
};
exports.down = (pgm) => {
  pgm.noTransaction();
  pgm.dropIndex("users", "nickname", { concurrently: true, name: "users_nickname" });
  pgm.dropColumn("users", "nickname");
};
`,
  // 2023-11-15 as UTC: after the 13-digit files; uses the first file's shorthand and a dollar-quoted body with a tag.
  "20231115000000000_posts.cjs": `exports.up = (pgm) => {
  pgm.createTable("posts", { id: "id", user_id: { type: "integer", references: "users" } });
  pgm.sql(\`CREATE FUNCTION post_count(u integer) RETURNS bigint AS $body$
    SELECT count(*) FROM posts WHERE user_id = u;
  $body$ LANGUAGE sql\`);
};
exports.down = (pgm) => {
  pgm.sql("DROP FUNCTION post_count(integer)");
  pgm.dropTable("posts");
};
`,
};

test("CommonJS in a file Node loads as an ES module (node-pg-migrate's loader runs it anyway) is refused at its line, with the fix its tool's history allows; nothing is written", async (t) => {
  const cjs = "// CommonJS\nexports.up = (x) => x;\nexports.down = (x) => x;\n";
  for (const [tool, file, fix] of [
    ["node-pg-migrate", "1_a.js", /rename it to \.cjs/],
    ["knex", "1_a.js", /package\.json/],
    ["umzug", "1_a.ts", /package\.json/],
    ["umzug", "2_b.mjs", /rename it to \.cjs/],
  ] as const) {
    const { project } = jsToolProject(t, { tool, dialect: "postgres", files: { [file]: cjs }, packages: [], toolTables: [], migrate: async () => [] });
    const run = await runCli(["import", tool, `${tool}-migrations`, "--yes", "--json"], { cwd: project.root });
    const error = (JSON.parse(run.stdout) as Json).error;
    assert.equal(error?.code, "IMPORT_SOURCE_INVALID", run.stdout);
    assert.deepEqual(
      error.problems.map((problem: Json) => [problem.file, problem.line]),
      [[`${tool}-migrations/${file}`, 2]],
    );
    assert.match(error.problems[0].message, fix);
    assert.deepEqual(existsSync(project.migrationsDir) ? readdirSync(project.migrationsDir) : [], []);
  }
});

test('a folder of CommonJS files under "type": "module" is one cause: the message says it once with every file, and --json lists each file\'s problem', async (t) => {
  const cjs = "exports.up = (x) => x;\nexports.down = (x) => x;\n";
  const files = ["20240101000001_a.js", "20240101000002_b.js", "20240101000003_c.js"];
  const { project } = jsToolProject(t, { tool: "knex", dialect: "sqlite", files: Object.fromEntries(files.map((file) => [file, cjs])), packages: [], toolTables: [], migrate: async () => [] });
  const run = await runCli(["import", "knex", "knex-migrations", "--yes", "--json"], { cwd: project.root });
  const error = (JSON.parse(run.stdout) as Json).error;
  assert.equal(error?.code, "IMPORT_SOURCE_INVALID", run.stdout);
  assert.deepEqual(
    error.problems.map((problem: Json) => [problem.file, problem.line]),
    files.map((file) => [`knex-migrations/${file}`, 1]),
  );
  const cause = error.problems[0].message as string;
  assert.ok(error.problems.every((problem: Json) => problem.message === cause));
  assert.equal(error.message.split(cause).length - 1, 1, error.message);
  for (const file of files) assert.ok(error.message.includes(`knex-migrations/${file}:1`), error.message);
  assert.deepEqual(existsSync(project.migrationsDir) ? readdirSync(project.migrationsDir) : [], []);
});

test("node-pg-migrate as real projects write it: 13- and 17-digit prefixes in one folder, dollar-quoted SQL, a concurrent index with noTransaction(), a reversed renameColumn, a commented-out noTransaction()", async (t) => {
  const spec: JsToolCase = {
    tool: "node-pg-migrate",
    dialect: "postgres",
    files: PGM_FILES,
    packages: ["node-pg-migrate"],
    toolTables: ["pgmigrations"],
    migrate: migrateWithNodePgMigrate,
  };
  const { imported, project } = await runJsToolRoundTrip(t, spec, 2);
  assert.deepEqual(
    imported.migrations.map((migration: Json) => [migration.file, migration.transaction]),
    [
      ["001_touch.sql", true],
      ["002_users.ts", true],
      ["003_index.ts", false],
      ["004_rename.ts", true],
      ["005_nickname.ts", false],
      ["006_posts.ts", true],
    ],
  );
  // Down all the way and up again: the reversed rename and the concurrent index's down run as node-pg-migrate would.
  const target = await newTarget(t, project, "postgres", "round");
  assert.equal((await cliOn(project, target, "up")).code, 0);
  const down = await cliOn(project, target, "down", "--to", "0");
  assert.equal(down.code, 0, JSON.stringify(down.json));
  assert.equal((await cliOn(project, target, "up")).code, 0);
});

test("umzug adopt from a JSONStorage file the app edited: an entry the map does not hold, a missing one, a file that is not JSON; each refused with nothing written", async (t) => {
  const files = {
    "1_a.cjs": "module.exports = { async up({ context }) { context.exec('CREATE TABLE a (id INTEGER)'); } };\n",
    // A comment naming Sequelize is no Sequelize migration.
    "2_b.mjs": "// Ported from our sequelize-cli days.\nexport const up = async ({ context }) => context.exec('CREATE TABLE b (id INTEGER)');\n",
    "3_c.ts": "export async function up({ context }: { context: { exec(sql: string): void } }) {\n  context.exec('CREATE TABLE c (id INTEGER)');\n}\n",
  };
  const { project, dir } = jsToolProject(t, { tool: "umzug", dialect: "sqlite", files, packages: ["umzug"], toolTables: [], migrate: async () => [] });
  const imported = await runCli(["import", "umzug", "umzug-migrations", "--yes", "--empty-down", "no-op", "--json"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout);
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "edited");
  const db = new Database((target as { file: string }).file);
  const umzug = new Umzug({ migrations: { glob: ["*.{js,cjs,mjs,ts}", { cwd: dir }] }, context: db, storage: new JSONStorage({ path: storageOf(target) }), logger: undefined });
  await umzug.up();
  db.close();
  const history = JSON.parse(readFileSync(storageOf(target), "utf8")) as string[];
  assert.deepEqual(history, ["1_a.cjs", "2_b.mjs", "3_c.ts"]);
  const refusedWith = async (content: string) => {
    writeFileSync(`${storageOf(target)}.edited`, content);
    const run = await cliOn(project, target, "adopt", "--history-file", `${storageOf(target)}.edited`);
    assert.equal(run.code, 1, JSON.stringify(run.json));
    assert.equal((await cliOn(project, target, "status")).json.currentVersion, 0);
    return run.json.error.code as string;
  };
  assert.equal(await refusedWith(JSON.stringify([...history, "4_gone.js"])), "ADOPT_UNKNOWN_MIGRATION");
  assert.equal(await refusedWith(JSON.stringify(["1_a.cjs", "3_c.ts"])), "ADOPT_HISTORY_GAP");
  assert.equal(await refusedWith("not json"), "ADOPT_HISTORY_MISSING");
  assert.equal(await refusedWith(JSON.stringify([1, 2])), "ADOPT_HISTORY_MISSING");
  // A name twice (an app that logged by hand) is still one migration applied.
  writeFileSync(`${storageOf(target)}.edited`, JSON.stringify(["1_a.cjs", "1_a.cjs", "2_b.mjs", "3_c.ts"]));
  assert.equal((await cliOn(project, target, "adopt", "--history-file", `${storageOf(target)}.edited`)).json.version, 3);
});

for (const dialect of ["sqlite", "postgres"] as const) {
  test(`knex adopt on ${dialect}: while Knex holds its lock it is ADOPT_TOOL_LOCKED, and a run that died after a non-transactional migration's first statement is SCHEMA_MISMATCH; nothing written; a concurrent index runs outside any transaction`, async (t) => {
    const files = {
      "1_users.js": 'exports.up = (knex) => knex.schema.createTable("users", (table) => table.increments("id"));\nexports.down = (knex) => knex.schema.dropTable("users");\n',
      "2_half.js": `exports.config = { transaction: false };
exports.up = async (knex) => {
  await knex.schema.createTable("half", (table) => table.increments("id"));
  if (process.env.KNEX_FAIL === "1") throw new Error("dies after its first statement");
};
exports.down = (knex) => knex.schema.dropTable("half");
`,
      // Outside a transaction, as PostgreSQL requires of CREATE INDEX CONCURRENTLY.
      "3_concurrent.js": `exports.config = { transaction: false };
exports.up = (knex) => knex.raw(\`CREATE INDEX \${knex.client.config.client === "pg" ? "CONCURRENTLY " : ""}users_id ON users (id)\`);
exports.down = (knex) => knex.raw("DROP INDEX users_id");
`,
      "package.json": '{ "type": "commonjs" }\n',
    };
    const spec: JsToolCase = { tool: "knex", dialect, files, packages: ["knex"], toolTables: [], migrate: migrateWithKnex };
    const { project, dir } = jsToolProject(t, spec);
    const imported = await runCli(["import", "knex", "knex-migrations", "--yes"], { cwd: project.root });
    assert.equal(imported.code, 0, imported.stdout + imported.stderr);
    await project.generateAsBin();

    const locked = await newTarget(t, project, dialect, "locked");
    await migrateWithKnex(locked, dir);
    const connection = locked.dialect === "sqlite" ? { filename: locked.file } : locked.url;
    const db = knex({ client: dialect === "sqlite" ? "better-sqlite3" : "pg", connection, useNullAsDefault: true, migrations: { directory: dir } });
    try {
      await db("knex_migrations_lock").update({ is_locked: 1 });
      const refused = await cliOn(project, locked, "adopt");
      assert.equal(refused.code, 1);
      assert.deepEqual([refused.json.error.code, refused.json.error.table], ["ADOPT_TOOL_LOCKED", "knex_migrations_lock"]);
      assert.equal((await cliOn(project, locked, "status")).json.currentVersion, 0);
      await db.migrate.forceFreeMigrationsLock();
    } finally {
      await db.destroy();
    }
    assert.equal((await cliOn(project, locked, "adopt")).json.version, 3);
    const fresh = await newTarget(t, project, dialect, "fresh");
    const built = await cliOn(project, fresh, "up");
    assert.equal(built.code, 0, JSON.stringify(built.json));
    assert.equal((await cliOn(project, fresh, "down", "--to", "0")).code, 0);

    const died = await newTarget(t, project, dialect, "died");
    process.env.KNEX_FAIL = "1";
    try {
      await assert.rejects(migrateWithKnex(died, dir), /dies after its first statement/);
    } finally {
      delete process.env.KNEX_FAIL;
    }
    const half = await cliOn(project, died, "adopt");
    assert.equal(half.json.error?.code, "SCHEMA_MISMATCH", JSON.stringify(half.json));
    assert.equal((await cliOn(project, died, "status")).json.currentVersion, 0);
  });
}

/** node-pg-migrate's own template for `extension` (what `node-pg-migrate create` writes), its up and down filled in. */
function fromTemplate(extension: string, table: string): string {
  const template = readFileSync(path.join(repoRoot, "node_modules", "node-pg-migrate", "templates", `migration-template${extension}`), "utf8");
  if (extension === ".sql") return template.replace("-- Up Migration", `-- Up Migration\nCREATE TABLE ${table} (id integer);`).replace("-- Down Migration", `-- Down Migration\nDROP TABLE ${table};`);
  const bodies = [`{ pgm.createTable("${table}", { id: "id" }); }`, `{ pgm.dropTable("${table}"); }`];
  return template.replace(/(=>|Promise<void>) \{\}/g, (_, head: string) => `${head} ${bodies.shift()}`);
}

test("node-pg-migrate's own templates, every extension it writes (its .cjs one mixes export and module.exports), migrated by node-pg-migrate, imported, adopted, and type-checked strictly", async (t) => {
  const extensions = [".js", ".cjs", ".mjs", ".ts", ".cts", ".mts", ".sql"];
  const files = Object.fromEntries(extensions.map((extension, index) => [`${index + 1}_from${extension.replace(".", "_")}${extension}`, fromTemplate(extension, `t${index + 1}`)]));
  const spec: JsToolCase = { tool: "node-pg-migrate", dialect: "postgres", files, packages: ["node-pg-migrate", "pg", "@types/pg"], toolTables: ["pgmigrations"], migrate: migrateWithNodePgMigrate };
  const { project, imported } = await runJsToolRoundTrip(t, spec, 3);
  assert.equal(imported.migrations.length, extensions.length);
  // The wrappers and the helper under the strictest common settings (errors in stepwise's own sources left out: the package ships declarations).
  writeFileSync(
    path.join(project.root, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        noEmit: true,
        // The stepwise-migrate stub re-exports by file URL, which tsc does not follow: its entries by path.
        paths: { "stepwise-migrate/*": [path.join(repoRoot, "src", "entries", "*.ts")] },
      },
      include: ["migrations"],
    }),
  );
  const checked = spawnSync(process.execPath, [path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "."], { cwd: project.root, encoding: "utf8" });
  const ours = checked.stdout.split("\n").filter((line) => /^(?:migrations|node-pg-migrate-migrations)\//.test(line));
  assert.deepEqual(ours, []);
  // A bundler follows the wrappers' imports to every original, .cts and .mts ones through their .cjs and .mjs specifiers.
  const bundle = await build({
    entryPoints: [path.join(project.root, "generated", "registry.ts")],
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "silent",
  });
  for (let index = 1; index <= extensions.length; index++) assert.match(bundle.outputFiles[0]!.text, new RegExp(`\\bt${index}\\b`));
});

test("the tools' own templates, written by Knex's migrate.make (js, cjs, ts, mjs: Knex does not load .mjs) and Umzug's create (ts, mjs; its names are dotted times), filled in, migrated by the tool, imported and adopted", async (t) => {
  const knexSpec: JsToolCase = {
    tool: "knex",
    dialect: "sqlite",
    files: { "package.json": '{ "type": "commonjs" }\n' },
    packages: ["knex"],
    toolTables: ["knex_migrations", "knex_migrations_lock"],
    migrate: migrateWithKnex,
  };
  const { dir: knexDir } = jsToolProject(t, knexSpec);
  const maker = knex({ client: "better-sqlite3", connection: { filename: ":memory:" }, useNullAsDefault: true, migrations: { directory: knexDir } });
  const written: Record<string, string> = { "package.json": '{ "type": "commonjs" }\n' };
  try {
    for (const extension of ["js", "cjs", "ts", "mjs"]) {
      // Without a table name: Knex's js stub's t.timestamp() has no column name, which Knex then refuses.
      const file = await maker.migrate.make(`create_t_${extension}`, { extension });
      const table = `t_${extension}`;
      written[path.basename(file)] = readFileSync(file, "utf8")
        .replace(/(\bup\b[^{]*\{)/, `$1\n  return knex.schema.createTable("${table}", (t) => t.increments());`)
        .replace(/(\bdown\b[^{]*\{)/, `$1\n  return knex.schema.dropTable("${table}");`);
    }
  } finally {
    await maker.destroy();
  }
  // Knex orders them by file name: by timestamp, then (made within one second, sharing one) by the rest of the name.
  const knexOrder = Object.keys(written)
    .filter((file) => /\.(js|cjs|ts)$/.test(file))
    .sort()
    .map((file, index) => `00${index + 1}_${/_(create_t_\w+)\./.exec(file)![1]}.ts`);
  const { imported: fromKnex } = await runJsToolRoundTrip(t, { ...knexSpec, files: written }, 1);
  assert.equal(knexOrder.length, 3);
  assert.deepEqual(
    fromKnex.migrations.map((migration: Json) => migration.file),
    knexOrder,
  );

  const umzugFiles: Record<string, string> = {};
  const { dir: umzugDir } = jsToolProject(t, { tool: "umzug", dialect: "sqlite", files: {}, packages: ["umzug"], toolTables: [], migrate: async () => [] });
  const creator = new Umzug({ migrations: { glob: ["*.{js,ts,mjs}", { cwd: umzugDir }] }, logger: undefined });
  for (const extension of ["ts", "mjs"]) {
    await creator.create({ name: `create_u_${extension}.${extension}`, folder: umzugDir, allowConfusingOrdering: true });
    const file = (await fs.readdir(umzugDir)).find((name) => name.endsWith(`create_u_${extension}.${extension}`))!;
    const body = `{ params.context.exec("CREATE TABLE u_${extension} (id INTEGER)"); }`;
    umzugFiles[file] = readFileSync(path.join(umzugDir, file), "utf8")
      .replace(/params => \{\}/, `(params) => ${body}`)
      .replace(/MigrationFn = /g, "MigrationFn<any> = ");
  }
  const umzugSpec: JsToolCase = {
    tool: "umzug",
    dialect: "sqlite",
    files: umzugFiles,
    packages: ["umzug"],
    toolTables: [],
    migrate: migrateWithUmzug,
    importArgs: ["--empty-down", "no-op"],
    adoptArgs: (target) => ["--history-file", storageOf(target)],
  };
  const { imported: fromUmzug } = await runJsToolRoundTrip(t, umzugSpec, 1);
  // By file name, as Knex's: by time, then (made within one second) by the rest of the name; the second may tick between the two.
  const umzugOrder = Object.keys(umzugFiles)
    .sort()
    .map((file, index) => `00${index + 1}_${/(create_u_\w+)\./.exec(file)![1]}.ts`);
  assert.equal(umzugOrder.length, 2);
  assert.deepEqual(
    fromUmzug.migrations.map((migration: Json) => migration.file),
    umzugOrder,
  );
});

test("what the text cannot tell is refused at its line, not guessed: a Knex config spread from elsewhere, a Kysely module re-exporting everything or exporting a value built elsewhere; nothing written", async (t) => {
  const cases = [
    ["knex", "1_spread.js", "const base = require('./base.cjs');\nexports.config = { ...base };\nexports.up = () => {};\nexports.down = () => {};\n", 2],
    ["kysely", "1_all.ts", "// Everything the factory made.\nexport * from './factory.js';\n", 2],
    ["kysely", "2_built.js", "const make = require('./factory.cjs');\n\nmodule.exports = make('users');\n", 3],
  ] as const;
  for (const [tool, file, text, line] of cases) {
    const { project } = jsToolProject(t, { tool, dialect: "sqlite", files: { [file]: text, "package.json": '{ "type": "commonjs" }\n' }, packages: [], toolTables: [], migrate: async () => [] });
    const run = await runCli(["import", tool, `${tool}-migrations`, "--yes", "--json"], { cwd: project.root });
    const error = (JSON.parse(run.stdout) as Json).error;
    assert.equal(error?.code, "IMPORT_SOURCE_INVALID", run.stdout);
    assert.deepEqual(
      error.problems.map((problem: Json) => [problem.file, problem.line]),
      [[`${tool}-migrations/${file}`, line]],
    );
    assert.equal(existsSync(project.migrationsDir) ? readdirSync(project.migrationsDir).length : 0, 0);
  }
});

test('umzug on PostgreSQL: the pg client as context, its history in Sequelize\'s quoted "SequelizeMeta" (written as SequelizeStorage does), adopted one behind, up, verify, --drop-old-table', async (t) => {
  const files = {
    "1_users.cjs":
      "module.exports = {\n  async up({ context }) { await context.query('CREATE TABLE users (id serial PRIMARY KEY, name text)'); },\n  async down({ context }) { await context.query('DROP TABLE users'); },\n};\n",
    "2_email.mjs":
      "export const up = async ({ context }) => {\n  await context.query('ALTER TABLE users ADD COLUMN email text');\n  await context.query('INSERT INTO users (name) VALUES ($1)', ['first']);\n};\n",
    "3_index.ts":
      "import type pg from 'pg';\n\nexport async function up({ context, name }: { context: pg.ClientBase; name: string }) {\n  await context.query(`CREATE INDEX users_name ON users (name) -- ${name}`);\n}\n",
  };
  const migrate = async (target: Target, dir: string, count?: number): Promise<string[]> => {
    const client = new pg.Client({ connectionString: (target as { url: string }).url });
    await client.connect();
    try {
      await client.query('CREATE TABLE IF NOT EXISTS "SequelizeMeta" ("name" VARCHAR(255) NOT NULL UNIQUE, PRIMARY KEY ("name"))');
      const storage = {
        executed: async () => (await client.query<{ name: string }>('SELECT name FROM "SequelizeMeta" ORDER BY name')).rows.map((row) => row.name),
        logMigration: async ({ name }: { name: string }) => void (await client.query('INSERT INTO "SequelizeMeta" (name) VALUES ($1)', [name])),
        unlogMigration: async ({ name }: { name: string }) => void (await client.query('DELETE FROM "SequelizeMeta" WHERE name = $1', [name])),
      };
      const umzug = new Umzug({ migrations: { glob: ["*.{js,cjs,mjs,ts}", { cwd: dir }] }, context: client, storage, logger: undefined });
      const ran = await umzug.up(count === undefined ? {} : { step: count });
      return ran.map((migration) => migration.name);
    } finally {
      await client.end();
    }
  };
  const spec: JsToolCase = { tool: "umzug", dialect: "postgres", files, packages: ["umzug", "pg", "@types/pg"], toolTables: ["SequelizeMeta"], migrate, importArgs: ["--empty-down", "no-op"] };
  const { imported } = await runJsToolRoundTrip(t, spec, 1);
  assert.deepEqual(
    imported.migrations.map((migration: Json) => [migration.file, migration.transaction]),
    [
      ["001_users.ts", false],
      ["002_email.ts", false],
      ["003_index.ts", false],
    ],
  );
});

test("a compiled copy beside its source (1_a.js next to 1_a.ts), which Knex and Umzug would each run as a migration of its own, is refused at the second; nothing written", async (t) => {
  for (const tool of ["knex", "umzug"] as const) {
    const source = "export async function up() {}\nexport async function down() {}\n";
    const files = { "1_a.ts": source, "1_a.js": source, "2_b.ts": source };
    const { project } = jsToolProject(t, { tool, dialect: "sqlite", files, packages: [], toolTables: [], migrate: async () => [] });
    const run = await runCli(["import", tool, `${tool}-migrations`, "--yes", "--json"], { cwd: project.root });
    const error = (JSON.parse(run.stdout) as Json).error;
    assert.equal(error?.code, "IMPORT_SOURCE_INVALID", run.stdout);
    assert.deepEqual(
      error.problems.map((problem: Json) => [problem.file, problem.line]),
      [[`${tool}-migrations/1_a.ts`, 1]],
    );
    assert.equal(existsSync(project.migrationsDir) ? readdirSync(project.migrationsDir).length : 0, 0);
  }
});

test("a file deep in the app that a Knex TypeScript migration reaches through its imports, and gen would refuse, names the first migration that reaches it, the chain, and how many others do; nothing written", async (t) => {
  const migration = (name: string) => `import { db } from "../db";\nexport async function up() {\n  void db;\n}\nexport async function down() {}\n`.replace("up()", `up /* ${name} */()`);
  const { project } = jsToolProject(t, {
    tool: "knex",
    dialect: "sqlite",
    files: { "1_create.ts": migration("a"), "2_more.ts": migration("b") },
    packages: [],
    toolTables: [],
    migrate: async () => [],
  });
  writeFileSync(path.join(project.root, "db.ts"), 'import { config } from "./config";\nexport const db = config;\n');
  writeFileSync(path.join(project.root, "config.ts"), 'const name = process.env.CONFIG ?? "./settings";\nexport const config: unknown = require(name);\n');
  const run = await runCli(["import", "knex", "knex-migrations", "--yes", "--json"], { cwd: project.root });
  const error = (JSON.parse(run.stdout) as Json).error;
  assert.equal(error?.code, "IMPORT_SOURCE_INVALID", run.stdout);
  assert.deepEqual(
    error.problems.map((problem: Json) => [problem.code, problem.file, problem.line, problem.importedBy]),
    [["TS_UNTRACEABLE_IMPORT", "config.ts", 2, { migration: "knex-migrations/1_create.ts", through: ["db.ts", "config.ts"], others: 1 }]],
  );
  assert.doesNotMatch(error.fix, /each file of knex-migrations/);
  assert.equal(existsSync(project.migrationsDir) ? readdirSync(project.migrationsDir).length : 0, 0);
});
