/**
 * Resolves the key a `forEachBatch` walk pages by, the way SQLite resolves a column name: ASCII
 * case-insensitively, a real column before the rowid aliases, and no rowid on views or `WITHOUT
 * ROWID` tables. A key SQLite would not find is refused here, before the walk writes anything,
 * instead of reading `undefined` from every row and stopping after the first batch.
 */
import type { BatchKeyProblem } from "./errors.js";
import type { BatchDialect, BatchOrigin, BatchWalk, ResolvedBatchKey } from "./batch-types.js";
import { batchKeyError } from "./error-factories.js";

/**
 * The column of `columns` that `name` names: exactly, else ASCII case-insensitively when that names
 * one column. `ambiguous` when several differ from it only in case.
 */
export function matchColumn(columns: readonly string[], name: string): { column?: string; ambiguous: boolean } {
  if (columns.includes(name)) return { column: name, ambiguous: false };
  const folded = columns.filter((candidate) => foldIdentifier(candidate) === foldIdentifier(name));
  return folded.length === 1 ? { column: folded[0], ambiguous: false } : { ambiguous: folded.length > 1 };
}

const ROWID_ALIASES = new Set(["rowid", "oid", "_rowid_"]);

/** SQLite folds identifiers in ASCII only; `toLowerCase` would also fold letters SQLite keeps apart. */
export function foldIdentifier(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/** Double-quotes an identifier, doubling any quote inside it. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

interface TableListRow {
  schema: string;
  name: string;
  type: string;
  wr: number;
}

/** Unqualified names resolve to `temp` first, then `main`, then attached databases. */
const schemaRank = (schema: string) => (schema === "temp" ? 0 : schema === "main" ? 1 : 2);

/** The refusal of a key, naming the migration that asked when there is one. */
export function batchKeyFailure(table: unknown, key: unknown, origin: BatchOrigin) {
  return (problem: BatchKeyProblem, detail: string, columns: readonly string[] = []): never => {
    throw batchKeyError({ table: String(table), key: String(key), problem, detail, columns, version: origin.version, file: origin.file });
  };
}

/**
 * Finds `key` in `table`, as SQLite does.
 *
 * @throws `BATCH_KEY_INVALID` when the table does not exist, has no such column, or is asked for a rowid it
 *   does not have.
 */
export function* resolveSqliteBatchKey(table: unknown, key: unknown, origin: BatchOrigin): BatchWalk<ResolvedBatchKey> {
  const fail = batchKeyFailure(table, key, origin);
  if (typeof table !== "string" || table === "") return fail("no-such-table", "the table name must be a non-empty string");
  if (typeof key !== "string" || key === "") return fail("invalid-key", "the key must be a non-empty column name");

  const found = ((yield { kind: "rows", sql: "SELECT schema, name, type, wr FROM pragma_table_list(?)", params: [table] }) as unknown as TableListRow[])
    .filter((row) => row.type !== "shadow")
    .sort((a, b) => schemaRank(a.schema) - schemaRank(b.schema))[0];
  if (!found) return fail("no-such-table", "there is no such table or view");

  const columns = ((yield { kind: "rows", sql: "SELECT name, hidden FROM pragma_table_xinfo(?, ?)", params: [found.name, found.schema] }) as unknown as Array<{ name: string; hidden: number }>)
    // hidden = 1 marks a virtual table's hidden columns, which `*` leaves out.
    .filter((column) => Number(column.hidden) !== 1)
    .map((column) => column.name);
  const wanted = foldIdentifier(key);
  // A real column shadows the rowid alias of the same name, as in SQLite.
  const column = columns.find((name) => foldIdentifier(name) === wanted);
  if (column !== undefined) return { sql: quoteIdentifier(column), isRowid: false, columns };
  if (ROWID_ALIASES.has(wanted)) {
    if (found.type === "view") return fail("no-rowid", `"${found.name}" is a view, and views have no rowid; walk it by one of its columns`, columns);
    if (Number(found.wr) === 1) return fail("no-rowid", `"${found.name}" is a WITHOUT ROWID table, so it has no rowid; walk it by its primary key`, columns);
    return { sql: wanted, isRowid: true, columns };
  }
  return fail("no-such-column", `"${found.name}" has no column "${key}" (compared case-insensitively, as SQLite does)`, columns);
}

/** SQLite's reading of a walk: names resolved as SQLite resolves them, the bound's type from `typeof`. */
export const SQLITE_BATCH_DIALECT: BatchDialect = {
  resolveKey: resolveSqliteBatchKey,
  boundSql: (table, key, where) => `SELECT max(${key}) AS bound, CAST(max(${key}) AS TEXT) AS text, typeof(max(${key})) = 'integer' AS integer FROM ${table} WHERE ${where}`,
};
