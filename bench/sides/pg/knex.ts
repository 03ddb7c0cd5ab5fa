/** Knex's migrator on its `pg` client, with a custom migration source (a batch runs in one transaction). */
import knex, { type Knex } from "knex";
import { migrations } from "workload:migrations";
import { action, report, target } from "../side.js";

type Migration = (typeof migrations)[number];
const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...migrations],
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => ({ up: (db: Knex) => db.raw(migration.up), down: (db: Knex) => db.raw(migration.down) }),
};
const db = knex({ client: "pg", connection: target, pool: { min: 0, max: 1 } });
const [, ran] = (action === "up" ? await db.migrate.latest({ migrationSource }) : await db.migrate.rollback({ migrationSource }, true)) as [number, string[]];
await db.destroy();
report(ran.length);
