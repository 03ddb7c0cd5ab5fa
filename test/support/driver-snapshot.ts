/**
 * Everything observable about a database, read through a driver's primitives so every library is
 * read the same way, for "nothing changed" assertions (`assert.deepEqual` two snapshots), and the
 * connection settings stepwise promises to put back, read as the executor reads them.
 */
import type { SyncDriver } from "../../src/core/driver.js";
import { snapshotConnectionSettings } from "../../src/core/connection-settings.js";
import { runSync } from "../../src/core/runners.js";
import type { TestDatabase } from "./driver-matrix.js";

/** The schema, every table's rows, and `PRAGMA user_version`, as plain objects. */
export interface DriverDatabaseSnapshot {
  readonly schema: readonly Record<string, unknown>[];
  readonly rows: Readonly<Record<string, readonly Record<string, unknown>[]>>;
  readonly userVersion: number;
}

/** Reads the full schema (sqlite_master) and the contents of every table, history included. */
export function snapshotThroughDriver(db: Pick<TestDatabase, "rows" | "tableNames" | "userVersion">): DriverDatabaseSnapshot {
  const schema = db.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name");
  const rows: Record<string, Record<string, unknown>[]> = {};
  for (const name of db.tableNames()) {
    // ORDER BY every column: WITHOUT ROWID tables have no rowid to sort by.
    const columns = db.rows(`PRAGMA table_info("${name}")`).map((column) => `"${String(column.name)}"`);
    rows[name] = db.rows(`SELECT * FROM "${name}" ORDER BY ${columns.join(", ")}`);
  }
  return { schema, rows, userVersion: db.userVersion() };
}

/** The connection settings of `driver`'s connection, read through the executor's own step. */
export function connectionSettingsOf(driver: SyncDriver<unknown>): unknown {
  return runSync(snapshotConnectionSettings(), driver);
}
