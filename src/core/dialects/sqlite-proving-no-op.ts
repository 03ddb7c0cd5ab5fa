/**
 * SQLite's dialect with the one-read proof of a no-op start (`no-op-check.ts`), the one-pass
 * registry check (`registry-fast-check.ts`) and the one loop over a run of SQL migrations
 * (`sql-run.ts`), for the entries of the file drivers (better-sqlite3, node:sqlite, bun:sqlite,
 * libsql), whose start time and fresh apply `npm run bench` holds to targets. It is its own module so the entries held to a bundle-size budget instead
 * (sql.js in a page, Durable Objects and D1 in a Worker) do not carry it: there the start is
 * dominated by loading SQLite itself, and every start still runs, only by the careful path.
 */
import { restoreConnectionSettingsAfterOneRead, snapshotConnectionSettingsInOneRead } from "../connection-settings.js";
import type { Dialect } from "../dialect.js";
import { readTotalChangesInOneCall, readTransactionStartInOneCall } from "../guard-reads.js";
import { planIfNothingPending } from "../no-op-check.js";
import { isCleanRegistry } from "../registry-fast-check.js";
import { applySqlRun } from "../sql-run.js";
import { driveDirectly } from "../step.js";
import { SQLITE_DIALECT } from "./sqlite.js";

/**
 * {@link SQLITE_DIALECT} plus `planIfNothingPending`, the one-pass `isCleanRegistry`, the loop
 * that applies a run of SQL migrations (`sql-run.ts`), the executor's loop driven directly by the
 * runner, the escape guard's reads through the drivers' `readValue` (`guard-reads.ts`) and the
 * connection settings read by one statement, whose fresh apply `npm run bench` holds to the
 * hand-written loop.
 */
export const SQLITE_DIALECT_PROVING_NO_OP: Dialect = {
  ...SQLITE_DIALECT,
  planIfNothingPending,
  isCleanRegistry,
  applySqlRun,
  driveDirectly,
  readTransactionStart: readTransactionStartInOneCall,
  readTotalChanges: readTotalChangesInOneCall,
  snapshotConnectionSettings: snapshotConnectionSettingsInOneRead,
  restoreConnectionSettings: restoreConnectionSettingsAfterOneRead,
};
