/**
 * The child process of the "killed during a replay" test: `pg-verify-child.ts <url>` runs
 * `verifySchema` on `url` with {@link SLOW_REPLAY_REGISTRY}, whose second migration, replayed in
 * a scratch database, prints `replaying <database>` and then waits, so the parent can SIGKILL it
 * while the scratch database exists. Lines are written with `writeSync`, so the parent has seen them.
 */
import { writeSync } from "node:fs";
import pg from "pg";
import { SCRATCH_DATABASE_PREFIX } from "../../src/drivers/pg.js";
import { MigrationManager } from "../../src/entries/pg.js";
import { verifySchema } from "../../src/index.js";
import type { MigrationDefinition, MigrationEntry } from "../../src/core/types.js";
import { namedSqlEntry, tsEntry } from "./registry-builders.js";

/** Migration 1 creates a table; migration 2, replayed in a scratch database by the child, waits a minute there. */
export const SLOW_REPLAY_REGISTRY: MigrationEntry[] = [
  namedSqlEntry(1, "items", "CREATE TABLE items (id bigint PRIMARY KEY, note text);", null, { dialect: "postgres" } as never),
  tsEntry(
    2,
    {
      async up(db: pg.ClientBase) {
        await db.query("CREATE INDEX idx_items_note ON items (note)");
        const name = (await db.query<{ name: string }>("SELECT current_database()::text AS name")).rows[0]!.name;
        // Only the child waits: a replay in the parent runs through.
        if (!name.startsWith(SCRATCH_DATABASE_PREFIX) || process.env.STEPWISE_SLOW_REPLAY !== "1") return;
        writeSync(1, `replaying ${name}\n`);
        await new Promise((resolve) => setTimeout(resolve, 60_000));
      },
    } as unknown as MigrationDefinition<unknown>,
    { dialect: "postgres" } as never,
  ) as MigrationEntry,
];

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const pool = new pg.Pool({ connectionString: process.argv[2], max: 2 });
  await verifySchema(new MigrationManager(pool, SLOW_REPLAY_REGISTRY));
  writeSync(1, "verified\n");
  await pool.end();
}
