/**
 * The options and results of the manager's public methods: plain data shared by every driver entry.
 */
import type { BackupRecord } from "./backup-record.js";
import type { MigrationEvent, MigrationLogger } from "./events.js";
import type { MigrationDirection } from "./types.js";

/** How long `up` and `down` wait for another connection's write lock before giving up. */
export const DEFAULT_BUSY_TIMEOUT_MS = 30_000;

/**
 * On PostgreSQL, how long a statement of a run waits for another session's lock (PostgreSQL's `lock_timeout`, set
 * for each of stepwise's transactions and around each `transaction: false` migration) before it is
 * cancelled and the migration fails with `LOCK_TIMEOUT`, naming the relation and the session that
 * held it. While an `ALTER TABLE` waits for its lock, every query of the app on that table waits
 * behind it, so the wait is kept short. `CREATE INDEX CONCURRENTLY` waits for older transactions
 * under the same limit.
 */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/** Options for a `MigrationManager` constructor. */
export interface MigrationManagerProps {
  /** Name of the history table. Default `DEFAULT_TABLE_NAME` (`schema_migrations`). */
  readonly tableName?: string;
  /** Milliseconds to wait for another connection's write lock. Default 30,000 ms. */
  readonly busyTimeoutMs?: number;
  /** Receives every {@link MigrationEvent}. */
  readonly onEvent?: (event: MigrationEvent) => void;
  /** Receives one human-readable line per event. Default: none; the library never prints by itself. */
  readonly logger?: MigrationLogger | null;
  /** Shortest gap between two `progress` events. Default `DEFAULT_PROGRESS_INTERVAL_MS` (100); 0 sends every one. */
  readonly progressIntervalMs?: number;
}

/**
 * How `up` and `down` group migrations into transactions: `"each"` commits every migration with its
 * history row on its own; `"all"` runs every migration of the call in one transaction, all or nothing.
 */
export type TransactionMode = "each" | "all";

/** The transaction mode `up` and `down` use unless told otherwise. */
export const DEFAULT_TRANSACTION_MODE: TransactionMode = "each";

/** Options for `MigrationManager.up`. */
export interface UpOptions<V extends number = number> {
  /** Stop after this version. Default: the latest. */
  readonly to?: V;
  /**
   * `"all"` applies every pending migration in one transaction: if any fails, none stays applied.
   * It is refused, before anything runs, when a pending migration has `transaction: false` (SQLite
   * refuses its statements inside a transaction) or needs foreign keys switched off while they are
   * on (the switch would then cover every migration of the run). Default
   * `"each"` (`"each"`).
   *
   * @example
   * manager.up({ transaction: "all" });
   */
  readonly transaction?: TransactionMode;
}

/** Options for `MigrationManager.planUp`. To also run the plan on an in-memory copy, see `rehearseUp`. */
export interface ManagerPlanUpOptions<V extends number = number> {
  /** Stop after this version. Default: the latest. */
  readonly to?: V;
}

/**
 * Options for `MigrationManager.down`: a number of steps or a target version, never both, and how
 * the reverts are grouped into transactions.
 */
export type DownOptions<V extends number = number> = ({ readonly steps?: number; readonly to?: undefined } | { readonly to: V | 0; readonly steps?: undefined }) & {
  /**
   * `"all"` reverts every migration of the call in one transaction: if any revert fails, every
   * migration stays applied, history rows included. Refused, before anything runs, on the same
   * rules as `up`'s (`WHOLE_RUN_TRANSACTION_REFUSED` naming the migration): a migration to revert
   * with `transaction: false`, or one that needs foreign keys switched off while they are on; and
   * where the driver applies each migration as one batch (D1: `DRIVER_CAPABILITY_MISSING`,
   * capability `atomicBatch`). Default `"each"` (`"each"`).
   *
   * @example
   * manager.down({ to: 0, transaction: "all" });
   */
  readonly transaction?: TransactionMode;
};

/** One migration that ran. */
export interface AppliedStep {
  readonly version: number;
  readonly name: string;
  readonly durationMs: number;
}

/** What `up` or `down` did: plain data. */
export interface MigrationResult {
  readonly direction: MigrationDirection;
  readonly fromVersion: number;
  readonly toVersion: number;
  /** The migrations this call ran, in order; excludes those another process ran meanwhile. */
  readonly steps: readonly AppliedStep[];
  /** The snapshot taken before applying, when `upWithBackup` ran and something was pending. */
  readonly backup?: BackupRecord;
}

/** Start-up options only `migrate` has; `M` is the driver entry's manager type. */
export interface MigrateOptions<M = unknown> {
  /**
   * Pass stepwise's `verifySchema` to compare the schema with a replay of the applied migrations
   * before applying anything: it refuses with `SCHEMA_DRIFT` on any difference and logs "schema
   * verification passed" otherwise. The first start with a registry replays it in memory and stores
   * the expected schema in the database (`<tableName>_expected_schema`); later starts with the same
   * registry compare against that and cost milliseconds. A function rather than
   * `true`, so apps that do not verify do not bundle the verification code. Default: no check.
   * Where `migrate` builds no manager (`stepwise-migrate/sql-js`), only stepwise's own `verifySchema` is
   * taken: it carries how to build the manager it checks, and any other function is `USAGE`.
   *
   * @example
   * import { verifySchema } from "stepwise-migrate";
   * import { migrate } from "stepwise-migrate/better-sqlite3";
   * migrate(db, migrations, { logger: console, verifySchema });
   */
  readonly verifySchema?: (manager: M, options: { readonly refuseDrift: true; readonly cacheExpectedSchema: true }) => unknown;
}
