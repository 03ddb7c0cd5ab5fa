/**
 * The PostgreSQL dialect: what the executor asks of a dialect (`Dialect`, in `executor-types.ts`), answered with
 * PostgreSQL's catalog and its transaction ids.
 *
 * The transaction-escape guard differs most. SQLite needs a witness table and header fields to tell
 * whether a migration that ended stepwise's transaction committed it; PostgreSQL says so itself: the
 * transaction's id, read right after `BEGIN` (`pg_current_xact_id()`), has a status
 * (`pg_xact_status`) once it ended. `committed` proves the migration's work before it ended ours was
 * committed. Anything else is `unknown`: statements it ran after ending ours commit on their own, and
 * nothing on the server records which session ran them. A body's savepoint is released as on SQLite;
 * after a failed statement the transaction is aborted and refuses `RELEASE`, so the savepoint is
 * rolled back to first, which also proves it (and so our transaction) still exists.
 *
 * No connection setting is snapshotted or restored: a `SET` inside the migration's transaction rolls
 * back with it or commits as the migration's intent, as `SET LOCAL` and plain `SET` document.
 */
import { batchKeyFailure, matchColumn, quoteIdentifier } from "../batch-key.js";
import type { BatchDialect, BatchOrigin, BatchWalk, ResolvedBatchKey } from "../batch-types.js";
import type { ConnectionProblem, LockWait } from "../errors.js";
import { connectionFailedError, connectionLostError } from "../error-factories.js";
import type { ErrorClassification } from "../driver.js";
import type { ErrorKind } from "../errors.js";
import { StepwiseError, type EscapedCommit, type InvalidIndex } from "../errors.js";
import { databaseLockedError, databaseUnusableError, diskFullError, historyChangedByMigrationError, historyTableInvalidError, migrationFailedError, usageError } from "../error-factories.js";
import type { Dialect, FailureOrigin, MigrationExecutor } from "../executor-types.js";
import { HISTORY_GUARD_MARK, type HistoryGuard } from "../history-guard.js";
import { DEFAULT_TABLE_NAME, HistoryStore, isValidTableName } from "../history.js";
import { describeInvalidIndexes } from "../invalid-indexes.js";
import { lockTimeoutError } from "../error-factories.js";
import { classifySafely, recordNativeError } from "../error-factories.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../options.js";
import type { ListSchemaObjectsOptions, SchemaObject } from "../schema-objects.js";
import { scriptStatements } from "../sql-location.js";
import { exec, query, queryValue, type Step } from "../step.js";
import { describeThrownValue } from "../error-factories.js";
import type { CommitWitness, TransactionStart } from "../transaction-guard.js";
import type { MigrationDirection, MigrationEntry } from "../types.js";
import { splitPostgresStatements, tokenizePostgresSql } from "../../shared/postgres-tokens.js";

/*
 * PostgreSQL's built-in operators and types as stepwise's statements write them: schema-qualified,
 * so nothing on the session's `search_path` can stand in for them.
 *
 * PostgreSQL resolves an unqualified operator, function, type or collation through the `search_path`,
 * and a better-matching candidate in any schema on it wins over `pg_catalog`'s: a `public.=` for
 * `(varchar, varchar)` beats the built-in `text = text` for a `varchar` column even with
 * `pg_catalog` searched first, and a `search_path` that lists `pg_catalog` after another schema lets
 * that schema's `=(bigint, bigint)` decide which history row a `DELETE ... WHERE version = ...` removes.
 * Qualifying each reference costs nothing at run time and changes no session state, where pinning
 * the `search_path` would need a `SET` around every statement (its own round trip, or outside a
 * transaction no `SET LOCAL` at all) and would have to be undone before each migration, whose SQL
 * is the app's and resolves through the app's `search_path` as it always did.
 *
 * Keywords (`bigint`, `int`, `EXTRACT`, `COALESCE`, `CASE`, `EXISTS`) are resolved by the parser to
 * `pg_catalog` whatever the path says; `NULLIF`, `IN` and `CASE x WHEN` look `=` up by name, so
 * stepwise writes them as `CASE WHEN ... OPERATOR(pg_catalog.=) ...`.
 */
/** `=`, `pg_catalog`'s. */
export const EQ = "OPERATOR(pg_catalog.=)";
/** `<>`, `pg_catalog`'s. */
export const NE = "OPERATOR(pg_catalog.<>)";
/** `>`, `pg_catalog`'s. */
export const GT = "OPERATOR(pg_catalog.>)";
/** `||`, `pg_catalog`'s. */
export const CONCAT = "OPERATOR(pg_catalog.||)";
/** `text`, `pg_catalog`'s (not a keyword, so a type named `text` earlier on the path would win). */
export const TEXT = "pg_catalog.text";
/** The `C` collation, `pg_catalog`'s. */
export const COLLATE_C = 'COLLATE pg_catalog."C"';

/*
 * How the `pg` package reports a connection that cannot be opened, or that was lost, read as
 * stepwise's errors: the server's refusal at start-up (a SQLSTATE with the server's message), the
 * socket's failure (a system code such as `ECONNREFUSED`), and the client's own words once its socket
 * is gone (`Connection terminated unexpectedly`, `... is not queryable`).
 */
/**
 * SQLSTATEs that end the session: `57P01` (`pg_terminate_backend`, a fast shutdown), `57P02` (a crash
 * of another backend), `57P05` (idle session timeout), `25P03` (idle in transaction timeout), and the
 * connection exceptions of a session that existed (`08000`, `08003`, `08006`, `08007`).
 */
const SESSION_ENDING_SQLSTATES = new Set(["57P01", "57P02", "57P05", "25P03", "08000", "08003", "08006", "08007"]);

/** System codes of a socket that died under an open session. */
const SOCKET_GONE_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN"]);

/** What `pg`'s client says when its socket closed under a query, or is used after it did. */
const CLIENT_GONE_MESSAGE = /^(Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/;

/**
 * The error down `error`'s `cause` chain (itself first) that says the session ended under stepwise
 * (see the note above), or `undefined`: a migration may wrap the client's error in its own.
 */
export function lostConnectionIn(error: unknown): unknown {
  return findInCauseChain(error, (current) => {
    const code = (current as { code?: unknown }).code;
    return (typeof code === "string" && (SESSION_ENDING_SQLSTATES.has(code) || SOCKET_GONE_CODES.has(code))) || (current instanceof Error && CLIENT_GONE_MESSAGE.test(current.message));
  });
}

/** The first error down `error`'s `cause` chain (itself first) that `matches`, or `undefined`. */
function findInCauseChain(error: unknown, matches: (current: object) => boolean): object | undefined {
  let current = error;
  // Bounded: a cause chain is data, and a cyclic one must not hang error handling.
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    try {
      if (matches(current)) return current;
      current = (current as { cause?: unknown }).cause;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Whether `error`, or one down its `cause` chain, says the session ended under stepwise. */
export function isConnectionLost(error: unknown): boolean {
  return lostConnectionIn(error) !== undefined;
}

/** The first line of what `error` says, for a message. */
export function firstLineOf(error: unknown): string {
  return describeThrownValue(error).split("\n")[0]!.trim();
}

/** The case, and what to change, per SQLSTATE of a refused start-up. */
function caseOfSqlstate(code: string, message: string): [ConnectionProblem, string | null] {
  if (code === "28P01") return ["wrong-password", "check the password, in the URL (percent-encode @ : / ? #) or in PGPASSWORD, against the role's (ALTER ROLE <role> PASSWORD '...')"];
  if (code === "3D000") return ["missing-database", "create the database (CREATE DATABASE <name>, or createdb <name>) or correct its name at the end of the URL"];
  if (code === "53300")
    return ["too-many-connections", "wait for other sessions to end, lower the pool size of the apps on this server, or raise max_connections (or the role's or database's CONNECTION LIMIT)"];
  if (code === "57P03") return ["server-starting", "wait until the server has started (or finished its recovery), then run it again"];
  if (code.startsWith("28")) {
    if (/^role ".*" does not exist$/.test(message)) return ["missing-role", "create the role (CREATE ROLE <name> LOGIN PASSWORD '...') or correct the user name in the URL"];
    // pg_hba.conf refused a connection without TLS (no line for it, or a reject line): the usual way a
    // server that takes a role only over TLS says so.
    if (/pg_hba\.conf.*, no encryption$/.test(message))
      return [
        "tls-required",
        "connect over TLS: add sslmode=verify-full (or sslmode=require) to the URL; if the server refuses this role over TLS too, ask its administrator to allow it in pg_hba.conf",
      ];
    if (/not permitted to log in/.test(message)) return ["not-allowed", "let the role log in (ALTER ROLE <name> LOGIN) or connect as one that may"];
    return ["not-allowed", "the server's pg_hba.conf does not let this role reach this database from here: connect as a role it allows, or ask its administrator to allow this one"];
  }
  return ["unknown", null];
}

/** The case, and what to change, for a failure with no SQLSTATE: the socket's, TLS's or the client's. */
function caseOfClientError(systemCode: string | null, message: string): [ConnectionProblem, string | null] {
  if (systemCode === "ECONNREFUSED") return ["refused", "check the host and port in the URL, and that the server is running and listens there (listen_addresses, port)"];
  if (systemCode === "ENOENT") return ["refused", "no server listens on that socket: check the socket folder (host=) and port in the URL, and that the server is running"];
  if (systemCode === "ENOTFOUND" || systemCode === "EAI_AGAIN" || systemCode === "EAI_NONAME") return ["host-not-found", "check the host name in the URL: it does not resolve from here"];
  if (systemCode === "ETIMEDOUT" || /timeout/i.test(message))
    return ["timed-out", "check that the host is reachable from here (a firewall, a VPN, a private network) and that the port is the server's"];
  if (/does not support SSL/i.test(message)) return ["tls-refused", "the server has no TLS: remove sslmode (or ssl) from the URL, or turn ssl on in the server's configuration"];
  if (/certificate|CERT_|self[- ]signed/i.test(`${systemCode ?? ""} ${message}`))
    return ["tls-certificate", "the server's certificate is not trusted here: give its CA (sslrootcert=<file> in the URL, or NODE_EXTRA_CA_CERTS), or check the host name it was issued for"];
  if (/client password must be a string|password must be a string/i.test(message)) return ["password-missing", "give the role's password, in the URL or in PGPASSWORD"];
  if (systemCode === "ECONNRESET" || /^Connection terminated/.test(message))
    return [
      "closed-at-start",
      "what answers at that host and port closed the connection before the session began: check that the port is PostgreSQL's, that sslmode suits the server, and the server's log",
    ];
  return ["unknown", null];
}

/**
 * A failure to open a session as `DATABASE_UNUSABLE`: the server's reason and what to change
 * for each common case. Its message is the server's (or the socket's), which names the role, database
 * or host, never the URL or a password.
 */
export function describeConnectionFailure(error: unknown): StepwiseError<"DATABASE_UNUSABLE"> {
  const code = (error as { code?: unknown } | null)?.code;
  const codeText = typeof code === "string" ? code : null;
  const sqlstate = codeText !== null && /^[0-9A-Z]{5}$/.test(codeText) && !/^E[A-Z]+$/.test(codeText) ? codeText : null;
  const systemCode = sqlstate === null ? codeText : null;
  const reason = firstLineOf(error) || "no answer";
  const [problem, fix] = sqlstate !== null ? caseOfSqlstate(sqlstate, reason) : caseOfClientError(systemCode, reason);
  const failure = connectionFailedError({ problem, reason, fix, sqlstate, systemCode, cause: error });
  return sqlstate === null ? failure : recordNativeError(failure, { kind: "cantopen", nativeCode: sqlstate });
}

/*
 * PostgreSQL reports trouble as SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html);
 * stepwise reads the ones a user can act on as its error kinds, and turns those into the same typed
 * errors SQLite's codes give (`DATABASE_LOCKED`, `DISK_FULL`, `DATABASE_UNUSABLE`).
 */
/** The SQLSTATE of an error from the `pg` package (a `DatabaseError` carries it as `code`), or `null`. */
export function sqlstateOf(error: unknown): string | null {
  try {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
  } catch {
    return null;
  }
}

/**
 * A SQLSTATE as stepwise's kind of failure:
 * - `locked`: `55P03` lock not available (a `lock_timeout` ran out), `40P01` deadlock, `55006` object in use;
 * - `full`: class `53` insufficient resources (`53100` disk full, `53200` out of memory, `53300` too many connections);
 * - `readonly`: `25006` read-only transaction (a hot standby), `42501` insufficient privilege;
 * - `lost`: the session ended under stepwise: `57P01` (`pg_terminate_backend`, a fast shutdown),
 *   `57P02`, `57P05`, `25P03` (the idle timeouts), and the connection exceptions of a live session
 *   (`08000`, `08003`, `08006`, `08007`);
 * - `cantopen`: the other connection exceptions (`08001`, `08004`), class `28` authorisation, `3D000`
 *   no such database, `57P03` the server is starting;
 * - `corrupt`: `XX001` data corrupted, `XX002` index corrupted;
 * - `other`: everything else, such as `42P01` (no such table) and `57014` (a statement cancelled by
 *   `statement_timeout` or by hand), which are the statement's failure, not the database's.
 */
export function kindOfSqlstate(code: string): ErrorKind {
  if (code === "55P03" || code === "40P01" || code === "55006") return "locked";
  if (code.startsWith("53")) return "full";
  if (code === "25006" || code === "42501") return "readonly";
  if (isConnectionLost({ code })) return "lost";
  if (code.startsWith("08") || code.startsWith("28") || code === "3D000" || code === "57P03") return "cantopen";
  if (code === "XX001" || code === "XX002") return "corrupt";
  return "other";
}

/**
 * The `pg` package's errors read as stepwise's kinds; what the pg driver's `classifyError` reports. A
 * session that ended is `lost` whatever shape the error has: a SQLSTATE, a socket's code, or the
 * client's own words once its socket is gone.
 */
export function classifyPostgresError(error: unknown): ErrorClassification {
  const code = sqlstateOf(error);
  if (isConnectionLost(error)) return { kind: "lost", nativeCode: code ?? systemCodeOf(error) };
  return code === null ? { kind: "other", nativeCode: null } : { kind: kindOfSqlstate(code), nativeCode: code };
}

/** A socket's system code (`ECONNRESET`), or `null`. */
function systemCodeOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
}

/**
 * The typed error for a PostgreSQL failure a user can act on; anything else is returned unchanged.
 * `lockTimeoutMs` is the `lock_timeout` stepwise set, which a `LOCK_TIMEOUT` reports.
 */
export function translatePostgresError(error: unknown, busyTimeoutMs: number, classification: ErrorClassification, lockTimeoutMs = 0): unknown {
  if (error instanceof StepwiseError) return error;
  if (classification.kind === "lost") return recordNativeError(lostConnection(error), classification);
  if (isLockTimeout(error)) return recordNativeError(lockTimedOut(error, lockTimeoutMs, null), classification);
  const code = classification.nativeCode;
  if (code === null || !/^[0-9A-Z]{5}$/.test(code)) return error;
  const translated = toTypedError(error, busyTimeoutMs, code, classification.kind);
  return translated instanceof StepwiseError ? recordNativeError(translated, classification) : translated;
}

/**
 * `error`, which ended the session, as `CONNECTION_LOST` with no migration running;
 * `during` says what was (`"waiting for the run lock"`).
 */
export function lostConnection(error: unknown, during?: string): StepwiseError<"CONNECTION_LOST"> {
  return connectionLostError({ outcome: "none-running", reason: firstLineOf(error), cause: error, ...(during === undefined ? {} : { during }) });
}

function toTypedError(error: unknown, busyTimeoutMs: number, code: string, kind: ErrorKind): unknown {
  switch (kind) {
    case "locked":
      return databaseLockedError(busyTimeoutMs, error);
    case "full":
      return diskFullError({ version: null, file: null, sqliteCode: code, cause: error });
    case "readonly":
      return databaseUnusableError(`The database cannot be written (SQLSTATE ${code}): the server is read-only (a standby) or this role lacks the privilege. Nothing was changed.`, code, error);
    case "cantopen":
      return describeConnectionFailure(error);
    case "corrupt":
      return databaseUnusableError(`PostgreSQL reports corrupted data (SQLSTATE ${code}). Nothing was changed.`, code, error);
    default:
      return error;
  }
}

/*
 * What PostgreSQL can say of a migration's failure beyond the library's error (the dialect's
 * `describeMigrationFailure`): the session ended under it (`CONNECTION_LOST`, with whether the
 * migration can have been kept), a lock wait that ran past `lock_timeout` (`LOCK_TIMEOUT`, with the
 * relation and the sessions holding it), the server's DETAIL and HINT, and the invalid indexes a
 * `transaction: false` migration left (`pg_index.indisvalid`), each with the statement that drops it.
 */
/**
 * Every invalid index of the database, in every schema, by schema and name; with `since`, only those
 * whose catalog rows were written after the history row `since` selects (its `xmin`, by age: a smaller
 * age is a later transaction), which was committed just before the migration ran.
 */
function invalidIndexesSql(since = ""): string {
  const newer = since === "" ? "" : `AND (SELECT pg_catalog.age(h.xmin) FROM ${since}) OPERATOR(pg_catalog.>) LEAST(pg_catalog.age(ic.xmin), pg_catalog.age(i.xmin))`;
  return `SELECT n.nspname::${TEXT} AS schema, ic.relname::${TEXT} AS name, tc.relname::${TEXT} AS "table"
  FROM pg_catalog.pg_index AS i
  JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} i.indexrelid
  JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid
  JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} ic.relnamespace
  WHERE NOT i.indisvalid ${newer}
  ORDER BY n.nspname::${TEXT} ${COLLATE_C}, ic.relname::${TEXT} ${COLLATE_C}`;
}

/** Every invalid index of the database, each with the statement that removes it. */
export function* readInvalidIndexes(): Step<InvalidIndex[]> {
  return yield* readInvalidIndexesSince("", []);
}

/** The invalid indexes of {@link invalidIndexesSql}`(since)`, each with the statement that removes it. */
function* readInvalidIndexesSince(since: string, params: readonly unknown[]): Step<InvalidIndex[]> {
  const rows = yield* query<{ schema: string; name: string; table: string }>(invalidIndexesSql(since), params);
  return rows.map((row) => ({ ...row, drop: `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdentifier(row.schema)}.${quoteIdentifier(row.name)};` }));
}

/** {@link readInvalidIndexesSince}, or none when they cannot be read (the transaction aborted, the session gone). */
function* readInvalidIndexesQuietly(since = "", params: readonly unknown[] = []): Step<InvalidIndex[]> {
  try {
    return yield* readInvalidIndexesSince(since, params);
  } catch {
    return [];
  }
}

/** Where the pg driver records what a statement that ran past `lock_timeout` was waiting for. */
const lockWaits = new WeakMap<object, LockWait>();

/** Records what the statement that failed with `error` was waiting for, as the driver saw it. */
export function recordLockWait(error: unknown, wait: LockWait): void {
  if (typeof error === "object" && error !== null) lockWaits.set(error, wait);
}

/** Whether `error` is PostgreSQL cancelling a statement whose `lock_timeout` ran out (not `NOWAIT`'s refusal, the same SQLSTATE). */
export function isLockTimeout(error: unknown): boolean {
  const fields = error as { code?: unknown; message?: unknown } | null;
  return fields?.code === "55P03" && typeof fields.message === "string" && /lock timeout/.test(fields.message);
}

/** `error` as `LOCK_TIMEOUT`, with the wait the driver saw, for `migration` or for none. */
export function lockTimedOut(
  error: unknown,
  lockTimeoutMs: number,
  migration: { readonly entry: MigrationEntry; readonly direction: MigrationDirection; readonly rolledBack: boolean } | null,
  invalidIndexes: readonly InvalidIndex[] = [],
): StepwiseError<"LOCK_TIMEOUT"> {
  const wait = (typeof error === "object" && error !== null ? lockWaits.get(error) : undefined) ?? null;
  const where = migration === null ? {} : { version: migration.entry.version, file: migration.entry.file, direction: migration.direction };
  return lockTimeoutError({ ...where, lockTimeoutMs, wait, rolledBack: migration?.rolledBack ?? true, invalidIndexes, cause: error });
}

/** PostgreSQL's DETAIL and HINT of `error`, or of the first error down its `cause` chain that has them. */
function serverNotes(error: unknown): { detail: string | null; hint: string | null } {
  const found = findInCauseChain(error, (current) => typeof (current as { detail?: unknown }).detail === "string" || typeof (current as { hint?: unknown }).hint === "string");
  const { detail, hint } = (found ?? {}) as { detail?: unknown; hint?: unknown };
  return { detail: typeof detail === "string" ? detail : null, hint: typeof hint === "string" ? hint : null };
}

/** The error of a statement sent now when the session has ended (it says so), else `undefined`. */
function* sessionEndedError(): Step<unknown> {
  try {
    yield* query("SELECT 1");
  } catch (error) {
    return lostConnectionIn(error);
  }
  return undefined;
}

/**
 * The PostgreSQL dialect's reading of a migration's failure (see the note above), or `null` where the
 * executor's usual reading holds (a full disk, a read-only server: the environment's failures).
 */
export function describePostgresMigrationFailure(lockTimeoutMs: number) {
  return function* (executor: MigrationExecutor, entry: MigrationEntry, direction: MigrationDirection, cause: unknown, rolledBack: boolean, origin: FailureOrigin): Step<StepwiseError | null> {
    let classification = classifySafely(executor.settings.classifyError, cause);
    // A migration may have replaced the client's error with its own: whether the session lives, one
    // statement tells (in an aborted transaction, the server's refusal says it does).
    const lost = classification.kind === "lost" ? lostConnectionIn(cause) : yield* sessionEndedError();
    if (lost !== undefined) classification = { kind: "lost", nativeCode: classification.nativeCode };
    const where = { version: entry.version, file: entry.file, direction };
    if (lost !== undefined) {
      const outcome = origin === "commit" ? "commit-unknown" : rolledBack ? "rolled-back" : "partly-applied";
      return recordNativeError(connectionLostError({ ...where, outcome, reason: firstLineOf(lost), cause }), classification);
    }
    // A transaction: false migration's leftovers: made after its history row was written, just before it ran.
    const invalidIndexes = rolledBack ? [] : yield* readInvalidIndexesQuietly(`${executor.store.quoted} AS h WHERE h.version ${EQ} ?`, [entry.version]);
    // "already exists" for the name of an invalid index: the leftover of an earlier attempt is in the way.
    const taken = classification.nativeCode === "42P07" ? /relation "(.+)" already exists/.exec(firstLineOf(cause))?.[1] : undefined;
    if (taken !== undefined && invalidIndexes.length === 0) invalidIndexes.push(...(yield* readInvalidIndexesQuietly()).filter((index) => index.name === taken));
    if (isLockTimeout(cause)) return recordNativeError(lockTimedOut(cause, lockTimeoutMs, { entry, direction, rolledBack }, invalidIndexes), classification);
    if (rolledBack && classification.kind !== "other") return null;
    const { detail, hint } = serverNotes(cause);
    const notes = [detail && `DETAIL: ${detail}`, hint && `HINT: ${hint}`, describeInvalidIndexes(invalidIndexes, "The database holds").trimEnd()].filter(Boolean).join("\n");
    return migrationFailedError({ ...where, cause, rolledBack, detail, hint, invalidIndexes, notes });
  };
}

/*
 * The history table on PostgreSQL: the same rows and statements as on SQLite (`history.ts`), with
 * what differs there: a schema-qualified name, `version BIGINT PRIMARY KEY`, and the catalog read
 * through `pg_catalog` instead of `sqlite_master` and `PRAGMA table_info`.
 */
/** The `relkind`s of `pg_class` as the kinds `HISTORY_TABLE_INVALID` names. */
const RELATION_KINDS: Readonly<Record<string, string>> = { r: "table", p: "table", v: "view", m: "materialized view", i: "index", I: "index", S: "sequence", f: "foreign table", c: "type" };

/** The history table of one schema on PostgreSQL. */
export class PostgresHistoryStore extends HistoryStore {
  /** The schema holding the table. */
  readonly schema: string;
  // The version is a BIGINT, which the pg driver reads as a number when exact and as text otherwise:
  // the same contract SQLite's EXACT_VERSION expression gives.
  override readonly versionColumn = "version";
  override readonly eq = EQ;
  override readonly textType = TEXT;

  /** @throws `INVALID_TABLE_NAME` when `tableName` is not a plain SQL identifier. */
  constructor(tableName: string = DEFAULT_TABLE_NAME, schema: string) {
    super(tableName, `${quoteIdentifier(schema)}.${quoteIdentifier(tableName)}`);
    this.schema = schema;
  }

  /**
   * Whether the history table exists in the schema (PostgreSQL matches quoted names exactly). Does
   * not write.
   *
   * @throws `HISTORY_TABLE_INVALID` when another kind of relation (a view, a sequence) has the name.
   */
  override *exists(): Step<boolean> {
    const kinds = (yield* query<{ relkind: string }>(
      `SELECT c.relkind AS relkind FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace WHERE n.nspname ${EQ} ? AND c.relname ${EQ} ?`,
      [this.schema, this.tableName],
    )).map((row) => RELATION_KINDS[row.relkind] ?? "relation");
    if (kinds.includes("table")) return true;
    if (kinds.length > 0) throw historyTableInvalidError(this.tableName, [], `it is a ${kinds[0]}, not a table`);
    return false;
  }

  override companionTable(suffix: string): string {
    return `${quoteIdentifier(this.schema)}.${quoteIdentifier(`${this.tableName}_${suffix}`)}`;
  }

  override *companionExists(suffix: string): Step<boolean> {
    const found = yield* query(
      `SELECT 1 AS found FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace WHERE n.nspname ${EQ} ? AND c.relname ${EQ} ? AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p')`,
      [this.schema, `${this.tableName}_${suffix}`],
    );
    return found.length > 0;
  }

  override isNamed(name: string): boolean {
    return name === this.tableName;
  }

  /** Creates the schema and the table when missing; checks its shape and adds the `owner` column when present. */
  override *ensure(): Step<void> {
    if (!(yield* this.exists())) {
      // CREATE SCHEMA IF NOT EXISTS checks the database's CREATE privilege before it looks, so a role
      // that owns its schema but not the database (the usual app role) would be refused for `public`.
      const schemaExists = (yield* query(`SELECT 1 AS found FROM pg_catalog.pg_namespace WHERE nspname ${EQ} ?`, [this.schema])).length > 0;
      if (!schemaExists) yield* exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.schema)}`);
      yield* exec(`CREATE TABLE ${this.quoted} (
        version BIGINT PRIMARY KEY,
        name ${TEXT} NOT NULL,
        checksum ${TEXT} NOT NULL,
        applied_at ${TEXT} NOT NULL,
        duration_ms BIGINT,
        state ${TEXT} NOT NULL DEFAULT 'applied' CHECK (state ${EQ} 'applied' OR state ${EQ} 'started'),
        owner ${TEXT}
      )`);
      this.shapeChecked = true;
      return;
    }
    yield* this.assertShape();
    if (!(yield* this.hasOwnerColumn())) yield* exec(`ALTER TABLE ${this.quoted} ADD COLUMN owner ${TEXT}`);
  }

  override *assertShape(): Step<void> {
    this.checkColumns(yield* this.readColumns());
  }

  protected override isVersionKeyType(type: string): boolean {
    return type === "bigint" || type === "integer";
  }

  override *existsWithValidShape(): Step<boolean> {
    if (!(yield* this.exists())) return false;
    if (!this.shapeChecked) yield* this.assertShape();
    return true;
  }

  protected override *hasOwnerColumn(): Step<boolean> {
    return (yield* this.readColumns()).some((column) => column.name === "owner");
  }

  /** A row has no rowid on PostgreSQL; its version names it. */
  protected override *rowidOf(): Step<number | null> {
    return null;
  }

  /**
   * The table's columns: name, type as `format_type` spells it, and 1 when it alone is the primary
   * key. Alone among the key's columns: an `INCLUDE` column is stored in the key's index but plays no
   * part in its uniqueness, and PostgreSQL's own rule (the one the no-op read relies on) counts only
   * the key columns.
   */
  private *readColumns(): Step<{ name: string; pk: number; type: string }[]> {
    return yield* query<{ name: string; pk: number; type: string }>(
      `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
        CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_index AS i WHERE i.indrelid ${EQ} c.oid AND i.indisprimary AND i.indnkeyatts ${EQ} 1 AND i.indkey[0] ${EQ} a.attnum) THEN 1 ELSE 0 END AS pk
       FROM pg_catalog.pg_attribute AS a
       JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} a.attrelid
       JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
       WHERE n.nspname ${EQ} ? AND c.relname ${EQ} ? AND a.attnum ${GT} 0 AND NOT a.attisdropped
       ORDER BY a.attnum`,
      [this.schema, this.tableName],
    );
  }
}

/*
 * Keeps migrations out of stepwise's history table on PostgreSQL (see `history-guard.ts` for
 * SQLite's). PostgreSQL has no temporary triggers, and a migration may run any SQL dynamically (a
 * `DO` block, a function), so every body is checked, by reading, in O(1) whatever the history's
 * length: the server counts, per table, the rows its session has inserted, updated and deleted since
 * it last reported its statistics (`pg_stat_get_xact_tuples_*`, which it never reports inside a
 * transaction), and names the table's storage (`pg_relation_filenode`: a TRUNCATE or a rewrite gives
 * it new storage) and its columns, by name. The table is found by its name (`to_regclass`), so a
 * drop, a rename or a replacement finds another table or none.
 *
 * Inside the migration's transaction: before the body that reading is kept in a transaction-local
 * setting ({@link HistoryGuard.writes}' `capture`); after it, and before each history write of
 * stepwise's, the `check` statement reads it again and fails, with the guard's mark in its message,
 * when it differs; after stepwise's own writes the reading is kept again, so the next body of a whole
 * run is held to it. These are statements of stepwise's own, next to its history writes.
 *
 * A `transaction: false` body runs statement by statement, between which the counters may be
 * reported and reset, so its check reads the table's rows, storage and columns before and after it:
 * O(rows), for the rare migration that cannot run in a transaction. What it changed stays; the error
 * says so.
 */
/** The transaction-local setting that keeps the reading. */
const SETTING = "stepwise.history_reading";

/** `text` as a literal that reads the same whatever `standard_conforming_strings` says. */
function literal(text: string): string {
  return `E'${text.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** The guard for `store`'s table. */
export function createPostgresHistoryGuard(store: PostgresHistoryStore): HistoryGuard {
  const table = `pg_catalog.to_regclass(${literal(store.quoted)})`;
  const plus = "OPERATOR(pg_catalog.+)";
  // NULL when no table has the name any more.
  const storageAndColumns = `pg_catalog.pg_relation_filenode(c.oid), (SELECT pg_catalog.string_agg(a.attname::${TEXT}, ',' ORDER BY a.attnum) FROM pg_catalog.pg_attribute AS a WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)`;
  const ofTable = `FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) ${table})`;
  const reading =
    `(SELECT pg_catalog.concat_ws(',', pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) ${plus} pg_catalog.pg_stat_get_xact_tuples_updated(c.oid) ${plus} pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid), ` +
    `${storageAndColumns}) ${ofTable}`;
  // Outside a transaction the counters are the session's pending statistics, which the server may
  // report (and reset) at any moment of a long body: a CREATE INDEX CONCURRENTLY read 1 insert (stepwise's
  // own started row) before and 0 after. The rows themselves are compared there instead.
  const shape = `(SELECT pg_catalog.concat_ws(',', ${storageAndColumns}) ${ofTable}`;
  const capture = `SELECT pg_catalog.set_config('${SETTING}', COALESCE(${reading}, 'gone'), true)`;
  // A cast that cannot succeed is how plain SQL fails with a message of its own (no PL/pgSQL needed);
  // of a value read at run time, since the planner folds a constant's cast, and fails, whatever the CASE says.
  const check = `SELECT CASE WHEN COALESCE(pg_catalog.current_setting('${SETTING}', true), '') ${NE} COALESCE(${reading}, 'gone') THEN CAST(${literal(`${HISTORY_GUARD_MARK}: `)} ${CONCAT} COALESCE(${reading}, 'gone') AS pg_catalog.int4) END`;
  // The whole table, for a body outside a transaction: its rows, in order, and its storage and columns.
  const whole =
    `SELECT pg_catalog.md5(COALESCE(pg_catalog.string_agg(h.version::${TEXT} ${CONCAT} ':' ${CONCAT} h.checksum ${CONCAT} ':' ${CONCAT} h.state, ',' ORDER BY h.version), '') ${CONCAT} ';' ${CONCAT} COALESCE(${shape}, 'gone')) ` +
    `FROM ${store.quoted} AS h`;
  let before: unknown = null;

  return {
    writes: { check, capture },
    *enter(_entry, _direction, inTransaction) {
      if (inTransaction) yield* exec(capture);
      else before = yield* queryValue(whole);
      return true;
    },
    *leave(entry, direction, inTransaction) {
      if (inTransaction) {
        yield* exec(check);
        return;
      }
      let after: unknown;
      try {
        after = yield* queryValue(whole);
      } catch (cause) {
        // The table is gone or renamed: the read names it.
        throw changed(entry.version, entry.file, direction, "the table dropped, renamed or altered", cause);
      }
      if (after !== before) throw changed(entry.version, entry.file, direction, "its rows, storage or columns changed");
    },
    *remove() {},
  };

  function changed(version: number, file: string, direction: "up" | "down", change: string, cause?: unknown): StepwiseError<"HISTORY_CHANGED_BY_MIGRATION"> {
    return historyChangedByMigrationError({ version, file, direction, table: store.tableName, change, rolledBack: false, historyChanged: true, ...(cause === undefined ? {} : { cause }) });
  }
}

/*
 * How `forEachBatch` reads a PostgreSQL table: the table resolved through the session's
 * `search_path` (`to_regclass`), its columns from `pg_attribute`, and the bound's type from
 * `pg_typeof`. A key is matched exactly, else ASCII case-insensitively when that names one column
 * (so `id` finds a column created as `"ID"`, as on SQLite); PostgreSQL has no rowid, so `rowid` is
 * a column like any other name. A table is found as given, else as an unquoted name folds, else, for
 * `schema.table` (one dot, no quotes), as that table of that schema, given or folded.
 */
/** Integer types: pg hands BIGINT back as text past 2^53 (the pg driver's parseInt8), compared as integers. */
const INTEGER_KEY_TYPES = new Set(["int2", "int4", "int8"]);

/**
 * Key types whose JavaScript value binds back as exactly the value read, so `key > $last` and
 * `key <= $bound` mean what they say. Any other type is refused: a timestamp comes back as a Date
 * rounded to milliseconds, so the rows in a bound's last microseconds would be skipped in silence.
 */
const EXACT_KEY_TYPES = new Set([...INTEGER_KEY_TYPES, "numeric", "text", "varchar", "bpchar", "name", "citext", "uuid", "bytea"]);

function* resolvePostgresBatchKey(table: unknown, key: unknown, origin: BatchOrigin): BatchWalk<ResolvedBatchKey> {
  const fail = batchKeyFailure(table, key, origin);
  if (typeof table !== "string" || table === "") return fail("no-such-table", "the table name must be a non-empty string");
  if (typeof key !== "string" || key === "") return fail("invalid-key", "the key must be a non-empty column name");
  // As given, else as PostgreSQL folds an unquoted name (ITEMS is items), as SQLite finds it whatever its
  // case; a table literally named "app.items" wins over app.items. The qualified name is built from
  // quoted parts, never parsed by to_regclass from the text given: a syntax error there would abort
  // the migration's transaction.
  const qualified = /^([^."]+)\.([^."]+)$/.exec(table);
  const [schema, name] = qualified ? [qualified[1], qualified[2]] : [null, null];
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
  const base = described.find((candidate) => candidate.name === column)!.base;
  if (!EXACT_KEY_TYPES.has(base)) {
    const type = described.find((candidate) => candidate.name === column)!.type;
    return fail(
      "invalid-key",
      `the key "${column}" is of type ${type}, which JavaScript does not read back exactly (a timestamp is rounded to milliseconds), so rows could be skipped; walk by an integer, numeric, text, uuid or bytea column`,
      columns,
    );
  }
  // regclass prints the name quoted and schema-qualified where the search_path needs it.
  return {
    sql: quoteIdentifier(column),
    isRowid: false,
    columns,
    tableSql: found.name,
    matchColumns: true,
    integerKey: INTEGER_KEY_TYPES.has(base),
    // A built-in key type compares by pg_catalog's operators, which are its own (varchar's are text's);
    // citext's are its extension's, wherever the app installed it, so they resolve as the app's SQL does.
    ...(base === "citext" ? {} : { sqlOf: QUALIFIED_SQL }),
  };
}

/** The walk's count and comparisons for a built-in key type: pg_catalog's, whatever the search_path holds. */
const QUALIFIED_SQL = { count: "pg_catalog.count(*)", countGt: GT, eq: EQ, gt: GT, le: "OPERATOR(pg_catalog.<=)" } as const;

/** PostgreSQL's reading of a walk. */
export const POSTGRES_BATCH_DIALECT: BatchDialect = {
  resolveKey: resolvePostgresBatchKey,
  boundSql: (table, key, where) =>
    // max() stays unqualified: it is the key type's own aggregate (citext's lives in its extension's schema).
    `SELECT max(${key}) AS bound, max(${key})::${TEXT} AS text, (pg_catalog.pg_typeof(max(${key})) ${EQ} ANY ('{smallint,integer,bigint}'::pg_catalog.regtype[]))::int AS integer FROM ${table} WHERE ${where}`,
  // A `$1` outside strings, quoted names, comments and dollar quotes: the tokeniser makes it a word.
  hasNumberedPlaceholders: (where) => tokenizePostgresSql(where).some((token) => token.kind === "word" && /^\$\d+$/.test(token.text)),
};

/** The schema the history table lives in unless told otherwise. */
export const DEFAULT_POSTGRES_SCHEMA = "public";

/** A transaction's start on PostgreSQL: SQLite's fields unused, the transaction's id added. */
interface PostgresTransactionStart extends TransactionStart {
  /** `pg_current_xact_id()` as text. */
  readonly transactionId: string;
}

/** Options for {@link createPostgresDialect}. */
export interface PostgresDialectOptions {
  /** The schema of the history table, and of the objects `reset` drops. Default {@link DEFAULT_POSTGRES_SCHEMA}. */
  readonly schema?: string;
  /**
   * The `lock_timeout` the driver sets for a run, which a `LOCK_TIMEOUT` reports (0: none set).
   * Default {@link DEFAULT_LOCK_TIMEOUT_MS}.
   */
  readonly lockTimeoutMs?: number;
}

/**
 * The user's objects of one schema, as `sqlite_master` would list them: tables, views, the indexes
 * that back no constraint (a constraint's index goes with its constraint), and user triggers.
 */
const SCHEMA_OBJECTS_SQL = `
SELECT type, name, "tblName", sql FROM (
  SELECT 'table'::${TEXT} AS type, c.relname::${TEXT} AS name, c.relname::${TEXT} AS "tblName", NULL::${TEXT} AS sql
    FROM pg_catalog.pg_class AS c WHERE c.relnamespace ${EQ} ns.oid AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p')
  UNION ALL
  SELECT 'view', c.relname::${TEXT}, c.relname::${TEXT}, pg_catalog.pg_get_viewdef(c.oid)
    FROM pg_catalog.pg_class AS c WHERE c.relnamespace ${EQ} ns.oid AND c.relkind ${EQ} 'v'
  UNION ALL
  SELECT 'index', ic.relname::${TEXT}, tc.relname::${TEXT}, pg_catalog.pg_get_indexdef(i.indexrelid)
    FROM pg_catalog.pg_index AS i
    JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} i.indexrelid
    JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid
    WHERE ic.relnamespace ${EQ} ns.oid AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k WHERE k.conindid ${EQ} i.indexrelid)
  UNION ALL
  SELECT 'trigger', t.tgname::${TEXT}, tc.relname::${TEXT}, pg_catalog.pg_get_triggerdef(t.oid)
    FROM pg_catalog.pg_trigger AS t JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} t.tgrelid
    WHERE tc.relnamespace ${EQ} ns.oid AND NOT t.tgisinternal
) AS objects
ORDER BY name ${COLLATE_C}`;

/**
 * The PostgreSQL dialect for the history table in `schema`.
 *
 * @throws `USAGE` when `schema` is not a plain identifier.
 */
export function createPostgresDialect(options: PostgresDialectOptions = {}): Dialect {
  const schema = options.schema ?? DEFAULT_POSTGRES_SCHEMA;
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (!isValidTableName(schema)) throw usageError(`"${schema}" cannot be the history table's schema: use letters, digits and underscores, starting with a letter or underscore.`);
  const objectsSql = SCHEMA_OBJECTS_SQL.replace(/ns\.oid/g, `(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname ${EQ} $1)`);
  return {
    name: "postgres",
    createHistoryStore: (tableName) => new PostgresHistoryStore(tableName, schema),
    guardHistory: (store) => createPostgresHistoryGuard(store as PostgresHistoryStore),
    splitStatements: (script) => scriptStatements(script, splitPostgresStatements(tokenizePostgresSql(script))),
    createCommitWitness: function* (): Step<CommitWitness> {
      return { table: "", token: 0 };
    },
    renewCommitWitness: function* () {},
    markCommitWitness: function* (witness: CommitWitness): Step<number> {
      return ++witness.token;
    },
    dropCommitWitness: function* () {},
    readTransactionStart: readPostgresTransactionStart,
    readTotalChanges: function* (): Step<number> {
      return 0;
    },
    releaseBodySavepoint,
    judgeEscapedCommit,
    readOwnerSession,
    probeOwnerSession,
    snapshotConnectionSettings: function* () {
      return {};
    },
    restoreConnectionSettings: function* () {
      return [];
    },
    readSchemaObjects: function* (options: ListSchemaObjectsOptions = {}): Step<SchemaObject[]> {
      const rows = yield* query<SchemaObject>(objectsSql, [schema]);
      const types = options.types ? new Set<string>(options.types) : null;
      const excluded = new Set(options.excludeTables ?? []);
      return rows.filter((row) => (types === null || types.has(row.type)) && !(row.type === "table" && excluded.has(row.name)));
    },
    dropObjectSql: (object) =>
      object.type === "trigger"
        ? `DROP TRIGGER IF EXISTS ${quoteIdentifier(object.name)} ON ${quoteIdentifier(schema)}.${quoteIdentifier(object.tblName)}`
        : `DROP ${object.type.toUpperCase()} IF EXISTS ${quoteIdentifier(schema)}.${quoteIdentifier(object.name)} CASCADE`,
    // PostgreSQL always enforces them; a migration cannot switch them off for the run.
    foreignKeysEnforced: function* () {
      return true;
    },
    translateError: (error, busyTimeoutMs, classification) => translatePostgresError(error, busyTimeoutMs, classification, lockTimeoutMs),
    describeMigrationFailure: describePostgresMigrationFailure(lockTimeoutMs),
    readInvalidIndexes,
  };
}

/** The transaction's id: the only start marker PostgreSQL needs (see {@link releaseBodySavepoint}). */
function* readPostgresTransactionStart(): Step<TransactionStart> {
  const transactionId = String(yield* queryValue(`SELECT pg_catalog.pg_current_xact_id()::${TEXT} AS xid`));
  const start: PostgresTransactionStart = { schemaVersion: 0, userVersion: 0, applicationId: 0, journalMode: "", dataVersion: 0, changeCounter: null, transactionId };
  return start;
}

/**
 * The savepoint's name proves nothing here: another session reads it from pg_stat_activity (the
 * last statement stepwise sent), so a body can commit, begin and re-open it. Only the server
 * assigns transaction ids, and never one twice: the id read in the same message as RELEASE must be
 * the one read at the start. One message, so no round trip more than the release alone.
 */
function* releaseBodySavepoint(name: string, start: TransactionStart): Step<boolean> {
  const releaseAndReadId = `RELEASE SAVEPOINT ${quoteIdentifier(name)}; SELECT pg_catalog.pg_current_xact_id()::${TEXT} AS xid`;
  const ours = (start as PostgresTransactionStart).transactionId;
  try {
    return String(yield* queryValue(releaseAndReadId)) === ours;
  } catch (error) {
    // A session that ended took our transaction with it, which the migration did not end: no
    // escape. The body's failure, or the next statement, reports the lost connection.
    if (isConnectionLost(error)) return true;
    // Aborted by a failed statement, or gone with our transaction; only the first can roll back to it.
  }
  try {
    return String(yield* queryValue(`ROLLBACK TO SAVEPOINT ${quoteIdentifier(name)}; ${releaseAndReadId}`)) === ours;
  } catch (error) {
    return isConnectionLost(error);
  }
}

/** Whether the transaction a body escaped from committed, as the server knows it by its id. */
function* judgeEscapedCommit(_witness: CommitWitness, _token: number, start: TransactionStart): Step<EscapedCommit> {
  try {
    const status = yield* queryValue("SELECT pg_catalog.pg_xact_status(?::pg_catalog.xid8) AS status", [(start as PostgresTransactionStart).transactionId]);
    return status === "committed" ? "yes" : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * The backend that runs a transaction: false migration holds the run lock for the whole run, so
 * while it lives the migration may still be running; once it is gone (the process died, or its
 * connection did), the server has dropped the lock and nobody runs it. Its pid alone could be
 * reused, so its start time goes with it. Unlike the app's pid, this is right across hosts.
 */
function* readOwnerSession(): Step<string> {
  const row = yield* queryValue(
    `SELECT pg_catalog.concat('pg-backend:', pg_catalog.pg_backend_pid(), ':', EXTRACT(epoch FROM pg_catalog.pg_postmaster_start_time()), ':', ` +
      `(SELECT EXTRACT(epoch FROM backend_start) FROM pg_catalog.pg_stat_activity WHERE pid ${EQ} pg_catalog.pg_backend_pid())) AS session`,
  );
  return String(row);
}

/** Whether the backend `session` names still runs, as far as this role may see. */
function* probeOwnerSession(session: string): Step<"held" | "free" | "unknown"> {
  const match = /^pg-backend:(\d+):([\d.]+):([\d.]+)$/.exec(session);
  if (!match) return "unknown";
  try {
    if (String(yield* queryValue(`SELECT EXTRACT(epoch FROM pg_catalog.pg_postmaster_start_time())::${TEXT} AS started`)) !== match[2]) return "free";
    // The pid is listed for every session; its start time only for the role's own (or to pg_read_all_stats).
    const rows = yield* query<{ started: string | null }>(`SELECT EXTRACT(epoch FROM backend_start)::${TEXT} AS started FROM pg_catalog.pg_stat_activity WHERE pid ${EQ} ?::int`, [match[1]]);
    if (rows.length === 0) return "free";
    if (rows[0]!.started === null) return "unknown";
    return rows[0]!.started === match[3] ? "held" : "free";
  } catch {
    return "unknown";
  }
}
