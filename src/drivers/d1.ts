/** The D1 driver (a Cloudflare binding, `env.DB`, async) and the `stepwise-migrate/d1` entry's API. D1's only atomic unit is `batch()`, so each SQL migration is one batch, its history row first: a
 * second Worker's batch fails on the history key before any statement counts. A transactional TypeScript migration cannot be atomic here and is refused; one with `transaction: false` runs. */
import { AsyncMigrationManager, migrateAsyncOn, runAloneOnConnection, runHoldingRunLock, type MigrateAsync } from "../core/async-manager.js";
import type { RunOptions } from "../core/manager-base.js";
import type { Step } from "../core/step.js";
import { type AsyncDriver, type Row, driverCapabilityError } from "../core/driver.js";
import { defineDriver } from "../core/define-driver.js";
import { refuseNonConnection, type MigrationManagerProps, refuseOtherLibrary } from "../core/options.js";
import { returnDefinition, type MigrationContext, type MigrationDefinition, type MigrationRegistry } from "../core/types.js";
import { statementTexts } from "../core/dialects/sqlite.js";
import { classifyCloudflareError, createCloudflareDialect } from "./cloudflare-dialect.js";

/** The part of a D1 prepared statement stepwise uses. */
export interface D1PreparedStatementLike {
  bind(...values: unknown[]): D1PreparedStatementLike;
  all(): Promise<{ results?: unknown[] }>;
  run(): Promise<{ meta?: { changes?: number } }>;
}

/** The part of a D1 binding (`D1Database`) stepwise uses. */
export interface D1DatabaseLike {
  prepare(query: string): D1PreparedStatementLike;
  batch(statements: D1PreparedStatementLike[]): Promise<unknown[]>;
}

/** A `transaction: false` TypeScript migration on D1: `up` and `down` receive the binding and may be `async`. */
export interface D1MigrationDefinition extends Omit<MigrationDefinition<D1DatabaseLike>, "up" | "down"> {
  readonly transaction: false;
  readonly up: (db: D1DatabaseLike, context: MigrationContext) => void | Promise<void>;
  readonly down?: (db: D1DatabaseLike, context: MigrationContext) => void | Promise<void>;
}

/** The executor's primitives on `db`; a manager on it needs `createCloudflareDialect` too. */
export function createD1Driver(db: D1DatabaseLike): AsyncDriver<D1DatabaseLike> {
  refuseOtherLibrary(db, "d1", "a D1 binding (env.DB)", ["prepare", "batch"]);
  // No interactive transaction: the section only marks where the executor is.
  let section = false;
  const prepare = (sql: string, params: readonly unknown[] = []) => (params.length === 0 ? db.prepare(sql) : db.prepare(sql).bind(...params));
  return defineDriver({
    name: "d1",
    dialect: "sqlite",
    async: true,
    connection: db,
    // No forEachBatch either: a batch is given up front, so no walk can run inside one.
    lacks: ["pragmas", "savepoints"],
    exec: async (script) => {
      for (const statement of statementTexts(script)) await db.prepare(statement).run();
    },
    query: async (sql, params) => ((await prepare(sql, params).all()).results ?? []) as Row[],
    run: async (sql, params) => ({ changes: (await prepare(sql, params).run()).meta?.changes ?? 0 }),
    batch: async (statements, script) => {
      await db.batch([...statements.map((statement) => prepare(statement.sql, statement.params)), ...statementTexts(script).map((sql) => db.prepare(sql))]);
    },
    begin: async () => void (section = true),
    commit: async () => void (section = false),
    rollback: async () => void (section = false),
    inTransaction: async () => section,
    classifyError: classifyCloudflareError,
  });
}

/**
 * Applies and reverts the migrations of a generated registry on a D1 binding. Every method returns a
 * promise; each SQL migration is one `batch()` with its history row.
 *
 * @example
 * import { MigrationManager } from "stepwise-migrate/d1";
 * await new MigrationManager(env.DB, migrations).up();
 */
export class MigrationManager<R extends MigrationRegistry = MigrationRegistry> extends AsyncMigrationManager<D1DatabaseLike, R> {
  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `REGISTRY_DIALECT_MISMATCH` when it was generated for PostgreSQL.
   * @throws `DRIVER_CAPABILITY_MISSING` (`capability: "atomicBatch"`, `file`) when it holds a transactional TypeScript migration.
   */
  constructor(db: D1DatabaseLike, migrations: R, props: MigrationManagerProps = {}) {
    refuseNonConnection(db, "new MigrationManager");
    super(createD1Driver(db), migrations, props, createCloudflareDialect(false));
    const script = migrations.find((entry) => entry.kind !== "sql" && entry.transaction);
    if (!script) return;
    const fix = "D1 applies a migration atomically only as one batch of SQL with its history row; write it as a .sql migration (or, if it may be left half done, mark it transaction: false).";
    throw driverCapabilityError({ driver: "d1", capability: "atomicBatch", operation: "a TypeScript migration", file: script.file, fix });
  }

  /** Runs a step alone on this manager, not on the binding: a Worker's requests share one `env.DB`, and the history key turns a second batch away. */
  override async run<T>(step: Step<T>, options: RunOptions = {}): Promise<T> {
    const driver = this.driver;
    return runAloneOnConnection(driver, driver.name, step, () => runHoldingRunLock(driver, step, options, this.tableName, this.busyTimeoutMs));
  }
}

/**
 * Applies every pending migration: the one call a Worker makes before it serves.
 *
 * @example
 * await migrate(env.DB, migrations);
 */
export const migrate: MigrateAsync<D1DatabaseLike> = /* @__PURE__ */ migrateAsyncOn(MigrationManager, "d1", "migrate");

/**
 * Declares a TypeScript migration for D1; only `transaction: false` ones run there, statement by
 * statement, and a failure leaves the earlier ones applied.
 *
 * @example
 * export default defineMigration({ transaction: false, async up(db) { await db.prepare("UPDATE t SET n = 0").run(); } });
 */
export const defineMigration: <const T extends D1MigrationDefinition>(definition: T) => T = returnDefinition;
