/**
 * Hostile and real-world inputs for the JavaScript tools' import and adopt: migrations as real projects write them (CommonJS objects, quoted config keys, commented-out exports, helpers beside
 * them, names with dots and spaces), and histories the tools leave behind (a lock still held, extra or missing entries), each checked against a database the tool itself made.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import knex from "knex";
import { FileMigrationProvider, Kysely, Migrator, SqliteDialect } from "kysely";
import { runCli } from "./support/project.js";
import { cliOn, jsToolProject, newTarget, runJsToolRoundTrip, type JsToolCase, type Json, type Target } from "./support/js-tool-import.js";

/** Migrates `target` with Knex: all migrations, or the first `count` one by one. */
async function migrateWithKnex(target: Target, dir: string, count?: number): Promise<string[]> {
  const connection = target.dialect === "sqlite" ? { filename: target.file } : target.url;
  const db = knex({ client: target.dialect === "sqlite" ? "better-sqlite3" : "pg", connection, useNullAsDefault: true, migrations: { directory: dir } });
  try {
    if (count === undefined) await db.migrate.latest();
    else for (let index = 0; index < count; index++) await db.migrate.up();
    return (await db("knex_migrations").orderBy("id").select("name")).map((row: { name: string }) => row.name);
  } finally {
    await db.destroy();
  }
}

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
  // Quoted keys, as JSON-minded code writes them: Knex reads transaction: false.
  "20240101000001_posts.cjs": `exports.config = { "transaction": false };
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
};

test("knex as real projects write it: module.exports of declared functions, a config left in comments, quoted config keys, TypeScript, raw bindings, a SQLite table rebuild, a nested transaction", async (t) => {
  const spec: JsToolCase = { tool: "knex", dialect: "sqlite", files: KNEX_FILES, packages: ["knex"], toolTables: ["knex_migrations", "knex_migrations_lock"], migrate: migrateWithKnex };
  const { imported } = await runJsToolRoundTrip(t, spec, 2);
  assert.deepEqual(
    imported.migrations.map((migration: Json) => [migration.file, migration.transaction]),
    [
      ["001_init.ts", true],
      ["002_posts.ts", false],
      ["003_drop_legacy.ts", true],
      ["004_tags.ts", true],
    ],
  );
});
