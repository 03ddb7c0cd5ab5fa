/**
 * The SQLite dialect: the executor's SQLite functions, gathered as one {@link Dialect} object. Nothing
 * here is new SQL; each member is the function the executor called before dialects existed. The
 * members every SQLite storage shares are `sqlite-base.ts`'s; this adds the escape guard's and the
 * connection settings'.
 */
import { restoreConnectionSettings, snapshotConnectionSettings } from "../connection-settings.js";
import type { Dialect } from "../executor-types.js";
import { SQLITE_DIALECT_BASE } from "./sqlite-base.js";
import { createHistoryGuard } from "../history-guard.js";
import type { DriverCapabilities } from "../driver.js";
import {
  createCommitWitness,
  dropCommitWitness,
  judgeEscapedCommit,
  markCommitWitness,
  readTotalChanges,
  readTransactionStart,
  releaseBodySavepoint,
  renewCommitWitness,
} from "../transaction-guard.js";

/** The dialect of every SQLite driver, and the executor's default. */
export const SQLITE_DIALECT: Dialect = {
  ...SQLITE_DIALECT_BASE,
  createCommitWitness,
  renewCommitWitness,
  markCommitWitness,
  dropCommitWitness,
  readTransactionStart,
  readTotalChanges,
  releaseBodySavepoint,
  judgeEscapedCommit,
  snapshotConnectionSettings,
  restoreConnectionSettings,
  guardHistory: createHistoryGuard,
};

/**
 * The SQLite dialect for a driver without `PRAGMA user_version` (Turso refuses it): the escape
 * guard's transaction-start signals leave it out, so nothing the executor reads or writes touches it.
 * The history table is then the only record of the version.
 */
export const SQLITE_DIALECT_WITHOUT_USER_VERSION: Dialect = {
  ...SQLITE_DIALECT,
  readTransactionStart: (counter) => readTransactionStart(counter, false),
};

/** The SQLite dialect a driver with `capabilities` gets when its entry names none. */
export function sqliteDialectFor(capabilities: Pick<DriverCapabilities, "userVersion">): Dialect {
  return capabilities.userVersion ? SQLITE_DIALECT : SQLITE_DIALECT_WITHOUT_USER_VERSION;
}
