/**
 * The context a TypeScript migration receives, built the same way by every driver: the migration's
 * facts, its progress reporter, and the driver's `forEachBatch` (a walk on its connection, or a
 * refusal where the driver has none).
 */
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

/**
 * A `forEachBatch` that refuses with `USAGE`, for a driver that cannot walk in batches (D1, whose
 * only transaction is a batch of statements given up front; Durable Objects). `connection` names what
 * the migration receives, for the way round.
 */
export function refuseBatches(driverName: string, connection: string): MigrationContext["forEachBatch"] {
  return () => {
    throw usageError(`forEachBatch is not available with the ${driverName} driver: walk the table with your own keyed queries on ${connection}.`);
  };
}
