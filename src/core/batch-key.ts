/**
 * Resolves the key a `forEachBatch` walk pages by, the way SQLite resolves a column name: ASCII
 * case-insensitively, a real column before the rowid aliases, and no rowid on views or `WITHOUT
 * ROWID` tables. A key SQLite would not find is refused here, before the walk writes anything,
 * instead of reading `undefined` from every row and stopping after the first batch.
 */
import { BatchKeyError, type BatchKeyProblem } from "./errors.js";
import type { BatchDialect, BatchWalk } from "./batch-walk.js";

/** Which migration runs the walk, so its errors can name the file. */
export interface BatchOrigin {
  readonly version: number;
  readonly file: string;
}

/** A key SQLite will find, and how to read it. */
export interface ResolvedBatchKey {
  /** The key in SQL: the quoted column as declared, or the bare rowid alias. */
  readonly sql: string;
  /** True for a rowid alias: unique and never NULL by construction, so those checks are skipped. */
  readonly isRowid: boolean;
  /** The table's columns as declared, for error messages. */
  readonly columns: readonly string[];
  /**
   * The table as the walk's SQL names it, when the name given is not already that (PostgreSQL, where
   * a quoted name is case-sensitive: `ITEMS` found as `items`); default the name given, quoted.
   */
  readonly tableSql?: string;
  /**
   * PostgreSQL: `columns` are matched as the key is (exactly, else ASCII case-insensitively when that
   * names one), since a quoted name is case-sensitive there and a miss would be an untyped 42703.
   * SQLite resolves them itself, rowid aliases included, so it leaves this unset.
   */
  readonly matchColumns?: boolean;
  /**
   * The key is an integer column whose values a driver may hand back as text past 2^53 (pg's BIGINT),
   * so the walk compares them as integers, not by JavaScript type.
   */
  readonly integerKey?: boolean;
  /**
   * How the walk writes `count(*)`, `>` between counts, and the key's `=`, `>` and `<=`, where the
   * dialect names them otherwise: PostgreSQL's are `pg_catalog`'s for a built-in key type, so that
   * nothing on the search_path decides which rows a batch holds. Default SQLite's plain ones.
   */
  readonly sqlOf?: { readonly count: string; readonly countGt: string; readonly eq: string; readonly gt: string; readonly le: string };
}

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
export function batchKeyFailure(table: unknown, key: unknown, origin: BatchOrigin | null) {
  return (problem: BatchKeyProblem, detail: string, columns: readonly string[] = []): never => {
    throw new BatchKeyError({ table: String(table), key: String(key), problem, detail, columns, version: origin?.version ?? null, file: origin?.file ?? null });
  };
}

/**
 * Finds `key` in `table`, as SQLite does.
 *
 * @throws BatchKeyError when the table does not exist, has no such column, or is asked for a rowid it
 *   does not have.
 */
export function* resolveSqliteBatchKey(table: unknown, key: unknown, origin: BatchOrigin | null): BatchWalk<ResolvedBatchKey> {
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
