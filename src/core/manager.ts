/**
 * The manager every sync driver entry exposes: {@link MigrationManagerBase} (which validates the
 * registry, builds the executor and maps each method to one of its steps) driven through the sync
 * runner. A driver entry subclasses it only to take that library's native connection.
 */
import { runSync } from "./runners.js";
import { requireCapabilities, type SyncDriver } from "./driver.js";
import { MigrationManagerBase, refuseMovedOption } from "./manager-base.js";
import type { Step } from "./step.js";
import type { Dialect } from "./executor-types.js";
import { isAsyncMigration, type MigrationEntry, type MigrationRegistry, type SyncMigrationRegistry } from "./types.js";
import { StepwiseError } from "./errors.js";
import type { MigrateOptions, MigrationManagerProps, MigrationResult, UpOptions } from "./options.js";
import { usageError } from "./error-factories.js";

export { refuseMovedOption };

/**
 * Applies and reverts the migrations of a generated registry on one connection of a sync driver.
 * Driver entries export a subclass taking the native connection; see `stepwise-migrate/better-sqlite3`.
 * Every method is {@link MigrationManagerBase}'s, driven by the sync runner. A registry holding async
 * migrations is refused, by its type and at construction; see `AsyncMigrationManager`.
 */
export class SyncMigrationManager<Db, R extends SyncMigrationRegistry = MigrationRegistry> extends MigrationManagerBase<Db, R, false, SyncDriver<Db>> {
  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` when `gen` marked any of its migrations async.
   * @param dialect the SQL the executor writes, when the driver's storage needs its own (Durable Objects).
   */
  constructor(driver: SyncDriver<Db>, migrations: R, props: MigrationManagerProps = {}, dialect?: Dialect) {
    super(driver, migrations, props, dialect);
    refuseAsyncMigrations(migrations, driver.name, driver.asyncBodyFix);
  }

  /** Runs one of the executor's steps on this manager's driver, synchronously. */
  run<T>(step: Step<T>): T {
    return runSync(step, this.driver);
  }

  /** See `MigrationManagerBase.start`: a refusal while making the step is thrown. */
  protected start<T>(make: () => Step<T>): T {
    return this.run(make());
  }

  /**
   * A manager with the same registry and settings on another driver's connection, used to rehearse
   * and replay migrations on in-memory copies through the very code path of a real run.
   */
  withDriver(driver: SyncDriver<Db>, props: MigrationManagerProps = {}): SyncMigrationManager<Db, R> {
    // The same dialect: a copy answers SQL as the original does (an entry's own, such as the no-op proof's).
    return new SyncMigrationManager(driver, this.migrations, this.copySettings(props), this.executor.dialect);
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
  const { upOptions, verifyFirst, props } = splitMigrateOptions(options, entry);
  const manager = createManager(props);
  if (verifyFirst) {
    requireCapabilities(manager.driver, "verifySchema", "snapshot");
    // A start-up check: the expected schema is stored after the first replay, so later starts skip it.
    verifyFirst(manager, { refuseDrift: true, cacheExpectedSchema: true });
  }
  return manager.up(upOptions);
}

/** The refusal of a `verifySchema` option that is not stepwise's function, naming the entry to import it from. */
export function verifySchemaUsage(entry: string): string {
  return `verifySchema takes the verifySchema function: import { verifySchema } from "${entry}" and pass { verifySchema }.`;
}

/**
 * `migrate`'s options, split: `up`'s, the verification asked for, and the manager's props. Refuses a
 * moved option and a `verifySchema` that is not the function.
 */
export function splitMigrateOptions<M>(options: MigrationManagerProps & UpOptions<number> & MigrateOptions<M>, entry: string) {
  const { to, transaction, verifySchema: verifyFirst, ...props } = options;
  refuseMovedOption(props, "backup", "upWithBackup(new MigrationManager(db, migrations), { backup })");
  if (verifyFirst && typeof verifyFirst !== "function") {
    throw usageError(verifySchemaUsage(entry));
  }
  const upOptions: UpOptions<number> = { ...(to === undefined ? {} : { to }), ...(transaction === undefined ? {} : { transaction }) };
  return { upOptions, verifyFirst, props };
}

/**
 * The sync `migrate`/`MigrationManager` was given a registry in which `gen` marked migrations async.
 * Nothing was read or written. Use the same driver entry's `migrateAsync` or `AsyncMigrationManager`.
 */
export function asyncMigrationsNeedAsyncRunnerError(fields: {
  versions: readonly number[];
  files: readonly string[];
  driver: string;
  ownFix?: string;
}): StepwiseError<"ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER"> {
  if (fields.ownFix !== undefined) {
    return new StepwiseError(
      "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER",
      `Async migrations ${fields.files.join(", ")}: the ${fields.driver} driver cannot keep its transaction open across an await, so nothing was run; ${fields.ownFix}`,
      { versions: fields.versions, files: fields.files, driver: fields.driver, entry: `stepwise-migrate/${fields.driver}`, fix: fields.ownFix },
    );
  }
  const list = fields.versions.map((version, index) => `${version} (${fields.files[index]})`).join(", ");
  const entry = `stepwise-migrate/${fields.driver}`;
  const fix = `import { migrateAsync } from "${entry}";\nawait migrateAsync(db, migrations);`;
  return new StepwiseError(
    "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER",
    `The registry holds async migrations: ${list}. The ${fields.driver} driver's sync migrate() and MigrationManager cannot keep a transaction open across an await, ` +
      `so nothing was run. Use the same entry's async API:\n\n` +
      `${fix.replace(/^/gm, "  ")}\n\n` +
      `or await the methods of new AsyncMigrationManager(db, migrations) from "${entry}". (The stepwise CLI picks the async runner by itself.)`,
    { versions: fields.versions, files: fields.files, driver: fields.driver, entry, fix },
  );
}

/** The entries `gen` marked async, in version order. */
export function findAsyncMigrations(migrations: MigrationRegistry): MigrationEntry[] {
  return migrations.filter(isAsyncMigration).sort((a, b) => a.version - b.version);
}

/**
 * Throws `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` when `migrations` holds an async migration.
 * `ownFix` is the driver's own advice where its entry has no async API (Durable Objects: synchronous
 * bodies; see `Driver.asyncBodyFix`): the error then names that instead of `migrateAsync`.
 */
export function refuseAsyncMigrations(migrations: MigrationRegistry, driver: string, ownFix?: string): void {
  const found = findAsyncMigrations(migrations);
  if (found.length === 0) return;
  throw asyncMigrationsNeedAsyncRunnerError({ versions: found.map((entry) => entry.version), files: found.map((entry) => entry.file), driver, ownFix });
}
