/**
 * The async manager: {@link MigrationManagerBase} driven by the async runner, so every method
 * returns a promise and a migration body may await while its transaction stays open. It serves two
 * kinds of driver with the same code: a sync SQLite driver whose registry holds async migrations
 * (each entry's `migrateAsync` and `AsyncMigrationManager`), and an async driver such as PostgreSQL's,
 * whose primitives themselves return promises.
 */
import { StepwiseError, UsageError } from "./errors.js";
import { runAsync } from "./runners.js";
import { MigrationManagerBase, refuseMovedOption } from "./manager-base.js";
import type { Driver } from "./driver.js";
import type { Step } from "./step.js";
import type { MigrationRegistry } from "./types.js";
import type { MigrationManagerProps, MigrationResult, UpOptions } from "./options.js";

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
export class AsyncRunInProgressError extends StepwiseError {
  /** The driver's name, such as `"better-sqlite3"`. */
  readonly driver: string;

  constructor(fields: { driver: string }) {
    super(
      "ASYNC_RUN_IN_PROGRESS",
      `Another stepwise call is still running on this ${fields.driver} connection (an async migration may be awaiting inside its transaction). ` +
        `Nothing was done by this call. Await the first call before starting another on the same connection.`,
    );
    this.driver = fields.driver;
  }
}

/**
 * Applies and reverts the migrations of a generated registry, every method returning a promise, on
 * one connection of any driver. An async migration's transaction stays open across its awaits: a
 * failure after an await rolls back everything the migration did, its history row included.
 *
 * A driver entry exports a one-line subclass that takes its library's connection, as the sync
 * entries do with `SyncMigrationManager`. For a new async driver (the `stepwise/pg` entry, say):
 *
 * @example
 * // src/drivers/pg.ts: createPgDriver(client) returns an AsyncDriver<pg.ClientBase> (`async: true`).
 * export class MigrationManager<R extends MigrationRegistry = MigrationRegistry> extends AsyncMigrationManager<pg.ClientBase, R> {
 *   constructor(db: pg.ClientBase, migrations: R, props: MigrationManagerProps = {}) {
 *     super(createPgDriver(db), migrations, props);
 *   }
 * }
 * // and its `migrate`: return migrateAsyncWithManager(options, (props) => new MigrationManager(db, migrations, props), "stepwise/pg");
 *
 * {@link run} refuses a second call on a connection with a run in flight, keyed on
 * `driver.connection`: right for one session (a SQLite connection, a pg `Client`). A driver whose
 * connection is a pool of sessions (pg's `Pool`), where concurrent runs wait on the database's own
 * lock instead, overrides `run` to call `runAsync(step, this.driver)` directly.
 */
export class AsyncMigrationManager<Db, R extends MigrationRegistry = MigrationRegistry> extends MigrationManagerBase<Db, R, true, Driver<Db>> {
  /**
   * Runs one of the executor's steps on this manager's driver with the async runner.
   *
   * @throws AsyncRunInProgressError (as a rejection) when another call is still running on the same connection.
   */
  async run<T>(step: Step<T>): Promise<T> {
    const connection = this.driver.connection;
    const key = typeof connection === "object" && connection !== null ? connection : null;
    if (key !== null && busyConnections.has(key)) {
      // The step never started, so closing it runs none of its code.
      step.return(undefined as T);
      throw new AsyncRunInProgressError({ driver: this.driver.name });
    }
    if (key !== null) busyConnections.add(key);
    try {
      return await runAsync(step, this.driver);
    } finally {
      if (key !== null) busyConnections.delete(key);
    }
  }

  /** See {@link MigrationManagerBase.start}: a refusal while making the step becomes a rejection. */
  protected async start<T>(make: () => Step<T>): Promise<T> {
    return this.run(make());
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
  createManager: (props: MigrationManagerProps) => AsyncMigrationManager<unknown, MigrationRegistry>,
  entry: string,
): Promise<MigrationResult> {
  const { to, transaction, ...props } = options;
  refuseMovedOption(props, "backup", "upWithBackup(new MigrationManager(db, migrations), { backup })", entry);
  if ((props as Record<string, unknown>).verifySchema) {
    throw new UsageError(`verifySchema is not available with the async API of "${entry}": its replay cannot run async migrations. Call migrateAsync without it.`);
  }
  const manager = createManager(props);
  return manager.up({ ...(to === undefined ? {} : { to }), ...(transaction === undefined ? {} : { transaction }) });
}
