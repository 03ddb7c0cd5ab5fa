/**
 * The members of the SQLite dialect that every SQLite storage shares: the history table, the schema
 * listing, the foreign-key reading and the typed errors. The escape guard's signals and the
 * connection settings a run restores are added by `sqlite.ts`; a storage that has neither (Cloudflare's,
 * with no savepoints and no per-connection pragmas on D1) builds on this alone and bundles neither.
 */
import type { Dialect } from "../executor-types.js";
import { HistoryStore } from "../history.js";
import { readSchemaObjects } from "../schema-objects.js";
import { translateSqliteError } from "../error-factories.js";
import { queryValue } from "../step.js";
import { scriptStatements } from "../sql-location.js";
import { splitSqliteStatements, tokenizeSqliteSql } from "../../shared/sqlite-tokens.js";

/** What every SQLite dialect has, whatever its storage can do; see the module note. */
export type SqliteDialectBase = Pick<Dialect, "name" | "createHistoryStore" | "readSchemaObjects" | "dropObjectSql" | "foreignKeysEnforced" | "translateError" | "splitStatements">;

/** The shared members; see {@link SqliteDialectBase}. */
export const SQLITE_DIALECT_BASE: SqliteDialectBase = {
  name: "sqlite",
  createHistoryStore: (tableName) => new HistoryStore(tableName),
  readSchemaObjects,
  dropObjectSql: (object) => `DROP ${object.type.toUpperCase()} IF EXISTS "${object.name.replace(/"/g, '""')}"`,
  foreignKeysEnforced: function* () {
    return (yield* queryValue("PRAGMA foreign_keys")) === 1;
  },
  splitStatements: (script) => scriptStatements(script, splitSqliteStatements(tokenizeSqliteSql(script))),
  translateError: (error, busyTimeoutMs, classification) => {
    const code = classification.nativeCode;
    return translateSqliteError(error, busyTimeoutMs, code !== null && code.startsWith("SQLITE_") ? code : null);
  },
};
