/** Knex's, node-pg-migrate's and Umzug's own migrators, run on a test target: what makes "a database the tool itself migrated" in the import tests. */
import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import knex from "knex";
import { runner } from "node-pg-migrate";
import pg from "pg";
import { JSONStorage, Umzug } from "umzug";
import type { Target } from "./js-tool-import.js";

/** Migrates `target` with Knex: all migrations, or the first `count` one by one. */
export async function migrateWithKnex(target: Target, dir: string, count?: number): Promise<string[]> {
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

/** Migrates a PostgreSQL `target` with node-pg-migrate's runner: all migrations, or the first `count`. */
export async function migrateWithNodePgMigrate(target: Target, dir: string, count?: number): Promise<string[]> {
  const url = (target as { url: string }).url;
  await runner({ databaseUrl: url, dir, direction: "up", migrationsTable: "pgmigrations", count: count ?? Infinity, log: () => undefined });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ name: string }>("SELECT name FROM pgmigrations ORDER BY id")).rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

/** Where {@link migrateWithUmzug} keeps Umzug's JSONStorage: beside the database file. */
export const storageOf = (target: Target) => `${(target as { file: string }).file}.umzug.json`;

/** Migrates `target` with Umzug (JSONStorage beside the database, the connection as context): all migrations, or the first `count`. */
export async function migrateWithUmzug(target: Target, dir: string, count?: number): Promise<string[]> {
  const db = new Database((target as { file: string }).file);
  try {
    const umzug = new Umzug({ migrations: { glob: ["*.{js,cjs,mjs,ts}", { cwd: dir }] }, context: db, storage: new JSONStorage({ path: storageOf(target) }), logger: undefined });
    await umzug.up(count === undefined ? {} : { step: count });
    return JSON.parse(readFileSync(storageOf(target), "utf8")) as string[];
  } finally {
    db.close();
  }
}
