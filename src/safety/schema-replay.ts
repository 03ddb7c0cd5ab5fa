/**
 * The schema a run of migrations 1..N builds, obtained by running them, through the manager's own
 * code path, on an empty scratch database the driver opens. Baseline and verify compare a real
 * schema with it.
 */
import { stepwiseTableNames } from "../core/checksum-repair-log.js";
import type { SyncMigrationManager } from "../core/manager.js";
import { requireCapabilities } from "../core/driver.js";
import { runSync } from "../core/runners.js";
import { exec, queryValue } from "../core/step.js";
import { readSchema, type SchemaSnapshot } from "./schema-snapshot.js";
import { containCopy } from "./contained-copy.js";
import type { MigrationRegistry } from "../core/types.js";

/**
 * Applies migrations 1..`version` of `manager`'s registry to a fresh scratch database and reads its
 * schema (without the history table). Data migrations run against empty tables.
 *
 * @throws `DRIVER_CAPABILITY_MISSING` when the driver cannot open a scratch database (`snapshot`).
 */
export function replaySchema<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, version: number): SchemaSnapshot {
  requireCapabilities(manager.driver, "replaySchema", "snapshot");
  // Contained: a migration there may not reach another file (contained-copy.ts).
  const scratch = containCopy(manager.driver.openSnapshot!(new Uint8Array(0)));
  try {
    // Enforcement follows the real connection, so a migration that relies on it behaves the same.
    const foreignKeys = manager.run(queryValue("PRAGMA foreign_keys")) === 1;
    runSync(exec(`PRAGMA foreign_keys = ${foreignKeys ? "ON" : "OFF"}`), scratch);
    if (version > 0) manager.withDriver(scratch, { onEvent: undefined, logger: null }).up({ to: version });
    return runSync(readSchema({ excludeTables: stepwiseTableNames(manager.tableName) }), scratch);
  } finally {
    scratch.close?.();
  }
}
