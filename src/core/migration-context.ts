import type { MigrationContext, MigrationDirection, MigrationEntry } from "./types.js";
import { usageError } from "./error-factories.js";

/** The context of `entry` running `direction`, with `forEachBatch` as the driver provides it. */
export function buildMigrationContext(
  entry: MigrationEntry,
  direction: MigrationDirection,
  progress: (done: number, total: number | null) => void,
  forEachBatch: MigrationContext["forEachBatch"],
): MigrationContext {
  return { version: entry.version, name: entry.name, direction, progress, forEachBatch };
}

/** A `forEachBatch` that refuses with `USAGE`, for a driver that cannot walk in batches; `connection` names what to walk with instead. */
export function refuseBatches(driverName: string, connection: string): MigrationContext["forEachBatch"] {
  return () => {
    throw usageError(`forEachBatch is not available with the ${driverName} driver: walk the table with your own keyed queries on ${connection}.`);
  };
}
