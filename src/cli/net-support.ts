/**
 * The guard the CLI puts in front of a safety net. The nets refuse a driver that lacks their
 * capability themselves; some still read the database through better-sqlite3's API, so until they
 * run on driver primitives the CLI refuses other drivers for them the same typed way, rather than let
 * a node:sqlite or bun:sqlite connection reach better-sqlite3 calls.
 */
import { DriverCapabilityError, requireCapabilities, type DriverCapability } from "../core/driver.js";
import type { SyncMigrationManager } from "../core/manager.js";

/**
 * Throws `DRIVER_CAPABILITY_MISSING` unless the net `operation` can run on `manager`'s driver:
 * the driver must declare `capability`, and be better-sqlite3 while the net still needs its API.
 */
export function assertNetRuns(manager: Pick<SyncMigrationManager<unknown>, "driver">, operation: string, capability: DriverCapability): void {
  requireCapabilities(manager.driver, operation, capability);
  if (manager.driver.name !== "better-sqlite3") throw new DriverCapabilityError({ driver: manager.driver.name, capability, operation });
}
