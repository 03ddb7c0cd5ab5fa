/** Kysely's `Migrator` on its SQLite dialect over better-sqlite3, with an in-memory provider (on SQLite it runs no transaction). */
import Database from "better-sqlite3";
import { Kysely, Migrator, NO_MIGRATIONS, SqliteDialect, sql, type Migration } from "kysely";
import { migrations } from "workload:migrations";
import { action, report, SQLITE_PRAGMAS, statementsOf, target } from "../side.js";

const run = (script: string) => async (db: Kysely<unknown>) => {
  for (const statement of statementsOf(script)) await sql.raw(statement).execute(db);
};
const provided: Record<string, Migration> = Object.fromEntries(migrations.map((migration) => [migration.name, { up: run(migration.up), down: run(migration.down) }]));
const database = new Database(target);
for (const pragma of SQLITE_PRAGMAS) database.pragma(pragma);
const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
const migrator = new Migrator({ db, provider: { getMigrations: async () => provided } });
const { error, results } = action === "up" ? await migrator.migrateToLatest() : await migrator.migrateTo(NO_MIGRATIONS);
await db.destroy();
if (error) throw error;
report(results?.length ?? 0);
