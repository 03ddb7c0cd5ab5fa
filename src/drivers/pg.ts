/** The pg driver (a connected `pg.Client` or a `pg.Pool`): sessions, the run lock, the run's `lock_timeout` and scratch databases; its SQL is `core/dialects/postgres.ts`. */
import pg from "pg";
import { runAloneOnConnection, runHoldingRunLock } from "../core/async-manager.js";
import { MigrationManagerBase, type DriverIdentity, type RunOptions } from "../core/manager-base.js";
import { createPostgresDialect, DEFAULT_POSTGRES_SCHEMA, classifyPostgresError, lostConnection, sqlstateOf, describeConnectionFailure } from "../core/dialects/postgres.js";
import { isConnectionLost, isLockTimeout, literal, lockWaits, CONCAT, EQ, NE, TEXT, POSTGRES_BATCH_DIALECT } from "../core/dialects/postgres.js";
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  keysOf,
  MANAGER_OPTIONS,
  MIGRATE_OPTIONS,
  optionsObject,
  refuseNonConnection,
  refuseUnknownOptions,
  type MigrationManagerProps,
  type MigrationResult,
  type UpOptions,
  refuseOtherLibrary,
} from "../core/options.js";
import { postgresStatementSpans, splitTransactionHead, tokenizePostgresSql } from "../shared/postgres-tokens.js";
import { requireCapabilities, type AsyncDriver, type Row, type ScratchDatabase } from "../core/driver.js";
import { defineDriver } from "../core/define-driver.js";
import { captureCallSite, recordCallSite } from "../core/call-site.js";
import { failUnawaited, ObservedPromise, settled } from "../core/unawaited-calls.js";
import { StepwiseError, type LockHolder, type LockHolderSession, type LockWait } from "../core/errors.js";
import { createAsyncMigrationContext, type AsyncMigrationContext } from "../core/async-batches.js";
import { quoteIdentifier } from "../core/batch-walk.js";
import { programName } from "./lock-holders.js";
import type { Step } from "../core/step.js";
import type { MigrationContext, MigrationDefinition, MigrationRegistry, VersionOf } from "../core/types.js";
import { closedConnectionError, usageError, databaseLockedError, firstLineOf, transactionOpenError } from "../core/error-factories.js";

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
  /**
   * The schema of the history table (created when missing), and the one the safety nets compare. Default `DEFAULT_POSTGRES_SCHEMA` (`public`).
   * The migrations build where the connection's `search_path` puts them: set it to this schema too (the CLI's `--schema` does).
   */
  readonly schema?: string;
  /** How long a run's statement may wait for another session's lock (`lock_timeout`) before `LOCK_TIMEOUT` names it; 0 sets none. Default `DEFAULT_LOCK_TIMEOUT_MS` (10 s). */
  readonly lockTimeoutMs?: number;
}

/** The props of {@link PgMigrationManagerProps} beyond every manager's. */
const PG_OPTIONS = keysOf<Omit<PgMigrationManagerProps, keyof MigrationManagerProps>>({ schema: true, lockTimeoutMs: true });

/** `?` placeholders as PostgreSQL's `$1, $2...`; a `?` in a string, quoted name, comment or dollar quote is text. */
export function toPositionalParameters(sql: string): string {
  let index = 0;
  return tokenizePostgresSql(sql)
    .map((token) => (token.kind === "punctuation" ? token.text.replace(/\?/g, () => `$${++index}`) : token.text))
    .join("");
}

/** The advisory lock key of history table `schema.tableName`: the first 8 bytes of the SHA-256 of `stepwise:<schema>.<table>`, as a signed bigint. */
export async function runLockKey(schema: string, tableName: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(`stepwise:${schema}.${tableName}`));
  return new DataView(digest).getBigInt64(0).toString();
}

/** A bigint as a number where exact, else its decimal text. */
const parseInt8 = (text: string): number | string => (Number.isSafeInteger(Number(text)) ? Number(text) : text);

/** pg's default parsers (bigint excepted) of the types stepwise reads, so no parser the app installed changes what stepwise reads. */
const PARSERS: Record<number, (text: string) => unknown> = { 16: (text) => text === "t", 20: parseInt8, 21: Number, 23: Number, 26: Number, 114: JSON.parse, 3802: JSON.parse };
const STEPWISE_TYPES = { getTypeParser: ((oid: number) => PARSERS[oid] ?? String) as pg.CustomTypesConfig["getTypeParser"] };
/** A `forEachBatch` walk reads with the app's parsers, but bigint keys must bind back exactly. */
const WALK_TYPES = { getTypeParser: ((oid: number, format?: "text") => (oid === 20 ? parseInt8 : pg.types.getTypeParser(oid, format))) as pg.CustomTypesConfig["getTypeParser"] };

/** A new client to `session`'s server (its host, port, role, password, TLS and options), to `database` (default the session's), ignoring its own `error` events. */
function clientLike(session: pg.ClientBase, applicationName: string, database?: string, timeouts: pg.ClientConfig = {}): pg.Client {
  const source = session as pg.ClientBase & { connectionParameters?: pg.ClientConfig; password?: pg.ClientConfig["password"] };
  const { user, host, port, ssl, options, client_encoding, database: own } = source.connectionParameters ?? {};
  const client = new pg.Client({ user, host, port, ssl, options, client_encoding, password: source.password, database: database ?? own, application_name: applicationName, ...timeouts });
  client.on("error", () => undefined);
  return client;
}

/** The locks session `$1` waits for, each with a session holding it, and what `pg_stat_activity` shows of it besides its query. */
const WAITS_SQL = `SELECT w.locktype::${TEXT} AS "lockType", w.mode::${TEXT} AS mode, (SELECT n.nspname::${TEXT} ${CONCAT} '.' ${CONCAT} c.relname::${TEXT}
       FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
       WHERE c.oid ${EQ} COALESCE(w.relation, (SELECT t.relation FROM pg_catalog.pg_locks AS t WHERE t.pid ${EQ} w.pid AND t.locktype ${EQ} 'tuple' LIMIT 1))) AS relation,
    b.pid, CASE WHEN a.application_name ${NE} '' THEN a.application_name::${TEXT} END AS "applicationName", a.state::${TEXT} AS state,
    pg_catalog.to_char(pg_catalog.timezone('UTC', a.xact_start), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "transactionStart", pg_catalog.to_char(pg_catalog.timezone('UTC', a.query_start), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "queryStart"
  FROM pg_catalog.pg_locks AS w CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(w.pid)) AS b(pid) LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid ${EQ} b.pid
  WHERE w.pid ${EQ} $1 AND NOT w.granted ORDER BY b.pid`;

/** `lockTimeoutMs` (default `DEFAULT_LOCK_TIMEOUT_MS`) in whole milliseconds, at most PostgreSQL's INT_MAX; `USAGE` unless a number, 0 or more. */
function lockTimeoutOf(lockTimeoutMs: number | undefined): number {
  const value = lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw usageError(`lockTimeoutMs must be a number of milliseconds, 0 or more (0: set no lock_timeout); got ${String(value)}.`);
  return Math.min(Math.trunc(value), 2_147_483_647);
}

/** The first error each client emitted while a run used it: the server's reason when it ended the session between queries (an idle timeout, a termination). */
const sessionEnds = new WeakMap<pg.ClientBase, unknown>();

/** `error`, or, when it is pg refusing a query on a session that had already ended, the server's reason for ending it, which pg's refusal does not name. */
function withEndReason(client: pg.ClientBase, error: unknown): unknown {
  return error instanceof Error && /is not queryable$/.test(error.message) ? (sessionEnds.get(client) ?? error) : error;
}

/** `client.query(config)`, failing with {@link withEndReason}'s error. */
function queryOn<T extends Row>(client: pg.ClientBase, config: string | pg.QueryConfig): Promise<pg.QueryResult<T>> {
  return client.query<T>(config).catch((error: unknown) => Promise.reject(withEndReason(client, error)));
}

/** The transaction status the server last reported: `I` idle, `T` in a block, `E` in a failed one. */
const transactionStatus = (client: pg.ClientBase) => (client as { getTransactionStatus?(): string | null }).getTransactionStatus?.() ?? null;
const inTransactionBlock = (client: pg.ClientBase) => ["T", "E"].includes(transactionStatus(client) ?? "");

/**
 * A watch on statements under the run's `lock_timeout`: `pg_locks` shows the relation and holder only while the wait lasts, so a second connection looks every third of
 * the timeout, for `LOCK_TIMEOUT` to report; with `enforce` (no `SET LOCAL` outside a transaction) it also cancels a statement waiting past the timeout.
 */
function createLockWatch(session: pg.ClientBase, lockTimeoutMs: number) {
  let running = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  let looking: Promise<void> | null = null;
  let second: pg.Client | null = null;
  let last: { at: number; wait: LockWait } | null = null;
  let active: { started: number; enforce: boolean; cancelled: boolean } | null = null;
  const closeSecond = (): void => {
    void second?.end().catch(() => undefined);
    second = null;
  };
  const look = async (pid: number): Promise<void> => {
    if (second === null) {
      second = clientLike(session, "stepwise lock watch", undefined, { connectionTimeoutMillis: 5_000, query_timeout: 5_000 });
      await second.connect();
    }
    const { rows } = await second.query<LockHolderSession & { lockType: string; mode: string; relation: string | null }>({ text: WAITS_SQL, values: [pid], types: STEPWISE_TYPES });
    if (rows.length === 0) return;
    const holders = rows.map(({ pid, applicationName, state, transactionStart, queryStart }) => ({ pid, applicationName, state, transactionStart, queryStart }));
    last = { at: performance.now(), wait: { relation: rows[0]!.relation, lockType: rows[0]!.lockType, mode: rows[0]!.mode, holders } };
    if (active?.enforce && !active.cancelled && last.at - active.started >= lockTimeoutMs) {
      active.cancelled = true;
      await second.query({ text: "SELECT pg_catalog.pg_cancel_backend($1)", values: [pid], types: STEPWISE_TYPES });
    }
  };
  return async <T>(action: () => Promise<T>, enforce = false): Promise<T> => {
    const pid = (session as { processID?: unknown }).processID;
    if (lockTimeoutMs === 0 || typeof pid !== "number") return action();
    const watched = { started: performance.now(), enforce, cancelled: false };
    if (running++ === 0) {
      active = watched;
      // One look at a time; a failed one (no connection slot, no password to reuse) leaves the error as it is.
      timer = setInterval(
        () => {
          looking ??= look(pid)
            .catch(() => undefined)
            .finally(() => {
              looking = null;
              if (running === 0) closeSecond();
            });
        },
        Math.max(10, Math.floor(lockTimeoutMs / 3)),
      );
      (timer as { unref?: () => void }).unref?.();
    }
    try {
      return await action();
    } catch (thrown) {
      const cancelled = watched.cancelled && (thrown as { code?: unknown } | null)?.code === "57014";
      const message = "canceling statement due to lock timeout (stepwise cancelled it: it waited for a lock past lockTimeoutMs)";
      const error = cancelled ? Object.assign(new Error(message, { cause: thrown }), { code: "55P03" }) : thrown;
      if (isLockTimeout(error)) {
        await looking;
        if (last !== null && last.at >= watched.started) lockWaits.set(error as object, last.wait);
      }
      throw error;
    } finally {
      if (--running === 0) {
        clearInterval(timer);
        if (looking === null) closeSecond();
      }
    }
  };
}

/** The run's `lock_timeout` around a `transaction: false` migration, the session's own put back after (once a transaction it left open has ended), unless its socket is gone. */
function createSessionTimeout(session: pg.ClientBase, lockTimeoutMs: number) {
  let pendingRestore: string | null = null;
  const restore = async (): Promise<void> => {
    const sql = pendingRestore;
    const state = session as { _queryable?: unknown; _ending?: unknown };
    pendingRestore = null;
    if (sql !== null && state._queryable !== false && state._ending !== true) await session.query(sql).catch(() => undefined);
  };
  const around = async <T>(action: () => Promise<T>): Promise<T> => {
    if (lockTimeoutMs === 0) return action();
    const sql = `SELECT s.setting, s.source FROM pg_catalog.pg_settings AS s WHERE s.name ${EQ} 'lock_timeout'; SET lock_timeout = ${lockTimeoutMs}`;
    const [before] = (await session.query(sql)) as unknown as [pg.QueryResult<{ setting: string; source: string }>];
    const row = before.rows[0];
    try {
      return await action();
    } finally {
      pendingRestore = row?.source === "session" ? `SELECT pg_catalog.set_config('lock_timeout', '${row.setting.replace(/'/g, "''")}', false)` : "RESET lock_timeout";
      if (!inTransactionBlock(session)) await restore();
    }
  };
  return { around, restore };
}

/**
 * Whether the session is in a transaction: stepwise's (from its BEGIN) or the app's. Once stepwise's BEGIN went out it is open until our COMMIT or ROLLBACK: pg rejects
 * a failed statement on the server's error and learns the session's status from the message after it, which may come in a later read, so the status alone may still say
 * idle when a ROLLBACK is due.
 */
function trackTransaction(client: pg.ClientBase) {
  let opened = false;
  // The SET TRANSACTION statements its BEGIN sent: in force already, and refused if a migration's body sent them again after stepwise's queries.
  let head = "";
  return {
    isOpen: () => opened || inTransactionBlock(client),
    withoutHead: (sql: string) => (head === "" ? sql : splitTransactionHead(sql).body),
    began: (sent: string) => void ((opened = true), (head = sent)),
    ended: () => void ((opened = false), (head = "")),
  };
}

/**
 * The run lock as this session holds it. DISCARD ALL and pg_advisory_unlock_all() end every advisory lock of the session, the run lock too, from SQL, a function or a body's code alike.
 * Outside a transaction `keep` takes it back after each statement or body. Each transaction takes a lock of its own on the same key with its BEGIN (`beginSql`), which those leave alone
 * until its COMMIT or ROLLBACK, so no other process runs while it is open, and takes the run lock back just before its COMMIT (`commitSql`). When another process took the run lock in
 * between, the run stops before it runs beside that process.
 */
function trackRunLock(client: pg.ClientBase) {
  let key: string | null = null;
  return {
    held: () => key !== null,
    keep: async (): Promise<void> => {
      if (key === null) return;
      const value = BigInt.asUintN(64, BigInt(key));
      // Taken back only when not held: a second pg_try_advisory_lock would hold it twice, and the run's one unlock would leave it held.
      const { rows } = await client.query<{ held: boolean }>({
        text: `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_locks AS l WHERE l.locktype ${EQ} 'advisory' AND l.pid ${EQ} pg_catalog.pg_backend_pid() AND l.granted
          AND l.classid ${EQ} $1::pg_catalog.oid AND l.objid ${EQ} $2::pg_catalog.oid AND l.objsubid ${EQ} 1) THEN true ELSE pg_catalog.pg_try_advisory_lock($3::bigint) END AS held`,
        values: [(value >> 32n).toString(), (value & 0xffffffffn).toString(), key],
        types: STEPWISE_TYPES,
      });
      if (rows[0]?.held === true) return;
      key = null;
      throw new Error(RUN_LOCK_LOST);
    },
    // Its text is read at run time: a constant's cast would fail while planning. The key is quoted: -9223372036854775808 unquoted is a minus applied to a number past bigint.
    beginSql: (): string =>
      key === null
        ? ""
        : `; SELECT CASE WHEN pg_catalog.pg_try_advisory_xact_lock('${key}'::bigint) THEN 1 ELSE CAST(${literal(RUN_LOCK_TAKEN_MARK)} ${CONCAT} pg_catalog.pg_backend_pid() AS pg_catalog.int4) END`,
    // Before the COMMIT, under the transaction's own lock: one release and one take leave the session holding the run lock once, whether a body released it or not, so it holds it
    // between transactions too. A release of a lock no longer held only warns.
    commitSql: (): string => (key === null ? "COMMIT" : `SELECT pg_catalog.pg_advisory_unlock('${key}'::bigint); SELECT pg_catalog.pg_try_advisory_lock('${key}'::bigint); COMMIT`),
    /** `error` (a failed BEGIN message), or, when another process held the run lock, `DATABASE_LOCKED`: the migrations committed before stay, and that process runs the rest. */
    beginFailure: (error: unknown): unknown => {
      if (!firstLineOf(error).includes(RUN_LOCK_TAKEN_MARK)) return error;
      key = null;
      const message = `Another process took stepwise's run lock after a migration of this run released it (DISCARD ALL and pg_advisory_unlock_all() end every advisory lock of the session, also from a function), so the run stopped before its next migration began; the migrations it committed before are kept. Retry once that process is done; in the migrations, use DISCARD PLANS, DISCARD SEQUENCES or DISCARD TEMP, or pg_advisory_unlock with the lock's own key, instead.`;
      return new StepwiseError("DATABASE_LOCKED", message, { busyTimeoutMs: 0, waitedMs: null, holders: [] }, { cause: error });
    },
    taken: (taken: string) => void (key = taken),
    released: () => void (key = null),
  };
}

/**
 * The server checks every second, while a statement of the transaction runs, that stepwise's process is still there (PostgreSQL 14 and later): a run ended by a signal or a crash then
 * rolls back at once, its locks with it, not when the statement would have ended.
 */
const CHECK_CLIENT = "SET LOCAL client_connection_check_interval = 1000";
/** Per session, whether its server takes {@link CHECK_CLIENT}: asked once, outside any migration's transaction. */
const checksClient = new WeakMap<pg.ClientBase, boolean>();

/**
 * Asks `client`'s server once whether it takes {@link CHECK_CLIENT}, and remembers: a server before 14 has no such setting, and one on a platform that cannot watch a socket
 * (Windows) or a host that fixes it refuses any value but 0.
 */
async function serverChecksClient(client: pg.ClientBase): Promise<boolean> {
  let checks = true;
  try {
    await queryOn(client, `BEGIN; ${CHECK_CLIENT}; ROLLBACK`);
  } catch {
    checks = false;
    await queryOn(client, "ROLLBACK").catch(() => undefined);
  }
  checksClient.set(client, checks);
  return checks;
}

const RUN_LOCK_TAKEN_MARK = "stepwise: another session holds the run lock";
const RUN_LOCK_LOST =
  "it released stepwise's run lock (DISCARD ALL and pg_advisory_unlock_all() end every advisory lock of the session, also from a function), and another process took the lock before stepwise could take it back, so the run stopped here; use DISCARD PLANS, DISCARD SEQUENCES or DISCARD TEMP, or pg_advisory_unlock with the lock's own key, instead";

/**
 * Runs a body, then waits for every query it started: one it did not await (a missing `await`) would otherwise reject unheard and end the process, or fail after the
 * migration was recorded. The first such failure nothing awaited is the body's own.
 */
async function awaitingUnawaitedQueries(client: pg.ClientBase, body: () => unknown): Promise<void> {
  const own = Object.getOwnPropertyDescriptor(client, "query");
  const query = client.query;
  const started: ObservedPromise<unknown>[] = [];
  (client as { query: unknown }).query = (...args: unknown[]) => {
    // pg makes a failed statement's error in its socket handler, without the body's frames: the call's own stack says which line of the migration sent it.
    const site = captureCallSite();
    const result: unknown = Reflect.apply(query, client, args);
    if (!(result instanceof Promise)) return result;
    const failed = (error: unknown): unknown => {
      const reported = withEndReason(client, error);
      // A statement refused because an earlier one failed (25P02, an unawaited query's) is not where the migration went wrong: no line rather than that one.
      if (sqlstateOf(reported) !== "25P02") recordCallSite(reported, site);
      return reported;
    };
    const tracked = new ObservedPromise((resolve, reject) => void result.then(resolve, (error: unknown) => reject(failed(error))));
    void settled(tracked);
    started.push(tracked);
    return tracked;
  };
  try {
    await body();
  } finally {
    if (own) Object.defineProperty(client, "query", own);
    else delete (client as { query?: unknown }).query;
  }
  await failUnawaited(started, sqlstateOf);
}

/** The executor's primitives on one session; `schema` is the history table's (the run lock's key), `timeout` (from `lockTimeoutOf`) bounds lock waits. */
export function createPgDriver(client: pg.ClientBase, schema: string = DEFAULT_POSTGRES_SCHEMA, timeout = DEFAULT_LOCK_TIMEOUT_MS): AsyncDriver<pg.ClientBase> {
  const watch = createLockWatch(client, timeout);
  const { around: aroundSession, restore: restorePending } = createSessionTimeout(client, timeout);
  const transaction = trackTransaction(client);
  const inTransaction = transaction.isOpen;
  // Outside a transaction no SET LOCAL bounds a wait: the watch does. Several statements answer one result each: the last is the read.
  const send = async (sql: string, params: readonly unknown[] = [], types = STEPWISE_TYPES): Promise<pg.QueryResult<Row>> => {
    const enforce = !inTransaction();
    const result = await watch(() => queryOn(client, { text: params.length > 0 ? toPositionalParameters(sql) : sql, values: params as unknown[], types }), enforce);
    return Array.isArray(result) ? (result[result.length - 1] as pg.QueryResult<Row>) : result;
  };
  // While the run lock is held no other stepwise process writes the history: no need to re-read it.
  const runLock = trackRunLock(client);
  const driver: AsyncDriver<pg.ClientBase> = defineDriver({
    name: "pg",
    dialect: "postgres",
    async: true,
    connection: client,
    exec: async (sql) => {
      // Outside a transaction a string of statements runs as one implicit block, which refuses CREATE INDEX CONCURRENTLY and the like: each goes alone, as psql sends them.
      if (inTransaction()) return void (await send(transaction.withoutHead(sql)));
      await aroundSession(() => sendEach(sql, (statement) => watch(() => queryOn(client, statement))));
      await runLock.keep();
    },
    query: async (sql, params) => (await send(sql, params)).rows,
    run: async (sql, params) => ({ changes: (await send(sql, params)).rowCount ?? 0 }),
    // No IMMEDIATE: the run lock gives the exclusivity.
    begin: async (_mode, head = "") => {
      if (inTransaction()) {
        await send("BEGIN");
        return;
      }
      const checks = checksClient.get(client) ?? (await serverChecksClient(client));
      // Open from here even if the reply is lost: the ROLLBACK that follows a failure is then due.
      transaction.began(head);
      // The head first: PostgreSQL takes SET TRANSACTION only before the transaction's first query, and the run lock's is one.
      const begin = `BEGIN${head === "" ? "" : `; ${head}`}${checks ? `; ${CHECK_CLIENT}` : ""}${timeout === 0 ? "" : `; SET LOCAL lock_timeout = ${timeout}`}${runLock.beginSql()}`;
      await queryOn(client, begin).catch((error: unknown) => Promise.reject(runLock.beginFailure(error)));
    },
    commit: async () => {
      // COMMIT of an aborted transaction answers "ROLLBACK" without an error: never a commit.
      const aborted = transactionStatus(client) === "E";
      await queryOn(client, aborted ? "ROLLBACK" : runLock.commitSql());
      transaction.ended();
      await restorePending();
      if (aborted) throw new Error("the transaction was aborted by an earlier failed statement; PostgreSQL rolled it back instead of committing");
    },
    rollback: async () => {
      if (!inTransaction()) return;
      // Failing, the session is gone, and the server rolled back.
      await client.query("ROLLBACK").catch(() => undefined);
      transaction.ended();
      await restorePending();
    },
    inTransaction: async () => inTransaction(),
    changeCounter: async () => (runLock.held() ? 0 : null),
    runBody: async (entry, direction, context) => {
      const body = (direction === "up" ? entry.module.up : entry.module.down) as (db: pg.ClientBase, context: MigrationContext) => unknown;
      const run = () => watch(async () => awaitingUnawaitedQueries(client, () => body.call(entry.module, client, context)));
      const inBlock = inTransaction();
      // A transaction the body left aborted is reported by the history guard's check, the next statement.
      await (inBlock ? run() : aroundSession(run));
      if (!inBlock) await runLock.keep();
    },
    createContext: (entry, direction, progress) => {
      const query = async (sql: string, params: readonly unknown[]) => (await send(sql, params, WALK_TYPES)).rows;
      return createAsyncMigrationContext({ ...driver, query }, POSTGRES_BATCH_DIALECT, () => client, entry, direction, progress);
    },
    classifyError: classifyPostgresError,
    holdRunLock: async (tableName, waitMs) => takeRunLock(client, runLock, inTransaction(), await runLockKey(schema, tableName), waitMs),
    openScratchDatabase: () => openScratchDatabase(client, (scratch) => createPgDriver(scratch, schema, timeout)),
  });
  return driver;
}

/** Takes the run lock `key` on the session and notes it in `runLock`; returns its release. Refused inside an app's open transaction, which taking it would commit. */
async function takeRunLock(client: pg.ClientBase, runLock: ReturnType<typeof trackRunLock>, inTransaction: boolean, key: string, waitMs: number): Promise<() => Promise<void>> {
  if (inTransaction) throw transactionOpenError({ driver: "pg", operation: "a migration run (up, down or reset)" });
  await acquireAdvisoryLock(client, key, waitMs).catch((error: unknown) => {
    throw isConnectionLost(error) ? lostConnection(error, "waiting for the run lock") : error;
  });
  runLock.taken(key);
  return async () => {
    runLock.released();
    await client.query("SELECT pg_catalog.pg_advisory_unlock($1::bigint)", [key]).catch(() => undefined);
  };
}

/** Sends each statement of `sql` alone; a failure's server position is counted from the start of `sql`, as it is when `sql` goes as one query. */
async function sendEach(sql: string, send: (statement: string) => Promise<unknown>): Promise<void> {
  for (const { text, offset } of postgresStatementSpans(sql)) await send(text).catch((error: unknown) => Promise.reject(shiftPosition(error, [...sql.slice(0, offset)].length)));
}

/** `error` with its server position (1-based, in characters) moved `by` characters: counted from the caller's SQL, not from the query stepwise sent. */
function shiftPosition(error: unknown, by: number): unknown {
  const position = Number((error as { position?: unknown } | null)?.position);
  if (by !== 0 && Number.isSafeInteger(position) && position + by > 0) (error as { position: string }).position = String(position + by);
  return error;
}

/**
 * Takes advisory lock `key`, polling `pg_try_advisory_lock` for up to `timeoutMs` (a session blocked in `pg_advisory_lock` holds a snapshot, which a holder's `CREATE
 * INDEX CONCURRENTLY` waits for), else throws `DATABASE_LOCKED` naming the holders' pid, program and host.
 */
async function acquireAdvisoryLock(client: pg.ClientBase, key: string, timeoutMs: number): Promise<void> {
  const started = performance.now();
  for (;;) {
    const got = (await client.query<{ got: boolean }>({ text: "SELECT pg_catalog.pg_try_advisory_lock($1::bigint) AS got", values: [key], types: STEPWISE_TYPES })).rows[0]?.got;
    if (got === true) return;
    const waited = performance.now() - started;
    if (waited < timeoutMs) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(25, timeoutMs - waited)));
      continue;
    }
    const value = BigInt.asUintN(64, BigInt(key));
    const holders = await client
      .query<{ pid: number; program: string | null; host: string | null }>({
        text: `SELECT l.pid, a.application_name AS program, pg_catalog.host(a.client_addr) AS host
       FROM pg_catalog.pg_locks AS l LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid ${EQ} l.pid
       WHERE l.locktype ${EQ} 'advisory' AND l.granted AND l.classid ${EQ} $1::pg_catalog.oid AND l.objid ${EQ} $2::pg_catalog.oid AND l.objsubid ${EQ} 1
       ORDER BY l.pid`,
        values: [(value >> 32n).toString(), (value & 0xffffffffn).toString()],
        types: STEPWISE_TYPES,
      })
      .then(({ rows }) => rows.map((row): LockHolder => ({ pid: row.pid, program: programName(row.program ?? ""), host: row.host, lock: "write" })))
      .catch(() => []);
    throw databaseLockedError(timeoutMs, null, holders, Math.round(waited));
  }
}

/** The prefix of every scratch database's name, for a person to recognise; only its marker comment proves one stepwise's. */
export const SCRATCH_DATABASE_PREFIX = "stepwise_scratch_";
const SCRATCH_MARKER_PREFIX = "stepwise scratch database, created by backend ";

/**
 * A scratch database for verify and baseline to replay in: from `template0` (an extension or object added to `template1` is not in it; one a host makes in the live database's schema outside an extension reads as drift), marked with its creating session, dropped by
 * oid `WITH (FORCE)` after. It first drops, without `FORCE`, the marked ones whose creator is gone. `SCRATCH_DATABASE_UNAVAILABLE` without `CREATEDB`.
 */
async function openScratchDatabase(session: pg.ClientBase, createDriver: (client: pg.ClientBase) => AsyncDriver<pg.ClientBase>): Promise<ScratchDatabase<pg.ClientBase>> {
  // CREATE DATABASE cannot run in a transaction block, and trying would abort the app's.
  if (inTransactionBlock(session)) throw transactionOpenError({ driver: "pg", operation: "verifySchema or baselineDatabase" });
  const ask = async <T extends Row>(text: string, values: unknown[] = []) => (await session.query<T>({ text, values, types: STEPWISE_TYPES })).rows;
  const dropQuietly = (name: string) => session.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)}`).catch(() => undefined);
  const [{ pid, backendStart }] = (await ask(
    `SELECT a.pid, EXTRACT(epoch FROM a.backend_start)::${TEXT} AS "backendStart" FROM pg_catalog.pg_stat_activity AS a WHERE a.pid ${EQ} pg_catalog.pg_backend_pid()`,
  )) as [{ pid: number; backendStart: string }];
  const leftovers = await ask<{ name: string }>(
    `SELECT d.datname::${TEXT} AS name FROM pg_catalog.pg_database AS d
      JOIN pg_catalog.pg_shdescription AS c ON c.objoid ${EQ} d.oid AND c.classoid ${EQ} 'pg_catalog.pg_database'::pg_catalog.regclass,
      LATERAL pg_catalog.regexp_match(c.description, $2) AS m
      WHERE pg_catalog.starts_with(d.datname::${TEXT}, $1)
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity AS a
          WHERE a.pid::${TEXT} ${EQ} m[1] AND (a.backend_start IS NULL OR EXTRACT(epoch FROM a.backend_start)::${TEXT} ${EQ} m[2]))`,
    [SCRATCH_DATABASE_PREFIX, `^${SCRATCH_MARKER_PREFIX}(\\d+) started ([0-9.]+); dropped when its replay ends$`],
  );
  // Somebody connected to one, another role's, or already gone: not ours to insist on.
  for (const { name } of leftovers) await dropQuietly(name);
  const name = `${SCRATCH_DATABASE_PREFIX}${pid}_${globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  await session.query(`CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE template0`).catch((cause: unknown) => {
    const sqlstate = sqlstateOf(cause);
    const why =
      sqlstate === "42501"
        ? ": the role lacks the CREATEDB privilege (ALTER ROLE <role> CREATEDB). "
        : sqlstate === "25006"
          ? ": the session is read-only (a standby, or default_transaction_read_only on); run it against the primary server. "
          : `: ${firstLineOf(cause)} (SQLSTATE ${sqlstate ?? "unknown"}). `;
    const message = `Could not create the scratch database "${name}" that verify and baseline replay the migrations in${why}Nothing was changed.`;
    throw new StepwiseError("SCRATCH_DATABASE_UNAVAILABLE", message, { driver: "pg", database: name, sqlstate }, { cause });
  });
  const marker = `${SCRATCH_MARKER_PREFIX}${pid} started ${backendStart}; dropped when its replay ends`;
  const marked = (await session
    .query(`COMMENT ON DATABASE ${quoteIdentifier(name)} IS ${literal(marker)}; SELECT d.oid::${TEXT} AS oid FROM pg_catalog.pg_database AS d WHERE d.datname ${EQ} ${literal(name)}`)
    .catch(async (error: unknown) => {
      // Made a moment ago by this session and not yet connected to: ours alone.
      await dropQuietly(name);
      throw error;
    })) as unknown as pg.QueryResult<{ oid: string }>[];
  const oid = marked[1]!.rows[0]!.oid;
  const client = clientLike(session, "stepwise scratch database", name);
  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    dropped = true;
    await client.end().catch(() => undefined);
    // FORCE ends every session on it (one a body left behind), so it must still be the one made above.
    if ((await ask(`SELECT 1 FROM pg_catalog.pg_database AS d WHERE d.datname ${EQ} $1 AND d.oid::${TEXT} ${EQ} $2`, [name, oid])).length === 0) return;
    await session.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  };
  try {
    await client.connect();
  } catch (error) {
    await drop().catch(() => undefined);
    throw describeConnectionFailure(error);
  }
  return { name, driver: createDriver(client), drop };
}

/**
 * Applies and reverts a generated registry on PostgreSQL through a connected `pg.Client` or a `pg.Pool`, every method returning a promise. From a pool each call checks
 * out one client for its whole length (the run lock and the transaction are that session's); a client is used as it is and never closed.
 *
 * @example
 * await new MigrationManager(new pg.Pool({ connectionString: process.env.DATABASE_URL }), migrations).up();
 */
export class MigrationManager<R extends MigrationRegistry = MigrationRegistry> extends MigrationManagerBase<pg.Client | pg.Pool, R, true, DriverIdentity<pg.Client | pg.Pool>> {
  /** The schema of the history table: the schema the safety nets read and compare. */
  readonly schema: string;
  /** The `lock_timeout` of its runs, in milliseconds. */
  readonly lockTimeoutMs: number;

  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `REGISTRY_DIALECT_MISMATCH` when it was generated for SQLite.
   * @throws `USAGE` when `props.schema` is not a plain identifier, or `props.lockTimeoutMs` no number of milliseconds.
   */
  constructor(db: pg.Client | pg.Pool, migrations: R, props: PgMigrationManagerProps = {}) {
    refuseNonConnection(db, "new MigrationManager");
    refuseOtherLibrary(db, "pg", "a pg Pool or Client", ["query", "connect"]);
    const { schema = DEFAULT_POSTGRES_SCHEMA, lockTimeoutMs, ...settings } = optionsObject(props, "new MigrationManager");
    refuseUnknownOptions(props, [...MANAGER_OPTIONS, ...PG_OPTIONS], "new MigrationManager");
    const timeout = lockTimeoutOf(lockTimeoutMs);
    const dialect = createPostgresDialect(schema, timeout);
    // A driver on no session sends nothing: its capabilities are every session's.
    super({ name: "pg", dialect: "postgres", capabilities: createPgDriver(null as never).capabilities, classifyError: classifyPostgresError, connection: db }, migrations, settings, dialect);
    this.schema = schema;
    this.lockTimeoutMs = timeout;
  }

  /** As every manager's `up`; a `backup` option is refused by capability (PostgreSQL's backups are `pg_dump`'s). */
  override async up(options: UpOptions<VersionOf<R>> = {}): Promise<MigrationResult> {
    if ((optionsObject(options, "up") as { backup?: unknown }).backup) requireCapabilities(this.driver, "up({ backup }): back up PostgreSQL with pg_dump instead", "onlineBackup");
    return super.up(options);
  }

  /** Runs one of the executor's steps on a session of its own (the client, or one from the pool), holding the run lock if it may write; `ASYNC_RUN_IN_PROGRESS` on a busy client. */
  async run<T>(step: Step<T>, options: RunOptions = {}): Promise<T> {
    const db = this.db;
    const refusal = refusalOfConnectionState(db);
    if (refusal !== null) {
      // The step never started: closing it runs none of its code.
      step.return(undefined as T);
      throw refusal;
    }
    const runOn = async (client: pg.ClientBase, release?: (lost: boolean) => void): Promise<T> => {
      // A failed transaction the app left open refuses every statement, a read's too (25P02), which is the app's to end; a run that writes is refused by the run lock's check.
      // Read when the call starts: pg learns that a transaction failed from a message that may come after the failure.
      const inAppTransaction = !options.exclusive && inTransactionBlock(client);
      // `pg` emits "error" when the server ends the session, which would end the process unheard: the failure reaches the call instead.
      const heard = (error: unknown): void => void (sessionEnds.has(client) || sessionEnds.set(client, error));
      sessionEnds.delete(client);
      client.on("error", heard);
      let lost = false;
      try {
        // A transaction: false migration's session left running by a killed process holds the run lock: refused as status reports it.
        return await runHoldingRunLock(createPgDriver(client, this.schema, this.lockTimeoutMs), step, options, this.tableName, this.busyTimeoutMs, (locked) => this.executor.explainRunLock(locked));
      } catch (error) {
        lost = (error instanceof StepwiseError && error.is("CONNECTION_LOST")) || isConnectionLost(error);
        throw inAppTransaction && sqlstateOf(error) === "25P02" ? transactionOpenError({ driver: "pg", operation: "this call", cause: error }) : error;
      } finally {
        // The socket's close emits "error" again after the failure: heard until the client has ended.
        if (lost && !(client as { _ended?: unknown })._ended) client.once("end", () => client.off("error", heard));
        else client.off("error", heard);
        // A pool does not keep a client whose session ended.
        release?.(lost);
      }
    };
    // One client is one session: a second call at once would share its transaction and lock.
    if (typeof (db as pg.Pool).totalCount !== "number" || typeof (db as pg.Pool).idleCount !== "number") return runAloneOnConnection(db, "pg", step, () => runOn(db as pg.Client));
    const client = await (db as pg.Pool).connect().catch((error: unknown) => {
      // The step never started: closing it runs none of its code.
      step.return(undefined as T);
      throw describeConnectionFailure(error);
    });
    return runOn(client, (lost) => client.release(lost));
  }

  /** A refusal while making the step becomes a rejection. */
  protected async start<T>(make: () => Step<T>, options?: RunOptions): Promise<T> {
    return this.run(make(), options);
  }
}

/**
 * `USAGE` for a `Client` or `Pool` the app ended (`end()`), which pg refuses as if the server had gone, a `Client` whose connection failed or was lost (pg never uses it again), or a
 * `Client` never connected, whose queries pg queues forever; `null` otherwise.
 * Read from pg's own fields, as no method tells.
 */
function refusalOfConnectionState(db: pg.Client | pg.Pool): StepwiseError | null {
  const state = db as { _ending?: unknown; _connected?: unknown; _connecting?: unknown; _queryable?: unknown; _connectionError?: unknown; ending?: unknown };
  if (state._ending === true || state.ending === true) return closedConnectionError("pg", "end()");
  // Its connect() failed, or its session was lost: pg refuses it for good, which is no server's to fix.
  if (state._queryable === false || state._connectionError === true) {
    return usageError(
      "The pg Client can no longer be used: its connection failed or was lost. Nothing was done. Create a new Client (and connect it), or pass a Pool, which replaces lost connections.",
    );
  }
  if (state._connected === false && state._connecting === false) {
    return usageError("The pg Client is not connected: await client.connect() before this call, or pass a Pool, which connects by itself. Nothing was done.");
  }
  return null;
}

/** What `migrate` takes besides the manager's props and `up`'s options. */
export interface PgMigrateOptions {
  /** `verifySchema` (from `stepwise-migrate`): refuse a drifted database with `SCHEMA_DRIFT` first; a function, so an app that never verifies does not bundle the replay. */
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
  const { to, transaction, verifySchema, ...props } = optionsObject(options, "migrate");
  refuseUnknownOptions(options, [...MIGRATE_OPTIONS, ...PG_OPTIONS], "migrate");
  if (verifySchema !== undefined && typeof verifySchema !== "function") {
    throw usageError(`verifySchema takes the verifySchema function: import { verifySchema } from "stepwise-migrate" and pass { verifySchema }.`);
  }
  const manager = new MigrationManager(db, migrations, props);
  if (verifySchema) await verifySchema(manager as unknown as MigrationManager, { refuseDrift: true });
  return manager.up({ to, transaction });
}

/**
 * Declares a TypeScript migration whose `db` is the session's `pg` client; bodies may be `async`, the transaction staying open across their awaits.
 *
 * @example
 * export default defineMigration({ async up(db) { await db.query("CREATE TABLE t (id bigint PRIMARY KEY)"); } });
 */
export function defineMigration<const T extends PgMigrationDefinition>(definition: T): T {
  return definition;
}
