/** What SQLite, PostgreSQL and Cloudflare's storages write differently, as the executor asks it. */
import type { InvalidIndex, StepwiseError } from "./errors.js";
import type { ErrorClassification } from "./driver.js";
import type { HistoryStore } from "./history.js";
import type { HistoryGuard } from "./history-guard.js";
import type { ConnectionSettingsSnapshot } from "./connection-settings.js";
import type { ListSchemaObjectsOptions, SchemaObject } from "./schema-objects.js";
import type { StatementSplitter } from "./sql-location.js";
import type { Step } from "./step.js";
import type { EscapeGuardRun } from "./transaction-guard.js";
import type { MigrationDirection, MigrationEntry, SqlDialect } from "./types.js";

/** What failed in a migration: its own statements or code, stepwise's, or the COMMIT of its transaction. */
export type FailureOrigin = "body" | "stepwise" | "commit";

/** A migration's failure, as {@link Dialect.describeFailure} reads it. */
export interface MigrationFailure {
  readonly entry: MigrationEntry;
  readonly direction: MigrationDirection;
  readonly cause: unknown;
  readonly rolledBack: boolean;
  readonly origin: FailureOrigin;
  readonly classification: ErrorClassification;
  readonly store: HistoryStore;
}

/** The SQL a dialect differs in. */
export interface Dialect {
  readonly name: SqlDialect;
  createHistoryStore(tableName: string): HistoryStore;
  /** Keeps migration bodies from writing the history table during a run. */
  guardHistory?(store: HistoryStore): HistoryGuard;
  /** Starts a run's escape guard, outside any transaction; absent where the storage refuses savepoints. */
  startEscapeGuard?(): Step<EscapeGuardRun>;
  /** Absent: a failure is named by no line. */
  readonly splitStatements?: StatementSplitter;
  /** The connection settings a run puts back, with any the run's SQL `scripts` name that the connection cannot list; absent where a migration cannot leave any changed. */
  snapshotConnectionSettings?(scripts: readonly string[]): Step<ConnectionSettingsSnapshot>;
  /**
   * Puts back what `before` holds; after a failed run (`failed`) also what else the run left on the connection that its rollback did not undo. With `probeFirst`, only once a cheap
   * read of the settings that decide where and as whom the next migration runs finds one changed.
   */
  restoreConnectionSettings?(before: ConnectionSettingsSnapshot, failed?: boolean, probeFirst?: boolean): Step<unknown>;
  /**
   * Whether SQL naming no setting can still change one, through code it reaches (a function it calls, a trigger it fires; PostgreSQL): every run that runs a migration then
   * snapshots the settings and puts them back at its end, and probes them after each migration that names none (reading them all again costs about as much as a small migration).
   */
  readonly sqlReachesSettings?: boolean;
  /** A migration script's leading `SET TRANSACTION` statements, which its transaction's BEGIN sends before any query of stepwise's (PostgreSQL); absent where a script has none. */
  transactionHead?(script: string): string;
  /** The sequences a script sets (`setval`), which the rollback of its failed migration leaves as set (PostgreSQL); absent where a rollback undoes everything. */
  sequencesSetBy?(script: string): string[];
  /** The user's schema objects, ordered by name. */
  readSchemaObjects(options?: ListSchemaObjectsOptions): Step<SchemaObject[]>;
  /** How `reset` drops one listed object (SQLite, where the list is everything a migration makes); absent where {@link dropAllObjectsSql} drops them all. */
  dropObjectSql?(object: SchemaObject): string;
  /** One statement `reset` runs instead of dropping the listed objects: every object a migration can make, in an order its dependencies allow (PostgreSQL). */
  readonly dropAllObjectsSql?: string;
  foreignKeysEnforced(): Step<boolean>;
  /** The typed error for a failure a user can act on (locked, full, read-only, unusable); anything else unchanged. */
  translateError(error: unknown, busyTimeoutMs: number, classification: ErrorClassification): unknown;
  /** The error for a migration's failure where the dialect can say more; `null` for the usual reading. Never throws. */
  describeFailure?(failure: MigrationFailure): Step<StepwiseError | null>;
  /** The indexes a failed concurrent build left unusable. */
  readInvalidIndexes?(): Step<InvalidIndex[]>;
  /** Names this server session, for a `transaction: false` migration's `started` row. */
  readOwnerSession?(): Step<string>;
  /** Whether the session {@link readOwnerSession} named still runs a migration on history table `tableName`. */
  probeOwnerSession?(session: string, tableName: string): Step<"held" | "free" | "unknown">;
}
