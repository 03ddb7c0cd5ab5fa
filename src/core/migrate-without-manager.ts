/**
 * `migrate` with no manager, for an entry whose driver cannot verify a schema (no snapshot to replay
 * on: Durable Objects, sync; D1, async): the same checks in the same order as `migrateWithManager`
 * and `migrateAsyncWithManager`, then {@link ExecutorBase.up} on the runner. A manager brings `down`,
 * `reset`, `status` and the rest with it; an app that only applies its migrations at start-up
 * bundles none of them.
 */
import { requireCapabilities, type SyncDriver } from "./driver.js";
import { ExecutorBase } from "./executor-base.js";
import type { ExecutorStrategies } from "./executor-types.js";
import { validateForExecutor } from "./executor-settings.js";
import { refuseAsyncMigrations, splitMigrateOptions, verifySchemaUsage } from "./manager.js";
import { managerBuilderOf } from "./manager-for-verify.js";
import { splitMigrateAsyncOptions, type MigrateAsyncOptions } from "./async-manager.js";
import type { Step } from "./step.js";
import { runSync } from "./runners.js";
import type { Dialect } from "./executor-types.js";
import type { MigrationRegistry } from "./types.js";
import type { MigrateOptions, MigrationManagerProps, MigrationResult, UpOptions } from "./options.js";
import { usageError } from "./error-factories.js";

/**
 * Applies every pending migration of `migrations` on `driver`, as `migrateWithManager` does with a
 * manager made from the same driver, props and dialect. `verifySchema` is refused by capability
 * (`snapshot`), as a manager of such a driver refuses it, after the registry checks.
 *
 * @param createDriver makes the driver, first, as a manager's constructor does.
 * @param entry the package entry, for messages.
 * @param strategies what the driver's capabilities reach (`executor-types.ts`); only these are bundled.
 */
export function migrateWithoutManager<Db>(
  options: MigrationManagerProps & UpOptions<number> & MigrateOptions<never>,
  createDriver: () => SyncDriver<Db>,
  migrations: MigrationRegistry,
  entry: string,
  dialect: Dialect,
  strategies: ExecutorStrategies,
): MigrationResult {
  // Taken out before the options are split: that split tells a non-function to import verifySchema
  // from the entry, and no entry that gets here exports it. Any verifySchema is refused by capability.
  const { verifySchema: verifyFirst, ...rest } = options;
  const { upOptions, props } = splitMigrateOptions(rest, entry);
  const driver = createDriver();
  const executor = new ExecutorBase(migrations, validateForExecutor(driver, migrations, props, dialect), dialect, strategies);
  refuseAsyncMigrations(migrations, driver.name, driver.asyncBodyFix);
  if (verifyFirst) {
    requireCapabilities(driver, "verifySchema", "snapshot");
    // Only a driver that can replay gets here, and its entry must take the manager's path: verifySchema checks a manager.
    throw usageError(`verifySchema needs a MigrationManager: call verifySchema(new MigrationManager(db, migrations)) from "${entry}" before migrate.`);
  }
  return runSync(executor.up(upOptions), driver);
}

/**
 * `migrate` with no manager for a sync entry whose driver can verify a schema (`stepwise-migrate/sql-js`):
 * the same checks in the same order as `migrateWithManager` with the entry's manager. Given
 * `{ verifySchema }`, it builds that manager from what stepwise's `verifySchema` carries (see
 * `manager-for-verify.ts`) and verifies before applying, as `migrateWithManager` does; any other
 * function is refused as a non-function is, since only stepwise's knows how to build one.
 *
 * @param executorDialect the dialect the entry's manager would end up with (SQLite's for its capabilities).
 * @param managerDialect what the entry's `MigrationManager` passes its base, for the manager built to verify.
 * @param strategies what the driver's capabilities reach (`executor-types.ts`).
 */
export function migrateVerifiableWithoutManager<Db>(
  options: MigrationManagerProps & UpOptions<number> & MigrateOptions<never>,
  createDriver: () => SyncDriver<Db>,
  migrations: MigrationRegistry,
  entry: string,
  dialects: { readonly executor: Dialect; readonly manager: Dialect | undefined },
  strategies: ExecutorStrategies,
): MigrationResult {
  const { upOptions, verifyFirst, props } = splitMigrateOptions(options, entry);
  const buildManager = verifyFirst ? managerBuilderOf(verifyFirst) : null;
  if (verifyFirst && !buildManager) throw usageError(verifySchemaUsage(entry));
  const driver = createDriver();
  if (buildManager) {
    const manager = buildManager(driver as SyncDriver<unknown>, migrations, props, dialects.manager);
    requireCapabilities(driver, "verifySchema", "snapshot");
    // A start-up check: the expected schema is stored after the first replay, so later starts skip it.
    (verifyFirst as (manager: unknown, options: { refuseDrift: true; cacheExpectedSchema: true }) => unknown)(manager, { refuseDrift: true, cacheExpectedSchema: true });
    return manager.up(upOptions);
  }
  const executor = new ExecutorBase(migrations, validateForExecutor(driver, migrations, props, dialects.executor), dialects.executor, strategies);
  refuseAsyncMigrations(migrations, driver.name, driver.asyncBodyFix);
  return runSync(executor.up(upOptions), driver);
}

/** What an async entry's `migrate` makes in place of a manager: the executor, and how its steps run. */
export interface ExecutorRun {
  readonly executor: ExecutorBase;
  /** Runs a step as the entry's manager runs a writing one (`run(step, { exclusive: true })`). */
  run<T>(step: Step<T>): Promise<T>;
}

/**
 * Applies every pending migration on an async driver, as `migrateAsyncWithManager` does with a manager
 * that `prepare` stands in for: `prepare` makes the driver and the executor and runs the checks a
 * manager's constructor runs, in its order. Every refusal is a rejection, never a throw.
 *
 * @param entry the package entry, for messages.
 */
export async function migrateAsyncWithoutManager(options: MigrateAsyncOptions, entry: string, prepare: (props: MigrationManagerProps) => ExecutorRun): Promise<MigrationResult> {
  const { upOptions, props } = splitMigrateAsyncOptions(options, entry);
  const { executor, run } = prepare(props);
  return run(executor.up(upOptions));
}
