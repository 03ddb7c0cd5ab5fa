/** The async manager: {@link MigrationManagerBase} driven by the async runner, for async drivers and for sync ones whose registry holds async migrations. */
import { StepwiseError } from "./errors.js";
import { runAsync } from "./runners.js";
import { MigrationManagerBase, refuseMovedOption, type RunOptions } from "./manager-base.js";
import type { Driver } from "./driver.js";
import type { Step } from "./step.js";
import type { MigrationRegistry } from "./types.js";
import type { MigrationManagerProps, MigrationResult, UpOptions } from "./options.js";
import { usageError } from "./error-factories.js";

/** Connections with an async run in flight: a second run would interleave its statements with the first one's transaction. */
const busyConnections = new WeakSet<object>();

/** Runs `action` (which drives `step`) unless another async call still runs on `connection` in this process (`ASYNC_RUN_IN_PROGRESS`); only objects are tracked. */
export async function runAloneOnConnection<T>(connection: unknown, driverName: string, step: Step<T>, action: () => Promise<T>): Promise<T> {
  const key = typeof connection === "object" && connection !== null ? connection : null;
  if (key !== null && busyConnections.has(key)) {
    // The step never started, so closing it runs none of its code.
    step.return(undefined as T);
    throw new StepwiseError(
      "ASYNC_RUN_IN_PROGRESS",
      `Another stepwise call is still running on this ${driverName} connection (an async migration may be awaiting inside its transaction). ` +
        `Nothing was done by this call. Await the first call before starting another on the same connection.`,
      { driver: driverName },
    );
  }
  if (key !== null) busyConnections.add(key);
  try {
    return await action();
  } finally {
    if (key !== null) busyConnections.delete(key);
  }
}

/** Drives `step` with the async runner, holding the driver's run lock (PostgreSQL's advisory lock) for a call that may write. */
export async function runHoldingRunLock<T>(driver: Driver, step: Step<T>, options: RunOptions, tableName: string, busyTimeoutMs: number): Promise<T> {
  const release = options.exclusive && driver.holdRunLock ? await driver.holdRunLock(tableName, busyTimeoutMs) : null;
  try {
    return await runAsync(step, driver);
  } finally {
    await release?.();
  }
}

/**
 * Applies and reverts the migrations of a generated registry on one connection of any driver, every method returning a promise. An async migration's transaction stays open
 * across its awaits: a failure after an await rolls back everything it did, its history row included.
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

  protected async start<T>(make: () => Step<T>, options?: RunOptions): Promise<T> {
    return this.run(make(), options);
  }
}

/** What `migrateAsync` takes: the manager's props and `up`'s options. */
export type MigrateAsyncOptions<V extends number = number> = MigrationManagerProps & UpOptions<V>;

/**
 * The body of every entry's `migrateAsync` (and of an async driver's `migrate`): refuse moved options, then apply everything pending; every refusal is a rejection.
 * `verifySchema` is not offered: its replay runs migrations through the sync runner, which cannot run async ones.
 */
export async function migrateAsyncWithManager(
  options: MigrateAsyncOptions,
  createManager: (props: MigrationManagerProps) => { up(options: UpOptions): Promise<MigrationResult> },
  entry: string,
): Promise<MigrationResult> {
  const { to, transaction, ...props } = options;
  refuseMovedOption(props, "backup", "upWithBackup(new MigrationManager(db, migrations), { backup })");
  if ((props as Record<string, unknown>).verifySchema) {
    throw usageError(`verifySchema is not available with the async API of "${entry}": its replay cannot run async migrations. Call migrateAsync without it.`);
  }
  return createManager(props).up({ to, transaction });
}
