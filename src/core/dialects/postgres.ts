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
import { createPostgresHistoryGuard } from "./postgres-history-guard.js";
import { scriptStatements } from "../sql-location.js";
import { splitPostgresStatements, tokenizePostgresSql } from "../../shared/postgres-tokens.js";
import type { Dialect } from "../executor-types.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../options.js";
import { isValidTableName } from "../history.js";
import type { ListSchemaObjectsOptions, SchemaObject } from "../schema-objects.js";
import { query, queryValue, type Step } from "../step.js";
import type { CommitWitness, TransactionStart } from "../transaction-guard.js";
import { translatePostgresError } from "./postgres-errors.js";
import { isConnectionLost } from "./postgres-connection-errors.js";
import { describePostgresMigrationFailure, readInvalidIndexes } from "./postgres-failures.js";
import { PostgresHistoryStore } from "./postgres-history.js";
import { COLLATE_C, EQ, TEXT } from "./postgres-operators.js";
import { usageError } from "../error-factories.js";
import type { EscapedCommit } from "../errors.js";

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

/** `name` as a quoted identifier, any `"` doubled. */
function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
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
        ? `DROP TRIGGER IF EXISTS ${quote(object.name)} ON ${quote(schema)}.${quote(object.tblName)}`
        : `DROP ${object.type.toUpperCase()} IF EXISTS ${quote(schema)}.${quote(object.name)} CASCADE`,
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
  const releaseAndReadId = `RELEASE SAVEPOINT ${quote(name)}; SELECT pg_catalog.pg_current_xact_id()::${TEXT} AS xid`;
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
    return String(yield* queryValue(`ROLLBACK TO SAVEPOINT ${quote(name)}; ${releaseAndReadId}`)) === ours;
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
