/**
 * SQLite's dialect with the one loop over a run of SQL migrations (`sql-run.ts`), the executor's loop
 * driven directly by the runner and the connection settings read by one statement, for the entries
 * of the file drivers (better-sqlite3, node:sqlite, bun:sqlite, libsql) and sql.js.
 */
import { restoreConnectionSettingsAfterOneRead, snapshotConnectionSettingsInOneRead } from "../connection-settings.js";
import type { Dialect } from "../executor-types.js";
import { applySqlRun } from "../sql-run.js";
import { driveDirectly } from "../step.js";
import { SQLITE_DIALECT } from "./sqlite.js";

/** {@link SQLITE_DIALECT} plus the loop that applies a run of SQL migrations (`sql-run.ts`), the executor's loop driven directly by the runner, and the connection settings read by one statement. */
export const SQLITE_FILE_DIALECT: Dialect = {
  ...SQLITE_DIALECT,
  applySqlRun,
  driveDirectly,
  snapshotConnectionSettings: snapshotConnectionSettingsInOneRead,
  restoreConnectionSettings: restoreConnectionSettingsAfterOneRead,
};
