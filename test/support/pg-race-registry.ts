/**
 * The registry the pg multi-process tests race on (test/concurrency-pg.test.ts, through
 * test/support/pg-migrate-child.ts), and what a worker answers.
 */
import { appendFileSync } from "node:fs";
import type pg from "pg";
import type { MigrationDefinition, MigrationEntry } from "../../src/core/types.js";
import { namedSqlEntry, tsEntry } from "./registry-builders.js";

/** What a `serve` worker answers. */
export type PgWorkerReply = { readonly ok: true; readonly ran: number[] } | { readonly ok: false; readonly code: string | null; readonly nativeCode: string | null; readonly message: string };

/** How many migrations {@link PG_RACE_REGISTRY} holds. */
export const PG_RACE_LATEST = 10;

/** Every entry is marked as generated for PostgreSQL, which the pg driver requires. */
const POSTGRES = { dialect: "postgres" } as const;

/** The versions whose bodies record themselves in `side_effects` and the log: the transactional TypeScript ones. */
export const PG_RACE_SIDE_EFFECT_VERSIONS: readonly number[] = [2, 4, 6, 8];

/** The index the last migration builds `CONCURRENTLY`, outside a transaction. */
export const PG_RACE_CONCURRENT_INDEX = "t_9_concurrently";

/**
 * Ten migrations, SQL and async TypeScript in turn. Each transactional TypeScript one records itself
 * twice: a row in `side_effects` (inside its transaction) and a line in the file
 * `STEPWISE_SIDE_EFFECT_LOG` names (outside the database, so a body that ran twice shows even when a
 * rollback hid it there). The last builds an index `CONCURRENTLY` with `transaction: false`, while
 * the other processes wait for the run lock; it drops a leftover (invalid) index of an interrupted
 * attempt first, so it can be run again.
 */
export const PG_RACE_REGISTRY: MigrationEntry[] = Array.from({ length: PG_RACE_LATEST }, (_, index) => {
  const version = index + 1;
  if (version === PG_RACE_LATEST) {
    const concurrently = async (db: pg.ClientBase): Promise<void> => {
      // STEPWISE_PG_SLOW_LAST=<ms>: a long-running migration for the liveness tests, in short statements
      // so that the server notices at once when the process dies.
      const slowUntil = Date.now() + Number(process.env.STEPWISE_PG_SLOW_LAST ?? 0);
      while (Date.now() < slowUntil) await db.query("SELECT pg_sleep(0.02)");
      await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${PG_RACE_CONCURRENT_INDEX}`);
      await db.query(`CREATE INDEX CONCURRENTLY ${PG_RACE_CONCURRENT_INDEX} ON t_9 (id)`);
    };
    return tsEntry(version, { up: concurrently, transaction: false } as unknown as MigrationDefinition<unknown>, POSTGRES) as MigrationEntry;
  }
  if (version === 1) return namedSqlEntry(1, "create_side_effects", "CREATE TABLE side_effects (version INTEGER NOT NULL);", null, POSTGRES);
  if (version % 2 === 1) return namedSqlEntry(version, `table_${version}`, `CREATE TABLE t_${version} (id BIGINT PRIMARY KEY); INSERT INTO t_${version} VALUES (${version});`, null, POSTGRES);
  const up = async (db: pg.ClientBase): Promise<void> => {
    const log = process.env.STEPWISE_SIDE_EFFECT_LOG;
    if (log) appendFileSync(log, `${version}\n`);
    await db.query(`INSERT INTO side_effects (version) VALUES (${version})`);
    // A pause inside the transaction, so the other processes are waiting on the lock meanwhile.
    await db.query("SELECT pg_sleep(0.005)");
  };
  return tsEntry(version, { up } as unknown as MigrationDefinition<unknown>, POSTGRES) as MigrationEntry;
});
