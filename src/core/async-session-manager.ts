/**
 * The manager of async drivers whose calls each need a session of their own (pg today): the async
 * twin of `SyncMigrationManager` (`manager.ts`). It validates the registry, builds the same
 * {@link Executor} and drives its steps through the async runner; every method returns a promise.
 * Each call runs on one session the driver hands out (a pool's client is checked out for the whole
 * call, since the run lock and the transaction belong to a session) and, when it writes, under the
 * driver's run lock. Named apart from the async API the SQLite entries get (`AsyncMigrationManager`),
 * which holds one connection for its life; the two are to become one manager whose per-call start
 * opens the session and takes the lock.
 */
import { UsageError } from "./errors.js";
import { assertValidRegistry, planDown, planUp, type AppliedMigration, type MigrationPlan, type MigrationStatus } from "./planner.js";
import { DEFAULT_TABLE_NAME } from "./history.js";
import { Executor } from "./executor.js";
import { runAsync } from "./runners.js";
import { requireCapabilities, type AsyncDriver, type DriverCapabilities, type ErrorClassification } from "./driver.js";
import type { Dialect } from "./dialect.js";
import type { Step } from "./step.js";
import type { MigrationRegistry, VersionOf } from "./types.js";
import { DEFAULT_BUSY_TIMEOUT_MS, type DownOptions, type ManagerPlanUpOptions, type MigrationManagerProps, type MigrationResult, type UpOptions } from "./options.js";

/**
 * Sessions with a call in flight. A second call on the same session would interleave its statements
 * with the first one's, inside the first one's transaction (and the run lock, re-entrant within a
 * session, would let it through), so it is refused instead.
 */
const busySessions = new WeakSet<object>();

/** One session of an async driver, for the length of one manager call. */
export interface AsyncSession<Db> {
  readonly driver: AsyncDriver<Db>;
  /** Gives the session back (a pool's client returns to its pool; an app's own client stays open). */
  release(): Promise<void>;
}

/** What an async manager knows of its driver before any session exists. */
export interface AsyncDriverDescription {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  classifyError(error: unknown): ErrorClassification;
  readonly dialect: Dialect;
}

/**
 * Applies and reverts the migrations of a generated registry through an async driver. Driver entries
 * export a subclass taking the native connection; see `stepwise/pg`.
 */
export class AsyncSessionManager<Db, R extends MigrationRegistry = MigrationRegistry> {
  /** The registry passed in, validated on construction. */
  readonly migrations: R;
  /** The algorithm over this registry and history table; its methods return steps for {@link run}. */
  readonly executor: Executor<R>;
  /** The constructor's props. */
  readonly props: MigrationManagerProps;
  /** What the driver declares. */
  readonly driver: AsyncDriverDescription;
  private readonly openSession: () => Promise<AsyncSession<Db>>;

  /** @throws RegistryInvalidError when the registry breaks the version rules. */
  constructor(driver: AsyncDriverDescription, migrations: R, props: MigrationManagerProps, openSession: () => Promise<AsyncSession<Db>>) {
    assertValidRegistry(migrations);
    this.driver = driver;
    this.migrations = migrations;
    this.props = props;
    this.openSession = openSession;
    this.executor = new Executor(migrations, {
      tableName: props.tableName ?? DEFAULT_TABLE_NAME,
      busyTimeoutMs: props.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      progressIntervalMs: props.progressIntervalMs,
      onEvent: props.onEvent,
      logger: props.logger ?? null,
      driverName: driver.name,
      capabilities: driver.capabilities,
      classifyError: (error) => driver.classifyError(error),
      dialect: driver.dialect,
    });
  }

  /**
   * Runs one of the executor's steps on a session of its own. `exclusive` takes the driver's run lock
   * first and holds it to the end, so concurrent processes plan and apply one after another.
   */
  async run<T>(step: Step<T>, options: { readonly exclusive: boolean } = { exclusive: false }): Promise<T> {
    const session = await this.openSession();
    const connection = session.driver.connection as object;
    if (busySessions.has(connection)) {
      await session.release();
      // The step never started, so closing it runs none of its code.
      step.return(undefined as T);
      throw new UsageError(
        `Another stepwise call is still running on this ${this.driver.name} connection; its statements would run inside that call's transaction. Nothing was done by this call: await the first one (or pass a pool, which gives each call a client of its own).`,
      );
    }
    busySessions.add(connection);
    try {
      const release = options.exclusive && session.driver.holdRunLock ? await session.driver.holdRunLock(this.tableName, this.busyTimeoutMs) : null;
      try {
        return await runAsync(step, session.driver);
      } finally {
        await release?.();
      }
    } finally {
      busySessions.delete(connection);
      await session.release();
    }
  }

  /** The history table's name. */
  get tableName(): string {
    return this.executor.store.tableName;
  }

  /** How long a call waits for another process's lock, in milliseconds. */
  get busyTimeoutMs(): number {
    return this.executor.settings.busyTimeoutMs;
  }

  /** Applies pending migrations in order, each in its own transaction, up to `options.to` (default: the latest). */
  up(options: UpOptions<VersionOf<R>> = {}): Promise<MigrationResult> {
    // A backup option from JavaScript or a spread object must not be skipped without a word.
    if ((options as { backup?: unknown }).backup) requireCapabilities(this.driver, "up({ backup })", "onlineBackup");
    return this.run(this.executor.up(options), { exclusive: true });
  }

  /** Reverts applied migrations, newest first: `steps` of them (default 1), or every one above `to`. */
  down(options: DownOptions<VersionOf<R>> = {}): Promise<MigrationResult> {
    return this.run(this.executor.down(options as DownOptions), { exclusive: true });
  }

  /** Drops every table, view, index and trigger of the history's schema, then applies every migration. */
  reset(options: { readonly dangerouslyDropAllData: true }): Promise<MigrationResult> {
    if (options?.dangerouslyDropAllData !== true) {
      return Promise.reject(new UsageError("reset drops all data; pass { dangerouslyDropAllData: true } to confirm"));
    }
    return this.run(this.executor.reset(), { exclusive: true });
  }

  /** What `up` would run, without running it. Throws the same refusals `up` would. */
  async planUp(options: ManagerPlanUpOptions<VersionOf<R>> = {}): Promise<MigrationPlan<R[number]>> {
    return planUp(this.migrations as readonly R[number][], await this.run(this.executor.readKeys()), { to: options.to });
  }

  /** What `down` would run, without running it. Throws the same refusals `down` would. */
  async planDown(options: DownOptions<VersionOf<R>> = {}): Promise<MigrationPlan<R[number]>> {
    return planDown(this.migrations as readonly R[number][], await this.run(this.executor.readKeys()), options);
  }

  /** Where the database stands against the registry. Never writes and never throws for drift. */
  status(): Promise<MigrationStatus> {
    return this.run(this.executor.status());
  }

  /** The history table's rows, oldest first. Never writes. */
  history(): Promise<AppliedMigration[]> {
    return this.run(this.executor.history());
  }

  /** The newest applied version, or 0 for a fresh database. Never writes. */
  async currentVersion(): Promise<number> {
    return (await this.status()).currentVersion;
  }
}
