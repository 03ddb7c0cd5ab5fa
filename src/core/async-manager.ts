/** The async manager: {@link MigrationManagerBase} driven by the async runner, for async drivers and for sync ones whose registry holds async migrations. */
import { StepwiseError } from "./errors.js";
import { runAsync } from "./runners.js";
import { MigrationManagerBase, refuseClosedConnection, refuseMovedOption, type RunOptions } from "./manager-base.js";
import type { Driver } from "./driver.js";
import type { Step } from "./step.js";
import type { MigrationRegistry, VersionOf } from "./types.js";
import { MIGRATE_OPTIONS, optionsObject, refuseNonConnection, refuseUnknownOptions, type MigrationManagerProps, type MigrationResult, type UpOptions } from "./options.js";
import { usageError } from "./error-factories.js";

/** Connections with a run in flight: a second would interleave with the first one's transaction, or (made from the first's listener or body) run under its feet. */
const busyConnections = new WeakSet<object>();

/** Marks `connection` busy until the returned release runs; `ASYNC_RUN_IN_PROGRESS`, having closed `step` unstarted, while another call runs on it. `sync`: the caller does not await, so the call running is an async one or the one that made this call. */
function claimConnection(connection: unknown, driverName: string, step: Step<unknown>, sync: boolean): () => void {
  const key = typeof connection === "object" && connection !== null ? connection : null;
  if (key === null) return () => undefined;
  if (busyConnections.has(key)) {
    // The step never started, so closing it runs none of its code.
    step.return(undefined);
    const running = sync
      ? `(an async call not yet settled, or the one this call was made from: its onEvent listener, its logger or a migration body). Nothing was done by this call. Make it once the first call has returned.`
      : `(an async migration may be awaiting inside its transaction). Nothing was done by this call. Await the first call before starting another on the same connection.`;
    throw new StepwiseError("ASYNC_RUN_IN_PROGRESS", `Another stepwise call is still running on this ${driverName} connection ${running}`, { driver: driverName });
  }
  busyConnections.add(key);
  return () => busyConnections.delete(key);
}

/** Runs `action` (which drives `step`) unless another call still runs on `connection` in this process (`ASYNC_RUN_IN_PROGRESS`). */
export async function runAloneOnConnection<T>(connection: unknown, driverName: string, step: Step<T>, action: () => Promise<T>): Promise<T> {
  const release = claimConnection(connection, driverName, step, false);
  try {
    return await action();
  } finally {
    release();
  }
}

/** {@link runAloneOnConnection} for a sync run: a listener, logger or body calling stepwise on the same connection would otherwise run between, or inside, the first call's transactions. */
export function runAloneOnConnectionSync<T>(connection: unknown, driverName: string, step: Step<T>, action: () => T): T {
  const release = claimConnection(connection, driverName, step, true);
  try {
    return action();
  } finally {
    release();
  }
}

/**
 * Drives `step` with the async runner, holding the driver's run lock (PostgreSQL's advisory lock) for a call that may write; a lock held past the busy timeout is refused as `explainLocked`
 * says, where the caller can say more than `DATABASE_LOCKED`.
 */
export async function runHoldingRunLock<T>(
  driver: Driver,
  step: Step<T>,
  options: RunOptions,
  tableName: string,
  busyTimeoutMs: number,
  explainLocked?: (locked: StepwiseError<"DATABASE_LOCKED">) => Step<StepwiseError>,
): Promise<T> {
  const release =
    options.exclusive && driver.holdRunLock
      ? await driver.holdRunLock(tableName, busyTimeoutMs).catch(async (error: unknown) => {
          throw explainLocked && error instanceof StepwiseError && error.is("DATABASE_LOCKED") ? await runAsync(explainLocked(error), driver) : error;
        })
      : null;
  try {
    return await runAsync(step, driver);
  } finally {
    await release?.();
  }
}

/** Applies and reverts the migrations of a generated registry on any driver, every method returning a promise; an async migration's transaction stays open across its awaits. */
export class AsyncMigrationManager<Db, R extends MigrationRegistry = MigrationRegistry> extends MigrationManagerBase<Db, R, true, Driver<Db>> {
  /** Runs one of the executor's steps with the async runner; rejects with `ASYNC_RUN_IN_PROGRESS` while another call runs on the connection. */
  async run<T>(step: Step<T>, options: RunOptions = {}): Promise<T> {
    const driver = this.driver;
    refuseClosedConnection(driver);
    return runAloneOnConnection(driver.connection, driver.name, step, () =>
      runHoldingRunLock(driver, step, options, this.tableName, this.busyTimeoutMs, (locked) => this.executor.explainRunLock(locked)),
    );
  }

  protected async start<T>(make: () => Step<T>, options?: RunOptions): Promise<T> {
    return this.run(make(), options);
  }
}

/** The base class of a sync entry's `AsyncMigrationManager`, made by {@link asyncManagerOn}; `P`: what its constructor takes besides the registry. */
export interface AsyncManagerClass<Db, P extends MigrationManagerProps = MigrationManagerProps> {
  /** @throws `REGISTRY_INVALID` when the registry breaks the version rules. */
  new <R extends MigrationRegistry = MigrationRegistry>(db: Db, migrations: R, props?: P): AsyncMigrationManager<Db, R>;
}

/** The async manager class of an entry whose driver is `createDriver` on the app's connection. */
export function asyncManagerOn<Db>(createDriver: (db: Db) => Driver<Db>): AsyncManagerClass<Db> {
  return class<R extends MigrationRegistry> extends AsyncMigrationManager<Db, R> {
    constructor(db: Db, migrations: R, props: MigrationManagerProps = {}) {
      refuseNonConnection(db, "new AsyncMigrationManager");
      super(createDriver(db), migrations, props);
    }
  };
}

/** An entry's `migrateAsync` (or an async driver's `migrate`): it takes the manager's props and `up`'s options. */
export type MigrateAsync<Db, P extends MigrationManagerProps = MigrationManagerProps> = <R extends MigrationRegistry>(
  db: Db,
  migrations: R,
  options?: P & UpOptions<VersionOf<R>>,
) => Promise<MigrationResult>;

/** The `migrateAsync` of the entry `stepwise-migrate/<entry>` (an async driver's `migrate`, named by `call`; `ownOptions`: the props its manager takes besides every manager's): refuses moved
 * and unknown options (and `verifySchema`, whose replay cannot run async migrations), then applies everything pending on a manager of `Manager`. */
export function migrateAsyncOn<Db, P extends MigrationManagerProps>(
  Manager: AsyncManagerClass<Db, P>,
  entry: string,
  call: "migrate" | "migrateAsync" = "migrateAsync",
  ownOptions: readonly string[] = [],
): MigrateAsync<Db, P> {
  return async (db, migrations, options = {} as P) => {
    const { to, transaction, ...props } = optionsObject(options, "migrate");
    refuseMovedOption(props, "backup", "upWithBackup(new MigrationManager(db, migrations), { backup })");
    if ((props as Record<string, unknown>).verifySchema) {
      throw usageError(
        `verifySchema is not available with the async API of "stepwise-migrate/${entry}": its replay cannot run async migrations. Call ${call} without it, and verifySchema(manager) yourself where the driver can replay.`,
      );
    }
    // verifySchema: false is taken and changes nothing, but the options a refusal lists are those the call can use.
    const { verifySchema: _off, ...rest } = options as P & { verifySchema?: unknown };
    refuseUnknownOptions(rest, [...MIGRATE_OPTIONS.filter((name) => name !== "verifySchema"), ...ownOptions], call);
    return new Manager(db, migrations, props as P).up({ to, transaction });
  };
}
