/** Knex's migrator on its better-sqlite3 client, with a custom migration source (a batch runs in one transaction). */
import type Database from "better-sqlite3";
import knex, { type Knex } from "knex";
import { migrations } from "workload:migrations";
import { action, report, SQLITE_PRAGMAS, statementsOf, target } from "../side.js";

type Migration = (typeof migrations)[number];
const run = (script: string) => async (db: Knex) => {
  for (const statement of statementsOf(script)) await db.raw(statement);
};
const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...migrations],
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => ({ up: run(migration.up), down: run(migration.down) }),
};
const db = knex({
  client: "better-sqlite3",
  connection: { filename: target },
  useNullAsDefault: true,
  pool: {
    min: 0,
    max: 1,
    afterCreate: (connection: Database.Database, done: (error: Error | null, connection: Database.Database) => void) => {
      for (const pragma of SQLITE_PRAGMAS) connection.pragma(pragma);
      done(null, connection);
    },
  },
});
const [, ran] = (action === "up" ? await db.migrate.latest({ migrationSource }) : await db.migrate.rollback({ migrationSource }, true)) as [number, string[]];
await db.destroy();
report(ran.length);
