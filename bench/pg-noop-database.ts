/**
 * The database the pg no-op benches start against (`pg-noop-ab.ts`, `pg-noop-statements.ts`): the
 * bench workload applied by stepwise, and the hand loop's history of the same size beside it.
 */
import { rmSync } from "node:fs";
import pg from "pg";
import { createTestDatabase } from "../test/support/postgres-server.js";
import { createPgSides } from "./pg-sides.js";
import { createPgWorkload, type PgWorkload } from "./pg-workload.js";

/** What {@link createNoOpDatabase} made. */
export interface NoOpDatabase {
  readonly workload: PgWorkload;
  readonly database: Awaited<ReturnType<typeof createTestDatabase>>;
  /** Drops the database and removes the workload's temp folder. */
  dispose(): Promise<void>;
}

/** A fresh database with `size` migrations applied by stepwise and recorded by the hand loop. */
export async function createNoOpDatabase(size: number): Promise<NoOpDatabase> {
  const workload = await createPgWorkload(size);
  const database = await createTestDatabase();
  await createPgSides(workload)
    .find((side) => side.id === "stepwise-all")!
    .apply(database.url);
  const setup = new pg.Client({ connectionString: database.url });
  await setup.connect();
  // The hand loop's history, written directly: applying its copy of the workload would clash on the tables.
  await setup.query("CREATE TABLE hand_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)");
  await setup.query(`INSERT INTO hand_migrations SELECT g, 'm' || g, now() FROM generate_series(1, ${size}) AS g`);
  await setup.end();
  return {
    workload,
    database,
    dispose: async () => {
      await database.drop();
      rmSync(workload.root, { recursive: true, force: true });
    },
  };
}
