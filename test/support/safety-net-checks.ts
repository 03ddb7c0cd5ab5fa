/**
 * What the parameterised safety-net tests share: a manager whose driver does not declare a
 * capability (how a driver without it is refused, on any driver), a picture of a database to show a
 * refusal changed nothing, and the guard for the CLI's end-to-end tests, which run on the CLI's own
 * library (better-sqlite3) only.
 */
import { SyncMigrationManager } from "../../src/core/manager.js";
import type { DriverCapability } from "../../src/core/driver.js";
import type { MigrationRegistry } from "../../src/core/types.js";
import { DRIVERS, availableDrivers, unloadableReason } from "./driver-matrix.js";
import type { DriverUnderTest, TestDatabase } from "./driver-matrix.js";

/**
 * A manager on `db`'s connection whose driver declares `capability` missing, as a driver that lacks
 * it does (node:sqlite on a Node without `serialize`, for `snapshot`). The primitives are the real
 * ones, so a net that ignored the declaration would run for real and the test would see it.
 */
export function managerWithout(db: TestDatabase, capability: DriverCapability, migrations: MigrationRegistry): SyncMigrationManager<unknown, MigrationRegistry> {
  const driver = db.driver;
  return new SyncMigrationManager({ ...driver, capabilities: { ...driver.capabilities, [capability]: false } }, migrations);
}

/** The schema, `user_version` and every row of every table (the history included), read through the driver. */
export function databaseState(db: TestDatabase): { userVersion: number; schema: Record<string, unknown>[]; rows: Record<string, string[]> } {
  const schema = db.rows("SELECT type, name, sql FROM sqlite_master ORDER BY type, name");
  const rows: Record<string, string[]> = {};
  // Sorted as text: WITHOUT ROWID tables have no rowid to order by.
  for (const table of db.tableNames())
    rows[table] = db
      .rows(`SELECT * FROM "${table.replace(/"/g, '""')}"`)
      .map((row) => JSON.stringify(row))
      .sort();
  return { userVersion: db.userVersion(), schema, rows };
}

/**
 * `false` when the CLI can run here, or why not: it opens databases with better-sqlite3, whose addon
 * loads under Node 20 only, and `STEPWISE_DRIVERS` may leave it out.
 */
export async function cliUnavailable(): Promise<string | false> {
  if (!availableDrivers().includes(cliDriver())) return "the CLI opens databases with better-sqlite3, which is not among the drivers run here";
  return (await unloadableReason(cliDriver())) ?? false;
}

/** The matrix line of the CLI's library, to prepare a database for a CLI test. */
export function cliDriver(): DriverUnderTest {
  return DRIVERS.find((candidate) => candidate.name === "better-sqlite3")!;
}

/** The part of every library's native connection the CLI tests use. */
export interface NativeConnection {
  exec(sql: string): unknown;
  close(): unknown;
}
