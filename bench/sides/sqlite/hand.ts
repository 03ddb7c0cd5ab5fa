/** The floor: what any tool has to do, written by hand on better-sqlite3, a transaction per migration. */
import Database from "better-sqlite3";
import { migrations } from "workload:migrations";
import { action, report, SQLITE_PRAGMAS, target } from "../side.js";

const db = new Database(target);
for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
db.exec("CREATE TABLE IF NOT EXISTS hand_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
const applied = new Set((db.prepare("SELECT version FROM hand_migrations").all() as { version: number }[]).map((row) => row.version));
const insert = db.prepare("INSERT INTO hand_migrations (version, name, applied_at) VALUES (?, ?, ?)");
const remove = db.prepare("DELETE FROM hand_migrations WHERE version = ?");
const todo = action === "up" ? migrations.filter((migration) => !applied.has(migration.version)) : migrations.filter((migration) => applied.has(migration.version)).reverse();
for (const migration of todo) {
  db.exec("BEGIN IMMEDIATE");
  if (action === "up") {
    db.exec(migration.up);
    insert.run(migration.version, migration.name, new Date().toISOString());
  } else {
    db.exec(migration.down);
    remove.run(migration.version);
  }
  db.exec("COMMIT");
}
db.close();
report(todo.length);
