/** The SQLite dialect: every SQLite driver's, and the executor's default. */
import { restoreConnectionSettings, snapshotConnectionSettings } from "../connection-settings.js";
import type { Dialect } from "../dialect.js";
import type { DriverCapabilities } from "../driver.js";
import { createHistoryGuard } from "../history-guard.js";
import { HistoryStore } from "../history.js";
import { readSchemaObjects } from "../schema-objects.js";
import { scriptStatements } from "../sql-location.js";
import { translateSqliteError } from "../error-factories.js";
import { queryValue } from "../step.js";
import { createSqliteEscapeGuard } from "../transaction-guard.js";
import { splitSqliteStatements, tokenizeSqliteSql } from "../../shared/sqlite-tokens.js";

/** `script`'s statements as SQLite reads them, each with its place in `script`. */
const splitStatements = (script: string) => scriptStatements(script, splitSqliteStatements(tokenizeSqliteSql(script)));

/** The dialect of every SQLite driver. */
export const SQLITE_DIALECT: Dialect = {
  name: "sqlite",
  createHistoryStore: (tableName) => new HistoryStore(tableName),
  guardHistory: createHistoryGuard,
  startEscapeGuard: createSqliteEscapeGuard(),
  splitStatements,
  snapshotConnectionSettings,
  restoreConnectionSettings,
  readSchemaObjects,
  // main's object, as readSchemaObjects lists it, not a temporary one of the same name a migration left on the connection.
  dropObjectSql: (object) => `DROP ${object.type.toUpperCase()} IF EXISTS main."${object.name.replace(/"/g, '""')}"`,
  foreignKeysEnforced: function* () {
    return (yield* queryValue("PRAGMA foreign_keys")) === 1;
  },
  translateError: (error, busyTimeoutMs, classification) => {
    const code = classification.nativeCode;
    return translateSqliteError(error, busyTimeoutMs, code !== null && code.startsWith("SQLITE_") ? code : null);
  },
};

/** The statements of `script` as SQLite reads them (a trigger's body whole), without the comments between them; `[]` for only comments and semicolons. For the libraries that run one statement at a
 * time (D1's `prepare`; a Durable Object's `sql.exec` refuses a script with an empty tail). */
export function statementTexts(script: string): string[] {
  return splitStatements(script).map(({ text }) => text);
}

/** SQLite's dialect for a driver that may not touch `PRAGMA user_version` (Turso): the escape guard never reads it. */
const SQLITE_DIALECT_WITHOUT_USER_VERSION: Dialect = { ...SQLITE_DIALECT, startEscapeGuard: createSqliteEscapeGuard({ userVersion: false }) };

/** The SQLite dialect a driver with `capabilities` gets when its entry names none. */
export function sqliteDialectFor(capabilities: Pick<DriverCapabilities, "userVersion">): Dialect {
  return capabilities.userVersion ? SQLITE_DIALECT : SQLITE_DIALECT_WITHOUT_USER_VERSION;
}
