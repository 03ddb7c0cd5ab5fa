/** drizzle's node-postgres migrator over a drizzle-kit folder; it applies a run in one transaction and has no down migrations. */
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { report, target } from "../side.js";

const client = new pg.Client({ connectionString: target });
await client.connect();
const applied = async () => Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM drizzle.__drizzle_migrations")).rows[0]!.n);
const before = await applied().catch(() => 0);
await migrate(drizzle(client), { migrationsFolder: "drizzle" });
report((await applied()) - before);
await client.end();
