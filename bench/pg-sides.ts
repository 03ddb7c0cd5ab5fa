/**
 * The sides of the PostgreSQL benchmark: stepwise, the same work hand-written on `pg`, and three
 * peers (node-pg-migrate, Kysely, Knex), each applying, starting with nothing to do and rolling back
 * the same workload in its own format and with its own tracking table. Every side opens its own
 * connection to the database it is given, as an app's start-up does, and closes it before returning.
 */
import knex, { type Knex } from "knex";
import { PostgresDialect, sql } from "kysely";
import { runner } from "node-pg-migrate";
import pg from "pg";
import { MigrationManager } from "../src/entries/pg.js";
import { kyselyActions, type KyselyMigrations } from "./kysely-side.js";
import type { PgWorkload, PgWorkloadMigration } from "./pg-workload.js";

/** One side: how it applies everything, starts with nothing pending, and rolls everything back. */
export interface PgSide {
  readonly id: string;
  readonly label: string;
  /** How the side groups migrations into transactions, for the report. */
  readonly transactions: "one per migration" | "one for the run";
  /** The tables the side keeps its own tracking in: left out when schemas are compared. */
  readonly trackingTables: readonly string[];
  apply(url: string): Promise<void>;
  noopStart(url: string): Promise<void>;
  rollbackAll(url: string): Promise<void>;
}

/** The hand-written loop's history table: what stepwise's holds, without the extra columns. */
const HAND_TABLE = "hand_migrations";

async function withClient<T>(url: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

/** stepwise through `stepwise-migrate/pg` on one `pg.Client`, in the given transaction mode. */
function stepwiseSide(workload: PgWorkload, mode: "each" | "all"): PgSide {
  return {
    id: mode === "each" ? "stepwise" : "stepwise-all",
    label: mode === "each" ? "stepwise (`up()`, `down()`)" : 'stepwise (`up`/`down` with `transaction: "all"`)',
    transactions: mode === "each" ? "one per migration" : "one for the run",
    trackingTables: ["schema_migrations"],
    apply: (url) => withClient(url, async (client) => void (await new MigrationManager(client, workload.registry).up({ transaction: mode }))),
    noopStart: (url) =>
      withClient(url, async (client) => {
        const result = await new MigrationManager(client, workload.registry).up();
        if (result.steps.length !== 0) throw new Error("stepwise's no-op start applied something");
      }),
    // Each side rolls back in its own mode: a transaction per migration, or one for the run as the peers do.
    rollbackAll: (url) =>
      withClient(url, async (client) => {
        const result = await new MigrationManager(client, workload.registry).down({ to: 0, transaction: mode });
        if (result.toVersion !== 0 || result.steps.length !== workload.migrations.length)
          throw new Error(`stepwise's rollback (${mode}) reverted ${result.steps.length} migrations, to version ${result.toVersion}`);
      }),
  };
}

async function ensureHandTable(client: pg.Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${HAND_TABLE} (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)`);
}

async function applyHand(client: pg.Client, migration: PgWorkloadMigration): Promise<void> {
  await client.query(migration.upSql);
  await client.query(`INSERT INTO ${HAND_TABLE} (version, name, applied_at) VALUES ($1, $2, now())`, [migration.version, migration.name]);
}

async function revertHand(client: pg.Client, migration: PgWorkloadMigration): Promise<void> {
  await client.query(migration.downSql);
  await client.query(`DELETE FROM ${HAND_TABLE} WHERE version = $1`, [migration.version]);
}

/**
 * The floor: what any tool must do at the least. Apply: ensure the history table, read it, then per
 * migration (or once) `BEGIN`; the SQL; one `INSERT`; `COMMIT`. No-op start: ensure and read the
 * history, find nothing pending. Rollback: the downs in reverse, one `DELETE` each.
 */
function handSide(workload: PgWorkload, mode: "each" | "all"): PgSide {
  const pending = async (client: pg.Client): Promise<PgWorkloadMigration[]> => {
    await ensureHandTable(client);
    const { rows } = await client.query<{ version: string }>(`SELECT version FROM ${HAND_TABLE}`);
    const applied = new Set(rows.map((row) => Number(row.version)));
    return workload.migrations.filter((migration) => !applied.has(migration.version));
  };
  const inTransactions = async (client: pg.Client, migrations: readonly PgWorkloadMigration[], action: (client: pg.Client, migration: PgWorkloadMigration) => Promise<void>) => {
    if (mode === "all") await client.query("BEGIN");
    for (const migration of migrations) {
      if (mode === "each") await client.query("BEGIN");
      await action(client, migration);
      if (mode === "each") await client.query("COMMIT");
    }
    if (mode === "all") await client.query("COMMIT");
  };
  return {
    id: mode === "each" ? "hand" : "hand-all",
    label: mode === "each" ? "hand-written `pg` loop, a transaction per migration" : "hand-written `pg` loop, one transaction",
    transactions: mode === "each" ? "one per migration" : "one for the run",
    trackingTables: [HAND_TABLE],
    apply: (url) => withClient(url, async (client) => inTransactions(client, await pending(client), applyHand)),
    noopStart: (url) =>
      withClient(url, async (client) => {
        if ((await pending(client)).length !== 0) throw new Error("the hand loop's no-op start found work");
      }),
    rollbackAll: (url) =>
      withClient(url, async (client) => {
        const { rows } = await client.query<{ version: string }>(`SELECT version FROM ${HAND_TABLE} ORDER BY version DESC`);
        const byVersion = new Map(workload.migrations.map((migration) => [migration.version, migration]));
        await inTransactions(
          client,
          rows.map((row) => byVersion.get(Number(row.version))!),
          revertHand,
        );
      }),
  };
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** node-pg-migrate's `runner` over its folder of SQL migrations, with its defaults (one transaction for the run, its advisory lock). */
function nodePgMigrateSide(workload: PgWorkload): PgSide {
  const run = (url: string, direction: "up" | "down") =>
    withClient(url, (client) => runner({ dbClient: client, dir: workload.nodePgMigrateDir, direction, count: Infinity, migrationsTable: "pgmigrations", logger: silent }));
  return {
    id: "node-pg-migrate",
    label: "node-pg-migrate 9 (`runner`, SQL files)",
    transactions: "one for the run",
    trackingTables: ["pgmigrations"],
    apply: async (url) => void (await run(url, "up")),
    noopStart: async (url) => {
      if ((await run(url, "up")).length !== 0) throw new Error("node-pg-migrate's no-op start applied something");
    },
    rollbackAll: async (url) => void (await run(url, "down")),
  };
}

/** Kysely's `Migrator` over an in-memory provider; on PostgreSQL it runs a whole call in one transaction. */
function kyselySide(workload: PgWorkload): PgSide {
  const provided: KyselyMigrations = {};
  for (const migration of workload.migrations) {
    provided[migration.name] = {
      up: async (db) => void (await sql.raw(migration.upSql).execute(db)),
      down: async (db) => void (await sql.raw(migration.downSql).execute(db)),
    };
  }
  return {
    id: "kysely",
    label: "Kysely 0.28 (`Migrator`, in-memory provider)",
    transactions: "one for the run",
    trackingTables: ["kysely_migration", "kysely_migration_lock"],
    ...kyselyActions(provided, (url) => new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) })),
  };
}

/** Knex's migrator over a custom migration source; by default it runs a batch in one transaction. */
function knexSide(workload: PgWorkload): PgSide {
  const migrationSource: Knex.MigrationSource<PgWorkloadMigration> = {
    getMigrations: async () => [...workload.migrations],
    getMigrationName: (migration) => migration.name,
    getMigration: async (migration) => ({
      up: (db: Knex) => db.raw(migration.upSql),
      down: (db: Knex) => db.raw(migration.downSql),
    }),
  };
  const withKnex = async <T>(url: string, action: (db: Knex) => Promise<T>): Promise<T> => {
    const db = knex({ client: "pg", connection: url, pool: { min: 0, max: 1 }, log: { warn: () => undefined, deprecate: () => undefined, debug: () => undefined, error: () => undefined } });
    try {
      return await action(db);
    } finally {
      await db.destroy();
    }
  };
  return {
    id: "knex",
    label: "Knex 3 (`migrate.latest`, custom source)",
    transactions: "one for the run",
    trackingTables: ["knex_migrations", "knex_migrations_lock"],
    apply: (url) => withKnex(url, async (db) => void (await db.migrate.latest({ migrationSource }))),
    noopStart: (url) =>
      withKnex(url, async (db) => {
        const [, ran] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
        if (ran.length !== 0) throw new Error("Knex's no-op start applied something");
      }),
    rollbackAll: (url) => withKnex(url, async (db) => void (await db.migrate.rollback({ migrationSource }, true))),
  };
}

/** Every side, stepwise's first. */
export function createPgSides(workload: PgWorkload): PgSide[] {
  return [stepwiseSide(workload, "each"), stepwiseSide(workload, "all"), handSide(workload, "each"), handSide(workload, "all"), nodePgMigrateSide(workload), kyselySide(workload), knexSide(workload)];
}
