/** The PostgreSQL dialect: the catalog reads and SQL PostgreSQL differs in, and its errors read as stepwise's (the CLI's server connector shares them). */
import { batchKeyFailure, matchColumn, quoteIdentifier, type BatchDialect, type BatchOrigin, type BatchWalk, type ResolvedBatchKey } from "../batch-walk.js";
import type { ConnectionSettingsSnapshot } from "../connection-settings.js";
import type { Dialect, MigrationFailure } from "../dialect.js";
import type { ErrorClassification } from "../driver.js";
import { StepwiseError, type ConnectionProblem, type ErrorKind, type HistoryWriteProblem, type InvalidIndex, type LockWait, type MigrationFailedSetting } from "../errors.js";
import {
  connectionFailedError,
  connectionLostError,
  databaseLockedError,
  databaseUnusableError,
  firstLineOf,
  diskFullError,
  lockTimeoutError,
  migrationFailedError,
  recordNativeError,
  serverRefusedError,
  stringFieldOf,
  usageError,
  invalidTableNameError,
  historyWriteRefusedError,
} from "../error-factories.js";
import { historyChangedError, type HistoryGuard } from "../history-guard.js";
import { DEFAULT_TABLE_NAME, HistoryStore, isValidTableName, type HistoryColumn, type HistoryWriteRefusal } from "../history.js";
import { describeInvalidIndexes } from "../error-factories.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../options.js";
import type { ListSchemaObjectsOptions, SchemaObject } from "../schema-objects.js";
import { findInCauseChain, locateFromFailure, scriptOf, scriptStatements } from "../sql-location.js";
import { exec, inTransaction, query, queryValue, rollbackQuietly, type Step } from "../step.js";
import { uniqueName, type EscapeGuardRun } from "../transaction-guard.js";
import { splitPostgresStatements, splitTransactionHead, tokenizePostgresSql } from "../../shared/postgres-tokens.js";
import { nonTransactionalEffects } from "../../shared/postgres-effects.js";

/**
 * `pg_catalog`'s `=`, `<>`, `>`, `||`, `text` and `C` collation: nothing on the session's `search_path` can stand in for them (a `public.=` for `(varchar, varchar)` beats
 * the built-in one even with `pg_catalog` first, and `text` is no keyword).
 */
export const EQ = "OPERATOR(pg_catalog.=)";
export const NE = "OPERATOR(pg_catalog.<>)";
export const GT = "OPERATOR(pg_catalog.>)";
export const CONCAT = "OPERATOR(pg_catalog.||)";
export const TEXT = "pg_catalog.text";
export const COLLATE_C = 'COLLATE pg_catalog."C"';

/** SQLSTATEs that end the session (terminated, crashed, idle timeouts, connection exceptions), and a dead socket's system codes. */
const SESSION_ENDING_CODES = new Set("57P01 57P02 57P05 25P03 08000 08003 08006 08007 ECONNRESET EPIPE ETIMEDOUT ECONNABORTED EHOSTUNREACH ENETUNREACH ENETDOWN".split(" "));

/** What `pg`'s client says when its socket closed under a query, or is used after it did. */
const CLIENT_GONE_MESSAGE = /^(Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/;

/** The error down `error`'s `cause` chain that says the session ended (a migration may wrap the client's). */
function lostConnectionIn(error: unknown): unknown {
  return findInCauseChain(error, (current) => SESSION_ENDING_CODES.has(codeOf(current) ?? "") || (current instanceof Error && CLIENT_GONE_MESSAGE.test(current.message)));
}

/** Whether `error`, or one down its `cause` chain, says the session ended under stepwise. */
export function isConnectionLost(error: unknown): boolean {
  return lostConnectionIn(error) !== undefined;
}

/** An error's string `code` (a SQLSTATE or a socket's system code). */
const codeOf = (error: unknown) => stringFieldOf(error, "code");

/** What to change for each common refusal of a session, matched in order against `sqlstate|system code|first line`. */
const CONNECTION_CASES: readonly (readonly [RegExp, ConnectionProblem, string])[] = [
  [/^28P01\|/, "wrong-password", "check the password, in the URL (percent-encode @ : / ? #) or in PGPASSWORD, against the role's (ALTER ROLE <role> PASSWORD '...')"],
  [/^3D000\|/, "missing-database", "create the database (CREATE DATABASE <name>, or createdb <name>) or correct its name at the end of the URL"],
  [/^53300\|/, "too-many-connections", "wait for other sessions to end, lower the pool size of the apps on this server, or raise max_connections (or the role's or database's CONNECTION LIMIT)"],
  [/^57P03\|/, "server-starting", "wait until the server has started (or finished its recovery), then run it again"],
  [/^28\w+\|\|role ".*" does not exist$/, "missing-role", "create the role (CREATE ROLE <name> LOGIN PASSWORD '...') or correct the user name in the URL"],
  [
    /^28\w+\|\|.*pg_hba\.conf.*, no encryption$/,
    "tls-required",
    "connect over TLS: add sslmode=verify-full (or sslmode=require) to the URL; if the server refuses this role over TLS too, ask its administrator to allow it in pg_hba.conf",
  ],
  [/^28\w+\|\|.*not permitted to log in/, "not-allowed", "let the role log in (ALTER ROLE <name> LOGIN) or connect as one that may"],
  [/^28/, "not-allowed", "the server's pg_hba.conf does not let this role reach this database from here: connect as a role it allows, or ask its administrator to allow this one"],
  [/^\|ECONNREFUSED\|/, "refused", "check the host and port in the URL, and that the server is running and listens there (listen_addresses, port)"],
  [/^\|ENOENT\|/, "refused", "no server listens on that socket: check the socket folder (host=) and port in the URL, and that the server is running"],
  [/^\|(?:ENOTFOUND|EAI_AGAIN|EAI_NONAME)\|/, "host-not-found", "check the host name in the URL: it does not resolve from here"],
  // pg-pool's words when every client stayed checked out past connectionTimeoutMillis: the server was never asked.
  [
    /^\|\|timeout exceeded when trying to connect$/,
    "pool-busy",
    "every client of the pg.Pool stayed checked out for its connectionTimeoutMillis (the app's own queries and transactions, or another migrate call on the pool): migrate before the app takes clients from it, or give the pool a larger max or a longer connectionTimeoutMillis",
  ],
  [/^\|(?:ETIMEDOUT\||[^|]*\|.*timeout)/i, "timed-out", "check that the host is reachable from here (a firewall, a VPN, a private network) and that the port is the server's"],
  [/^\|[^|]*\|.*does not support SSL/i, "tls-refused", "the server has no TLS: remove sslmode (or ssl) from the URL, or turn ssl on in the server's configuration"],
  [
    /^\|.*(?:certificate|CERT_|self[- ]signed)/i,
    "tls-certificate",
    "the server's certificate is not trusted here: give its CA (sslrootcert=<file> in the URL, or NODE_EXTRA_CA_CERTS), or check the host name it was issued for",
  ],
  [/^\|[^|]*\|.*password must be a string/i, "password-missing", "give the role's password, in the URL or in PGPASSWORD"],
  [
    /^\|(?:ECONNRESET\||[^|]*\|Connection terminated)/,
    "closed-at-start",
    "what answers at that host and port closed the connection before the session began: check that the port is PostgreSQL's, that sslmode suits the server, and the server's log",
  ],
];

/** A failure to open a session as `DATABASE_UNUSABLE` with what to change; its message is the server's or the socket's, never naming the URL or a password. */
export function describeConnectionFailure(error: unknown): StepwiseError<"DATABASE_UNUSABLE"> {
  const code = codeOf(error);
  const sqlstate = /^E[A-Z]+$/.test(code ?? "") ? null : sqlstateOf(error);
  const systemCode = sqlstate === null ? code : null;
  const reason = firstLineOf(error) || "no answer";
  const key = `${sqlstate ?? ""}|${systemCode ?? ""}|${reason}`;
  const [, problem, fix] = CONNECTION_CASES.find(([pattern]) => pattern.test(key)) ?? [null, "unknown", null];
  const failure = connectionFailedError({ problem, reason, fix, sqlstate, systemCode, cause: error });
  return sqlstate === null ? failure : recordNativeError(failure, { kind: "cantopen", nativeCode: sqlstate });
}

/** The SQLSTATE of an error from the `pg` package (a `DatabaseError` carries it as `code`). */
export function sqlstateOf(error: unknown): string | null {
  const code = codeOf(error);
  return code !== null && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/** A SQLSTATE as stepwise's kind of failure (one that ended the session is `lost` before it is read); anything else (no such table, a cancelled statement) is the statement's own: `other`. */
export function kindOfSqlstate(code: string): ErrorKind {
  if (code === "55P03" || code === "40P01" || code === "55006") return "locked";
  if (code.startsWith("53")) return "full";
  if (code === "25006" || code === "42501") return "readonly";
  if (code.startsWith("08") || code.startsWith("28") || code === "3D000" || code === "57P03") return "cantopen";
  if (code === "XX001" || code === "XX002") return "corrupt";
  return "other";
}

/** The `pg` package's errors read as stepwise's kinds: a session that ended is `lost` whatever shape its error has. */
export function classifyPostgresError(error: unknown): ErrorClassification {
  const code = sqlstateOf(error);
  if (isConnectionLost(error)) return { kind: "lost", nativeCode: code ?? codeOf(error) };
  return code === null ? { kind: "other", nativeCode: null } : { kind: kindOfSqlstate(code), nativeCode: code };
}

/** What to change when the session is read-only (a standby, or `default_transaction_read_only`). */
const READ_ONLY_FIX =
  "connect to the primary server, not a standby; or, if default_transaction_read_only is on for this role or database, turn it off there (ALTER ROLE <role> SET default_transaction_read_only = off)";
/** What to change when the role lacks a privilege stepwise's own statements need: PostgreSQL 15 took CREATE on schema public from everyone but the database's owner. */
const PRIVILEGE_FIX =
  "grant the role the privilege the server names: on the history table, SELECT to read it and INSERT, UPDATE, DELETE to migrate; to create it, CREATE on its schema (since PostgreSQL 15 only the database's owner may create in schema public: GRANT CREATE ON SCHEMA public TO <role>); or give the role a schema of its own (CREATE SCHEMA app AUTHORIZATION <role>) and migrate there (the schema option, the CLI's --schema)";

/** The typed error for a PostgreSQL failure a user can act on, else `error`; `lockTimeoutMs` is the `lock_timeout` a `LOCK_TIMEOUT` reports. */
export function translatePostgresError(error: unknown, busyTimeoutMs: number, classification: ErrorClassification, lockTimeoutMs = 0): unknown {
  if (error instanceof StepwiseError) return error;
  const code = classification.nativeCode ?? "";
  const byKind: Partial<Record<ErrorKind, () => StepwiseError>> = {
    locked: () => databaseLockedError(busyTimeoutMs, error),
    full: () => diskFullError({ version: null, file: null, sqliteCode: code, cause: error }),
    readonly: () => serverRefusedError({ sqlstate: code, reason: firstLineOf(error), fix: code === "25006" ? READ_ONLY_FIX : PRIVILEGE_FIX, cause: error }),
    cantopen: () => describeConnectionFailure(error),
    corrupt: () => databaseUnusableError(`PostgreSQL reports corrupted data (SQLSTATE ${code}). Nothing was changed.`, code, error),
  };
  // classifyPostgresError gives a kind other than `other` only with a SQLSTATE.
  const typed = classification.kind === "lost" ? lostConnection(error) : isLockTimeout(error) ? lockTimedOut(error, lockTimeoutMs, null) : byKind[classification.kind]?.();
  return typed === undefined ? error : recordNativeError(typed, classification);
}

/** What to change when the server ended the session for sitting idle past a timeout set on the role or database: a rerun alone would wait the same way. */
const IDLE_TIMEOUT_REMEDIES: Readonly<Record<string, string>> = {
  "25P03":
    "the migration kept its transaction idle (waiting between its queries) longer than the server's idle_in_transaction_session_timeout, set for the role or database: have it wait for nothing between its queries, or raise the limit for it (SET LOCAL idle_in_transaction_session_timeout = '10min' as its first statement)",
  "57P05":
    "the session sat idle between the migration's queries longer than the server's idle_session_timeout, set for the role or database: have the migration wait for nothing between its queries, or raise the limit for it (SET idle_session_timeout = '10min' as its first statement)",
};

/** `error`, which ended the session, as `CONNECTION_LOST` with no migration running; `during` says what was. */
export function lostConnection(error: unknown, during?: string): StepwiseError<"CONNECTION_LOST"> {
  return connectionLostError({ outcome: "none-running", reason: firstLineOf(error), cause: error, ...(during === undefined ? {} : { during }) });
}

/**
 * Every invalid index of the database (what a failed `CREATE INDEX CONCURRENTLY` leaves), each with the statement that removes it; with `since`, only those written after
 * the history row it selects (by `xmin` age). `quietly`, none when they cannot be read (the transaction aborted, the session gone).
 */
function* readInvalidIndexes(since = "", params: readonly unknown[] = [], quietly = false): Step<InvalidIndex[]> {
  const newer = since === "" ? "" : `AND (SELECT pg_catalog.age(h.xmin) FROM ${since}) ${GT} LEAST(pg_catalog.age(ic.xmin), pg_catalog.age(i.xmin))`;
  const sql = `SELECT n.nspname::${TEXT} AS schema, ic.relname::${TEXT} AS name, tc.relname::${TEXT} AS "table" FROM pg_catalog.pg_index AS i
    JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} i.indexrelid JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} ic.relnamespace
    WHERE NOT i.indisvalid ${newer} ORDER BY n.nspname::${TEXT} ${COLLATE_C}, ic.relname::${TEXT} ${COLLATE_C}`;
  try {
    const rows = yield* query<{ schema: string; name: string; table: string }>(sql, params);
    return rows.map((row) => ({ ...row, drop: `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdentifier(row.schema)}.${quoteIdentifier(row.name)};` }));
  } catch (error) {
    if (quietly) return [];
    throw error;
  }
}

/** Where the pg driver records what a statement that ran past `lock_timeout` was waiting for, by its error. */
export const lockWaits = new WeakMap<object, LockWait>();

/** Whether `error` is PostgreSQL cancelling a statement whose `lock_timeout` ran out (not `NOWAIT`'s refusal, the same SQLSTATE). */
export function isLockTimeout(error: unknown): boolean {
  return codeOf(error) === "55P03" && /lock timeout/.test(stringFieldOf(error, "message") ?? "");
}

/** `error` as `LOCK_TIMEOUT`, with the wait the driver saw, for `failure`'s migration or for none. */
function lockTimedOut(error: unknown, lockTimeoutMs: number, failure: MigrationFailure | null, invalidIndexes: readonly InvalidIndex[] = []): StepwiseError<"LOCK_TIMEOUT"> {
  const wait = lockWaits.get(error as object) ?? null;
  const where = failure === null ? {} : { version: failure.entry.version, file: failure.entry.file, direction: failure.direction };
  return lockTimeoutError({ ...where, lockTimeoutMs, wait, rolledBack: failure?.rolledBack ?? true, invalidIndexes, cause: error });
}

/**
 * What PostgreSQL can say of a migration's failure beyond the library: the session ended under it, a lock wait past `lock_timeout`, the server's DETAIL and HINT, the
 * invalid indexes a `transaction: false` migration left. `null` where the usual reading holds (a full disk, a read-only server).
 */
function describePostgresFailure(lockTimeoutMs: number) {
  return function* (failure: MigrationFailure): Step<StepwiseError | null> {
    const { entry, direction, cause, rolledBack, origin, store } = failure;
    let lost = failure.classification.kind === "lost" ? lostConnectionIn(cause) : undefined;
    // A migration may have replaced the client's error with its own, and a remote session's end (dblink, postgres_fdw) is SQLSTATE 08006 on a live one: one statement
    // tells whether the session lives. A dead socket's error needs none.
    if (lost === undefined || sqlstateOf(lost) !== null) {
      try {
        yield* query("SELECT 1");
        lost = undefined;
      } catch (error) {
        lost = lostConnectionIn(error) === undefined ? undefined : (lost ?? lostConnectionIn(error));
      }
    }
    const alive = lost === undefined && failure.classification.kind === "lost";
    const classification: ErrorClassification =
      lost === undefined ? (alive ? { kind: "other", nativeCode: failure.classification.nativeCode } : failure.classification) : { kind: "lost", nativeCode: failure.classification.nativeCode };
    const where = { version: entry.version, file: entry.file, direction };
    if (lost !== undefined) {
      const outcome = origin === "commit" ? "commit-unknown" : rolledBack ? "rolled-back" : "partly-applied";
      const remedy = IDLE_TIMEOUT_REMEDIES[sqlstateOf(lost) ?? ""];
      return recordNativeError(connectionLostError({ ...where, outcome, reason: firstLineOf(lost), ...(remedy === undefined ? {} : { remedy }), cause }), classification);
    }
    // A transaction: false migration's leftovers (made after its history row was written), or an earlier attempt's in the way of an "already exists".
    const invalidIndexes = rolledBack ? [] : yield* readInvalidIndexes(`${store.quoted} AS h WHERE h.version ${EQ} ?`, [entry.version], true);
    const taken = classification.nativeCode === "42P07" ? /relation "(.+)" already exists/.exec(firstLineOf(cause))?.[1] : undefined;
    if (taken !== undefined && invalidIndexes.length === 0) invalidIndexes.push(...(yield* readInvalidIndexes("", [], true)).filter((index) => index.name === taken));
    if (isLockTimeout(cause)) return recordNativeError(lockTimedOut(cause, lockTimeoutMs, failure, invalidIndexes), classification);
    // A refusal of stepwise's own statement (a read-only server, a full disk) is the environment's, unless the migration took the right away; of the migration's, the migration's own,
    // but a full disk, named as on SQLite.
    if (rolledBack && classification.kind !== "other" && origin !== "body" && !(yield* migrationTookTheRight(entry, direction, classification.nativeCode))) return null;
    if (rolledBack && classification.nativeCode === "53100") return recordNativeError(diskFullError({ ...where, sqliteCode: classification.nativeCode ?? "", cause }), classification);
    // From the first error down the chain that has them.
    const server: { detail?: unknown; hint?: unknown } =
      findInCauseChain(cause, (current) => ["detail", "hint"].some((field) => typeof (current as Record<string, unknown>)[field] === "string")) ?? {};
    const detail = typeof server.detail === "string" ? server.detail : null;
    const hint = typeof server.hint === "string" ? server.hint : null;
    const setting = sessionSettingOf(cause);
    const indexes = describeInvalidIndexes(invalidIndexes, "The database holds").trimEnd();
    const notes = [detail && `DETAIL: ${detail}`, hint && `HINT: ${hint}`, indexes, setting && SETTING_NOTES[setting](entry)].filter(Boolean).join("\n");
    // Outside a transaction each statement went alone, so the one that failed is known; a rolled-back migration is located by the executor's rerun.
    const location = origin === "body" && !rolledBack ? locateFromFailure(entry, direction, cause) : null;
    return migrationFailedError({ ...where, cause, rolledBack, detail, hint, setting, invalidIndexes, notes, location });
  };
}

/**
 * Whether a refusal of stepwise's own write (SQLSTATE `sqlstate`) is the migration's doing. A privilege (42501): after a migration that can change the role (its SET ROLE, or code).
 * A read-only transaction (25006): when the session can write once the failed transaction is rolled back, which takes the migration's `SET LOCAL` or `SET TRANSACTION READ ONLY`
 * (or a function's) with it; a standby or a read-only default stays the environment's, as does a session that cannot answer.
 */
function* migrationTookTheRight(entry: MigrationFailure["entry"], direction: MigrationFailure["direction"], sqlstate: string | null): Step<boolean> {
  if (sqlstate === "42501") return entry.kind !== "sql" || /\b(role|session\s+authorization)\b/i.test(scriptOf(entry, direction) ?? "");
  if (sqlstate !== "25006") return false;
  try {
    yield* rollbackQuietly();
    return (yield* queryValue<boolean>("SELECT pg_catalog.pg_is_in_recovery() OR pg_catalog.current_setting('transaction_read_only')::boolean")) === false;
  } catch {
    return false;
  }
}

/**
 * The session setting (the role's, the database's or the connection's, not the migration's) a failure comes from, read from what the server says the same in every language (its
 * `lc_messages` translates only the words): a statement cancelled (57014; stepwise's own cancels are `LOCK_TIMEOUT`) ran past `statement_timeout`, unless someone cancelled it with
 * `pg_cancel_backend`; "no schema has been selected to create in" (3F000 from the routine that picks the schema a new object goes to, not a schema the migration names) is a
 * `search_path` that names no schema that exists. The transaction is aborted, so neither setting can be asked. A `SET TRANSACTION` refused after the transaction's first query (25001 from a
 * setting's check or the snapshot import) is `transaction`: the migration's own, but a TypeScript body's always comes after stepwise's queries.
 */
function sessionSettingOf(cause: unknown): MigrationFailedSetting | null {
  const routine = (current: object) => String((current as { routine?: unknown }).routine);
  // 57014 is also COPY FROM STDIN given no data (CopyGetData): only the check for interrupts cancels a statement for running too long. An error without the server's routine (a wrapper's) names none.
  const fromSetting = (current: object) =>
    (sqlstateOf(current) === "57014" && routine(current) === "ProcessInterrupts") ||
    (sqlstateOf(current) === "3F000" && /GetCreationNamespace$/.test(routine(current))) ||
    (sqlstateOf(current) === "25001" && /^(call_\w+_check_hook|ImportSnapshot)$/.test(routine(current)));
  const server = findInCauseChain(cause, fromSetting);
  return server === undefined ? null : (({ "57014": "statement_timeout", "3F000": "search_path" } as const)[sqlstateOf(server) as "57014"] ?? "transaction");
}

/** What each setting's failure means for the migration, and how to get past it. */
const SETTING_NOTES: Readonly<Record<MigrationFailedSetting, (entry: MigrationFailure["entry"]) => string>> = {
  statement_timeout: (entry) =>
    `The statement was cancelled: it ran past the session's statement_timeout, set for the role, the database or the connection (unless someone cancelled it with pg_cancel_backend). A migration that needs longer lifts it for itself with ${entry.transaction === false ? "SET statement_timeout" : "SET LOCAL statement_timeout"} = '30min' as its first statement.`,
  transaction: (entry) =>
    entry.kind === "sql"
      ? "PostgreSQL takes SET TRANSACTION only before the transaction's first query: make it the migration's first statement (comments only before it), which stepwise sends with its BEGIN."
      : "PostgreSQL takes SET TRANSACTION only before the transaction's first query, and stepwise's own open the transaction a TypeScript migration runs in: start a SQL migration with it instead, or give this one transaction: false and have it run its own BEGIN ISOLATION LEVEL … and COMMIT.",
  search_path: () =>
    "The session's search_path names no schema that exists (an empty one, or a missing schema, set for the role or the database with ALTER ROLE ... SET search_path), so the migration's names have no schema to go to: set it to the schema to build in, or give the connection one (the CLI's --schema; a pool's options: '-c search_path=app').",
};

/** The `relkind`s of `pg_class` as the kinds `HISTORY_TABLE_INVALID` names. */
const RELATION_KINDS: Readonly<Record<string, string>> = { r: "table", p: "table", v: "view", m: "materialized view", i: "index", I: "index", S: "sequence", f: "foreign table", c: "type" };

/** The catalog rows of relation `?` in schema `?`. */
// The schema's oid first, so pg_class is read by its (relname, relnamespace) index: joined, the planner may scan the schemas once per table of that name (a fleet of schemas).
const RELATION = `pg_catalog.pg_class AS c WHERE c.relnamespace ${EQ} (SELECT n.oid FROM pg_catalog.pg_namespace AS n WHERE n.nspname ${EQ} ?) AND c.relname ${EQ} ?`;

/**
 * Its columns as `HistoryStore` reads them; the primary key's are its key columns only (an `INCLUDE` column plays no part in uniqueness). `dflt_value` is set where something
 * may fill the column: a default (its own or its domain's), an identity, a generation, or any trigger or rule on the table (a BEFORE trigger can set NEW's columns).
 */
const COLUMNS = `SELECT a.attnum, a.attname::${TEXT} AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
    CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_index AS i WHERE i.indrelid ${EQ} c.oid AND i.indisprimary AND i.indnkeyatts ${EQ} 1 AND i.indkey[0] ${EQ} a.attnum) THEN 1 ELSE 0 END AS pk,
    CASE WHEN a.attnotnull THEN 1 ELSE 0 END AS notnull,
    CASE WHEN a.atthasdef OR a.attidentity ${NE} '' OR a.attgenerated ${NE} '' OR c.relhastriggers OR c.relhasrules
      OR EXISTS (SELECT 1 FROM pg_catalog.pg_type AS t WHERE t.oid ${EQ} a.atttypid AND t.typdefaultbin IS NOT NULL) THEN 'filled' END AS dflt_value
  FROM pg_catalog.pg_attribute AS a, ${RELATION} AND a.attrelid ${EQ} c.oid AND a.attnum ${GT} 0 AND NOT a.attisdropped`;

/** SQLSTATEs of a row its table refuses (class 23) or a value its column's type refuses (class 22, `datatype_mismatch`), as `HISTORY_TABLE_INVALID` names them. */
const REFUSED_ROW: Readonly<Record<string, HistoryWriteProblem>> = {
  "23502": "not-null-column",
  "23514": "check-constraint",
  "23505": "unique-constraint",
  "23503": "foreign-key",
  "42804": "column-type",
};

/** The history table of one schema on PostgreSQL: a qualified name, `version BIGINT`, the catalog read through `pg_catalog`. */
export class PostgresHistoryStore extends HistoryStore {
  /** The schema holding the table. */
  readonly schema: string;
  // pg reads a BIGINT as a number when exact and as text otherwise, as SQLite's exact version read does.
  override readonly versionColumn = "version";
  override readonly eq = EQ;
  override readonly textType = TEXT;
  /** The table's kinds and columns read in one statement, for the shape check that follows. */
  private read: { kinds: string[]; columns: HistoryColumn[] } | null = null;
  private schemaFound = true;

  /** @throws `INVALID_TABLE_NAME` when `tableName` is not a plain SQL identifier, or names a table beside it longer than PostgreSQL keeps. */
  constructor(tableName: string = DEFAULT_TABLE_NAME, schema: string) {
    super(tableName, `${quoteIdentifier(schema)}.${quoteIdentifier(tableName)}`);
    // PostgreSQL cuts a longer name short, so `<name>_checksum_repairs` could be another name's table, or the history itself.
    if (`${tableName}_checksum_repairs`.length > MAX_IDENTIFIER_LENGTH) throw invalidTableNameError(tableName, MAX_IDENTIFIER_LENGTH - "_checksum_repairs".length);
    this.schema = schema;
  }

  override *existsWithValidShape(): Step<boolean> {
    if (this.shapeChecked) return yield* this.exists();
    const sql = `SELECT (SELECT pg_catalog.json_agg(c.relkind) FROM ${RELATION}) AS kinds, (SELECT pg_catalog.json_agg(o ORDER BY o.attnum) FROM (${COLUMNS}) AS o) AS columns,
      (SELECT pg_catalog.bool_or(pg_catalog.row_security_active(c.oid)) FROM ${RELATION}) AS "rowSecurity"`;
    const params = [this.schema, this.tableName, this.schema, this.tableName, this.schema, this.tableName];
    const [row] = yield* query<{ kinds: string[] | null; columns: HistoryColumn[] | null; rowSecurity: boolean | null }>(sql, params);
    this.read = { kinds: row?.kinds ?? [], columns: row?.columns ?? [] };
    // Its policies would hide applied rows from every read, so a plan would run them again. Before the shape check, which a store remembers.
    if (row?.rowSecurity === true) throw historyWriteRefusedError({ table: this.tableName, problem: "row-security", column: null, constraint: null, version: null });
    try {
      return yield* super.existsWithValidShape();
    } finally {
      this.read = null;
    }
  }

  protected override *readKinds(name: string): Step<string[]> {
    if (name === this.tableName && this.read) return this.read.kinds.map((kind) => RELATION_KINDS[kind] ?? "relation");
    // A row per relation named so, or one NULL when the schema has none, or none when there is no schema: createTable, which may follow, needs to know.
    const sql = `SELECT c.relkind FROM pg_catalog.pg_namespace AS n LEFT JOIN pg_catalog.pg_class AS c ON c.relnamespace ${EQ} n.oid AND c.relname ${EQ} ? WHERE n.nspname ${EQ} ?`;
    const rows = yield* query<{ relkind: string | null }>(sql, [name, this.schema]);
    this.schemaFound = rows.length > 0;
    return rows.flatMap((row) => (row.relkind === null ? [] : [RELATION_KINDS[row.relkind] ?? "relation"]));
  }

  override isNamed(name: string): boolean {
    return name === this.tableName;
  }

  protected override *createTable(): Step<void> {
    // CREATE SCHEMA IF NOT EXISTS checks the database's CREATE privilege first, which an app role that owns only its schema lacks.
    if (!this.schemaFound) yield* exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.schema)}`);
    yield* exec(`CREATE TABLE ${this.quoted} (version BIGINT PRIMARY KEY, name ${TEXT} NOT NULL, checksum ${TEXT} NOT NULL, applied_at ${TEXT} NOT NULL, duration_ms BIGINT,
        state ${TEXT} NOT NULL DEFAULT 'applied' CHECK (state ${EQ} 'applied' OR state ${EQ} 'started'), owner ${TEXT})`);
  }

  protected override isVersionKeyType(type: string): boolean {
    return type === "bigint" || type === "integer";
  }

  /** A row has no rowid on PostgreSQL; its version names it. */
  protected override *rowidOf(): Step<number | null> {
    return null;
  }

  protected override *readAdoptedHistories(): Step<string[]> {
    const base = `pg_catalog.left(a.relname::${TEXT}, -8)`;
    const sql = `SELECT ${base} AS name FROM pg_catalog.pg_class AS a JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} a.relnamespace
        WHERE n.nspname ${EQ} ? AND (a.relkind ${EQ} 'r' OR a.relkind ${EQ} 'p') AND pg_catalog.right(a.relname::${TEXT}, 8) ${EQ} '_adopted'
          AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS c WHERE c.attrelid ${EQ} a.oid AND c.attname::${TEXT} ${EQ} 'old_table' AND NOT c.attisdropped)
          AND EXISTS (SELECT 1 FROM pg_catalog.pg_class AS b WHERE b.relnamespace ${EQ} a.relnamespace AND b.relname::${TEXT} ${EQ} ${base} AND (b.relkind ${EQ} 'r' OR b.relkind ${EQ} 'p')) ORDER BY 1`;
    const rows = yield* query<{ name: string }>(sql, [this.schema]);
    return rows.map((row) => row.name).filter((name) => !this.isNamed(name));
  }

  /** A deferred constraint's refusal at COMMIT: the server names its table, which must be this one (a migration's own deferred constraint names its table). */
  override describeRefusedCommit(error: unknown, nativeCode: string | null): HistoryWriteRefusal | null {
    const { table, schema } = (typeof error === "object" && error !== null ? error : {}) as { table?: unknown; schema?: unknown };
    if (table !== this.tableName || (schema !== undefined && schema !== this.schema)) return null;
    const refusal = this.describeRefusedWrite(error, nativeCode);
    return refusal?.problem === "trigger" ? null : refusal;
  }

  /**
   * What refused one of stepwise's history INSERTs, from the server's fields (the error's table, column and constraint): a refusal of the row by this table, or any from a function
   * (a trigger's) it fired; `null` for a collision on version, or what is not a refusal of the row.
   */
  override describeRefusedWrite(error: unknown, nativeCode: string | null): HistoryWriteRefusal | null {
    const code = nativeCode ?? "";
    const fields = (typeof error === "object" && error !== null ? error : {}) as { table?: unknown; schema?: unknown; column?: unknown; constraint?: unknown; detail?: unknown; where?: unknown };
    const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);
    // A value the database's encoding cannot hold (a NUL, a character it lacks) is the migration's name's, not the table's.
    const unstorable = code === "22021" || code === "22P05";
    const refused = REFUSED_ROW[code] ?? (code.startsWith("23") ? "constraint" : code.startsWith("22") && !unstorable ? "column-type" : code === "P0001" ? "trigger" : null);
    if (refused === null) return null;
    const table = text(fields.table);
    // Raised inside a function (a trigger's), or a row of another table it wrote: the trigger refused the row.
    const ours = table === null ? text(fields.where) === null : table === this.tableName && (text(fields.schema) ?? this.schema) === this.schema;
    if (refused === "trigger" || !ours) return { problem: "trigger", column: null, constraint: firstLineOf(error) };
    const column = text(fields.column) ?? /^Key \((.+?)\)=/.exec(text(fields.detail) ?? "")?.[1] ?? null;
    // version's own key: another process recorded it, which the executor reads as that.
    if (refused === "unique-constraint" && column === "version") return null;
    return { problem: refused, column, constraint: text(fields.constraint) };
  }

  protected override *readColumns(): Step<HistoryColumn[]> {
    return this.read?.columns ?? (yield* query<HistoryColumn>(`${COLUMNS} ORDER BY a.attnum`, [this.schema, this.tableName]));
  }
}

/** The longest name PostgreSQL keeps whole (NAMEDATALEN - 1 bytes). */
const MAX_IDENTIFIER_LENGTH = 63;

/** `text` as a literal that reads the same whatever `standard_conforming_strings` says. */
export function literal(text: string): string {
  return `E'${text.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/**
 * The history guard on PostgreSQL, which has no temporary triggers and runs dynamic SQL (`DO`): every body is checked by reading, in O(1), the rows the session changed in
 * the table this transaction (`pg_stat_get_xact_tuples_*`), its storage (a TRUNCATE or rewrite changes it) and its columns, found by name, before the body and after it, in one
 * query each. The reading before is kept here, not in the session, which the body could change (`RESET ALL`). The counters hold only within one transaction, so a body that
 * ended it is left to the escape guard. A `transaction: false` body, between whose statements the counters may be reset, is checked by hashing the table's rows instead.
 */
function createPostgresHistoryGuard(store: PostgresHistoryStore): HistoryGuard {
  const changes = ["inserted", "updated", "deleted"].map((kind) => `pg_catalog.pg_stat_get_xact_tuples_${kind}(c.oid)`).join(" OPERATOR(pg_catalog.+) ");
  const storageAndColumns = `pg_catalog.pg_relation_filenode(c.oid), (SELECT pg_catalog.string_agg(a.attname::${TEXT}, ',' ORDER BY a.attnum) FROM pg_catalog.pg_attribute AS a WHERE a.attrelid ${EQ} c.oid AND a.attnum ${GT} 0 AND NOT a.attisdropped)`;
  const ofTable = `FROM pg_catalog.pg_class AS c WHERE c.oid ${EQ} pg_catalog.to_regclass(${literal(store.quoted)}))`;
  // 'gone' when no table has the name any more.
  const shape = `COALESCE((SELECT pg_catalog.concat_ws(',', ${storageAndColumns}) ${ofTable}, 'gone')`;
  // When the transaction began, in microseconds: an integer's text reads back the same whatever the body set (a time zone, a date style, fewer float digits).
  const began = `(pg_catalog.date_part('epoch', pg_catalog.transaction_timestamp()) OPERATOR(pg_catalog.*) 1000000::pg_catalog.float8)::pg_catalog.int8::${TEXT}`;
  const readingSql = `SELECT (SELECT (${changes})::${TEXT} ${ofTable} AS changes, ${shape} AS shape, ${began} AS began`;
  // Every column stepwise writes, as a row's text (quoted where a value holds a separator): a body that renames a migration or rewrites when it ran changes the history too.
  const rows = `pg_catalog.string_agg(ROW(h.version, h.name, h.checksum, h.applied_at, h.duration_ms, h.state)::${TEXT}, ',' ORDER BY h.version)`;
  const whole = `SELECT pg_catalog.md5(COALESCE(${rows}, '') ${CONCAT} ';' ${CONCAT} ${shape}) FROM ${store.quoted} AS h`;
  type Reading = { changes: string | null; shape: string; began: string };
  let before: Reading = { changes: null, shape: "", began: "" };
  return {
    *enter(_entry, _direction, inTransaction) {
      if (inTransaction) before = (yield* query<Reading>(readingSql))[0]!;
      else before = { changes: null, shape: String(yield* queryValue(whole)), began: "" };
      return true;
    },
    *leave(entry, direction, inTransaction) {
      if (inTransaction) {
        let after: Reading;
        try {
          after = (yield* query<Reading>(readingSql))[0]!;
        } catch (error) {
          // The first statement after the body: one that caught a failed statement's error left the transaction aborted.
          if (sqlstateOf(error) !== "25P02") throw error;
          throw new Error("a statement failed inside the migration and its error was caught; PostgreSQL aborted the transaction, so its work is lost", { cause: error });
        }
        // The counts hold only in the transaction they were read in: once a body ends it, the server reports the session's counts and starts them again at zero, so only the
        // table's storage and columns still say something (the escape guard reports the rest).
        if (after.shape !== before.shape || (after.began === before.began && after.changes !== before.changes)) {
          throw historyChangedError(store.tableName, entry, direction, true, after.shape === "gone" ? "the table dropped or renamed" : "its rows, storage or columns changed");
        }
        return;
      }
      let after: unknown;
      try {
        after = yield* queryValue(whole);
      } catch (cause) {
        // Only a table or column gone says the body changed it; another failure (a role without the privilege, a timeout it set) is its own.
        if (!["42P01", "42703"].includes(sqlstateOf(cause) ?? "")) throw cause;
        throw historyChangedError(store.tableName, entry, direction, false, "the table dropped, renamed or altered", cause);
      }
      if (after !== before.shape) throw historyChangedError(store.tableName, entry, direction, false, "its rows, storage or columns changed");
    },
    *remove() {},
  };
}

/** Integer types: pg hands BIGINT back as text past 2^53 (the pg driver's parseInt8), compared as integers. */
const INTEGER_KEY_TYPES = new Set(["int2", "int4", "int8"]);

/** Key types whose JavaScript value binds back exactly (a timestamp comes back rounded to milliseconds, so rows would be skipped). */
const EXACT_KEY_TYPES = new Set([...INTEGER_KEY_TYPES, "numeric", "text", "varchar", "bpchar", "name", "citext", "uuid", "bytea"]);

/** The walk's count and comparisons for a built-in key type: pg_catalog's, whatever the search_path holds. */
const QUALIFIED_SQL = { count: "pg_catalog.count(*)", countGt: GT, eq: EQ, gt: GT, le: "OPERATOR(pg_catalog.<=)" } as const;

/**
 * Finds a `forEachBatch` key as SQLite would: the table through the `search_path`, as given, else as an unquoted name folds, else as `schema.table`; the key exactly, else
 * case-insensitively when that names one column. PostgreSQL has no rowid.
 */
function* resolvePostgresBatchKey(table: unknown, key: unknown, origin: BatchOrigin): BatchWalk<ResolvedBatchKey> {
  const fail = batchKeyFailure(table, key, origin);
  if (typeof table !== "string" || table === "") return fail("no-such-table", "the table name must be a non-empty string");
  if (typeof key !== "string" || key === "") return fail("invalid-key", "the key must be a non-empty column name");
  // Built from quoted parts, never parsed from the text given: a syntax error would abort the migration's transaction.
  const [, schema = null, name = null] = /^([^."]+)\.([^."]+)$/.exec(table) ?? [];
  const found = (
    (yield {
      kind: "rows",
      sql:
        `SELECT c.oid::${TEXT} AS oid, c.oid::pg_catalog.regclass::${TEXT} AS name FROM pg_catalog.pg_class AS c WHERE c.oid ${EQ} coalesce(` +
        "pg_catalog.to_regclass(pg_catalog.quote_ident(?)), pg_catalog.to_regclass(pg_catalog.quote_ident(pg_catalog.lower(?))), " +
        `pg_catalog.to_regclass(pg_catalog.quote_ident(?::${TEXT}) ${CONCAT} '.' ${CONCAT} pg_catalog.quote_ident(?::${TEXT})), ` +
        `pg_catalog.to_regclass(pg_catalog.quote_ident(pg_catalog.lower(?::${TEXT})) ${CONCAT} '.' ${CONCAT} pg_catalog.quote_ident(pg_catalog.lower(?::${TEXT}))))`,
      params: [table, table, schema, name, schema, name],
    }) as Array<{ oid: string; name: string }>
  )[0];
  if (!found) return fail("no-such-table", "there is no such table or view in the schemas of the search_path");
  const described = (yield {
    kind: "rows",
    // A domain is judged by the type it is over: its values come back as that type's do.
    sql:
      `SELECT a.attname::${TEXT} AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, b.typname::${TEXT} AS base ` +
      `FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_type AS t ON t.oid ${EQ} a.atttypid ` +
      `JOIN pg_catalog.pg_type AS b ON b.oid ${EQ} CASE WHEN t.typtype ${EQ} 'd' THEN t.typbasetype ELSE t.oid END ` +
      `WHERE a.attrelid ${EQ} ?::pg_catalog.oid AND a.attnum ${GT} 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    params: [found.oid],
  }) as Array<{ name: string; type: string; base: string }>;
  const columns = described.map((column) => column.name);
  const { column, ambiguous } = matchColumn(columns, key);
  if (column === undefined) return fail("no-such-column", `"${table}" has no column "${key}"${ambiguous ? " (several differ from it only in case: give the exact name)" : ""}`, columns);
  const { base, type } = described.find((candidate) => candidate.name === column)!;
  if (!EXACT_KEY_TYPES.has(base)) {
    const detail = `the key "${column}" is of type ${type}, which JavaScript does not read back exactly (a timestamp is rounded to milliseconds), so rows could be skipped; walk by an integer, numeric, text, uuid or bytea column`;
    return fail("invalid-key", detail, columns);
  }
  // regclass prints the name quoted and schema-qualified where the search_path needs it; citext compares by its extension's operators.
  const sqlOf = base === "citext" ? {} : { sqlOf: QUALIFIED_SQL };
  return { sql: quoteIdentifier(column), isRowid: false, columns, tableSql: found.name, matchColumns: true, integerKey: INTEGER_KEY_TYPES.has(base), ...sqlOf };
}

/** PostgreSQL's reading of a walk. */
export const POSTGRES_BATCH_DIALECT: BatchDialect = {
  resolveKey: resolvePostgresBatchKey,
  // max() stays unqualified: it is the key type's own aggregate (citext's lives in its extension's schema).
  boundSql: (table, key, where) =>
    `SELECT max(${key}) AS bound, max(${key})::${TEXT} AS text, (pg_catalog.pg_typeof(max(${key})) ${EQ} ANY ('{smallint,integer,bigint}'::pg_catalog.regtype[]))::int AS integer FROM ${table} WHERE ${where}`,
  // A `$1` outside strings, quoted names, comments and dollar quotes: the tokeniser makes it a word.
  hasNumberedPlaceholders: (where) => tokenizePostgresSql(where).some((token) => token.kind === "word" && /^\$\d+$/.test(token.text)),
};

/** The schema the history table lives in unless told otherwise. */
export const DEFAULT_POSTGRES_SCHEMA = "public";

/** Whether object `objid` of catalog `classid` belongs to an extension, which keeps it. */
const EXTENSION_MEMBER = (classid: string, objid: string) => `EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS e WHERE e.classid ${EQ} ${classid} AND e.objid ${EQ} ${objid} AND e.deptype ${EQ} 'e')`;

/** `pg_depend` row `d` says its object is of schema `NS`: how every object of a schema a migration can make is found, through the index on what is depended on. */
const IN_SCHEMA = `d.refclassid ${EQ} 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid ${EQ} NS AND d.deptype ${EQ} 'n'`;

/**
 * The user's objects of schema `NS` as `sqlite_master` would list them: tables, views, indexes that back no constraint (those go with it), user triggers. A partition's copy
 * of its parent's index or row trigger goes with the parent too: it cannot be dropped alone. An extension's tables and views (PostGIS's `spatial_ref_sys`, `pg_stat_statements`),
 * with what is on them, are the extension's: they make no database unmanaged, and `reset` leaves them, as it leaves the extension.
 */
// Every read goes through an index: the schema's relations are found by their dependency on it (pg_class has no index on relnamespace alone, and a scan of it grows
// with every schema of a fleet); an index backs a constraint when one on its own table names it, or a foreign key anywhere depends on it.
const SCHEMA_OBJECTS_SQL = `WITH rel AS (
  SELECT c.oid, c.relname, c.relkind FROM pg_catalog.pg_class AS c WHERE c.relnamespace ${EQ} NS AND c.oid IN (SELECT d.objid FROM pg_catalog.pg_depend AS d
    WHERE d.refclassid ${EQ} 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid ${EQ} NS AND d.classid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass)
  AND NOT ${EXTENSION_MEMBER("'pg_catalog.pg_class'::pg_catalog.regclass", "c.oid")}
)
SELECT type, name, "tblName", sql FROM (
  SELECT 'table'::${TEXT} AS type, c.relname::${TEXT} AS name, c.relname::${TEXT} AS "tblName", NULL::${TEXT} AS sql FROM rel AS c WHERE c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p'
  UNION ALL SELECT 'view', c.relname::${TEXT}, c.relname::${TEXT}, pg_catalog.pg_get_viewdef(c.oid) FROM rel AS c WHERE c.relkind ${EQ} 'v'
  UNION ALL SELECT 'index', ic.relname::${TEXT}, tc.relname::${TEXT}, pg_catalog.pg_get_indexdef(i.indexrelid) FROM rel AS tc
    JOIN pg_catalog.pg_index AS i ON i.indrelid ${EQ} tc.oid JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} i.indexrelid
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k WHERE k.conrelid ${EQ} tc.oid AND k.conindid ${EQ} i.indexrelid)
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.refclassid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid ${EQ} i.indexrelid
        AND d.classid ${EQ} 'pg_catalog.pg_constraint'::pg_catalog.regclass)
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits AS h WHERE h.inhrelid ${EQ} i.indexrelid)
  UNION ALL SELECT 'trigger', t.tgname::${TEXT}, tc.relname::${TEXT}, pg_catalog.pg_get_triggerdef(t.oid) FROM rel AS tc JOIN pg_catalog.pg_trigger AS t ON t.tgrelid ${EQ} tc.oid
    WHERE NOT t.tgisinternal AND t.tgparentid ${EQ} 0
) AS objects ORDER BY name ${COLLATE_C}, type ${COLLATE_C}, "tblName" ${COLLATE_C}`;

/** The schema an object lives in, by its catalog: a trigger, rule, default or policy in its table's, an operator family's entry in the family's; `NULL` for what no schema holds (a cast, an event trigger). */
const SCHEMA_OF = (catalog: string, oid: string) => `CASE ${catalog}
  WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_class AS c WHERE c.oid ${EQ} ${oid})
  WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN (SELECT t.typnamespace FROM pg_catalog.pg_type AS t WHERE t.oid ${EQ} ${oid})
  WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN (SELECT f.pronamespace FROM pg_catalog.pg_proc AS f WHERE f.oid ${EQ} ${oid})
  WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT k.connamespace FROM pg_catalog.pg_constraint AS k WHERE k.oid ${EQ} ${oid})
  WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_trigger AS g JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} g.tgrelid WHERE g.oid ${EQ} ${oid})
  WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_rewrite AS r JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} r.ev_class WHERE r.oid ${EQ} ${oid})
  WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_attrdef AS a JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} a.adrelid WHERE a.oid ${EQ} ${oid})
  WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_policy AS p JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} p.polrelid WHERE p.oid ${EQ} ${oid})
  WHEN 'pg_catalog.pg_amop'::pg_catalog.regclass THEN (SELECT f.opfnamespace FROM pg_catalog.pg_amop AS a JOIN pg_catalog.pg_opfamily AS f ON f.oid ${EQ} a.amopfamily WHERE a.oid ${EQ} ${oid})
  WHEN 'pg_catalog.pg_amproc'::pg_catalog.regclass THEN (SELECT f.opfnamespace FROM pg_catalog.pg_amproc AS a JOIN pg_catalog.pg_opfamily AS f ON f.oid ${EQ} a.amprocfamily WHERE a.oid ${EQ} ${oid})
  ELSE (SELECT n.oid FROM pg_catalog.pg_namespace AS n WHERE n.nspname ${EQ} (pg_catalog.pg_identify_object(${catalog}, ${oid}, 0)).schema) END`;

/**
 * `reset`'s drop of every object of schema `NS` a migration can make (tables, views, types, domains, functions, sequences, operators...), so the migrations run again.
 * Extensions and their members stay: an app's role can seldom create them back. The drops CASCADE, as objects of one schema may need each other in a circle (a table's
 * default calls a function that reads the table), but only once nothing outside the schema needs any of them: a view, foreign key, child table, partition or column of
 * another schema, an extension's member, or what no schema holds (a cast, an event trigger, a publication's table) refuses the reset with PostgreSQL's 2BP01, naming it,
 * before anything is dropped; so does a part of an object across the schema's edge either way (a range's multirange named into another schema). Newest first, so what is
 * built on another goes before it; what is part of another object (a range's constructors, an identity's sequence) goes with its owner, which alone may drop it.
 */
const DROP_ALL_OBJECTS_SQL = `DO $$ DECLARE one pg_catalog.text; needed pg_catalog.text; dependent pg_catalog.text; BEGIN
  -- The migrations would run again where the session creates, beside what they made before, with the history gone from NS.
  IF NS IS NOT NULL AND pg_catalog.current_schema() IS DISTINCT FROM (SELECT n.nspname FROM pg_catalog.pg_namespace AS n WHERE n.oid ${EQ} NS) THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_schema_name', MESSAGE = pg_catalog.format('the session creates in %s (its search_path), not in schema %I, the history table''s',
      COALESCE('schema ' ${CONCAT} pg_catalog.quote_ident(pg_catalog.current_schema()), 'no schema'), (SELECT n.nspname FROM pg_catalog.pg_namespace AS n WHERE n.oid ${EQ} NS)),
      DETAIL = 'reset drops the history table''s schema and applies the migrations again where the session creates: set the search_path to that schema (the CLI''s --schema does)';
  END IF;
  WITH member AS (
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend AS d WHERE ${IN_SCHEMA} AND NOT ${EXTENSION_MEMBER("d.classid", "d.objid")}
  ), inside AS (
    SELECT classid, objid FROM member
    UNION ALL SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid FROM pg_catalog.pg_type AS t
      WHERE t.typnamespace ${EQ} NS AND NOT ${EXTENSION_MEMBER("'pg_catalog.pg_type'::pg_catalog.regclass", "t.oid")}
  )
  SELECT pg_catalog.pg_describe_object(x.refclassid, x.refobjid, 0), pg_catalog.pg_describe_object(x.classid, x.objid, x.objsubid) INTO needed, dependent
    FROM inside AS i JOIN pg_catalog.pg_depend AS x ON x.refclassid ${EQ} i.classid AND x.refobjid ${EQ} i.objid
      CROSS JOIN LATERAL (SELECT ${SCHEMA_OF("x.classid", "x.objid")} AS oid) AS home
    WHERE (x.deptype ${EQ} 'n' OR x.deptype ${EQ} 'a')
        AND (home.oid IS DISTINCT FROM NS OR ${EXTENSION_MEMBER("x.classid", "x.objid")})
      -- A part in another schema (not the table's TOAST, which lives in pg_toast); a part of no schema (a range's cast to its multirange) goes with its owner.
      OR x.deptype ${EQ} 'i' AND home.oid ${NE} NS
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c WHERE x.classid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid ${EQ} x.objid AND c.relkind ${EQ} 't')
    LIMIT 1;
  -- The other way round: a part of the schema whose owner is outside it (a range's constructors left behind when the range moved away) could be dropped only with its owner.
  IF dependent IS NULL THEN
    SELECT pg_catalog.pg_describe_object(x.refclassid, x.refobjid, 0), pg_catalog.pg_describe_object(x.classid, x.objid, 0) INTO needed, dependent
      FROM pg_catalog.pg_depend AS d JOIN pg_catalog.pg_depend AS x ON x.classid ${EQ} d.classid AND x.objid ${EQ} d.objid AND x.objsubid ${EQ} 0 AND x.deptype ${EQ} 'i'
      WHERE ${IN_SCHEMA} AND (${SCHEMA_OF("x.refclassid", "x.refobjid")}) IS DISTINCT FROM NS
      LIMIT 1;
  END IF;
  IF dependent IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist', MESSAGE = pg_catalog.format('cannot drop %s because other objects depend on it', needed),
      DETAIL = pg_catalog.format('%s depends on %s', dependent, needed);
  END IF;
  FOR one IN SELECT pg_catalog.format('DROP %s IF EXISTS %s CASCADE', CASE WHEN o.type ${EQ} 'statistics object' THEN 'STATISTICS' ELSE o.type END, o.identity)
      FROM (SELECT d.objid, (pg_catalog.pg_identify_object(d.classid, d.objid, 0)).* FROM pg_catalog.pg_depend AS d
        WHERE ${IN_SCHEMA} AND NOT ${EXTENSION_MEMBER("d.classid", "d.objid")}
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS i WHERE i.classid ${EQ} d.classid AND i.objid ${EQ} d.objid AND i.objsubid ${EQ} 0 AND i.deptype ${EQ} 'i')) AS o
      WHERE o.type ${NE} 'extension' ORDER BY o.objid DESC LOOP
    EXECUTE one;
  END LOOP;
END $$`;

/** The session's own settings (what `SET`, `set_config` and their `RESET` change), its role and its session user, each with the value a reset would give it. */
function* readSessionSettings() {
  return yield* query<{ name: string; setting: string; resetTo: string | null }>(`SELECT name::${TEXT} AS name, setting, reset_val AS "resetTo" FROM pg_catalog.pg_settings WHERE source ${EQ} 'session'
  UNION ALL SELECT 'role', pg_catalog.current_setting('role'), 'none'
  UNION ALL SELECT 'session_authorization', pg_catalog.current_setting('session_authorization'), NULL`);
}

/**
 * The custom settings (`app.tenant`) `scripts` may set or reset: the server lists none, so they are found by name in the SQL, read by PostgreSQL's lexer (comments skipped): as a
 * `SET`/`RESET` names one (its parts quoted or not), and as any string that reads as a setting's name (`set_config`'s, however quoted), inside the code of a dollar-quoted body (a `DO`
 * block, a function) too. Reading one no migration sets costs nothing.
 */
function customSettingsIn(scripts: readonly string[]): string[] {
  const names = new Set<string>();
  const visit = (sql: string, depth: number): void => {
    const tokens = tokenizePostgresSql(sql).filter((token) => !/^(whitespace|line-comment|block-comment)$/.test(token.kind));
    tokens.forEach((token, index) => {
      if (token.kind === "string") {
        const dollar = /^(\$[^$]*\$)([\s\S]*)\1$/.exec(token.text);
        const body = dollar?.[2] ?? /^(?:[a-z]|u&)?'([\s\S]*)'$/i.exec(token.text)?.[1]?.replace(/''/g, "'") ?? "";
        // A string is code as often as text (a DO block's or a function's body, dollar-quoted or not): read inside it too, to a bound (nested bodies).
        if (depth < 4) visit(body, depth + 1);
        const text = body.trim();
        if (/^[a-z_][\w$]*(\.[a-z_][\w$]*)+$/i.test(text)) names.add(text.toLowerCase());
        return;
      }
      if (token.kind !== "word" || !/^(set|reset)$/i.test(token.text)) return;
      // A quoted part keeps its case; an unquoted one folds to lower case, as the server reads it.
      const parts: string[] = [];
      for (let at = /^session$/i.test(tokens[index + 1]?.text ?? "") ? index + 2 : index + 1; ; at += 2) {
        const part = tokens[at];
        if (part?.kind === "word") parts.push(part.text.toLowerCase());
        else if (part?.kind === "quoted-identifier" && part.text.startsWith('"')) parts.push(part.text.slice(1, -1).replace(/""/g, '"'));
        else break;
        if (tokens[at + 1]?.text !== ".") break;
      }
      if (parts.length >= 2) names.add(parts.join("."));
    });
  };
  for (const script of scripts) visit(script, 0);
  return [...names];
}

/** The session's settings as a run found them, for {@link restoreSessionSettings}, with the custom settings `scripts` name (`''` when unset, as a reset leaves one). */
function* snapshotSessionSettings(scripts: readonly string[]): Step<ConnectionSettingsSnapshot> {
  const snapshot: Record<string, string> = Object.fromEntries((yield* readSessionSettings()).map((row) => [row.name, row.setting]));
  let names = customNamesOf.get(scripts);
  if (names === undefined) customNamesOf.set(scripts, (names = customSettingsIn(scripts)));
  const settings = { ...snapshot, ...Object.fromEntries(yield* readCustomSettings(names)) };
  return { ...settings, [PROBE]: yield* probeSettings(dottedNames(settings)) };
}

/** The custom settings a snapshot holds (and an extension's, such as `plpgsql.variable_conflict`): the names with a dot. */
const dottedNames = (settings: ConnectionSettingsSnapshot): string[] => Object.keys(settings).filter((name) => name.includes("."));

/** The snapshot's key for {@link probeSettings}' reading: not a setting's name (those hold no space). */
const PROBE = "stepwise probe";

/**
 * The settings that decide where and as whom the next migration runs and what the app's policies read (the `search_path`, the role, the session user, read-only transactions, the
 * statement timeout, the custom settings `names`), read as one text in one cheap query: `pg_settings` costs about five times as much, after every migration.
 */
function* probeSettings(names: readonly string[]): Step<string> {
  const custom = names.map((name) => `, COALESCE(pg_catalog.current_setting(${literal(name)}, true), '')`).join("");
  const parts = ["search_path", "role", "session_authorization", "default_transaction_read_only", "statement_timeout"].map((name) => `pg_catalog.current_setting('${name}')`).join(", ");
  return String(yield* queryValue<string>(`SELECT pg_catalog.concat_ws(E'\\n', ${parts}${custom})`));
}

/** The names {@link customSettingsIn} found in each registry's scripts, read once: the executor hands the same array to every run. */
const customNamesOf = new WeakMap<readonly string[], string[]>();

/** Each custom setting of `names` as the session holds it (`''` when unset), in one query. */
function* readCustomSettings(names: readonly string[]): Step<Array<[string, string]>> {
  if (names.length === 0) return [];
  const sql = `SELECT n AS name, COALESCE(pg_catalog.current_setting(n, true), '') AS value FROM pg_catalog.unnest(ARRAY[${names.map(literal).join(", ")}]::${TEXT}[]) AS n`;
  const rows = yield* query<{ name: string; value: string }>(sql);
  return rows.map((row) => [row.name, row.value]);
}

/** What the pg driver's BEGIN sets locally (its check that the client is still there), which a snapshot taken before it does not hold. */
const RUN_LOCAL_SETTINGS: ReadonlySet<string> = new Set(["client_connection_check_interval"]);

/**
 * Puts back what a migration's `SET`s changed in the session, which outlive its transaction: each setting as `before` had it (one it set anew reset), the session user first
 * (which resets the role), then the role, under which the settings are made. Each goes alone as a query (the driver's statement path would wrap it in its own `lock_timeout`,
 * and put back the migration's), and one the server refuses (`temp_buffers` once temporary tables were used) is left as the migration set it: the migration committed, and a
 * setting is no reason to fail the run. Returns the names put back.
 */
function* restoreSessionSettings(before: ConnectionSettingsSnapshot): Step<string[]> {
  const rows = yield* readSessionSettings();
  const now = new Map(rows.map((row) => [row.name, row.setting]));
  // The custom ones the snapshot named, which no catalog lists.
  for (const [name, value] of yield* readCustomSettings(Object.keys(before).filter((candidate) => candidate.includes(".") && !now.has(candidate)))) now.set(name, value);
  // Each setting as the snapshot had it (one a migration's RESET took back included), and one set anew back to its reset value.
  const wanted = new Map(Object.entries(before).map(([name, value]) => [name, String(value)]));
  for (const row of rows) if (!wanted.has(row.name) && row.resetTo !== null) wanted.set(row.name, row.resetTo);
  const first = (name: string) => (name === "session_authorization" ? 0 : name === "role" ? 1 : 2);
  // Between the migrations of one transaction (`transaction: "all"`), a refusal must not end it, and what the run's BEGIN set locally is the run's own.
  const inBlock = yield* inTransaction();
  const changed = [...wanted].filter(([name, value]) => now.get(name) !== value && !(inBlock && RUN_LOCAL_SETTINGS.has(name)));
  // Setting the session user resets the role, which then goes back too.
  if (changed.some(([name]) => name === "session_authorization") && !changed.some(([name]) => name === "role")) changed.push(["role", String(before.role ?? "none")]);
  changed.sort(([a], [b]) => first(a) - first(b));
  const restored: string[] = [];
  for (const [name, value] of changed) {
    try {
      if (inBlock) yield* query("SAVEPOINT stepwise_setting");
      yield* query(`SELECT pg_catalog.set_config(${literal(name)}, ${literal(value)}, false)`);
      if (inBlock) yield* query("RELEASE SAVEPOINT stepwise_setting");
      restored.push(name);
    } catch {
      // Refused: left as the migration set it.
      if (inBlock) yield* query("ROLLBACK TO SAVEPOINT stepwise_setting");
    }
  }
  return restored;
}

/**
 * The PostgreSQL dialect for the history table in `schema`, whose runs have `lock_timeout` `lockTimeoutMs`. A migration's `SET` of the session (not `SET LOCAL`) outlives its
 * transaction: the run puts the session back as it found it after each migration that could have changed it, and at its end. `USAGE` when `schema` is not a plain identifier.
 */
export function createPostgresDialect(schema = DEFAULT_POSTGRES_SCHEMA, lockTimeoutMs = DEFAULT_LOCK_TIMEOUT_MS): Dialect {
  if (!isValidTableName(schema) || schema.length > MAX_IDENTIFIER_LENGTH)
    throw usageError(`"${schema}" cannot be the history table's schema: use at most ${MAX_IDENTIFIER_LENGTH} letters, digits and underscores, starting with a letter or underscore.`);
  // The server's own: reset would drop information_schema's views, and it refuses to create a pg_ schema.
  if (schema.startsWith("pg_") || schema === "information_schema")
    throw usageError(`"${schema}" cannot be the history table's schema: PostgreSQL keeps it for its catalogs. Name a schema of the app's.`);
  // The schema inlined as a literal: a plain identifier, checked above.
  const namespace = `(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname ${EQ} ${literal(schema)})`;
  const objectsSql = SCHEMA_OBJECTS_SQL.replace(/\bNS\b/g, namespace);
  return {
    name: "postgres",
    transactionHead: (script) => splitTransactionHead(script).head,
    sequencesSetBy: (script) => [...new Set(nonTransactionalEffects(script).flatMap(({ sequence }) => (sequence === null ? [] : [sequence])))],
    createHistoryStore: (tableName) => new PostgresHistoryStore(tableName, schema),
    guardHistory: (store) => createPostgresHistoryGuard(store as PostgresHistoryStore),
    snapshotConnectionSettings: snapshotSessionSettings,
    // A function a migration calls, or a trigger or event trigger it fires, may SET the session.
    sqlReachesSettings: true,
    restoreConnectionSettings: function* (before: ConnectionSettingsSnapshot, _failed?: boolean, probeFirst = false): Step<string[]> {
      const { [PROBE]: probe, ...settings } = before;
      if (probeFirst && (yield* probeSettings(dottedNames(settings))) === probe) return [];
      // Between the migrations of one transaction, lock_timeout is the run's own bound (SET LOCAL at its BEGIN), which a migration's change gives way to; the run's end puts back the app's.
      const runBound = lockTimeoutMs > 0 && (yield* inTransaction());
      return yield* restoreSessionSettings(runBound ? { ...settings, lock_timeout: String(lockTimeoutMs) } : settings);
    },
    startEscapeGuard: startPostgresEscapeGuard,
    splitStatements: (script) => scriptStatements(script, splitPostgresStatements(tokenizePostgresSql(script))),
    readOwnerSession,
    probeOwnerSession: (session, tableName) => probeOwnerSession(session, schema, tableName),
    readSchemaObjects: function* (options: ListSchemaObjectsOptions = {}): Step<SchemaObject[]> {
      const rows = yield* query<SchemaObject>(objectsSql);
      const types = options.types ? new Set<string>(options.types) : null;
      const excluded = new Set(options.excludeTables ?? []);
      return rows.filter((row) => (types === null || types.has(row.type)) && !(row.type === "table" && excluded.has(row.name)));
    },
    dropAllObjectsSql: DROP_ALL_OBJECTS_SQL.replace(/\bNS\b/g, namespace),
    // Always enforced: a migration cannot switch them off for the run.
    foreignKeysEnforced: function* () {
      return true;
    },
    translateError: (error, busyTimeoutMs, classification) => translatePostgresError(error, busyTimeoutMs, classification, lockTimeoutMs),
    describeFailure: describePostgresFailure(lockTimeoutMs),
    readInvalidIndexes: () => readInvalidIndexes(),
  };
}

/**
 * PostgreSQL's escape guard. The savepoint's name proves nothing (another session reads it from `pg_stat_activity`); the transaction id does, since the server never assigns
 * one twice: the id read with the RELEASE must be the one read with the SAVEPOINT, each pair in one message. Once our transaction ended, its id's `pg_xact_status` says
 * whether it committed.
 */
function* startPostgresEscapeGuard(): Step<EscapeGuardRun> {
  const savepoint = quoteIdentifier(uniqueName("body"));
  const readId = `SELECT pg_catalog.pg_current_xact_id()::${TEXT} AS xid`;
  let transactionId = "";
  return {
    *readStart() {},
    *enter() {
      transactionId = String(yield* queryValue(`SAVEPOINT ${savepoint}; ${readId}`));
    },
    *leave() {
      try {
        return String(yield* queryValue(`RELEASE SAVEPOINT ${savepoint}; ${readId}`)) === transactionId;
      } catch (error) {
        // A session that ended took our transaction with it: no escape; the lost connection is reported next.
        if (isConnectionLost(error)) return true;
      }
      // Aborted by a failed statement (RELEASE is refused until it is rolled back to), or gone with our transaction.
      try {
        return String(yield* queryValue(`ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}; ${readId}`)) === transactionId;
      } catch (error) {
        return isConnectionLost(error);
      }
    },
    *judge() {
      try {
        return (yield* queryValue("SELECT pg_catalog.pg_xact_status(?::pg_catalog.xid8) AS status", [transactionId])) === "committed" ? "yes" : "unknown";
      } catch {
        return "unknown";
      }
    },
    *renew() {},
    *close() {},
  };
}

/** Names the backend running a `transaction: false` migration: it holds the run lock while it lives; its start time goes with its pid, which could be reused. */
function* readOwnerSession(): Step<string> {
  const sql =
    `SELECT pg_catalog.concat('pg-backend:', pg_catalog.pg_backend_pid(), ':', EXTRACT(epoch FROM pg_catalog.pg_postmaster_start_time()), ':', ` +
    `(SELECT EXTRACT(epoch FROM backend_start) FROM pg_catalog.pg_stat_activity WHERE pid ${EQ} pg_catalog.pg_backend_pid())) AS session`;
  return String(yield* queryValue(sql));
}

/**
 * Whether the backend `session` names still runs its migration, as far as this role may see: it lives and holds the run lock of `schema.tableName` (the run's lock, held for the whole run;
 * a session that lives on after its run failed runs nothing). The lock's key is the one the pg driver's `runLockKey` computes, here in SQL: its high and low 32 bits are `classid` and `objid`.
 */
function* probeOwnerSession(session: string, schema: string, tableName: string): Step<"held" | "free" | "unknown"> {
  const match = /^pg-backend:(\d+):([\d.]+):([\d.]+)$/.exec(session);
  if (!match) return "unknown";
  const hex = (column: string) => `pg_catalog.lpad(pg_catalog.to_hex(l.${column}::pg_catalog.int8), 8, '0')`;
  const holdsRunLock =
    `EXISTS (SELECT 1 FROM pg_catalog.pg_locks AS l WHERE l.locktype ${EQ} 'advisory' AND l.granted AND l.objsubid ${EQ} 1 AND l.pid ${EQ} a.pid ` +
    `AND ${hex("classid")} ${CONCAT} ${hex("objid")} ${EQ} pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(?, 'UTF8')), 'hex'), 16))`;
  try {
    if (String(yield* queryValue(`SELECT EXTRACT(epoch FROM pg_catalog.pg_postmaster_start_time())::${TEXT} AS started`)) !== match[2]) return "free";
    // The pid is listed for every session; its start time only for the role's own.
    const rows = yield* query<{ started: string | null; locking: boolean }>(
      `SELECT EXTRACT(epoch FROM a.backend_start)::${TEXT} AS started, ${holdsRunLock} AS locking FROM pg_catalog.pg_stat_activity AS a WHERE a.pid ${EQ} ?::int`,
      [`stepwise:${schema}.${tableName}`, match[1]],
    );
    if (rows.length === 0) return "free";
    return rows[0]!.started === null ? "unknown" : rows[0]!.started === match[3] && rows[0]!.locking ? "held" : "free";
  } catch {
    return "unknown";
  }
}
