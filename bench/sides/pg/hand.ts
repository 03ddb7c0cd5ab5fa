/** The floor: what any tool has to do, written by hand on `pg`, a transaction per migration. */
import pg from "pg";
import { migrations } from "workload:migrations";
import { action, report, target } from "../side.js";

const client = new pg.Client({ connectionString: target });
await client.connect();
await client.query("CREATE TABLE IF NOT EXISTS hand_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)");
const applied = new Set((await client.query<{ version: string }>("SELECT version FROM hand_migrations")).rows.map((row) => Number(row.version)));
const todo = action === "up" ? migrations.filter((migration) => !applied.has(migration.version)) : migrations.filter((migration) => applied.has(migration.version)).reverse();
for (const migration of todo) {
  await client.query("BEGIN");
  if (action === "up") {
    await client.query(migration.up);
    await client.query("INSERT INTO hand_migrations (version, name, applied_at) VALUES ($1, $2, now())", [migration.version, migration.name]);
  } else {
    await client.query(migration.down);
    await client.query("DELETE FROM hand_migrations WHERE version = $1", [migration.version]);
  }
  await client.query("COMMIT");
}
await client.end();
report(todo.length);
