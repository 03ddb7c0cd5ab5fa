/**
 * The executor's contracts, as types only: the interface the executor implements
 * ({@link MigrationExecutor}, implemented by `ExecutorBase`), the settings it takes, the strategies
 * it is given (`apply-in-transaction.ts`, `whole-run-strategy.ts`, `atomic-batch-strategy.ts`,
 * `escape-guard.ts`) and the per-dialect answers it asks for ({@link Dialect}, implemented in
 * `dialects/` and by the drivers that bring their own). They refer to one another (a strategy takes
 * the executor, the executor holds its strategies and its dialect, a dialect's hooks take the
 * executor), so they live in one file that imports no implementation: the strategies, the dialects
 * and the executor all import this, and none of them imports another for its type.
 */
import type { EscapeGuardStrategy } from "./escape-guard.js";
import type { EscapedCommit, InvalidIndex, StepwiseError } from "./errors.js";
import type { DriverCapabilities, ErrorClassification } from "./driver.js";
import type { MigrationEvent, MigrationLogger } from "./events.js";
import type { HistoryStore } from "./history.js";
import type { HistoryGuard } from "./history-guard.js";
import type { ConnectionSettingsSnapshot } from "./connection-settings.js";
import type { ListSchemaObjectsOptions, SchemaObject } from "./schema-objects.js";
import type { CommitWitness, TransactionStart } from "./transaction-guard.js";
import type { StatementSplitter } from "./sql-location.js";
import type { AppliedStep, MigrationResult } from "./options.js";
import type { AppliedMigrationKey, MigrationPlan } from "./planner.js";
import type { SCRIPT_ELAPSED_MS, Step } from "./step.js";
import type { MigrationDirection, MigrationEntry, MigrationRegistry } from "./types.js";

/** Everything the executor knows besides the registry: settings and what the driver declared. */
export interface ExecutorSettings {
  readonly tableName: string;
  readonly busyTimeoutMs: number;
  readonly progressIntervalMs: number | undefined;
  readonly onEvent: ((event: MigrationEvent) => void) | undefined;
  readonly logger: MigrationLogger | null;
  /** The driver's name, for capability refusals. */
  readonly driverName: string;
  readonly capabilities: DriverCapabilities;
  /**
   * The driver's `classifyError`: the executor reads a failure's SQLite code through it, never off
   * the error object, since each library reports codes its own way.
   */
  readonly classifyError: (error: unknown) => ErrorClassification;
  /** What differs per SQL dialect (history DDL, catalog, escape signals). Default: SQLite's (see `Executor`). */
  readonly dialect?: Dialect;
}

/** The escape guard's markers for one run (see `transaction-guard.ts`). */
export interface RunGuard {
  readonly witness: CommitWitness;
  readonly savepoint: string;
}

/** What one guarded body is checked with: the run's markers, the transaction's start, its witness token. */
export interface EscapeGuard {
  readonly guard: RunGuard;
  readonly start: TransactionStart;
  readonly token: number;
}

/** Plans again from the history's keys (after a wait, or when another connection committed). */
export type Replan<E extends MigrationEntry> = (applied: AppliedMigrationKey[]) => MigrationPlan<E>;

/**
 * The executor as its strategies and its dialect's hooks see it: the steps of the one algorithm they
 * drive from their own files. `ExecutorBase` implements it; see there for each step.
 */
export interface MigrationExecutor<R extends MigrationRegistry = MigrationRegistry> {
  readonly settings: ExecutorSettings;
  readonly store: HistoryStore;
  /** The SQL dialect's answers. */
  readonly dialect: Dialect;
  /** The strategies the driver's capabilities reach. */
  readonly strategies: ExecutorStrategies;
  /** The history table's guard while a run applies migrations, `null` outside a run and where the dialect has none. */
  readonly historyGuard: HistoryGuard | null;

  /** Sends an event to `onEvent` and the logger. */
  emit(event: MigrationEvent): void;
  /** Emits `skipped` for each entry of `previous` a re-plan no longer lists: another connection ran it. */
  emitSkipped(direction: MigrationDirection, previous: readonly R[number][], stillPending: readonly R[number][]): void;
  /** Throws `UNMANAGED_DATABASE` when the database has tables but no history table. */
  refuseUnmanagedDatabase(): Step<void>;
  /** Refuses, before anything runs, a plan holding a migration this driver cannot apply as promised. */
  refuseUnsupportedMigrations(entries: readonly R[number][], direction: MigrationDirection): void;
  /** Whether `entry` runs under the escape guard. */
  needsGuard(entry: R[number], direction: MigrationDirection): boolean;
  /** The escape guard's markers for one run, made once, outside any transaction. */
  createRunGuard(): Step<RunGuard>;
  /** Makes the run's history guard, where the dialect has one; end it with {@link endHistoryGuard}. */
  startHistoryGuard(): HistoryGuard | null;
  /** Drops the run's history guard, if it made one. */
  endHistoryGuard(historyGuard: HistoryGuard | null): Step<void>;
  /** Puts back the connection settings a run changed (`before`), after it ended (`failed` or not). */
  restoreSettingsAfterRun(before: ConnectionSettingsSnapshot, failed: boolean): Step<void>;
  /** Runs `entry`'s body with the history table guarded; `inTransaction` is false for a `transaction: false` migration. */
  runGuardedBody(entry: R[number], direction: MigrationDirection, inTransaction: boolean): Step<void>;
  /**
   * Applies `entry` with its history writes as one request (the caller commits) where the dialect
   * carries that path; returns its duration, or `null` for the usual path.
   */
  applyAsOneRequest(entry: R[number], direction: MigrationDirection, guarded: object | null): Step<number | null>;
  /** Refuses a migration that would rebuild a table foreign keys still reference (`foreign-key-rebuild.ts`). */
  refuseParentRebuild(entry: R[number], direction: MigrationDirection): Step<void>;
  /** Writes `entry`'s history row for `direction` (`SCRIPT_ELAPSED_MS`: the storage measures it). */
  record(entry: R[number], direction: MigrationDirection, durationMs: number | null | typeof SCRIPT_ELAPSED_MS): Step<void>;
  /** `error` naming where in its file the failing statement starts, when that can be found (`sql-location.ts`). */
  locateFailedStatement(error: unknown, before: readonly string[]): Step<unknown>;
  /** The failure's `SQLITE_*` code as the driver reads it, or `null`. */
  sqliteCodeOf(error: unknown): string | null;
  /** The typed error for a failure a user can act on, with the driver's reading of its code. */
  translateError(error: unknown): unknown;
  /** The error for `entry`'s failure; `origin` says who ran what failed. */
  migrationFailed(entry: MigrationEntry, direction: MigrationDirection, cause: unknown, rolledBack: boolean, origin?: FailureOrigin): Step<StepwiseError>;
  /** `BEGIN IMMEDIATE`, its failure translated. */
  beginImmediate(): Step<void>;
  /** `COMMIT`, its failure translated. */
  commitTranslated(): Step<void>;
}

/**
 * Applies an unguarded SQL migration with its history writes as one request, or returns `null`
 * without doing anything where it cannot (see `script-with-history.ts`).
 */
export type ApplyScriptWithHistory = <R extends MigrationRegistry>(executor: MigrationExecutor<R>, entry: R[number], direction: MigrationDirection) => Step<number | null>;

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
  readonly applyScriptWithHistory?: ApplyScriptWithHistory;
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
   * The error for `entry`'s failure (see {@link MigrationExecutor.migrationFailed}) where the dialect can say more
   * than the library's error does (PostgreSQL: a lost connection and what became of the migration, a
   * lock wait that ran out, the server's DETAIL and HINT, the invalid indexes a `transaction: false`
   * migration left); `null` for the executor's usual reading. May read; never throws. Absent: always
   * the usual reading.
   */
  describeMigrationFailure?(executor: MigrationExecutor, entry: MigrationEntry, direction: MigrationDirection, cause: unknown, rolledBack: boolean, origin: FailureOrigin): Step<StepwiseError | null>;
  /**
   * Every index a failed concurrent build left unusable (PostgreSQL's invalid ones), each with the
   * statement that removes it, for `repair` to name. Absent: a dialect without them.
   */
  readInvalidIndexes?(): Step<InvalidIndex[]>;
}

/** What failed in a migration: its own statements or code, stepwise's, or the COMMIT of its transaction. */
export type FailureOrigin = "body" | "stepwise" | "commit";

/** Runs a whole plan in one transaction (`up` or `down` with `transaction: "all"`); see `whole-run-strategy.ts`. */
export type WholeRunStrategy = <R extends MigrationRegistry>(executor: MigrationExecutor<R>, plan: MigrationPlan<R[number]>, replan: Replan<R[number]>) => Step<MigrationResult>;

/**
 * Applies one migration inside the transaction the executor opened (under the escape guard when
 * `guarded`); see `apply-in-transaction.ts`.
 */
export type InTransactionStrategy = (
  executor: MigrationExecutor,
  entry: MigrationEntry,
  direction: MigrationDirection,
  guarded: { readonly guard: RunGuard; readonly start: TransactionStart } | null,
) => Step<AppliedStep>;

/**
 * Applies one migration as one atomic batch with its history row (capability `atomicBatch`), or
 * returns `null` when another process applied it first; see `atomic-batch-strategy.ts`.
 */
export type AtomicBatchStrategy = (executor: MigrationExecutor, entry: MigrationEntry, direction: MigrationDirection) => Step<AppliedStep | null>;

/**
 * What an executor is given besides the registry and the settings. Each is `null` where the driver
 * cannot use it; the executor refuses, at construction, a driver whose capabilities need one it lacks.
 */
export interface ExecutorStrategies {
  /** The transaction-escape guard (`escape-guard.ts`): required where the driver has savepoints. */
  readonly escapeGuard: EscapeGuardStrategy | null;
  /** One migration in the transaction the executor opened: required unless the driver applies migrations as batches. */
  readonly inTransaction: InTransactionStrategy | null;
  /** `transaction: "all"` (`up` and `down`): the whole run, or its refusal where the driver applies migrations as batches. */
  readonly wholeRun: WholeRunStrategy;
  /** One batch per migration: required where the driver declares `atomicBatch`, and used only there. */
  readonly atomicBatch: AtomicBatchStrategy | null;
}
