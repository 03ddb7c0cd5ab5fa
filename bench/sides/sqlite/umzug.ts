/** Umzug 3 on better-sqlite3, its storage in a table of the database, each migration in a transaction of its own. */
import Database from "better-sqlite3";
import { Umzug } from "umzug";
import { migrations } from "workload:migrations";
import { action, report, SQLITE_PRAGMAS, target } from "../side.js";

const db = new Database(target);
for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
db.exec("CREATE TABLE IF NOT EXISTS umzug_migrations (name TEXT PRIMARY KEY)");
const umzug = new Umzug({
  migrations: migrations.map((migration) => ({
    name: migration.name,
    up: async () => db.transaction(() => db.exec(migration.up))(),
    down: async () => db.transaction(() => db.exec(migration.down))(),
  })),
  context: db,
  logger: undefined,
  storage: {
    logMigration: async ({ name }) => void db.prepare("INSERT INTO umzug_migrations (name) VALUES (?)").run(name),
    unlogMigration: async ({ name }) => void db.prepare("DELETE FROM umzug_migrations WHERE name = ?").run(name),
    executed: async () => (db.prepare("SELECT name FROM umzug_migrations").all() as { name: string }[]).map((row) => row.name),
  },
});
const ran = action === "up" ? await umzug.up() : await umzug.down({ to: 0 });
db.close();
report(ran.length);
