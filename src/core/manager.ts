/**
 * The manager every sync driver entry exposes: a thin shell that validates the registry, builds the
 * {@link Executor} and drives its steps through the sync runner. A driver entry subclasses it only to
 * take that library's native connection.
 */
import { UsageError } from "./errors.js";
import { assertValidRegistry, planDown, planUp, type AppliedMigration, type MigrationPlan, type MigrationStatus } from "./planner.js";
import { DEFAULT_TABLE_NAME } from "./history.js";
import { Executor } from "./executor.js";
import { runSync } from "./runners.js";
import { assertRegistryDialect } from "./registry-dialect.js";
import { requireCapabilities, type SyncDriver } from "./driver.js";
import type { Step } from "./step.js";
import type { MigrationRegistry, VersionOf } from "./types.js";
import { DEFAULT_BUSY_TIMEOUT_MS, type DownOptions, type ManagerPlanUpOptions, type MigrateOptions, type MigrationManagerProps, type MigrationResult, type UpOptions } from "./options.js";

/**
 * Applies and reverts the migrations of a generated registry on one connection of a sync driver.
 * Driver entries export a subclass taking the native connection; see `stepwise/better-sqlite3`.
 */
export class SyncMigrationManager<Db, R extends MigrationRegistry = MigrationRegistry> {
  /** The native connection passed in; the manager never closes it. */
  readonly db: Db;
  /** The registry passed in, validated on construction. */
  readonly migrations: R;
  /**
   * The driver's primitives and capabilities. Public for stepwise's safety nets (and other
   * extensions), which run their own steps through {@link run}.
   */
  readonly driver: SyncDriver<Db>;
  /** The algorithm over this registry and history table; its methods return steps for {@link run}. */
  readonly executor: Executor<R>;
  /** The constructor's props, so a copy on another connection keeps the same settings. */
  readonly props: MigrationManagerProps;

  /**
   * @throws RegistryInvalidError when the registry breaks the version rules.
   * @throws RegistryDialectMismatchError when it was generated for another dialect than the driver's.
   */
  constructor(driver: SyncDriver<Db>, migrations: R, props: MigrationManagerProps = {}) {
    // The dialect first: a registry for another database is the wrong file altogether, whatever else is wrong with it.
    assertRegistryDialect(migrations, driver);
    assertValidRegistry(migrations);
    this.driver = driver;
    this.db = driver.connection;
    this.migrations = migrations;
    this.props = props;
    this.executor = new Executor(migrations, {
      tableName: props.tableName ?? DEFAULT_TABLE_NAME,
      busyTimeoutMs: props.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      progressIntervalMs: props.progressIntervalMs,
      onEvent: props.onEvent,
      logger: props.logger ?? null,
      driverName: driver.name,
      capabilities: driver.capabilities,
      classifyError: (error) => driver.classifyError(error),
    });
  }

  /** Runs one of the executor's steps on this manager's driver, synchronously. */
  run<T>(step: Step<T>): T {
    return runSync(step, this.driver);
  }

  /**
   * A manager with the same registry and settings on another driver's connection, used to rehearse
   * and replay migrations on in-memory copies through the very code path of a real run.
   */
  withDriver(driver: SyncDriver<Db>, props: MigrationManagerProps = {}): SyncMigrationManager<Db, R> {
    return new SyncMigrationManager(driver, this.migrations, this.copySettings(props));
  }

  /**
   * This manager's settings for a copy on another connection: the table and timeouts carry over,
   * the listeners do not (a rehearsal's events are not the app's), and `props` win.
   */
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

  /**
   * Applies pending migrations in order, each in its own transaction, up to `options.to` (default:
   * the latest). Refuses, changing nothing, when the history does not match the registry.
   */
  up(options: UpOptions<VersionOf<R>> = {}): MigrationResult {
    refuseMovedOption(options, "backup", "upWithBackup(manager, { backup }) or upWithOnlineBackup(manager, { backup })");
    return this.run(this.executor.up(options));
  }

  /**
   * Reverts applied migrations, newest first: `steps` of them (default 1), or every one above `to`.
   * Checks that each has a `down` before running any.
   */
  down(options: DownOptions<VersionOf<R>> = {}): MigrationResult {
    return this.run(this.executor.down(options as DownOptions));
  }

  /**
   * Drops every table, view, index and trigger (the history table included), then applies every
   * migration. All data is lost, hence the option that has to be spelled out.
   */
  reset(options: { readonly dangerouslyDropAllData: true }): MigrationResult {
    if (options?.dangerouslyDropAllData !== true) {
      throw new UsageError("reset drops all data; pass { dangerouslyDropAllData: true } to confirm");
    }
    return this.run(this.executor.reset());
  }

  /**
   * What `up` would run, without running it. Throws the same refusals `up` would. To also run the
   * plan on an in-memory copy, use `rehearseUp(manager)`.
   */
  planUp(options: ManagerPlanUpOptions<VersionOf<R>> = {}): MigrationPlan<R[number]> {
    refuseMovedOption(options, "rehearse", "rehearseUp(manager, { to })");
    return planUp(this.migrations as readonly R[number][], this.run(this.executor.readKeys()), { to: options.to });
  }

  /** What `down` would run, without running it. Throws the same refusals `down` would. */
  planDown(options: DownOptions<VersionOf<R>> = {}): MigrationPlan<R[number]> {
    return planDown(this.migrations as readonly R[number][], this.run(this.executor.readKeys()), options);
  }

  /**
   * Where the database stands against the registry. Never writes and never throws for drift. A
   * `transaction: false` migration that is still running elsewhere is reported as
   * `MIGRATION_IN_PROGRESS`, not as interrupted: the advice for an interrupted one would run it twice.
   */
  status(): MigrationStatus {
    return this.run(this.executor.status());
  }

  /** The history table's rows, oldest first. Never writes. */
  history(): AppliedMigration[] {
    return this.run(this.executor.history());
  }

  /** The newest applied version, or 0 for a fresh database. Never writes. */
  currentVersion(): number {
    return this.status().currentVersion;
  }
}

/**
 * Options that moved out of the manager into standalone functions still arrive from JavaScript or
 * from spread objects; ignoring them would skip a backup or a rehearsal without a word.
 */
export function refuseMovedOption(options: object, name: string, replacement: string, entry = "stepwise/better-sqlite3"): void {
  if ((options as Record<string, unknown>)[name]) {
    throw new UsageError(`The "${name}" option is not taken here any more; call ${replacement} instead (exported by "${entry}").`);
  }
}

/** A step that runs a synchronous action in place: how code written against a sync connection joins a step. */
export function* inline<T>(action: () => T): Step<T> {
  return action();
}

/**
 * The body of every driver entry's `migrate` (`entry` is its package entry, for messages): split the
 * options, refuse moved ones, verify first when asked (refused before anything runs when the driver
 * lacks the snapshot it replays on), then apply everything pending.
 */
export function migrateWithManager<M extends SyncMigrationManager<unknown, MigrationRegistry>>(
  options: MigrationManagerProps & UpOptions<number> & MigrateOptions<M>,
  createManager: (props: MigrationManagerProps) => M,
  entry: string,
): MigrationResult {
  const { to, transaction, verifySchema: verifyFirst, ...props } = options;
  refuseMovedOption(props, "backup", "upWithBackup(new MigrationManager(db, migrations), { backup })", entry);
  if (verifyFirst && typeof verifyFirst !== "function") {
    throw new UsageError(`verifySchema takes the verifySchema function: import { verifySchema } from "${entry}" and pass { verifySchema }.`);
  }
  const manager = createManager(props);
  if (verifyFirst) {
    requireCapabilities(manager.driver, "verifySchema", "snapshot");
    verifyFirst(manager, { refuseDrift: true });
  }
  return manager.up({ ...(to === undefined ? {} : { to }), ...(transaction === undefined ? {} : { transaction }) });
}
