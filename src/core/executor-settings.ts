/**
 * What every executor is built from, once for the managers and for `migrate` without a manager: the
 * registry checked against the driver, then the settings from the props.
 */
import { assertValidRegistry } from "./planner.js";
import { DEFAULT_TABLE_NAME } from "./history.js";
import { assertRegistryDialect } from "./registry-dialect.js";
import type { Driver } from "./driver.js";
import type { Dialect, ExecutorSettings } from "./executor-types.js";
import type { MigrationRegistry } from "./types.js";
import { DEFAULT_BUSY_TIMEOUT_MS, type MigrationManagerProps } from "./options.js";

/**
 * Checks `migrations` for `driver` and returns the executor's settings: the dialect first (a registry
 * for another database is the wrong file altogether, whatever else is wrong with it), then the
 * version rules.
 *
 * @param dialect the SQL the executor writes for this driver's database: SQLite's unless the driver's entry says.
 * @throws `REGISTRY_DIALECT_MISMATCH` when the registry was generated for another dialect than the driver's.
 * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
 */
export function validateForExecutor(
  driver: Pick<Driver, "name" | "dialect" | "capabilities" | "classifyError">,
  migrations: MigrationRegistry,
  props: MigrationManagerProps,
  dialect?: Dialect,
): ExecutorSettings {
  assertRegistryDialect(migrations, driver);
  assertValidRegistry(migrations);
  return {
    tableName: props.tableName ?? DEFAULT_TABLE_NAME,
    busyTimeoutMs: props.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    progressIntervalMs: props.progressIntervalMs,
    onEvent: props.onEvent,
    logger: props.logger ?? null,
    driverName: driver.name,
    capabilities: driver.capabilities,
    classifyError: (error) => driver.classifyError(error),
    ...(dialect ? { dialect } : {}),
  };
}
