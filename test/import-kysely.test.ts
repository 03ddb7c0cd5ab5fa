/**
 * `stepwise import kysely` and `adopt` against databases Kysely's own Migrator migrated, on SQLite (better-sqlite3) and PostgreSQL: a folder whose code-unit order (Kysely's) differs from its
 * `localeCompare` order, TypeScript and JavaScript migrations, a default export, a helper module Kysely skips, a migration without down (--empty-down); then an out-of-order history refused by adopt.
 */
import assert from "node:assert/strict";
import { promises as fs, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { FileMigrationProvider, Kysely, Migrator, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { fixturesDir, runCli } from "./support/project.js";
import { cliOn, jsToolProject, newTarget, runJsToolRoundTrip, schemaOf, type JsToolCase, type Json, type Target } from "./support/js-tool-import.js";

const FILES: Record<string, string> = {
  "001_create_users.ts": `import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("users").addColumn("id", "integer", (column) => column.primaryKey()).addColumn("name", "text", (column) => column.notNull()).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("users").execute();
}
`,
  // Kysely runs it before 002_add_email: its Migrator sorts names as code units ("C" before "a"), where localeCompare would put "add" first.
  "002_Create_posts.js": `export default {
  async up(db) {
    await db.schema.createTable("posts").addColumn("id", "integer", (column) => column.primaryKey()).addColumn("user_id", "integer", (column) => column.references("users.id").notNull()).execute();
    await db.insertInto("users").values({ id: 1, name: "first" }).execute();
  },
  async down(db) {
    await db.schema.dropTable("posts").execute();
  },
};
`,
  "002_add_email.ts": `import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("users").addColumn("email", "text").execute();
  await sql\`CREATE INDEX users_email ON users (email)\`.execute(db);
}
`,
  "003_create_tags.mjs": `export async function up(db) {
  await db.schema.createTable("tags").addColumn("label", "text", (column) => column.primaryKey()).execute();
}
export async function down(db) {
  await db.schema.dropTable("tags").execute();
}
`,
  "shared.ts": "export const LABEL_LENGTH = 40;\n",
  "types.d.ts": "export interface Tables { users: { id: number } }\n",
};

/** A Kysely over `target`. */
function kyselyOn(target: Target): Kysely<unknown> {
  const dialect = target.dialect === "sqlite" ? new SqliteDialect({ database: new Database(target.file) }) : new PostgresDialect({ pool: new pg.Pool({ connectionString: target.url, max: 1 }) });
  return new Kysely<unknown>({ dialect });
}

/** Migrates `target` with Kysely's Migrator and FileMigrationProvider: all migrations, or up to the `count`th. */
async function migrateWithKysely(target: Target, dir: string, count?: number, migrationTableName?: string): Promise<string[]> {
  const db = kyselyOn(target);
  try {
    const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder: dir }), ...(migrationTableName && { migrationTableName }) });
    const all = await migrator.getMigrations();
    const { error } = count === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(all[count - 1]!.name);
    if (error) throw error;
    return (await migrator.getMigrations()).filter((migration) => migration.executedAt !== undefined).map((migration) => migration.name);
  } finally {
    await db.destroy();
  }
}

const kyselyCase = (dialect: "sqlite" | "postgres"): JsToolCase => ({
  tool: "kysely",
  dialect,
  files: FILES,
  packages: ["kysely"],
  toolTables: ["kysely_migration", "kysely_migration_lock"],
  migrate: migrateWithKysely,
  importArgs: ["--empty-down", "irreversible"],
});

for (const dialect of ["sqlite", "postgres"] as const) {
  test(`kysely on ${dialect}: imported in Kysely's order, its db served over stepwise's connection, adopted one behind, up, verify, and a fresh database gets Kysely's schema`, async (t) => {
    const { imported } = await runJsToolRoundTrip(t, kyselyCase(dialect), 1);
    assert.deepEqual(
      imported.migrations.map((migration: Json) => [migration.file, migration.originalId, migration.down]),
      [
        ["001_create_users.ts", "001_create_users", "module"],
        ["002_create_posts.ts", "002_Create_posts", "module"],
        ["003_add_email.ts", "002_add_email", "none"],
        ["004_create_tags.ts", "003_create_tags", "module"],
      ],
    );
  });
}

test("kysely: a history Kysely ran out of name order (allowUnorderedMigrations) is ADOPT_HISTORY_UNORDERED, and nothing is recorded", async (t) => {
  const spec = kyselyCase("sqlite");
  const { project, dir } = jsToolProject(t, spec);
  assert.equal((await runCli(["import", "kysely", "kysely-migrations", "--yes", "--empty-down", "irreversible"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "unordered");
  await migrateWithKysely(target, dir);
  // Kysely with allowUnorderedMigrations runs a migration added later with an earlier name after the others: its row comes last.
  const db = new Database((target as { file: string }).file);
  db.prepare("UPDATE kysely_migration SET timestamp = '2999-01-01T00:00:00.000Z' WHERE name = '002_add_email'").run();
  db.close();
  const refused = await cliOn(project, target, "adopt");
  assert.equal(refused.code, 1);
  assert.equal(refused.json.error.code, "ADOPT_HISTORY_UNORDERED");
  assert.deepEqual(
    refused.json.error.applied.map((entry: Json) => entry.version),
    [1, 2, 4, 3],
  );
  assert.equal((await cliOn(project, target, "status")).json.currentVersion, 0);
});

for (const dialect of ["sqlite", "postgres"] as const) {
  test(`kysely on ${dialect}: a migration that calls db.transaction() does what Kysely's Migrator does with it (on SQLite, whose adapter has no transactional DDL, the Migrator runs it outside a transaction and it applies; on PostgreSQL it gets a Transaction, which refuses it, and nothing is kept)`, async (t) => {
    const { project, dir } = jsToolProject(t, {
      ...kyselyCase(dialect),
      files: {
        "001_nested.ts": `import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("t").addColumn("id", "integer").execute();
  await db.transaction().execute(async (trx) => {
    await trx.schema.createTable("u").addColumn("id", "integer").execute();
  });
}
`,
      },
    });
    const imported = await runCli(["import", "kysely", "kysely-migrations", "--yes", "--empty-down", "irreversible", "--json"], { cwd: project.root });
    assert.equal(imported.code, 0, imported.stdout + imported.stderr);
    assert.deepEqual(
      (JSON.parse(imported.stdout) as Json).migrations.map((migration: Json) => migration.transaction),
      [dialect === "postgres"],
    );
    await project.generateAsBin();
    const target = await newTarget(t, project, dialect, "nested");
    const up = await cliOn(project, target, "up");
    const tool = await newTarget(t, project, dialect, "tool");
    const migrated = await migrateWithKysely(tool, dir).then(
      () => "applied",
      (error: Error) => error.message,
    );
    if (dialect === "sqlite") {
      assert.equal(up.code, 0, up.stderr);
      assert.equal(migrated, "applied");
      assert.deepEqual(await schemaOf(target, []), await schemaOf(tool, ["kysely_migration", "kysely_migration_lock"]));
      return;
    }
    assert.equal(up.json.error?.code, "MIGRATION_FAILED");
    assert.equal(migrated, "calling the transaction method for a Transaction is not supported");
    assert.equal((await cliOn(project, target, "status")).json.currentVersion, 0);
    assert.deepEqual(await schemaOf(target, []), []);
  });
}

test("kysely on sqlite: a table rebuild between PRAGMA foreign_keys = OFF and ON keeps the children's rows, as Kysely's Migrator, which runs it outside a transaction, keeps them", async (t) => {
  const { project, dir } = jsToolProject(t, {
    ...kyselyCase("sqlite"),
    files: {
      "001_parent.ts": `import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql\`CREATE TABLE p (id integer PRIMARY KEY, name text)\`.execute(db);
  await sql\`CREATE TABLE c (id integer PRIMARY KEY, p_id integer REFERENCES p (id) ON DELETE CASCADE)\`.execute(db);
  await sql\`INSERT INTO p VALUES (1, 'a')\`.execute(db);
  await sql\`INSERT INTO c VALUES (1, 1)\`.execute(db);
}
`,
      "002_rebuild.ts": `import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql\`PRAGMA foreign_keys = OFF\`.execute(db);
  await sql\`CREATE TABLE p_new (id integer PRIMARY KEY, name text NOT NULL)\`.execute(db);
  await sql\`INSERT INTO p_new SELECT * FROM p\`.execute(db);
  await sql\`DROP TABLE p\`.execute(db);
  await sql\`ALTER TABLE p_new RENAME TO p\`.execute(db);
  await sql\`PRAGMA foreign_keys = ON\`.execute(db);
}
`,
    },
  });
  assert.equal((await runCli(["import", "kysely", "kysely-migrations", "--yes", "--empty-down", "irreversible"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "rebuilt");
  assert.equal((await cliOn(project, target, "up")).code, 0);
  const tool = await newTarget(t, project, "sqlite", "tool");
  await migrateWithKysely(tool, dir);
  const children = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare("SELECT count(*) FROM c").pluck().get();
    } finally {
      db.close();
    }
  };
  assert.deepEqual([children((target as { file: string }).file), children((tool as { file: string }).file)], [1, 1]);
});

test("kysely with --driver libsql: the wrappers import the libsql entry and Kysely's SqliteDialect runs over libsql's connection; a driver whose API Kysely cannot use is a usage error", async (t) => {
  const spec = kyselyCase("sqlite");
  const { project, dir } = jsToolProject(t, spec);
  const refused = await runCli(["import", "kysely", "kysely-migrations", "--driver", "node-sqlite", "--empty-down", "irreversible", "--json"], { cwd: project.root });
  assert.equal(refused.code, 2);
  assert.equal((JSON.parse(refused.stdout) as Json).error.code, "USAGE");
  const imported = await runCli(["import", "kysely", "kysely-migrations", "--driver", "libsql", "--empty-down", "irreversible", "--yes"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  assert.match(readFileSync(path.join(project.migrationsDir, "001_create_users.ts"), "utf8"), /from "stepwise-migrate\/libsql"/);
  await project.generateAsBin();
  const fresh = await newTarget(t, project, "sqlite", "libsql");
  const up = await runCli(["up", "--driver", "libsql", "--db", (fresh as { file: string }).file, "--json"], { cwd: project.root });
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const tool = await newTarget(t, project, "sqlite", "tool");
  await migrateWithKysely(tool, dir);
  assert.deepEqual(await schemaOf(fresh, spec.toolTables), await schemaOf(tool, spec.toolTables));
});

test("kysely: a helper whose prose says up, and a .JS file (Kysely loads .js only), are skipped as Kysely skips them; a file whose up export cannot be told is refused at its line", async (t) => {
  const { project } = jsToolProject(t, {
    ...kyselyCase("sqlite"),
    files: {
      "001_create_users.ts": FILES["001_create_users.ts"]!,
      "helpers.ts": "// Sets up the shared column builders; look up their names here.\nexport const LABEL = 40;\n",
      "002_upper.JS": "export async function up() {}\n",
      "003_dynamic.ts": "const migration = { up: async () => {} };\nexport const { up } = migration;\n",
    },
  });
  const run = JSON.parse((await runCli(["import", "kysely", "kysely-migrations", "--json"], { cwd: project.root })).stdout) as Json;
  assert.equal(run.error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    run.error.problems.map((problem: Json) => [problem.file, problem.line]),
    [["kysely-migrations/003_dynamic.ts", 1]],
  );
  rmSync(path.join(project.root, "kysely-migrations", "003_dynamic.ts"));
  const plan = JSON.parse((await runCli(["import", "kysely", "kysely-migrations", "--json"], { cwd: project.root })).stdout) as Json;
  assert.deepEqual(
    plan.migrations.map((migration: Json) => migration.originalId),
    ["001_create_users"],
  );
});

test("kysely: a provider that holds its migrations in one file (migrations['001'] = {…}, the feed generator template's shape) is refused at its first entry, not its up; split into files named by its keys, as the advice says, a database the Migrator migrated through that provider adopts", async (t) => {
  const entries = {
    "001": `async up(db: Kysely<unknown>) {\n    await db.schema.createTable("post").addColumn("uri", "varchar", (col) => col.primaryKey()).execute()\n  },\n  async down(db: Kysely<unknown>) {\n    await db.schema.dropTable("post").execute()\n  },`,
    "002": `async up(db: Kysely<unknown>) {\n    await db.schema.alterTable("post").addColumn("indexedAt", "varchar").execute()\n  },`,
  };
  const provider = [
    "import { Kysely, Migration, MigrationProvider } from 'kysely'\n\nconst migrations: Record<string, Migration> = {}\n",
    "export const migrationProvider: MigrationProvider = {\n  async getMigrations() {\n    return migrations\n  },\n}\n",
    ...Object.entries(entries).map(([key, body]) => `migrations['${key}'] = {\n  ${body}\n}\n`),
  ].join("\n");
  const { project, dir } = jsToolProject(t, { ...kyselyCase("sqlite"), files: { "migrations.ts": provider } });
  const run = JSON.parse((await runCli(["import", "kysely", "kysely-migrations", "--json"], { cwd: project.root })).stdout) as Json;
  assert.equal(run.error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    run.error.problems.map((problem: Json) => [problem.file, problem.line]),
    [["kysely-migrations/migrations.ts", provider.split("\n").indexOf("migrations['001'] = {") + 1]],
  );

  // As the template's Migrator ran them: the provider's object, recorded under its keys.
  const target = await newTarget(t, project, "sqlite", "feed");
  const db = kyselyOn(target);
  const [first] = await new Migrator({
    db,
    provider: {
      getMigrations: async () => ({
        "001": {
          up: (k: Kysely<unknown>) =>
            k.schema
              .createTable("post")
              .addColumn("uri", "varchar", (col) => col.primaryKey())
              .execute(),
        },
      }),
    },
  })
    .migrateToLatest()
    .then(({ results }) => results ?? []);
  await db.destroy();
  assert.equal(first?.migrationName, "001");
  rmSync(path.join(dir, "migrations.ts"));
  for (const [key, body] of Object.entries(entries)) writeFileSync(path.join(dir, `${key}.ts`), `import type { Kysely } from "kysely";\n\nexport default {\n  ${body}\n};\n`);
  assert.equal((await runCli(["import", "kysely", "kysely-migrations", "--empty-down", "irreversible", "--yes"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const adopted = await cliOn(project, target, "adopt");
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.equal(adopted.json.version, 1);
  assert.equal((await cliOn(project, target, "up")).code, 0);
  assert.equal((await cliOn(project, target, "verify")).json.ok, true);
});

test("kysely: a provider that holds its migrations in one file in any shape (migrations.m001 = {…}, an object literal of entries, the entries inside getMigrations) is refused at the entry of its first up, naming the key its file takes", async (t) => {
  const up = "async up(db: Kysely<unknown>) {\n      await db.schema.createTable('post').addColumn('uri', 'varchar').execute()\n    },";
  const head = "import { Kysely, Migration, MigrationProvider } from 'kysely'\n\n";
  const getter = "export const migrationProvider: MigrationProvider = {\n  async getMigrations() {\n    return migrations\n  },\n}\n";
  for (const [provider, entryLine, key] of [
    [`${head}const migrations: Record<string, Migration> = {}\n\n${getter}\nmigrations.m001 = {\n  ${up}\n}\n`, "migrations.m001 = {", "m001"],
    [`${head}const migrations: Record<string, Migration> = {\n  '001': {\n    ${up}\n  },\n}\n\n${getter}`, "  '001': {", "001"],
    [`${head}export const migrationProvider: MigrationProvider = {\n  getMigrations: async () => ({\n    a001: {\n      ${up}\n    },\n  }),\n}\n`, "    a001: {", "a001"],
    // Its down calls another migration's up: the entry's own up still holds a migration.
    [`${head}const migrations: Record<string, Migration> = {\n  '001': {\n    ${up}\n    down: (db: Kysely<unknown>) => earlier.up(db),\n  },\n}\n\n${getter}`, "  '001': {", "001"],
  ] as const) {
    const { project } = jsToolProject(t, { ...kyselyCase("sqlite"), files: { "migrations.ts": provider } });
    const run = JSON.parse((await runCli(["import", "kysely", "kysely-migrations", "--json"], { cwd: project.root })).stdout) as Json;
    assert.equal(run.error?.code, "IMPORT_SOURCE_INVALID", provider);
    assert.deepEqual(
      run.error.problems.map((problem: Json) => [problem.file, problem.line]),
      [["kysely-migrations/migrations.ts", provider.split("\n").indexOf(entryLine) + 1]],
    );
    assert.ok(run.error.problems[0].message.includes(`${key}.ts`), run.error.problems[0].message);
  }
});

test("kysely: a provider of the project's beside the migrations, whose up only hands each call on to a migration it is given (up: (db) => migration.up(db, ctx)), is a helper, not a provider holding migrations: the folder imports", async (t) => {
  for (const forward of [
    "up: async (db: Kysely<unknown>) => migration.up(db, this.context)",
    "async up(db: Kysely<unknown>) {\n          await migration.up?.(db, this.context)\n        }",
    "up: (db: Kysely<unknown>) => migration['up'](db, this.context)",
    "up: (db: Kysely<unknown>) => migration.up.call(migration, db, this.context)",
  ]) {
    const provider = [
      "import { Kysely, Migration, MigrationProvider } from 'kysely'\n",
      "export class ContextProvider<C> implements MigrationProvider {",
      "  constructor(private migrations: Record<string, Migration>, private context: C) {}",
      "  async getMigrations(): Promise<Record<string, Migration>> {",
      "    const wrapped: Record<string, Migration> = {}",
      "    for (const [name, migration] of Object.entries(this.migrations)) {",
      "      wrapped[name] = {",
      `        ${forward},`,
      "      }",
      "    }",
      "    return wrapped",
      "  }",
      "}\n",
    ].join("\n");
    const { project } = jsToolProject(t, { ...kyselyCase("sqlite"), files: { ...FILES, "provider.ts": provider } });
    const run = JSON.parse((await runCli(["import", "kysely", "kysely-migrations", "--empty-down", "irreversible", "--json"], { cwd: project.root })).stdout) as Json;
    assert.equal(run.error, undefined, JSON.stringify(run.error));
    assert.deepEqual(
      run.migrations.map((migration: Json) => migration.originalId),
      ["001_create_users", "002_Create_posts", "002_add_email", "003_create_tags"],
    );
  }
});

test("kysely: a history table Kysely was told to name otherwise (migrationTableName) is adopted with --old-table; its lock table keeps Kysely's own name, and both are left out of verify and dropped", async (t) => {
  const spec = kyselyCase("sqlite");
  const { project, dir } = jsToolProject(t, spec);
  assert.equal((await runCli(["import", "kysely", "kysely-migrations", "--yes", "--empty-down", "irreversible"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "renamed");
  await migrateWithKysely(target, dir, undefined, "app_migrations");
  const adopted = await cliOn(project, target, "adopt", "--old-table", "app_migrations");
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.equal(adopted.json.version, 4);
  assert.equal((await cliOn(project, target, "verify")).json.ok, true);
  assert.equal((await cliOn(project, target, "adopt", "--drop-old-table")).json.oldTableDropped, true);
  const db = new Database((target as { file: string }).file, { readonly: true });
  const left = db.prepare("SELECT name FROM sqlite_master WHERE name IN ('app_migrations', 'kysely_migration_lock')").all();
  db.close();
  assert.deepEqual(left, []);
  assert.equal((await cliOn(project, target, "verify")).json.ok, true);
});

/** A folder whose index module lists the migrations under names of its own, for a provider of the project's (no FileMigrationProvider): what Kysely records is the index's keys. */
const INDEXED: Record<string, string> = {
  "20240101T101500123Z-create-users.ts": FILES["001_create_users.ts"]!,
  "20240202T080000000Z-add-email.ts": FILES["002_add_email.ts"]!,
  "index.ts": `import * as createUsers from "./20240101T101500123Z-create-users.js";
import * as addEmail from "./20240202T080000000Z-add-email.js";

// The provider hands this object to the Migrator.
export default {
  "001": createUsers,
  "002": addEmail,
};
`,
  "provider.ts": `import type { Kysely, Migration } from "kysely";

export interface ContextMigration {
  up(db: Kysely<unknown>, context: string): Promise<void>;
  down?(db: Kysely<unknown>, context: string): Promise<void>;
}

export function provide(migrations: Record<string, ContextMigration>): Record<string, Migration> {
  return Object.fromEntries(Object.entries(migrations).map(([name, migration]) => [name, { up: (db: Kysely<any>) => migration.up(db, "sqlite") }]));
}
`,
};

test("kysely: an index module that lists the migrations under its own names is read: the names Kysely recorded and ordered are its keys, adopted; a provider's interface is no migration", async (t) => {
  const spec = { ...kyselyCase("sqlite"), files: INDEXED };
  const { project, dir } = jsToolProject(t, spec);
  const imported = await runCli(["import", "kysely", "kysely-migrations", "--yes", "--empty-down", "irreversible", "--json"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  assert.deepEqual(
    (JSON.parse(imported.stdout) as Json).migrations.map((migration: Json) => [migration.file, migration.originalId, migration.history.name]),
    [
      ["001_create_users.ts", "001", "001"],
      ["002_add_email.ts", "002", "002"],
    ],
  );
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "indexed");
  const db = kyselyOn(target);
  try {
    // The project's Migrator, reading the index instead of the folder.
    const index = (await import(path.join(dir, "index.ts"))) as { default: Record<string, { up(db: Kysely<unknown>): Promise<void> }> };
    const { error } = await new Migrator({ db, provider: { getMigrations: async () => index.default } }).migrateTo("001");
    if (error) throw error;
  } finally {
    await db.destroy();
  }
  const adopted = await cliOn(project, target, "adopt");
  assert.equal(adopted.json.version, 1, JSON.stringify(adopted.json));
  assert.equal((await cliOn(project, target, "up")).code, 0);
  assert.equal((await cliOn(project, target, "status")).json.currentVersion, 2);
  assert.equal((await cliOn(project, target, "verify")).json.ok, true);
});

test("kysely: an index written as `export * as name from` names the migrations too; a migration whose up takes what only the project's provider passes, an index that leaves a migration out, or lists a value that is not an imported module, is refused at its line", async (t) => {
  const files = {
    ...INDEXED,
    "index.ts": `export * as _a from "./20240101T101500123Z-create-users.js";\nexport * as _b from "./20240202T080000000Z-add-email.js";\n`,
  };
  const { project } = jsToolProject(t, { ...kyselyCase("sqlite"), files });
  const importJson = async () => JSON.parse((await runCli(["import", "kysely", "kysely-migrations", "--empty-down", "irreversible", "--json"], { cwd: project.root })).stdout) as Json;
  assert.deepEqual(
    (await importJson()).migrations.map((migration: Json) => migration.history.name),
    ["_a", "_b"],
  );
  // A provider of the project's passes more than db (atproto passed the dialect): stepwise calls up(db) as the Migrator does, so the parameter would be undefined.
  const second = path.join(project.root, "kysely-migrations", "20240202T080000000Z-add-email.ts");
  writeFileSync(
    second,
    `import type { Kysely } from "kysely";\n\nexport async function up(\n  db: Kysely<unknown>,\n  dialect: "pg" | "sqlite",\n): Promise<void> {\n  await db.schema.alterTable("users").addColumn("email", dialect === "pg" ? "varchar" : "text").execute();\n}\n`,
  );
  const provided = await importJson();
  assert.equal(provided.error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    provided.error.problems.map((problem: Json) => [problem.file, problem.line]),
    [["kysely-migrations/20240202T080000000Z-add-email.ts", 5]],
  );
  writeFileSync(second, INDEXED["20240202T080000000Z-add-email.ts"]!);
  const index = path.join(project.root, "kysely-migrations", "index.ts");
  writeFileSync(index, `export * as _a from "./20240101T101500123Z-create-users.js";\n`);
  const left = await importJson();
  assert.equal(left.error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    left.error.problems.map((problem: Json) => [problem.file, problem.line]),
    [["kysely-migrations/index.ts", 1]],
  );
  writeFileSync(
    index,
    `import * as first from "./20240101T101500123Z-create-users.js";\nimport * as second from "./20240202T080000000Z-add-email.js";\n\nexport default {\n  "001": first,\n  "002": withContext(second),\n};\n`,
  );
  const inline = await importJson();
  assert.equal(inline.error.code, "IMPORT_SOURCE_INVALID");
  assert.deepEqual(
    inline.error.problems.map((problem: Json) => [problem.file, problem.line]),
    [
      ["kysely-migrations/index.ts", 6],
      ["kysely-migrations/index.ts", 1],
    ],
  );
});

test("kysely: a helper beside the migrations that imports one of them, but exports no migration, is no index: the import reads the files under their own names", async (t) => {
  const files = {
    ...FILES,
    "seed-helpers.ts": `import * as init from "./001_create_users.js";\nexport function usersTable() {\n  return init.USERS;\n}\n`,
    "tables.ts": `import * as init from "./001_create_users.js";\nimport addEmail from "./002_add_email.js";\nexport const tables = { users: init.USERS, columns: [addEmail] };\nexport default { seed: usersTable };\nfunction usersTable() {\n  return init;\n}\n`,
  };
  const { project } = jsToolProject(t, { ...kyselyCase("sqlite"), files });
  const run = await runCli(["import", "kysely", "kysely-migrations", "--empty-down", "irreversible", "--json"], { cwd: project.root });
  const json = JSON.parse(run.stdout) as Json;
  assert.equal(json.error, undefined, run.stdout);
  assert.deepEqual(
    json.migrations.map((migration: Json) => migration.history.name),
    Object.keys(FILES)
      .filter((file) => /^\d/.test(file))
      .map((file) => file.slice(0, file.lastIndexOf(".")))
      .sort(),
  );
});

test("kysely: a down that fails in the original file is located at the original's line, not at the wrapper's call into it", async (t) => {
  const fixture = path.join(fixturesDir, "kysely-failing-down");
  const files = Object.fromEntries(readdirSync(fixture).map((name) => [name, readFileSync(path.join(fixture, name), "utf8")]));
  const { project } = jsToolProject(t, { ...kyselyCase("sqlite"), files });
  assert.equal((await runCli(["import", "kysely", "kysely-migrations", "--yes"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const target = await newTarget(t, project, "sqlite", "failing-down");
  assert.equal((await cliOn(project, target, "up")).code, 0);
  const down = await cliOn(project, target, "down");
  assert.equal(down.json.error?.code, "MIGRATION_FAILED");
  assert.equal(down.json.error.file, "migrations/001_create_users.ts");
  assert.deepEqual({ file: down.json.error.location?.file, line: down.json.error.location?.line }, { file: "kysely-migrations/001_create_users.ts", line: 9 });
  assert.match(down.stderr, /^Thrown at kysely-migrations\/001_create_users\.ts:9:\d+$/m);
  // On SQLite Kysely's Migrator ran it outside a transaction, and so does stepwise: what it did is for the user to check.
  assert.match(down.json.error.fix, /ran outside a transaction and may have left changes.*repair .*--forget 1/);
});
