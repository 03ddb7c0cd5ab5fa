/** Kysely's `Migrator` on its PostgreSQL dialect, with an in-memory provider (a run in one transaction). */
import { Kysely, Migrator, NO_MIGRATIONS, PostgresDialect, sql, type Migration } from "kysely";
import pg from "pg";
import { migrations } from "workload:migrations";
import { action, report, target } from "../side.js";

const run = (script: string) => async (db: Kysely<unknown>) => void (await sql.raw(script).execute(db));
const provided: Record<string, Migration> = Object.fromEntries(migrations.map((migration) => [migration.name, { up: run(migration.up), down: run(migration.down) }]));
const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target, max: 1 }) }) });
const migrator = new Migrator({ db, provider: { getMigrations: async () => provided } });
const { error, results } = action === "up" ? await migrator.migrateToLatest() : await migrator.migrateTo(NO_MIGRATIONS);
await db.destroy();
if (error) throw error;
report(results?.length ?? 0);
