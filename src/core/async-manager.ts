/**
 * The async manager: {@link MigrationManagerBase} driven by the async runner, so every method
 * returns a promise and a migration body may await while its transaction stays open. It serves two
 * kinds of driver with the same code: a sync SQLite driver whose registry holds async migrations
 * (each entry's `migrateAsync` and `AsyncMigrationManager`), and an async driver such as PostgreSQL's,
 * whose primitives themselves return promises.
 */
import { StepwiseError } from "./errors.js";
import { runAsync } from "./runners.js";
import { MigrationManagerBase, refuseMovedOption, type RunOptions } from "./manager-base.js";
import type { Driver } from "./driver.js";
import type { Step } from "./step.js";
import type { MigrationRegistry } from "./types.js";
import type { MigrationManagerProps, MigrationResult, UpOptions } from "./options.js";
import { usageError } from "./error-factories.js";

/**
 * Connections with an async run in flight. A second run on the same connection would interleave its
 * statements with the first one's, inside the first one's transaction (and its clean-up could roll
 * that transaction back), so it is refused instead.
 */
const busyConnections = new WeakSet<object>();

/**
 * A second stepwise call reached a connection while an async one was still running on it, in this
 * process. Nothing was done by the second call; the first goes on. Await the first call's promise
 * before starting another.
 */
export function asyncRunInProgressError(fields: { driver: string }): StepwiseError<"ASYNC_RUN_IN_PROGRESS"> {
  return new StepwiseError(
    "ASYNC_RUN_IN_PROGRESS",
    `Another stepwise call is still running on this ${fields.driver} connection (an async migration may be awaiting inside its transaction). ` +
      `Nothing was done by this call. Await the first call before starting another on the same connection.`,
    { driver: fields.driver },
  );
}

/**
 * Runs `action` (which drives `step`) unless another async call is still running on `connection` in
 * this process, and refuses with `ASYNC_RUN_IN_PROGRESS` if one is: the second call's
 * statements would join the first one's transaction. Connections that are not objects are not tracked.
 */
export async function runAloneOnConnection<T>(connection: unknown, driverName: string, step: Step<T>, action: () => Promise<T>): Promise<T> {
  const key = typeof connection === "object" && connection !== null ? connection : null;
  if (key !== null && busyConnections.has(key)) {
    // The step never started, so closing it runs none of its code.
    step.return(undefined as T);
    throw asyncRunInProgressError({ driver: driverName });
  }
  if (key !== null) busyConnections.add(key);
  try {
    return await action();
  } finally {
    if (key !== null) busyConnections.delete(key);
  }
}

/**
 * Drives `step` with the async runner on `driver`, holding the driver's run lock for the whole call
 * when the call may write and the driver has one (PostgreSQL's advisory lock). SQLite's drivers have
 * none: each migration's `BEGIN IMMEDIATE` serialises.
 */
export async function runHoldingRunLock<T>(driver: Driver, step: Step<T>, options: RunOptions, tableName: string, busyTimeoutMs: number): Promise<T> {
  const release = options.exclusive && driver.holdRunLock ? await driver.holdRunLock(tableName, busyTimeoutMs) : null;
  try {
    return await runAsync(step, driver);
  } finally {
    await release?.();
  }
}

/**
 * Applies and reverts the migrations of a generated registry, every method returning a promise, on
 * one connection of any driver. An async migration's transaction stays open across its awaits: a
 * failure after an await rolls back everything the migration did, its history row included.
 *
 * A driver entry exports a one-line subclass that takes its library's connection, as the sync
 * entries do with `SyncMigrationManager`; a new async SQLite driver (one over `@libsql/client`, say)
 * does the same with its async primitives. `stepwise-migrate/pg` builds on {@link MigrationManagerBase}
 * directly instead, because over a `pg.Pool` each call opens a session of its own.
 *
 * @example
 * // src/drivers/<library>.ts, where createXDriver(connection) returns the library's Driver:
 * export class AsyncMigrationManager<R extends MigrationRegistry = MigrationRegistry> extends CoreAsyncMigrationManager<Connection, R> {
 *   constructor(db: Connection, migrations: R, props: MigrationManagerProps = {}) {
 *     super(createXDriver(db), migrations, props);
 *   }
 * }
 * // and its `migrateAsync`: return migrateAsyncWithManager(options, (props) => new AsyncMigrationManager(db, migrations, props), "stepwise-migrate/<library>");
 */
export class AsyncMigrationManager<Db, R extends MigrationRegistry = MigrationRegistry> extends MigrationManagerBase<Db, R, true, Driver<Db>> {
  /**
   * Runs one of the executor's steps on this manager's driver with the async runner.
   *
   * @throws `ASYNC_RUN_IN_PROGRESS` (as a rejection) when another call is still running on the same connection.
   */
  async run<T>(step: Step<T>, options: RunOptions = {}): Promise<T> {
    const driver = this.driver;
    return runAloneOnConnection(driver.connection, driver.name, step, () => runHoldingRunLock(driver, step, options, this.tableName, this.busyTimeoutMs));
  }

  /** See `MigrationManagerBase.start`: a refusal while making the step becomes a rejection. */
  protected async start<T>(make: () => Step<T>, options?: RunOptions): Promise<T> {
    return this.run(make(), options);
  }

  /** A manager with the same registry and settings on another driver's connection. */
  withDriver(driver: Driver<Db>, props: MigrationManagerProps = {}): AsyncMigrationManager<Db, R> {
    return new AsyncMigrationManager(driver, this.migrations, this.copySettings(props));
  }
}

/** What `migrateAsync` takes: the manager's props and `up`'s options. */
export type MigrateAsyncOptions<V extends number = number> = MigrationManagerProps & UpOptions<V>;

/**
 * The body of every entry's `migrateAsync` (and of an async driver's `migrate`): split the options,
 * refuse moved ones, then apply everything pending. Every refusal is a rejection, never a throw,
 * including the constructor's. `verifySchema` is not offered here: its replay runs migrations
 * through the sync runner, which cannot run async ones.
 */
export async function migrateAsyncWithManager(
  options: MigrateAsyncOptions,
  createManager: (props: MigrationManagerProps) => { up(options: UpOptions): Promise<MigrationResult> },
  entry: string,
): Promise<MigrationResult> {
  const { upOptions, props } = splitMigrateAsyncOptions(options, entry);
  const manager = createManager(props);
  return manager.up(upOptions);
}

/** `migrateAsync`'s options, split into `up`'s and the manager's props; refuses a moved option and `verifySchema`. */
export function splitMigrateAsyncOptions(options: MigrateAsyncOptions, entry: string): { upOptions: UpOptions; props: MigrationManagerProps } {
  const { to, transaction, ...props } = options;
  refuseMovedOption(props, "backup", "upWithBackup(new MigrationManager(db, migrations), { backup })");
  if ((props as Record<string, unknown>).verifySchema) {
    throw usageError(`verifySchema is not available with the async API of "${entry}": its replay cannot run async migrations. Call migrateAsync without it.`);
  }
  return { upOptions: { ...(to === undefined ? {} : { to }), ...(transaction === undefined ? {} : { transaction }) }, props };
}
