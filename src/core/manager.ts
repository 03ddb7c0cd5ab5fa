/** The manager every sync driver entry exposes: {@link MigrationManagerBase} driven by the sync runner. */
import { runSync } from "./runners.js";
import { runAloneOnConnectionSync } from "./async-manager.js";
import { driverEntry, requireCapabilities, type SyncDriver } from "./driver.js";
import { MigrationManagerBase, refuseClosedConnection, refuseMovedOption } from "./manager-base.js";
import type { Step } from "./step.js";
import type { Dialect } from "./dialect.js";
import { isAsyncMigration, type MigrationRegistry, type SyncMigrationRegistry, type VersionOf } from "./types.js";
import { StepwiseError } from "./errors.js";
import { MIGRATE_OPTIONS, optionsObject, refuseNonConnection, refuseUnknownOptions, type MigrateOptions, type MigrationManagerProps, type MigrationResult, type UpOptions } from "./options.js";
import { usageError } from "./error-factories.js";

/** Applies and reverts the migrations of a generated registry on one connection of a sync driver; a registry holding async migrations is refused (see `AsyncMigrationManager`). */
export class SyncMigrationManager<Db, R extends SyncMigrationRegistry = MigrationRegistry> extends MigrationManagerBase<Db, R, false, SyncDriver<Db>> {
  /** @throws `REGISTRY_INVALID`, or `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` when `gen` marked a migration async. */
  constructor(driver: SyncDriver<Db>, migrations: R, props: MigrationManagerProps = {}, dialect?: Dialect) {
    super(driver, migrations, props, dialect);
    refuseAsyncMigrations(migrations, driver.name, driver.asyncBodyFix);
  }

  /** Runs one of the executor's steps on this manager's driver, synchronously; `ASYNC_RUN_IN_PROGRESS` when made while another call runs on the connection (from its listener or a body). */
  run<T>(step: Step<T>): T {
    refuseClosedConnection(this.driver);
    return runAloneOnConnectionSync(this.driver.connection, this.driver.name, step, () => runSync(step, this.driver));
  }

  protected start<T>(make: () => Step<T>): T {
    return this.run(make());
  }

  /** A manager with the same registry, settings and dialect on another driver's connection (a rehearsal's copy). */
  withDriver(driver: SyncDriver<Db>, props: MigrationManagerProps = {}): SyncMigrationManager<Db, R> {
    return new SyncMigrationManager(driver, this.migrations, this.copySettings(props), this.executor.dialect);
  }
}

/** A sync entry's `MigrationManager`: a {@link SyncMigrationManager} made on the app's connection. */
export interface ConnectionMigrationManager<Db, R extends SyncMigrationRegistry = MigrationRegistry> extends SyncMigrationManager<Db, R> {
  /** A manager with the same registry and settings on another connection. */
  withDatabase(db: Db, props?: MigrationManagerProps): this;
}

/** The base class of a sync entry's `MigrationManager`, made by {@link syncManagerOn}. */
export interface SyncManagerClass<Db> {
  /** @throws `REGISTRY_INVALID`; `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` for async migrations (use the entry's `AsyncMigrationManager`). */
  new <R extends SyncMigrationRegistry = MigrationRegistry>(db: Db, migrations: R, props?: MigrationManagerProps): ConnectionMigrationManager<Db, R>;
}

/**
 * The manager class of a sync entry whose driver is `createDriver` on the app's connection. The entry keeps it in a const typed {@link SyncManagerClass} (else its declaration file would spell out
 * the connection's type), and marks this call, {@link migrateOn}'s and the async ones pure (else a bundle of `migrate` alone would keep every class the entry exports).
 */
export function syncManagerOn<Db>(createDriver: (db: Db) => SyncDriver<Db>): SyncManagerClass<Db> {
  return class<R extends SyncMigrationRegistry> extends SyncMigrationManager<Db, R> {
    constructor(db: Db, migrations: R, props: MigrationManagerProps = {}) {
      refuseNonConnection(db, "new MigrationManager");
      super(createDriver(db), migrations, props);
    }

    withDatabase(db: Db, props: MigrationManagerProps = {}): this {
      return new (this.constructor as new (db: Db, migrations: R, props: MigrationManagerProps) => this)(db, this.migrations, this.copySettings(props));
    }
  };
}

/** A sync entry's `migrate`. */
export type Migrate<Db> = <R extends SyncMigrationRegistry>(
  db: Db,
  migrations: R,
  options?: MigrationManagerProps & UpOptions<VersionOf<R>> & MigrateOptions<ConnectionMigrationManager<Db, R>>,
) => MigrationResult;

/** The `migrate` of the entry `stepwise-migrate/<entry>`, on a manager of `Manager`. */
export function migrateOn<Db>(Manager: SyncManagerClass<Db>, entry: string): Migrate<Db> {
  return (db, migrations, options = {}) => migrateWithManager(options as never, (props) => new Manager(db, migrations, props), `stepwise-migrate/${entry}`);
}

/** The body of every sync entry's `migrate`: refuse moved options, verify first when asked, then apply everything pending. */
export function migrateWithManager<M extends SyncMigrationManager<unknown, MigrationRegistry>>(
  options: MigrationManagerProps & UpOptions<number> & MigrateOptions<M>,
  createManager: (props: MigrationManagerProps) => M,
  entry: string,
): MigrationResult {
  const { to, transaction, verifySchema: verifyFirst, ...props } = optionsObject(options, "migrate");
  refuseMovedOption(props, "backup", "upWithBackup(new MigrationManager(db, migrations), { backup })");
  refuseUnknownOptions(options, MIGRATE_OPTIONS, "migrate");
  const manager = createManager(props);
  if (verifyFirst) {
    requireCapabilities(manager.driver, "verifySchema", "snapshot");
    if (typeof verifyFirst !== "function") throw usageError(`verifySchema takes the verifySchema function: import { verifySchema } from "${entry}" and pass { verifySchema }.`);
    verifyFirst(manager, { refuseDrift: true, cacheExpectedSchema: true });
  }
  return manager.up({ to, transaction });
}

/** Refuses a registry in which `gen` marked migrations async; `ownFix` is the driver's advice where its entry has no async API. */
function refuseAsyncMigrations(migrations: MigrationRegistry, driver: string, ownFix?: string): void {
  const found = migrations.filter(isAsyncMigration).sort((a, b) => a.version - b.version);
  if (found.length === 0) return;
  const versions = found.map((migration) => migration.version);
  const files = found.map((migration) => migration.file);
  const entry = driverEntry(driver);
  const fix = ownFix ?? `import { migrateAsync } from "${entry}";\nawait migrateAsync(db, migrations);`;
  const message =
    ownFix !== undefined
      ? `Async migrations ${files.join(", ")}: the ${driver} driver cannot keep its transaction open across an await, so nothing was run; ${ownFix}`
      : `The registry holds async migrations: ${versions.map((version, index) => `${version} (${files[index]})`).join(", ")}. ` +
        `The ${driver} driver's sync migrate() and MigrationManager cannot keep a transaction open across an await, so nothing was run. ` +
        `Use the same entry's async API:\n\n${fix.replace(/^/gm, "  ")}\n\nor await the methods of new AsyncMigrationManager(db, migrations) from "${entry}". (The stepwise CLI picks the async runner by itself.)`;
  throw new StepwiseError("ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER", message, { versions, files, driver, entry, fix });
}
