/** The options and results of the manager's public methods, shared by every driver entry, and the checks that refuse a malformed one before anything runs. */
import type { BackupRecord, MigrationEvent, MigrationLogger } from "./events.js";
import type { MigrationDirection } from "./types.js";
import { closestName, describeOption, usageError } from "./error-factories.js";
import { StepwiseError } from "./errors.js";

/** How long `up` and `down` wait for another connection's write lock before giving up. */
export const DEFAULT_BUSY_TIMEOUT_MS = 30_000;

/** On PostgreSQL, how long a statement of a run waits for another session's lock (`lock_timeout`, then `LOCK_TIMEOUT`): short, as the app's queries queue behind it. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/** Options for a `MigrationManager` constructor. */
export interface MigrationManagerProps {
  /** Name of the history table. Default `DEFAULT_TABLE_NAME` (`schema_migrations`). */
  readonly tableName?: string;
  /** Milliseconds to wait for another connection's write lock, by the clock (on SQLite even when a sampling profiler interrupts SQLite's own wait). Default 30,000 ms. */
  readonly busyTimeoutMs?: number;
  /**
   * Receives every {@link MigrationEvent}. A throw stops the run and reaches the caller (what committed stays); a promise it returns is not awaited, and its rejection is ignored. A stepwise
   * call it makes on the same connection is refused (`ASYNC_RUN_IN_PROGRESS`).
   */
  readonly onEvent?: (event: MigrationEvent) => void;
  /** Receives one human-readable line per event, as `onEvent` does: a promise its `info` returns is not awaited, and its rejection is ignored. Default: none; the library never prints by itself. */
  readonly logger?: MigrationLogger | null;
  /** Shortest gap between two `progress` events. Default `DEFAULT_PROGRESS_INTERVAL_MS` (100); 0 sends every one. */
  readonly progressIntervalMs?: number;
}

/** How `up` and `down` group migrations: `"each"` commits every one with its history row alone; `"all"` runs the call in one transaction, all or nothing. */
export type TransactionMode = "each" | "all";

/** The transaction mode `up` and `down` use unless told otherwise. */
export const DEFAULT_TRANSACTION_MODE: TransactionMode = "each";

/** Every transaction mode, the default first. */
export const TRANSACTION_MODES: readonly TransactionMode[] = ["each", "all"];

/** The longest busy timeout SQLite's 32-bit `busy_timeout` holds; more would wrap to no wait at all. */
export const MAX_BUSY_TIMEOUT_MS = 2_147_483_647;

/** Options for `MigrationManager.up`. */
export interface UpOptions<V extends number = number> {
  /** Stop after this version. Default: the latest. */
  readonly to?: V;
  /**
   * `"all"` runs every migration of the call (`up` or `down`) in one transaction: if any fails, the database stays as the call found it. Refused before anything runs when
   * one has `transaction: false` or switches foreign keys off, and on D1. Default `"each"`.
   *
   * @example
   * manager.up({ transaction: "all" });
   * manager.down({ to: 0, transaction: "all" });
   */
  readonly transaction?: TransactionMode;
}

/** Options for `MigrationManager.down`: a number of steps or a target version, never both, and how the reverts are grouped into transactions (as for `up`). */
export type DownOptions<V extends number = number> = ({ readonly steps?: number; readonly to?: undefined } | { readonly to: V | 0; readonly steps?: undefined }) & Pick<UpOptions, "transaction">;

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
   * Pass stepwise's `verifySchema` to compare the schema with a replay of the applied migrations before applying anything (`SCHEMA_DRIFT` on any difference); the expected
   * schema is cached after the first replay. A function, so apps that do not verify do not bundle it. Default: no check.
   *
   * @example
   * import { verifySchema } from "stepwise-migrate";
   * import { migrate } from "stepwise-migrate/better-sqlite3";
   * migrate(db, migrations, { logger: console, verifySchema });
   */
  readonly verifySchema?: (manager: M, options: { readonly refuseDrift: true; readonly cacheExpectedSchema: true }) => unknown;
}

/**
 * The keys an options type declares, as a list: the literal, typed `Record<keyof T, true>`, does not compile with a key missing or extra, so the list a call checks against follows the
 * type when an option is added.
 */
export const keysOf = <T>(keys: Record<keyof T, true>): readonly string[] => Object.keys(keys);

/** The props every manager's constructor takes. */
export const MANAGER_OPTIONS = keysOf<MigrationManagerProps>({ tableName: true, busyTimeoutMs: true, onEvent: true, logger: true, progressIntervalMs: true });

/** `up`'s options. */
export const UP_OPTIONS = keysOf<UpOptions>({ to: true, transaction: true });

/** What `migrate` takes: the manager's props and `up`'s options, and `verifySchema`. */
export const MIGRATE_OPTIONS = [...MANAGER_OPTIONS, ...UP_OPTIONS, ...keysOf<MigrateOptions>({ verifySchema: true })];

/**
 * `USAGE` (`option`: the key) for a key of `options` that `call` does not take: a misspelt option (`dryRun`, `{ step: 2 }`, `table`) would otherwise be ignored and the call run as if it had
 * not been given, applying or reverting what the caller did not ask for. A key left `undefined` asks for nothing and passes.
 */
export function refuseUnknownOptions(options: object, known: readonly string[], call: string): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || known.includes(key)) continue;
    // A name cut short (`table`, `busyTimeout`) is as likely as a misspelt one.
    const meant = closestName(key, known) ?? (key.length >= 3 ? known.find((name) => name.toLowerCase().startsWith(key.toLowerCase())) : undefined);
    const message = `${call} has no option ${JSON.stringify(key)}${meant === undefined ? "." : `; did you mean ${JSON.stringify(meant)}?`} Its options are ${known.join(", ")}. Nothing was run.`;
    throw new StepwiseError("USAGE", message, { option: key });
  }
}

/**
 * `props`, having refused a registry that is no array (the registry module itself, `import * as registry`, would fail as a bare `TypeError`), options that are no object, listeners
 * that would fail only at the first event (a `TypeError` inside the first migration's transaction), and a progress interval no clock reaches.
 */
export function refuseBadArguments(migrations: unknown, props: MigrationManagerProps): MigrationManagerProps {
  if (!Array.isArray(migrations)) throw usageError(`The migrations must be the registry's array (import { migrations } from "./generated/registry.js"); got ${describeOption(migrations)}.`);
  const { onEvent, logger, progressIntervalMs } = optionsObject(props, "new MigrationManager");
  refuseUnknownOptions(props, MANAGER_OPTIONS, "new MigrationManager");
  if (onEvent != null && typeof onEvent !== "function") throw usageError(`onEvent must be a function; got ${describeOption(onEvent)}.`);
  if (logger != null && typeof (logger as { info?: unknown }).info !== "function") throw usageError(`logger must have an info(message) method (console has); got ${describeOption(logger)}.`);
  if (progressIntervalMs !== undefined && !(typeof progressIntervalMs === "number" && progressIntervalMs >= 0))
    throw usageError(`progressIntervalMs must be a number of milliseconds, 0 or more; got ${describeOption(progressIntervalMs)}.`);
  return props;
}

/** `USAGE` unless `db` is a connection (an object): a path string or a missing connection would otherwise fail as the library's bare `TypeError`. */
export function refuseNonConnection(db: unknown, call: string): void {
  if ((typeof db !== "object" && typeof db !== "function") || db === null)
    throw usageError(`${call} takes the database connection first, such as new Database("data/app.db"); got ${describeOption(db)}.`);
}

/**
 * `USAGE` unless `connection` has each of `methods`: another library's connection (a sql.js database handed to the better-sqlite3 entry) would otherwise be called closed, fail as a bare
 * `TypeError`, or fail the first migration after the history table was made. `entry` is the package entry the call came through; `what` names the connection it takes.
 */
export function refuseOtherLibrary(connection: object, entry: string, what: string, methods: readonly string[]): void {
  let missing: string[];
  try {
    missing = methods.filter((name) => typeof (connection as Record<string, unknown>)[name] !== "function");
  } catch {
    missing = [...methods];
  }
  if (missing.length === 0) return;
  const message = `stepwise-migrate/${entry} takes ${what}, but this connection has no ${missing.map((name) => `${name}()`).join(" or ")}: it is another library's, or no connection. Nothing was read or written. Pass it to the entry of the library that opened it (stepwise-migrate/better-sqlite3, node-sqlite, bun-sqlite, libsql, sql-js, pg, libsql-client, d1 or durable-objects), or open the database with this entry's library.`;
  throw usageError(message);
}

/** `value` when it is a number of milliseconds from 0 to 2^31 - 1; `USAGE` otherwise: NaN (or a string) would make every wait for a lock or a live owner endless or broken, and past 2^31 - 1 SQLite's busy_timeout and a timer wrap to no wait at all. */
export function checkBusyTimeout(value: unknown): number {
  if (typeof value !== "number" || !(value >= 0 && value <= MAX_BUSY_TIMEOUT_MS))
    throw usageError(`busyTimeoutMs must be a number of milliseconds from 0 to ${MAX_BUSY_TIMEOUT_MS}; got ${describeOption(value)}.`);
  return value;
}

/** `options` when it is an options object, each of its keys one of `known` when given; `USAGE` otherwise (`null`, a number), which would fail later as a `TypeError` or be read as no options. */
export function optionsObject<T extends object>(options: T, call: string, known?: readonly (keyof T & string)[]): T {
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw usageError(`The options of ${call} must be an object, such as { to: 3 }; got ${describeOption(options)}.`);
  // A misspelt option would be ignored, and the call would do something else than asked (skip a check, take a default).
  if (known !== undefined) refuseUnknownOptions(options, known, call);
  return options;
}
