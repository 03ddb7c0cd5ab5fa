/**
 * The SQLite dialect: the executor's SQLite functions, gathered as one {@link Dialect} object. Nothing
 * here is new SQL; each member is the function the executor called before dialects existed.
 */
import { restoreConnectionSettings, snapshotConnectionSettings } from "../connection-settings.js";
import type { Dialect } from "../dialect.js";
import { HistoryStore } from "../history.js";
import { readSchemaObjects } from "../schema-objects.js";
import { translateSqliteError } from "../sqlite-errors.js";
import { queryValue } from "../step.js";
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
  name: "sqlite",
  createHistoryStore: (tableName) => new HistoryStore(tableName),
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
  readSchemaObjects,
  dropObjectSql: (object) => `DROP ${object.type.toUpperCase()} IF EXISTS "${object.name.replace(/"/g, '""')}"`,
  foreignKeysEnforced: function* () {
    return (yield* queryValue("PRAGMA foreign_keys")) === 1;
  },
  translateError: (error, busyTimeoutMs, classification) => {
    const code = classification.nativeCode;
    return translateSqliteError(error, busyTimeoutMs, code !== null && code.startsWith("SQLITE_") ? code : null);
  },
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
