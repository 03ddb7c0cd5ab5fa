/**
 * Which SQL dialect a registry was generated for, and the refusal of one given to a driver of
 * another dialect.
 *
 * The dialect travels on each entry (`dialect`, absent meaning sqlite) rather than on the array or
 * beside it as a module export: apps and tests slice, filter and spread registries, and build them
 * by hand as plain arrays. A property of the array would be dropped silently by `slice()` or `[...]`,
 * turning a postgres registry into one that passes for sqlite; a field of each entry survives every
 * such copy, and a plain array of hand-built entries counts as sqlite without saying so.
 */
import { DEFAULT_DIALECT, type MigrationEntry, type MigrationRegistry, type SqlDialect } from "./types.js";
import { registryDialectMismatchError } from "./error-factories.js";

/** An entry's dialect: its `dialect` field, or sqlite when it names none. */
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
