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
import {
  createPostgresDialect,
  DEFAULT_POSTGRES_SCHEMA,
  classifyPostgresError,
  lostConnection,
  sqlstateOf,
  describeConnectionFailure,
  isConnectionLost,
  isLockTimeout,
  recordLockWait,
  CONCAT,
  EQ,
  NE,
  TEXT,
  POSTGRES_BATCH_DIALECT,
} from "../core/dialects/postgres.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../core/options.js";
import type { LockHolderSession, LockWait } from "../core/errors.js";
import { splitPostgresSqlText, tokenizePostgresSql } from "../shared/postgres-tokens.js";
import { requireCapabilities, type AsyncDriver, type Row, type ScratchDatabase } from "../core/driver.js";
import { defineDriver } from "../core/define-driver.js";
import type { DriverCapabilities } from "../core/driver-capabilities.js";
import { type LockHolder, StepwiseError } from "../core/errors.js";
import { createAsyncMigrationContext, type AsyncMigrationContext } from "../core/async-batches.js";
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

/**
 * BIGINT read as a number when JavaScript holds it exactly, else as its decimal text: the contract
 * every driver's `query` keeps (a version past 2^53 is then reported by its exact value).
 */
function parseInt8(text: string): number | string {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
}

const parseInt4 = (text: string): number => parseInt(text, 10);
const parseBool = (text: string): boolean => text === "t";
const asText = (text: string): string => text;

/** By type oid: bool, int8, int2, int4, oid, json, jsonb. */
const PARSERS: ReadonlyMap<number, (text: string) => unknown> = new Map<number, (text: string) => unknown>([
  [16, parseBool],
  [20, parseInt8],
  [21, parseInt4],
  [23, parseInt4],
  [26, parseInt4],
  [114, JSON.parse],
  [3802, JSON.parse],
]);

/**
 * The type parsers of every statement stepwise sends through `pg`, passed per query (`types`), so
 * that what an app installs for itself, globally (`pg.types.setTypeParser`) or on its client or
 * pool (`types`), never changes what stepwise reads: a text parser that trims or tags would make
 * `format_type`'s `bigint` something else and refuse a good history table, a `bool` parser that
 * answers a string would read a lock not taken (`'f'`) as taken.
 *
 * pg's registry is global and mutable, so its defaults cannot be asked for: a parser installed before
 * stepwise loads is already the "default". These are written out instead, for exactly the types the
 * server sends for stepwise's statements, as pg's own defaults parse them; every other type arrives
 * as the server's text. `bigint` differs from pg's default on purpose (see {@link parseInt8}).
 * Results arrive in the text format (stepwise never asks for binary).
 */
const STEPWISE_QUERY_TYPES = {
  getTypeParser: ((oid: number) => PARSERS.get(oid) ?? asText) as pg.CustomTypesConfig["getTypeParser"],
};

const INT8_OID = 20;

/**
 * The parsers of a `forEachBatch` walk's reads: its rows go to the migration's handler, the app's
 * own code, so they arrive as the app's parsers make them, except `bigint`, whose value must bind
 * back exactly as the walk's key (see {@link parseInt8}).
 */
const WALK_QUERY_TYPES = {
  getTypeParser: ((oid: number, format?: string) => (oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as "text"))) as pg.CustomTypesConfig["getTypeParser"],
};

/** What of the session's connection settings a second connection to the same server reuses. */
interface ConnectionParameters {
  readonly user?: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly ssl?: unknown;
  readonly options?: string;
  readonly client_encoding?: string;
}

/**
 * A second connection to the server of `session`: the scratch database a replay runs in, and the
 * session that looks at `pg_locks` while a statement waits for a lock. A new, unconnected client with
 * the session's host, port, role, password, TLS and startup options, to `database` (the session's
 * own unless given), named `applicationName` in `pg_stat_activity`, with `timeouts` if given. It
 * ignores its own `error` events: the caller reads every failure from its queries.
 */
function clientLike(session: pg.ClientBase, applicationName: string, database?: string, timeouts: Pick<pg.ClientConfig, "connectionTimeoutMillis" | "query_timeout"> = {}): pg.Client {
  const source = session as pg.ClientBase & { connectionParameters?: ConnectionParameters; password?: unknown };
  const parameters = source.connectionParameters ?? {};
  const client = new pg.Client({
    user: parameters.user,
    host: parameters.host,
    port: parameters.port,
    password: source.password as pg.ClientConfig["password"],
    ssl: parameters.ssl as pg.ClientConfig["ssl"],
    options: parameters.options,
    client_encoding: parameters.client_encoding,
    database: database ?? parameters.database,
    application_name: applicationName,
    ...timeouts,
  });
  client.on("error", () => undefined);
  return client;
}

/*
 * The run's `lock_timeout` (`lockTimeoutMs`): how a run bounds its waits for other sessions'
 * locks, and how it names the holder when one runs out.
 *
 * - In stepwise's transactions it travels with the BEGIN (`SET LOCAL`, no round trip more), and ends
 *   with them.
 * - Around a `transaction: false` migration it is set for the session, and put back after as the
 *   session had it: the value it had SET, or RESET to what it started with.
 * - Outside a transaction, stepwise's own statements (the history read before a run) cannot take a
 *   `SET LOCAL`, and a `SET` for the session would cost two round trips on every start: the watch
 *   below ends their waits instead, cancelling one that waits for a lock once it has run the timeout.
 * - PostgreSQL's error says only "canceling statement due to lock timeout"; the relation and the
 *   session holding it are in `pg_locks` only while the wait lasts. So while a statement (or a
 *   migration body) has run a third of the timeout, a second connection looks there every third of
 *   it and keeps the last wait it saw; when the statement fails for its lock timeout, that wait is
 *   recorded on the error (`recordLockWait`), which `LOCK_TIMEOUT` names. The second connection
 *   opens only when a statement runs that long, and closes when the session is idle again. A look
 *   that fails (no connection slot, no password to reuse) records nothing: the error still says
 *   what ran out.
 */
/**
 * The locks session `$1` waits for, each with a session that holds it (`pg_blocking_pids`): the
 * relation's name (a row's wait names the relation of the tuple lock it holds), and of each holder
 * what `pg_stat_activity` shows besides its query text.
 */
const WAITS_SQL = `SELECT w.locktype::${TEXT} AS "lockType", w.mode::${TEXT} AS mode,
    (SELECT n.nspname::${TEXT} ${CONCAT} '.' ${CONCAT} c.relname::${TEXT}
       FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
       WHERE c.oid ${EQ} COALESCE(w.relation, (SELECT t.relation FROM pg_catalog.pg_locks AS t WHERE t.pid ${EQ} w.pid AND t.locktype ${EQ} 'tuple' LIMIT 1))) AS relation,
    b.pid, CASE WHEN a.application_name ${NE} '' THEN a.application_name::${TEXT} END AS "applicationName", a.state::${TEXT} AS state,
    pg_catalog.to_char(pg_catalog.timezone('UTC', a.xact_start), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "transactionStart",
    pg_catalog.to_char(pg_catalog.timezone('UTC', a.query_start), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "queryStart"
  FROM pg_catalog.pg_locks AS w
  CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(w.pid)) AS b(pid)
  LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid ${EQ} b.pid
  WHERE w.pid ${EQ} $1 AND NOT w.granted
  ORDER BY b.pid`;

interface WaitRow extends LockHolderSession {
  readonly lockType: string;
  readonly mode: string;
  readonly relation: string | null;
}

/**
 * `lockTimeoutMs` (default `DEFAULT_LOCK_TIMEOUT_MS`) as the whole milliseconds stepwise sets.
 *
 * @throws `USAGE` when it is no number of milliseconds, 0 or more.
 */
function lockTimeoutOf(lockTimeoutMs: number | undefined): number {
  const value = lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw usageError(`lockTimeoutMs must be a number of milliseconds, 0 or more (0: set no lock_timeout); got ${String(value)}.`);
  }
  // PostgreSQL's lock_timeout is at most INT_MAX milliseconds.
  return Math.min(Math.trunc(value), 2_147_483_647);
}

/** Options of the second connection's session: it must never hold the run up for long. */
const LOOK_TIMEOUTS = { connectionTimeoutMillis: 5_000, query_timeout: 5_000 };

/** How a session runs its statements under the run's `lock_timeout` (see the note above): `0` sets none and watches nothing. */
class SessionLockTimeout {
  /** The statement that opens a transaction: `BEGIN`, with the `SET LOCAL` when a timeout is set. */
  readonly begin: string;
  private readonly interval: number;
  private running = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private looking: Promise<void> | null = null;
  private second: pg.Client | null = null;
  private last: { readonly at: number; readonly wait: LockWait } | null = null;
  // The outermost statement watched: when it started, whether its wait is to be ended, and whether it was.
  private active: { readonly started: number; readonly enforce: boolean; cancelled: boolean } | null = null;
  private pendingRestore: string | null = null;

  constructor(
    private readonly session: pg.ClientBase,
    private readonly lockTimeoutMs: number,
  ) {
    this.begin = lockTimeoutMs > 0 ? `BEGIN; SET LOCAL lock_timeout = ${lockTimeoutMs}` : "BEGIN";
    this.interval = Math.max(10, Math.floor(lockTimeoutMs / 3));
  }

  /**
   * Runs `action` (one statement, or a migration body) watched for a lock wait: see the note above.
   * With `enforce` (a statement of stepwise's own outside any transaction, where no `SET LOCAL` can
   * reach), the watch also ends the wait: a statement waiting for a lock once it has run the timeout
   * is cancelled, and fails as a lock timeout.
   */
  async watch<T>(action: () => Promise<T>, enforce = false): Promise<T> {
    const pid = (this.session as { processID?: unknown }).processID;
    if (this.lockTimeoutMs === 0 || typeof pid !== "number") return action();
    const watched = { started: performance.now(), enforce, cancelled: false };
    if (this.running++ === 0) {
      this.active = watched;
      this.schedule(pid);
    }
    try {
      return await action();
    } catch (thrown) {
      // Cancelled by the watch for its lock wait: the server's lock_timeout would have said so.
      const error = watched.cancelled && (thrown as { code?: unknown } | null)?.code === "57014" ? cancelledForLock(thrown) : thrown;
      if (isLockTimeout(error)) {
        // A look under way may be the one that sees it.
        await this.looking;
        if (this.last !== null && this.last.at >= watched.started) recordLockWait(error, this.last.wait);
      }
      throw error;
    } finally {
      // Idle again: no more looks, and the second connection goes (after the look under way, if one is).
      if (--this.running === 0) {
        clearTimeout(this.timer);
        if (this.looking === null) this.close();
      }
    }
  }

  /**
   * Runs `action` (a `transaction: false` migration's statements) under the timeout set for the
   * session, and puts the session's own back after, or, while `action` left a transaction open
   * (which would take the restore back with its rollback), once {@link restorePending} is called
   * after that transaction ends.
   */
  async aroundSession<T>(action: () => Promise<T>, inTransaction: () => boolean): Promise<T> {
    if (this.lockTimeoutMs === 0) return action();
    const [before] = (await this.session.query(
      `SELECT s.setting, s.source FROM pg_catalog.pg_settings AS s WHERE s.name ${EQ} 'lock_timeout'; SET lock_timeout = ${this.lockTimeoutMs}`,
    )) as unknown as [pg.QueryResult<{ setting: string; source: string }>];
    const row = before.rows[0];
    try {
      return await action();
    } finally {
      this.pendingRestore = row?.source === "session" ? `SELECT pg_catalog.set_config('lock_timeout', '${row.setting.replace(/'/g, "''")}', false)` : "RESET lock_timeout";
      if (!inTransaction()) await this.restorePending();
    }
  }

  /** Puts back the session's own `lock_timeout` if {@link aroundSession} left that for later. */
  async restorePending(): Promise<void> {
    const restore = this.pendingRestore;
    this.pendingRestore = null;
    if (restore !== null && !sessionGone(this.session)) await this.session.query(restore).catch(() => undefined);
  }

  private schedule(pid: number): void {
    this.timer = setTimeout(() => {
      this.looking = this.look(pid).finally(() => {
        this.looking = null;
        if (this.running > 0) this.schedule(pid);
        else this.close();
      });
    }, this.interval);
    // The process must not stay alive for a look.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Reads what session `pid` waits for, and cancels an enforced statement that has waited past the timeout. */
  private async look(pid: number): Promise<void> {
    try {
      if (this.second === null) {
        this.second = clientLike(this.session, "stepwise lock watch", undefined, LOOK_TIMEOUTS);
        await this.second.connect();
      }
      const { rows } = await this.second.query<WaitRow>({ text: WAITS_SQL, values: [pid], types: STEPWISE_QUERY_TYPES });
      if (rows.length === 0) return;
      this.last = { at: performance.now(), wait: toWait(rows) };
      const watched = this.active;
      if (watched?.enforce && !watched.cancelled && this.last.at - watched.started >= this.lockTimeoutMs) {
        watched.cancelled = true;
        await this.second.query({ text: "SELECT pg_catalog.pg_cancel_backend($1)", values: [pid], types: STEPWISE_QUERY_TYPES });
      }
    } catch {
      // No look this time (see the note above).
    }
  }

  private close(): void {
    const closing = this.second;
    this.second = null;
    void closing?.end().catch(() => undefined);
  }
}

/** A statement the watch cancelled for waiting past the timeout, as PostgreSQL's lock timeout reads. */
function cancelledForLock(cause: unknown): Error {
  return Object.assign(new Error("canceling statement due to lock timeout (stepwise cancelled it: it waited for a lock past lockTimeoutMs)", { cause }), { code: "55P03" });
}

function toWait(rows: readonly WaitRow[]): LockWait {
  const first = rows[0]!;
  return {
    relation: first.relation,
    lockType: first.lockType,
    mode: first.mode,
    holders: rows.map(({ pid, applicationName, state, transactionStart, queryStart }) => ({ pid, applicationName, state, transactionStart, queryStart })),
  };
}

/** The client's transaction status as the server last reported it: `I` idle, `T` in a block, `E` in a failed one. */
function transactionStatus(client: pg.ClientBase): string | null {
  return (client as pg.ClientBase & { getTransactionStatus?(): string | null }).getTransactionStatus?.() ?? null;
}

function inTransactionBlock(client: pg.ClientBase): boolean {
  const status = transactionStatus(client);
  return status === "T" || status === "E";
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
    timeout: number,
  ) {
    this.lockTimeout = new SessionLockTimeout(client, timeout);
  }

  inTransaction(): boolean {
    return inTransactionBlock(this.client);
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
    if (transactionStatus(this.client) === "E") {
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
    // The walk runs on this session, as the migration does, its rows read with the app's parsers (WALK_QUERY_TYPES).
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

/*
 * A scratch database on the app's PostgreSQL server: `CREATE DATABASE` with a random name, a
 * connection of its own to it, and `DROP DATABASE ... WITH (FORCE)` when the safety net is done. Verify
 * and baseline replay the migrations there, through the same executor a real run uses, so even a
 * `transaction: false` migration replays as it ran; nothing of the replay touches the app's database.
 *
 * stepwise drops only what it can prove it created. Right after `CREATE DATABASE` it writes a marker
 * on the database (`COMMENT ON DATABASE`) naming the creating session: its backend pid and start time.
 * Its own database is dropped by the oid it read when it made it; every new replay first drops the
 * marked databases whose creating session is gone (a process killed during a replay), without
 * `FORCE`, so one somebody is connected to stays. A database merely named like one (the prefix, then
 * anything) is never touched, nor is one killed between its `CREATE` and its marker: that one is left
 * for a person to drop.
 *
 * Created from `template0`, the server's pristine template: nobody can connect to it (so `CREATE
 * DATABASE` never waits for another session to leave `template1`), and what an administrator added to
 * `template1` cannot read as drift on one side only (the catalog reader leaves extensions' objects out).
 */
/**
 * The prefix of every scratch database's name, so a person recognises one a killed process left. The
 * name proves nothing: stepwise drops only a database that carries its marker (see the note above).
 */
export const SCRATCH_DATABASE_PREFIX = "stepwise_scratch_";

/**
 * The server would not create the scratch database a replay needs (verify, baseline): typically the
 * role lacks `CREATEDB`. Nothing was changed.
 */
function scratchDatabaseUnavailableError(fields: { driver: string; database: string; cause: unknown }): StepwiseError<"SCRATCH_DATABASE_UNAVAILABLE"> {
  const sqlstate = sqlstateOf(fields.cause);
  return new StepwiseError(
    "SCRATCH_DATABASE_UNAVAILABLE",
    `Could not create the scratch database "${fields.database}" that verify and baseline replay the migrations in` +
      (sqlstate === "42501" ? ": the role lacks the CREATEDB privilege (ALTER ROLE <role> CREATEDB). " : ` (SQLSTATE ${sqlstate ?? "unknown"}). `) +
      `Nothing was changed.`,
    { driver: fields.driver, database: fields.database, sqlstate },
    { cause: fields.cause },
  );
}

/**
 * The marker's text: the creating session, by backend pid and start time (seconds since 1970, so no
 * session's time zone changes it; a pid alone is reused).
 */
function scratchMarker(pid: number, backendStart: string): string {
  return `${SCRATCH_MARKER_PREFIX}${pid} started ${backendStart}; dropped when its replay ends`;
}

/** How every marker starts, so one is told from any other comment. */
const SCRATCH_MARKER_PREFIX = "stepwise scratch database, created by backend ";

/**
 * Drops the databases stepwise's own marker names as scratch databases whose creating session is
 * gone (a process killed during a replay): the marker names a pid that no backend has now, or one
 * that a later session got. One whose creator still runs, one somebody is connected to (no `FORCE`),
 * or one this role may not drop, is left alone; so is every database without the marker.
 */
async function dropLeftovers(session: pg.ClientBase): Promise<void> {
  const { rows } = await session.query<{ name: string }>({
    text: `SELECT d.datname::${TEXT} AS name FROM pg_catalog.pg_database AS d
      JOIN pg_catalog.pg_shdescription AS c ON c.objoid ${EQ} d.oid AND c.classoid ${EQ} 'pg_catalog.pg_database'::pg_catalog.regclass,
      LATERAL pg_catalog.regexp_match(c.description, $2) AS m
      WHERE pg_catalog.starts_with(d.datname::${TEXT}, $1)
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity AS a
          WHERE a.pid::${TEXT} ${EQ} m[1] AND (a.backend_start IS NULL OR EXTRACT(epoch FROM a.backend_start)::${TEXT} ${EQ} m[2]))`,
    values: [SCRATCH_DATABASE_PREFIX, `^${SCRATCH_MARKER_PREFIX}(\\d+) started ([0-9.]+); dropped when its replay ends$`],
    types: STEPWISE_QUERY_TYPES,
  });
  for (const { name } of rows) {
    try {
      await session.query(`DROP DATABASE IF EXISTS ${quote(name)}`);
    } catch {
      // Somebody is connected to it, it is another role's, or it is already gone: not ours to insist on.
    }
  }
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `text` as a string literal: the name and the marker hold no quote, but nothing relies on it. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Creates a scratch database through `session` (the app's session, outside any transaction) and
 * connects to it with the session's own host, port, role, password and TLS settings. `createDriver`
 * makes the driver of that connection (the pg driver's primitives).
 *
 * @throws `SCRATCH_DATABASE_UNAVAILABLE` when the server refuses `CREATE DATABASE`.
 */
async function openPgScratchDatabase(session: pg.ClientBase, createDriver: (client: pg.ClientBase) => AsyncDriver<pg.ClientBase>): Promise<ScratchDatabase<pg.ClientBase>> {
  // CREATE DATABASE cannot run inside a transaction block, and trying would abort the app's.
  if (inTransactionBlock(session)) throw transactionOpenError({ driver: "pg", operation: "verifySchema or baselineDatabase" });
  // The creating session's backend pid is in the name, for a person reading the list; the marker
  // written next is what proves the database stepwise's.
  const { pid, backendStart } = (
    await session.query<{ pid: number; backendStart: string }>({
      text: `SELECT a.pid, EXTRACT(epoch FROM a.backend_start)::${TEXT} AS "backendStart" FROM pg_catalog.pg_stat_activity AS a WHERE a.pid ${EQ} pg_catalog.pg_backend_pid()`,
      types: STEPWISE_QUERY_TYPES,
    })
  ).rows[0]!;
  await dropLeftovers(session);
  const name = `${SCRATCH_DATABASE_PREFIX}${pid}_${globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  try {
    await session.query(`CREATE DATABASE ${quote(name)} TEMPLATE template0`);
  } catch (cause) {
    throw scratchDatabaseUnavailableError({ driver: "pg", database: name, cause });
  }
  // One message: the marker, and the oid that the drop checks, so it drops this database and no other of the name.
  let oid: string;
  try {
    const marked = (await session.query(
      `COMMENT ON DATABASE ${quote(name)} IS ${literal(scratchMarker(pid, backendStart))}; SELECT d.oid::${TEXT} AS oid FROM pg_catalog.pg_database AS d WHERE d.datname ${EQ} ${literal(name)}`,
    )) as unknown as pg.QueryResult<{ oid: string }>[];
    oid = marked[1]!.rows[0]!.oid;
  } catch (error) {
    // Made a moment ago by this session and not yet connected to: ours, and nobody else's to end.
    await session.query(`DROP DATABASE IF EXISTS ${quote(name)}`).catch(() => undefined);
    throw error;
  }
  let client: pg.Client | null = null;
  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    dropped = true;
    await client?.end().catch(() => undefined);
    // Still the database made above, by its oid: FORCE ends every session on it, so it must be ours.
    const same = await session.query({ text: `SELECT 1 FROM pg_catalog.pg_database AS d WHERE d.datname ${EQ} $1 AND d.oid::${TEXT} ${EQ} $2`, values: [name, oid], types: STEPWISE_QUERY_TYPES });
    if (same.rowCount === 0) return;
    // FORCE ends any session a migration body opened on it and left behind.
    await session.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`);
  };
  try {
    // Dropped WITH (FORCE) at the end: the server may end this session before it is closed (its errors are ignored).
    client = clientLike(session, "stepwise scratch database", name);
    try {
      await client.connect();
    } catch (error) {
      throw describeConnectionFailure(error);
    }
    return { name, driver: createDriver(client), drop };
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
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
    const runOn = (client: pg.ClientBase) =>
      withSessionErrorsHeard(client, () => runHoldingRunLock(createPgDriver(client, this.schema, this.lockTimeoutMs), step, options, this.tableName, this.busyTimeoutMs));
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
        return await runOn(client);
      } catch (error) {
        lost = endsSession(error);
        throw error;
      } finally {
        // A client whose session ended is ended, not kept for the next caller.
        client.release(lost);
      }
    }
    // One client has one session: a second call at the same time would share its transaction and its lock.
    return runAloneOnConnection(db, "pg", step, () => runOn(db));
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
