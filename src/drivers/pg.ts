/**
 * The pg driver: the executor's primitives on a `pg` client (node-postgres), and the `stepwise-migrate/pg`
 * entry (`migrate`, `MigrationManager`), over a `pg.Client` the app connected or a `pg.Pool`. Every
 * primitive returns a promise, so the async runner drives the executor; PostgreSQL's own SQL (the
 * catalog, transaction ids) is the core's dialect (`core/dialects/postgres.ts`).
 *
 * The run lock is a session advisory lock (`pg_advisory_lock`) whose key is derived from the history
 * table's schema and name (see {@link runLockKey}), so two apps with different history tables never
 * wait for each other, and the server drops it when the session dies.
 */
import pg from "pg";
import { runAloneOnConnection, runHoldingRunLock } from "../core/async-manager.js";
import { MigrationManagerBase, type DriverIdentity, type RunOptions } from "../core/manager-base.js";
import { openPgScratchDatabase } from "./pg-scratch-database.js";
import { parseInt8, STEPWISE_QUERY_TYPES } from "./pg-query-types.js";

import { createPostgresDialect, DEFAULT_POSTGRES_SCHEMA } from "../core/dialects/postgres.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../core/options.js";
import { classifyPostgresError, lostConnection, sqlstateOf } from "../core/dialects/postgres-errors.js";
import { describeConnectionFailure, isConnectionLost } from "../core/dialects/postgres-connection-errors.js";
import { SessionLockTimeout, lockTimeoutOf } from "./pg-lock-timeout.js";
import { splitPostgresSqlText, tokenizePostgresSql } from "../shared/postgres-tokens.js";
import { requireCapabilities, type AsyncDriver, type Row } from "../core/driver.js";
import { defineDriver } from "../core/define-driver.js";
import type { DriverCapabilities } from "../core/driver-capabilities.js";
import { type LockHolder, StepwiseError } from "../core/errors.js";
import { createAsyncMigrationContext, type AsyncMigrationContext } from "../core/async-batches.js";
import { POSTGRES_BATCH_DIALECT } from "../core/dialects/postgres-batches.js";
import { EQ } from "../core/dialects/postgres-operators.js";
import { programName } from "./lock-holders.js";
import type { MigrationManagerProps, MigrationResult, UpOptions } from "../core/options.js";
import type { Step } from "../core/step.js";
import type { MigrationContext, MigrationDefinition, MigrationRegistry, VersionOf } from "../core/types.js";
import { usageError, databaseLockedError, transactionOpenError } from "../core/error-factories.js";

/** The connection a migration body receives: the session's client (a pool's checked-out client, or the app's own). */
export type PgConnection = pg.ClientBase;

/** A TypeScript migration on pg: as everywhere, except that `up` and `down` may be `async`. */
export interface PgMigrationDefinition extends Omit<MigrationDefinition<pg.ClientBase>, "up" | "down"> {
  /** Applies the change on the session's client, inside the migration's transaction unless `transaction: false`. */
  readonly up: (db: pg.ClientBase, context: AsyncMigrationContext<pg.ClientBase>) => void | Promise<void>;
  /** Undoes `up`. Without it the migration is irreversible. */
  readonly down?: (db: pg.ClientBase, context: AsyncMigrationContext<pg.ClientBase>) => void | Promise<void>;
}

/** Options of the pg `MigrationManager` and `migrate`. */
export interface PgMigrationManagerProps extends MigrationManagerProps {
  /** The schema of the history table (created when missing). Default `DEFAULT_POSTGRES_SCHEMA` (`public`). */
  readonly schema?: string;
  /**
   * How long a statement of a run may wait for another session's lock (PostgreSQL's `lock_timeout`),
   * before the migration fails with `LOCK_TIMEOUT` naming the relation and the session that held it,
   * rolled back. It is set with `SET LOCAL` in each of stepwise's transactions (it ends with them) and
   * for the session around each `transaction: false` migration (put back after as the session had
   * it). While a statement has run a third of it, a second connection with the session's settings
   * looks at `pg_locks` every third of it, to name the holder; it closes when the statement ends.
   * 0 sets none: the session's own `lock_timeout` holds. `busyTimeoutMs` bounds the wait for the run
   * lock, not this. A migration may set its own (`SET LOCAL lock_timeout = '1min'`). Default
   * `DEFAULT_LOCK_TIMEOUT_MS` (10 s).
   */
  readonly lockTimeoutMs?: number;
}

const INT8_OID = 20;

/**
 * The parsers of a `forEachBatch` walk's reads: its rows go to the migration's handler, the app's
 * own code, so they arrive as the app's parsers make them, except `bigint`, whose value must bind
 * back exactly as the walk's key (see {@link parseInt8}).
 */
const WALK_QUERY_TYPES = {
  getTypeParser: ((oid: number, format?: string) => (oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as "text"))) as pg.CustomTypesConfig["getTypeParser"],
};

/**
 * SQL with `?` placeholders (SQLite's) as PostgreSQL's `$1, $2...`: the executor's own statements, and
 * a `forEachBatch` walk's, which embed the migration's `where`. So it follows PostgreSQL's lexer
 * (`E'...\\'...'` strings, `$$...$$` quotes, comments, quoted names): a `?` inside any of those is text, not
 * a placeholder. A `?` operator (jsonb's) outside them is read as a placeholder; write `jsonb_exists` there.
 */
export function toPositionalParameters(sql: string): string {
  let index = 0;
  return tokenizePostgresSql(sql)
    .map((token) => (token.kind === "punctuation" ? token.text.replace(/\?/g, () => `$${++index}`) : token.text))
    .join("");
}

/**
 * The advisory lock key of the history table `schema.tableName`: the first 8 bytes of the SHA-256 of
 * `stepwise:<schema>.<tableName>`, read as a signed big-endian 64-bit integer (the `bigint`
 * `pg_advisory_lock` takes). Stable across processes, versions and hosts; distinct tables get
 * distinct keys short of a 64-bit collision.
 */
export async function runLockKey(schema: string, tableName: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(`stepwise:${schema}.${tableName}`));
  return new DataView(digest).getBigInt64(0).toString();
}

/** Whether the client can still send: pg's client marks itself once its socket is gone. */
function sessionGone(client: pg.ClientBase): boolean {
  const state = client as { _queryable?: unknown; _ending?: unknown };
  return state._queryable === false || state._ending === true;
}

/**
 * What stepwise keeps for one session: whether a transaction is open (as the executor sees it), the
 * run lock, and the lock timeout of its statements.
 */
class PgSession {
  busyTimeoutMs = 0;
  /**
   * While this session holds the run lock, no other stepwise process can write the history, so the
   * executor need not re-read it in every transaction: the counter stays still until the lock goes.
   */
  runLockHeld = false;
  readonly lockTimeout: SessionLockTimeout;

  constructor(
    readonly client: pg.ClientBase,
    timeout: ReturnType<typeof lockTimeoutOf>,
  ) {
    this.lockTimeout = new SessionLockTimeout(client, timeout, () => sessionGone(client));
  }

  private status(): string | null {
    return (this.client as pg.ClientBase & { getTransactionStatus?(): string | null }).getTransactionStatus?.() ?? null;
  }

  inTransaction(): boolean {
    const status = this.status();
    return status === "T" || status === "E";
  }

  /**
   * Every statement stepwise sends names its own parsers: the app's (global or its client's) must not
   * change what stepwise reads. A walk's reads are the exception (WALK_QUERY_TYPES).
   */
  async query(sql: string, params: readonly unknown[], types: pg.CustomTypesConfig = STEPWISE_QUERY_TYPES): Promise<pg.QueryResult<Row>> {
    // Outside a transaction no SET LOCAL bounds a lock wait of stepwise's statement: the watch does.
    return this.lockTimeout.watch(() => this.client.query<Row>({ text: params.length === 0 ? sql : toPositionalParameters(sql), values: params as unknown[], types }), !this.inTransaction());
  }

  async exec(sql: string): Promise<void> {
    if (this.inTransaction()) {
      await this.lockTimeout.watch(() => this.client.query(sql));
      return;
    }
    // Outside a transaction (a transaction: false migration), one query string of several statements
    // would still run as one implicit transaction block, where CREATE INDEX CONCURRENTLY and the like
    // are refused: send each statement on its own, as psql does.
    await this.lockTimeout.aroundSession(
      async () => {
        for (const statement of splitPostgresSqlText(sql)) await this.lockTimeout.watch(() => this.client.query(statement));
      },
      () => this.inTransaction(),
    );
  }

  /** No IMMEDIATE on PostgreSQL: the run lock gives the exclusivity, the transaction the atomicity. */
  async begin(): Promise<void> {
    // Inside a block already, BEGIN is the server's to refuse or warn about, as it always was.
    await this.client.query(this.inTransaction() ? "BEGIN" : this.lockTimeout.begin);
  }

  async commit(): Promise<void> {
    // COMMIT of an aborted transaction answers "ROLLBACK" without an error: never let that pass for a commit.
    if (this.status() === "E") {
      await this.client.query("ROLLBACK");
      await this.lockTimeout.restorePending();
      throw new Error("the transaction was aborted by an earlier failed statement; PostgreSQL rolled it back instead of committing");
    }
    await this.client.query("COMMIT");
    await this.lockTimeout.restorePending();
  }

  async rollback(): Promise<void> {
    if (!this.inTransaction()) return;
    try {
      await this.client.query("ROLLBACK");
    } catch {
      // The session is gone; the server rolled back with it.
    }
    await this.lockTimeout.restorePending();
  }

  async runBody(body: (db: pg.ClientBase, context: MigrationContext) => unknown, module: object, context: MigrationContext): Promise<void> {
    const run = () => this.lockTimeout.watch(async () => body.call(module, this.client, context));
    // Outside a transaction (transaction: false), its statements wait under the run's lock_timeout too.
    await (this.inTransaction() ? run() : this.lockTimeout.aroundSession(run, () => this.inTransaction()));
    // A body that caught a failed statement's error leaves the transaction aborted, and what it ran
    // is lost. The error reaches the body before the server's ReadyForQuery says "aborted", so one
    // round trip (queued after anything the body left running) settles it: it fails there.
    if (!this.inTransaction()) return;
    try {
      await this.client.query("SELECT 1");
    } catch (error) {
      if (sqlstateOf(error) !== "25P02") throw error;
      throw new Error("a statement failed inside the migration and its error was caught; PostgreSQL aborted the transaction, so its work is lost", { cause: error });
    }
  }

  async holdRunLock(schema: string, tableName: string, timeoutMs: number): Promise<() => Promise<void>> {
    // Taking it inside an app's open transaction would commit that transaction.
    if (this.inTransaction()) throw transactionOpenError({ driver: "pg", operation: "a migration run (up, down or reset)" });
    const key = await runLockKey(schema, tableName);
    try {
      await acquireAdvisoryLock(this.client, key, timeoutMs);
    } catch (error) {
      throw isConnectionLost(error) ? lostConnection(error, "waiting for the run lock") : error;
    }
    this.runLockHeld = true;
    return async () => {
      this.runLockHeld = false;
      try {
        await this.client.query("SELECT pg_catalog.pg_advisory_unlock($1::bigint)", [key]);
      } catch {
        // The session is gone, and the server released the lock with it.
      }
    };
  }
}

/**
 * The executor's primitives on one session. `schema` names the history table's schema, for the run
 * lock's key; `lockTimeoutMs` is the `lock_timeout` of its transactions and of its `transaction: false`
 * migrations (see {@link PgMigrationManagerProps.lockTimeoutMs}).
 *
 * @example
 * const driver = createPgDriver(client);
 */
export function createPgDriver(client: pg.ClientBase, schema: string = DEFAULT_POSTGRES_SCHEMA, lockTimeoutMs: number = DEFAULT_LOCK_TIMEOUT_MS): AsyncDriver<pg.ClientBase> {
  const timeout = lockTimeoutOf(lockTimeoutMs);
  const session = new PgSession(client, timeout);
  const driver: AsyncDriver<pg.ClientBase> = defineDriver({
    name: "pg",
    dialect: "postgres",
    async: true,
    connection: client,
    exec: (sql) => session.exec(sql),
    query: async (sql, params) => {
      const result = await session.query(sql, params);
      // Text of several statements (the escape guard's RELEASE and its transaction id read) answers
      // one result per statement: the read is the last.
      return (Array.isArray(result) ? (result[result.length - 1] as pg.QueryResult<Row>) : result).rows;
    },
    run: async (sql, params) => ({ changes: (await session.query(sql, params)).rowCount ?? 0 }),
    begin: () => session.begin(),
    commit: () => session.commit(),
    rollback: () => session.rollback(),
    inTransaction: async () => session.inTransaction(),
    changeCounter: async () => (session.runLockHeld ? 0 : null),
    getBusyTimeout: async () => session.busyTimeoutMs,
    setBusyTimeout: async (ms) => {
      session.busyTimeoutMs = ms;
    },
    runBody: (entry, direction, context) =>
      session.runBody((direction === "up" ? entry.module.up : entry.module.down) as (db: pg.ClientBase, context: MigrationContext) => unknown, entry.module, context),
    // The walk runs on this session, as the migration does; a handler writes through it too, so a
    // batch's own transaction (a transaction: false migration's) must be open before the handler runs.
    createContext: (entry, direction, progress) => createAsyncMigrationContext(walkDriver, POSTGRES_BATCH_DIALECT, () => client, entry, direction, progress),
    classifyError: classifyPostgresError,
    holdRunLock: (tableName, timeoutMs) => session.holdRunLock(schema, tableName, timeoutMs),
    // The replays of verify and baseline run there: an empty database of the same server, dropped after.
    openScratchDatabase: () => openPgScratchDatabase(client, (scratch) => createPgDriver(scratch, schema, timeout)),
  });
  const walkDriver: AsyncDriver<pg.ClientBase> = { ...driver, query: async (sql, params) => (await session.query(sql, params, WALK_QUERY_TYPES)).rows };
  return driver;
}

/** How often a process waiting for the run lock tries again. */
const LOCK_POLL_MS = 25;

/**
 * Waits for the session advisory lock `key` up to `timeoutMs` (0: a single try), then throws
 * `DATABASE_LOCKED`. It polls `pg_try_advisory_lock` rather than blocking in `pg_advisory_lock`: a
 * session blocked in a statement holds a snapshot for as long as it waits, and `CREATE INDEX
 * CONCURRENTLY` in the lock holder's `transaction: false` migration waits for every older snapshot
 * to end, so the two would wait for each other until the busy timeout ran out. Each try is a
 * statement of its own, whose snapshot ends with it.
 */
async function acquireAdvisoryLock(client: pg.ClientBase, key: string, timeoutMs: number): Promise<void> {
  const started = performance.now();
  for (;;) {
    const got = (await client.query<{ got: boolean }>({ text: "SELECT pg_catalog.pg_try_advisory_lock($1::bigint) AS got", values: [key], types: STEPWISE_QUERY_TYPES })).rows[0]?.got;
    if (got === true) return;
    const waited = performance.now() - started;
    if (waited >= timeoutMs) throw databaseLockedError(timeoutMs, null, await readRunLockHolders(client, key), Math.round(waited));
    await new Promise((resolve) => setTimeout(resolve, Math.min(LOCK_POLL_MS, timeoutMs - waited)));
  }
}

/**
 * The sessions holding the run lock `key`, as `DATABASE_LOCKED` names them: each one's server
 * process (its backend pid), its program (the first word of its `application_name`: a client may put
 * more there, which is not a name) and the host it connects from. Empty when the lock was released
 * meanwhile, or the catalog cannot be read.
 */
async function readRunLockHolders(client: pg.ClientBase, key: string): Promise<LockHolder[]> {
  const value = BigInt.asUintN(64, BigInt(key));
  try {
    const rows = await client.query<{ pid: number; program: string | null; host: string | null }>({
      text: `SELECT l.pid, a.application_name AS program, pg_catalog.host(a.client_addr) AS host
       FROM pg_catalog.pg_locks AS l LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid ${EQ} l.pid
       WHERE l.locktype ${EQ} 'advisory' AND l.granted AND l.classid ${EQ} $1::pg_catalog.oid AND l.objid ${EQ} $2::pg_catalog.oid AND l.objsubid ${EQ} 1
       ORDER BY l.pid`,
      values: [(value >> 32n).toString(), (value & 0xffffffffn).toString()],
      types: STEPWISE_QUERY_TYPES,
    });
    return rows.rows.map((row) => ({ pid: row.pid, program: programName(row.program ?? ""), host: row.host, lock: "write" as const }));
  } catch {
    return [];
  }
}

/**
 * Runs `action` with a listener on the app's client for `error`, which `pg` emits when the server
 * ends the session: without one, that event would end the process. The failure reaches the call as
 * its rejection (`CONNECTION_LOST`), and the app's own listeners, if any, still hear it. The client is
 * left with the listeners it had.
 */
async function withSessionErrorsHeard<T>(client: pg.ClientBase, action: () => Promise<T>): Promise<T> {
  const heard = (): void => undefined;
  client.on("error", heard);
  try {
    const result = await action();
    client.off("error", heard);
    return result;
  } catch (error) {
    // The server's FATAL message fails the statement before the socket closes, and the close emits
    // "error" again: heard until the client has ended, so that late event does not end the process.
    if (endsSession(error) && !(client as { _ended?: unknown })._ended) client.once("end", () => client.off("error", heard));
    else client.off("error", heard);
    throw error;
  }
}

/** Whether a call failed because its session ended: the client is done for, and a pool must drop it. */
function endsSession(error: unknown): boolean {
  return (error instanceof StepwiseError && error.is("CONNECTION_LOST")) || isConnectionLost(error);
}

function isPool(connection: pg.Client | pg.Pool): connection is pg.Pool {
  return typeof (connection as pg.Pool).totalCount === "number" && typeof (connection as pg.Pool).idleCount === "number";
}

let pgCapabilities: DriverCapabilities | undefined;

/**
 * What every session's driver can do, read off a driver on no session (making one sends nothing) the
 * first time a manager is made, so importing this entry runs nothing.
 */
function capabilitiesOfPg(): DriverCapabilities {
  return (pgCapabilities ??= createPgDriver(null as never).capabilities);
}

/**
 * Applies and reverts the migrations of a generated registry on PostgreSQL, through a connected
 * `pg.Client` or a `pg.Pool`. Every method returns a promise. From a pool, each call checks out one
 * client for its whole length (the run lock and the transaction belong to that session) and releases
 * it after; a client is used as it is and never closed.
 *
 * @example
 * import pg from "pg";
 * import { MigrationManager } from "stepwise-migrate/pg";
 * import { migrations } from "../generated/registry.js";
 *
 * const manager = new MigrationManager(new pg.Pool({ connectionString: process.env.DATABASE_URL }), migrations);
 * await manager.up();
 * await manager.down({ steps: 1 });
 */
export class MigrationManager<R extends MigrationRegistry = MigrationRegistry> extends MigrationManagerBase<pg.Client | pg.Pool, R, true, DriverIdentity<pg.Client | pg.Pool>> {
  /** The schema of the history table: the schema the safety nets read and compare. */
  readonly schema: string;
  /** The `lock_timeout` of its runs, in milliseconds (see {@link PgMigrationManagerProps.lockTimeoutMs}). */
  readonly lockTimeoutMs: number;

  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `REGISTRY_DIALECT_MISMATCH` when it was generated for SQLite.
   * @throws `USAGE` when `props.schema` is not a plain identifier, or `props.lockTimeoutMs` no number of milliseconds.
   */
  constructor(db: pg.Client | pg.Pool, migrations: R, props: PgMigrationManagerProps = {}) {
    const { schema = DEFAULT_POSTGRES_SCHEMA, lockTimeoutMs, ...settings } = props;
    const timeout = lockTimeoutOf(lockTimeoutMs);
    const dialect = createPostgresDialect({ schema, lockTimeoutMs: timeout });
    super({ name: "pg", dialect: "postgres", capabilities: capabilitiesOfPg(), classifyError: classifyPostgresError, connection: db }, migrations, settings, dialect);
    this.schema = schema;
    this.lockTimeoutMs = timeout;
  }

  /**
   * As every manager's `up`; a `backup` option (from JavaScript or a spread object) is refused by
   * capability before anything runs, since PostgreSQL's backups are `pg_dump`'s.
   */
  override async up(options: UpOptions<VersionOf<R>> = {}): Promise<MigrationResult> {
    if ((options as { backup?: unknown }).backup) requireCapabilities(this.driver, "up({ backup }): back up PostgreSQL with pg_dump instead", "onlineBackup");
    return super.up(options);
  }

  /**
   * Runs one of the executor's steps on a session of its own: the client passed in, or one checked
   * out of the pool for the whole call and released after. A call that may write holds the run lock
   * from start to end, so concurrent processes plan and apply one after another.
   *
   * @throws `ASYNC_RUN_IN_PROGRESS` (as a rejection) when another call is still running on the same client.
   */
  async run<T>(step: Step<T>, options: RunOptions = {}): Promise<T> {
    const db = this.db;
    if (isPool(db)) {
      let client: pg.PoolClient;
      try {
        client = await db.connect();
      } catch (error) {
        // The step never started, so closing it runs none of its code.
        step.return(undefined as T);
        throw describeConnectionFailure(error);
      }
      let lost = false;
      try {
        // Checked out, a pool's client has no listener of the pool's (pg-pool adds it back on release).
        return await withSessionErrorsHeard(client, () => runHoldingRunLock(createPgDriver(client, this.schema, this.lockTimeoutMs), step, options, this.tableName, this.busyTimeoutMs));
      } catch (error) {
        lost = endsSession(error);
        throw error;
      } finally {
        // A client whose session ended is ended, not kept for the next caller.
        client.release(lost);
      }
    }
    // One client has one session: a second call at the same time would share its transaction and its lock.
    return runAloneOnConnection(db, "pg", step, () =>
      withSessionErrorsHeard(db, () => runHoldingRunLock(createPgDriver(db, this.schema, this.lockTimeoutMs), step, options, this.tableName, this.busyTimeoutMs)),
    );
  }

  /** See `MigrationManagerBase.start`: a refusal while making the step becomes a rejection. */
  protected async start<T>(make: () => Step<T>, options?: RunOptions): Promise<T> {
    return this.run(make(), options);
  }
}

/** What `migrate` takes besides the manager's props and `up`'s options. */
export interface PgMigrateOptions {
  /**
   * `verifySchema` (imported from `stepwise-migrate`): verify the schema before applying anything,
   * and refuse a drifted database with `SCHEMA_DRIFT`. It costs one replay in a scratch database per
   * start. Taken as the function, so an app that never verifies does not bundle the replay.
   */
  readonly verifySchema?: (manager: MigrationManager, options: { readonly refuseDrift: true }) => Promise<unknown>;
}

/**
 * Applies every pending migration: the one call an app makes at start-up.
 *
 * @example
 * await migrate(pool, migrations, { logger: console });
 * await migrate(pool, migrations, { verifySchema }); // SCHEMA_DRIFT before anything runs
 */
export async function migrate<R extends MigrationRegistry>(
  db: pg.Client | pg.Pool,
  migrations: R,
  options: PgMigrationManagerProps & UpOptions<VersionOf<R>> & PgMigrateOptions = {},
): Promise<MigrationResult> {
  const { to, transaction, verifySchema, ...props } = options;
  if (verifySchema !== undefined && typeof verifySchema !== "function") {
    throw usageError(`verifySchema takes the verifySchema function: import { verifySchema } from "stepwise-migrate" and pass { verifySchema }.`);
  }
  const manager = new MigrationManager(db, migrations, props);
  if (verifySchema) await verifySchema(manager as unknown as MigrationManager, { refuseDrift: true });
  return manager.up({ ...(to === undefined ? {} : { to }), ...(transaction === undefined ? {} : { transaction }) });
}

/**
 * Declares a TypeScript migration whose `db` is the session's `pg` client. Bodies may be `async`:
 * the transaction stays open across their awaits.
 *
 * @example
 * import { defineMigration } from "stepwise-migrate/pg";
 * export default defineMigration({ async up(db) { await db.query("CREATE TABLE t (id bigint PRIMARY KEY)"); } });
 */
export function defineMigration<const T extends PgMigrationDefinition>(definition: T): T {
  return definition;
}
