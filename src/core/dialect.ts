/**
 * What the executor does differently per SQL dialect, behind one object: the history table's storage,
 * the transaction-escape guard's signals, the connection settings a run restores, the schema listing
 * (`refuseUnmanagedDatabase`, `reset`), the foreign-key reading, and the typed errors a failure maps
 * to. The algorithm (`executor.ts`) stays one; each dialect only answers these questions.
 *
 * The SQLite dialect is the functions the executor always called (`dialects/sqlite.ts`), so its SQL is
 * unchanged; PostgreSQL's lives in `dialects/postgres.ts`.
 */
import type { runScriptWithHistory } from "./script-with-history.js";
import type { applySqlRun } from "./sql-run.js";
import type { driveDirectly, Step } from "./step.js";
import type { EscapedCommit, InvalidIndex, StepwiseError } from "./errors.js";
import type { ErrorClassification } from "./driver.js";
import type { ExecutorBase } from "./executor-base.js";
import type { HistoryStore } from "./history.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import type { ConnectionSettingsSnapshot } from "./connection-settings.js";
import type { ListSchemaObjectsOptions, SchemaObject } from "./schema-objects.js";
import type { CommitWitness, TransactionStart } from "./transaction-guard.js";
import type { HistoryGuard } from "./history-guard.js";
import type { StatementSplitter } from "./sql-location.js";

/** The SQL dialects a registry and a driver can speak. */
export type DialectName = "sqlite" | "postgres";

/** The per-dialect answers the executor asks for; see the module note. */
export interface Dialect {
  readonly name: DialectName;
  /** The history table's storage primitives for `tableName` (and, on PostgreSQL, the dialect's schema). */
  createHistoryStore(tableName: string): HistoryStore;

  /** Makes the run's commit witness, outside any transaction (see `transaction-guard.ts`). */
  createCommitWitness(): Step<CommitWitness>;
  /** Makes the witness again when a `transaction: false` migration removed it. */
  renewCommitWitness(witness: CommitWitness): Step<void>;
  /** Marks the transaction just opened; returns its token. */
  markCommitWitness(witness: CommitWitness): Step<number>;
  /** Removes the run's witness; never throws. */
  dropCommitWitness(witness: CommitWitness): Step<void>;
  /**
   * Reads, after BEGIN and before stepwise writes in that transaction, what an escaped commit is
   * judged against; `counter` is the driver's change counter read in the same transaction.
   */
  readTransactionStart(counter: number | null): Step<TransactionStart>;
  /** Rows changed on this connection so far, or a constant where the dialect cannot count them. */
  readTotalChanges(): Step<number>;
  /**
   * Releases the body's savepoint; false when it is gone or the transaction is no longer the one
   * `start` was read in (the migration ended our transaction).
   */
  releaseBodySavepoint(name: string, start: TransactionStart): Step<boolean>;
  /** What a migration that ended our transaction got committed: `yes`, `no` only when proven, else `unknown`. */
  judgeEscapedCommit(witness: CommitWitness, token: number, start: TransactionStart, changesBeforeBody: number): Step<EscapedCommit>;

  /**
   * Names this connection's server session, for the `started` row of a `transaction: false`
   * migration (recorded where a file driver records its owner lock), where a server can tell whether
   * that session still lives. Absent: the owner is judged by its lock file or its pid.
   */
  readOwnerSession?(): Step<string>;
  /** Whether the session {@link readOwnerSession} named is still connected: `held` while it lives. */
  probeOwnerSession?(session: string): Step<"held" | "free" | "unknown">;

  /**
   * Applies an unguarded SQL migration with its history writes as one request, where the driver
   * declares `scriptWithHistory` (`script-with-history.ts`); absent: statement by statement. The
   * dialect carries it so that only the entries whose driver can use it bundle it.
   */
  readonly applyScriptWithHistory?: typeof runScriptWithHistory;
  /**
   * Applies a run of consecutive SQL migrations that cannot end their transactions in one loop
   * (`sql-run.ts`); absent: each through the executor's loop. Carried by the file drivers' dialect only.
   */
  readonly applySqlRun?: typeof applySqlRun;
  /**
   * Has the runner drive the executor's loop over a plan itself (`driveDirectly` of `step.ts`), so its
   * operations skip the generator levels above it (the settings, the wait for another process, `up`).
   * Only for drivers whose write section is `BEGIN`/`COMMIT` (the file drivers): a runner driving a
   * step directly does not enter a callback write section. Absent: the loop runs in place.
   */
  readonly driveDirectly?: typeof driveDirectly;

  /**
   * The guard that keeps migration bodies from writing the history table during a run
   * (`history-guard.ts`); absent where the storage has no temporary schema to hold it (D1, Durable
   * Objects, a libSQL server) or guards another way.
   */
  guardHistory?(store: HistoryStore): HistoryGuard;

  /**
   * Cuts a SQL migration's script into its statements: how a `transaction: false` one is sent
   * statement by statement, and how a failed one's failing statement is found (`sql-location.ts`).
   * Absent: sent whole, and named by no line.
   */
  readonly splitStatements?: StatementSplitter;

  /** The connection settings a run puts back (see `connection-settings.ts`); empty where none are restored. */
  snapshotConnectionSettings(): Step<ConnectionSettingsSnapshot>;
  restoreConnectionSettings(before: ConnectionSettingsSnapshot): Step<unknown>;

  /** The user's schema objects where the history table lives, ordered by name. */
  readSchemaObjects(options?: ListSchemaObjectsOptions): Step<SchemaObject[]>;
  /** The statement `reset` drops `object` with. */
  dropObjectSql(object: SchemaObject): string;
  /** Whether foreign keys are enforced on this connection now (`up({ transaction: "all" })`'s rule). */
  foreignKeysEnforced(): Step<boolean>;

  /**
   * The typed error for a failure a user can act on (locked, full, read-only, unusable), read through
   * the driver's classification; anything else is returned unchanged.
   */
  translateError(error: unknown, busyTimeoutMs: number, classification: ErrorClassification): unknown;
  /**
   * The error for `entry`'s failure (see `ExecutorBase.migrationFailed`) where the dialect can say more
   * than the library's error does (PostgreSQL: a lost connection and what became of the migration, a
   * lock wait that ran out, the server's DETAIL and HINT, the invalid indexes a `transaction: false`
   * migration left); `null` for the executor's usual reading. May read; never throws. Absent: always
   * the usual reading.
   */
  describeMigrationFailure?(executor: ExecutorBase, entry: MigrationEntry, direction: MigrationDirection, cause: unknown, rolledBack: boolean, origin: FailureOrigin): Step<StepwiseError | null>;
  /**
   * Every index a failed concurrent build left unusable (PostgreSQL's invalid ones), each with the
   * statement that removes it, for `repair` to name. Absent: a dialect without them.
   */
  readInvalidIndexes?(): Step<InvalidIndex[]>;
}

/** What failed in a migration: its own statements or code, stepwise's, or the COMMIT of its transaction. */
export type FailureOrigin = "body" | "stepwise" | "commit";
