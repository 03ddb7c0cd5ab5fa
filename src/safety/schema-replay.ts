/**
 * The schema a run of migrations 1..N builds, obtained by running them, through the manager's own
 * code path, on an empty in-memory database. Baseline and verify compare a real schema with it.
 */
import BetterSqlite3 from "better-sqlite3";
import type { MigrationManager } from "../drivers/better-sqlite3.js";
import { readSchemaSnapshot, type SchemaSnapshot } from "./schema-snapshot.js";
import type { MigrationRegistry } from "../core/types.js";

/**
 * Applies migrations 1..`version` of `manager`'s registry to a fresh in-memory database and reads
 * its schema (without the history table). Data migrations run against empty tables.
 */
export function replaySchema<R extends MigrationRegistry>(manager: MigrationManager<R>, version: number): SchemaSnapshot {
  const scratch = new BetterSqlite3(":memory:");
  try {
    // Enforcement follows the real connection, so a migration that relies on it behaves the same.
    scratch.pragma(`foreign_keys = ${manager.db.pragma("foreign_keys", { simple: true }) === 1 ? "ON" : "OFF"}`);
    if (version > 0) manager.withDatabase(scratch, { onEvent: undefined, logger: null }).up({ to: version });
    return readSchemaSnapshot(scratch, { excludeTables: [manager.tableName] });
  } finally {
    scratch.close();
  }
}
