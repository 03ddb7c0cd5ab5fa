/** What the sync and the async manager share: every public method is one executor step handed to `run`, the one member that differs. */
import { assertRegistryForDriver, highestAppliedVersion, planDown, planUp, type AppliedMigration, type AppliedMigrationKey, type MigrationPlan, type MigrationStatus } from "./planner.js";
import { Executor } from "./executor.js";
import type { Dialect } from "./dialect.js";
import type { Driver, MaybePromise } from "./driver.js";
import { DEFAULT_TABLE_NAME } from "./history.js";
import type { Step } from "./step.js";
import type { MigrationRegistry, VersionOf } from "./types.js";
import {
  checkBusyTimeout,
  DEFAULT_BUSY_TIMEOUT_MS,
  keysOf,
  optionsObject,
  refuseBadArguments,
  refuseUnknownOptions,
  UP_OPTIONS,
  type DownOptions,
  type MigrationManagerProps,
  type MigrationResult,
  type UpOptions,
} from "./options.js";
import { closedConnectionError, usageError } from "./error-factories.js";

/** What a manager needs of its driver: a driver, or the description of one that opens a session per call (pg over a `pg.Pool`). */
export type DriverIdentity<Db> = Pick<Driver<Db>, "name" | "dialect" | "capabilities" | "classifyError" | "connection">;

/** How a manager call uses the database. */
export interface RunOptions {
  /** The call may write: a driver with a run lock (PostgreSQL's advisory lock) takes it. */
  readonly exclusive?: boolean;
}

const WRITES: RunOptions = { exclusive: true };

/** What `up` takes (a `backup` is refused before, as moved), and `down` and `planDown`. */
const DOWN_OPTIONS = keysOf<DownOptions>({ steps: true, to: true, transaction: true });

/** The manager's shared body; `Async` says whether its methods return promises, `D` is its driver type. */
export abstract class MigrationManagerBase<Db, R extends MigrationRegistry, Async extends boolean, D extends DriverIdentity<Db> = Driver<Db>> {
  /** The native connection passed in; the manager never closes it. */
  readonly db: Db;
  /** A frozen copy of the registry passed in, as checked on construction. */
  readonly migrations: R;
  /** The driver, for the safety nets, which run their own steps through {@link run}. */
  readonly driver: D;
  /** The algorithm; its methods return steps for {@link run}. */
  readonly executor: Executor<R>;
  /** The constructor's props, for a copy on another connection. */
  readonly props: MigrationManagerProps;

  /**
   * @param dialect the SQL the executor writes, where the driver's storage needs its own.
   * @throws `REGISTRY_DIALECT_MISMATCH` when the registry was generated for another dialect than the driver's.
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `USAGE` when `busyTimeoutMs` is not a number of milliseconds from 0 to 2^31 - 1, `progressIntervalMs` not one of 0 or more, `onEvent` not a function or `logger` has no `info`.
   */
  constructor(driver: D, migrations: R, props: MigrationManagerProps = {}, dialect?: Dialect) {
    this.driver = driver;
    this.db = driver.connection;
    this.props = refuseBadArguments(migrations, props);
    // A copy, down to each entry: entries pushed, replaced or edited in the app's array afterwards would run unchecked (one without disableForeignKeys made `up` spin
    // forever; a version edited in place recorded a migration under another number). A TypeScript entry's module stays the app's own: it may be a class instance. Getters are copied as getters: an older gen's registry reads its SQL only when it runs.
    migrations = Object.freeze(
      Array.from(migrations, (entry: unknown) =>
        typeof entry === "object" && entry !== null ? Object.freeze(Object.create(Object.getPrototypeOf(entry), Object.getOwnPropertyDescriptors(entry))) : entry,
      ),
    ) as unknown as R;
    this.migrations = migrations;
    assertRegistryForDriver(migrations, driver.dialect, driver.name);
    const busyTimeoutMs = checkBusyTimeout(props.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
    this.executor = new Executor(migrations, {
      tableName: props.tableName ?? DEFAULT_TABLE_NAME,
      busyTimeoutMs,
      progressIntervalMs: props.progressIntervalMs,
      onEvent: props.onEvent,
      logger: props.logger ?? null,
      driverName: driver.name,
      capabilities: driver.capabilities,
      classifyError: (error) => driver.classifyError(error),
      dialect,
    });
  }

  /** Runs one of the executor's steps on this manager's driver: synchronously, or as a promise. */
  abstract run<T>(step: Step<T>, options?: RunOptions): MaybePromise<T, Async>;

  /** Makes a step and runs it, so a refusal while making it is thrown by the sync manager and rejected by the async one. */
  protected abstract start<T>(make: () => Step<T>, options?: RunOptions): MaybePromise<T, Async>;

  /** This manager's settings for a copy on another connection, without the listeners; `props` win. */
  protected copySettings(props: MigrationManagerProps): MigrationManagerProps {
    const { onEvent: _onEvent, logger: _logger, ...settings } = this.props;
    return { ...settings, tableName: this.tableName, ...props };
  }

  /** The history table's name. */
  get tableName(): string {
    return this.executor.store.tableName;
  }

  /** The busy timeout this manager applies while it works, in milliseconds. */
  get busyTimeoutMs(): number {
    return this.executor.settings.busyTimeoutMs;
  }

  /** Applies pending migrations in order, each in its own transaction, up to `options.to` (default: the latest); refuses, changing nothing, when the history does not match. */
  up(options: UpOptions<VersionOf<R>> = {}): MaybePromise<MigrationResult, Async> {
    return this.start(() => {
      refuseMovedOption(optionsObject(options, "up"), "backup", "await upWithBackup(manager, { backup })");
      refuseUnknownOptions(options, UP_OPTIONS, "up");
      return this.executor.up(options);
    }, WRITES);
  }

  /** Reverts applied migrations, newest first: `steps` of them (default 1), or every one above `to`; each must have a `down`. */
  down(options: DownOptions<VersionOf<R>> = {}): MaybePromise<MigrationResult, Async> {
    return this.start(() => {
      refuseUnknownOptions(optionsObject(options, "down"), DOWN_OPTIONS, "down");
      return this.executor.down(options as DownOptions);
    }, WRITES);
  }

  /**
   * Drops every table, view, index and trigger (the history table included; on PostgreSQL every object of the schema but extensions), then applies every migration: all data is lost.
   * @throws `RESET_FAILED` when an object cannot be dropped (another schema needs it, or a virtual table's module is not loaded), having dropped nothing (on D1, which has no
   * transactions, what it dropped before it); `UNMANAGED_DATABASE`, dropping nothing, on a database `up` refuses as unmanaged (tables or views, and no history row).
   */
  reset(options: { readonly dangerouslyDropAllData: true }): MaybePromise<MigrationResult, Async> {
    return this.start(() => {
      if (options?.dangerouslyDropAllData !== true) throw usageError("reset drops all data; pass { dangerouslyDropAllData: true } to confirm");
      // reset applies every migration: a `to` (or any other option) would be ignored.
      refuseUnknownOptions(options, ["dangerouslyDropAllData"], "reset");
      return this.executor.reset();
    }, WRITES);
  }

  /** What `up` would run, without running it; throws what `up` would. To run it on a copy, use `rehearseUp(manager)`. */
  planUp(options: Pick<UpOptions<VersionOf<R>>, "to"> = {}): MaybePromise<MigrationPlan<R[number]>, Async> {
    return this.start(() => {
      refuseMovedOption(optionsObject(options, "planUp"), "rehearse", "rehearseUp(manager, { to })");
      refuseUnknownOptions(options, ["to"], "planUp");
      return this.plan((applied) => planUp(this.migrations as readonly R[number][], applied, { to: options.to }));
    });
  }

  /** What `down` would run, without running it; throws what `down` would. */
  planDown(options: DownOptions<VersionOf<R>> = {}): MaybePromise<MigrationPlan<R[number]>, Async> {
    return this.start(() => {
      refuseUnknownOptions(optionsObject(options, "planDown"), DOWN_OPTIONS, "planDown");
      return this.plan((applied) => planDown(this.migrations as readonly R[number][], applied, options));
    });
  }

  private *plan(make: (applied: AppliedMigrationKey[]) => MigrationPlan<R[number]>): Step<MigrationPlan<R[number]>> {
    return make(yield* this.executor.readKeys());
  }

  /** Where the database stands against the registry; never writes, never throws for drift. */
  status(): MaybePromise<MigrationStatus, Async> {
    return this.run(this.executor.status());
  }

  /** The history table's rows, oldest first. Never writes. */
  history(): MaybePromise<AppliedMigration[], Async> {
    return this.run(this.executor.history());
  }

  /**
   * The newest applied version, or 0 for a fresh database. Never writes.
   *
   * @throws `HISTORY_TABLE_INVALID` when the history cannot be read: 0 would read as a fresh database.
   */
  currentVersion(): MaybePromise<number, Async> {
    return this.run(this.readCurrentVersion());
  }

  private *readCurrentVersion(): Step<number> {
    return highestAppliedVersion(yield* this.executor.history());
  }
}

/** `USAGE` when the app closed the connection before this call. */
export function refuseClosedConnection(driver: Pick<Driver, "name" | "isOpen">): void {
  if (driver.isOpen?.() === false) throw closedConnectionError(driver.name);
}

/** Refuses an option that moved to a standalone function: ignoring it would skip a backup or a rehearsal without a word. */
export function refuseMovedOption(options: object, name: string, replacement: string): void {
  if ((options as Record<string, unknown>)[name]) throw usageError(`The "${name}" option is not taken here any more; call ${replacement} instead (exported by "stepwise-migrate").`);
}
