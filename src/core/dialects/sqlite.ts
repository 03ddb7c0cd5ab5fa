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
