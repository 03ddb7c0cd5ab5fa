/**
 * What every executor is built from, once for the managers and for `migrate` without a manager: the
 * registry checked against the driver, then the settings from the props.
 */
import { assertValidRegistry } from "./planner.js";
import { DEFAULT_TABLE_NAME } from "./history.js";
import type { Driver } from "./driver.js";
import type { Dialect, ExecutorSettings } from "./executor-types.js";
import { DEFAULT_DIALECT, type MigrationEntry, type MigrationRegistry, type SqlDialect } from "./types.js";
import { registryDialectMismatchError } from "./error-factories.js";
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

/**
 * An entry's dialect: its `dialect` field, or sqlite when it names none. It travels on each entry
 * rather than on the array: apps and tests slice, filter and spread registries, and a property of
 * the array would be dropped silently by `slice()` or `[...]`, turning a postgres registry into one
 * that passes for sqlite.
 */
export function entryDialect(entry: Pick<MigrationEntry, "dialect">): SqlDialect {
  return entry.dialect ?? DEFAULT_DIALECT;
}

/**
 * Throws `REGISTRY_DIALECT_MISMATCH` when an entry of `migrations` was generated for
 * another dialect than `driver` speaks. Every entry is checked, so a registry stitched together from
 * both dialects is refused too. An empty registry runs nothing and fits every driver.
 */
export function assertRegistryDialect(migrations: MigrationRegistry, driver: { readonly name: string; readonly dialect: SqlDialect }): void {
  for (const entry of migrations) {
    // A malformed entry (not an object) is the registry validator's to report.
    if (entry === null || typeof entry !== "object") continue;
    const dialect = entryDialect(entry);
    if (dialect !== driver.dialect) {
      throw registryDialectMismatchError({ registryDialect: dialect, driverDialect: driver.dialect, driver: driver.name, version: entry.version, file: entry.file });
    }
  }
}
