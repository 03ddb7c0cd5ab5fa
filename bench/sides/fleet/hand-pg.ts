/**
 * The floor for a fleet of PostgreSQL schemas: a hand-written loop on `pg` over `concurrency` lanes,
 * a session per schema with its search_path, a transaction per migration.
 *
 *   hand-pg.mjs up|status <url> <concurrency>   prints {"databases", "count"}: migrations applied, or schemas at the latest version
 */
import pg from "pg";
import { migrations } from "workload:fleet-migrations";

const [action = "up", url = "", concurrency = "1"] = process.argv.slice(2);

async function work(schema: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    if (action === "status") {
      const { rows } = await client.query<{ v: number | null }>("SELECT CASE WHEN to_regclass('hand_migrations') IS NULL THEN NULL ELSE (SELECT max(version) FROM hand_migrations) END AS v");
      return Number(rows[0]!.v) === migrations.length ? 1 : 0;
    }
    await client.query("CREATE TABLE IF NOT EXISTS hand_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)");
    const applied = new Set((await client.query<{ version: string }>("SELECT version FROM hand_migrations")).rows.map((row) => Number(row.version)));
    let count = 0;
    for (const migration of migrations.filter((each) => !applied.has(each.version))) {
      await client.query("BEGIN");
      await client.query(migration.postgres);
      await client.query("INSERT INTO hand_migrations (version, name, applied_at) VALUES ($1, $2, now())", [migration.version, migration.name]);
      await client.query("COMMIT");
      count++;
    }
    return count;
  } finally {
    await client.end();
  }
}

const lister = new pg.Client({ connectionString: url });
await lister.connect();
const schemas = (await lister.query<{ name: string }>("SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' ORDER BY nspname")).rows.map((row) => row.name);
await lister.end();
let next = 0;
let count = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < schemas.length) {
      const done = await work(schemas[next++]!);
      count += done;
    }
  }),
);
process.stdout.write(`${JSON.stringify({ databases: schemas.length, count })}\n`);
