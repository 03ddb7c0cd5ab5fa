/**
 * How `forEachBatch` reads a PostgreSQL table: the table resolved through the session's
 * `search_path` (`to_regclass`), its columns from `pg_attribute`, and the bound's type from
 * `pg_typeof`. A key is matched exactly, else ASCII case-insensitively when that names one column
 * (so `id` finds a column created as `"ID"`, as on SQLite); PostgreSQL has no rowid, so `rowid` is
 * a column like any other name. A table is found as given, else as an unquoted name folds.
 */
import { batchKeyFailure, foldIdentifier, quoteIdentifier, type BatchOrigin, type ResolvedBatchKey } from "../batch-key.js";
import type { BatchDialect, BatchWalk } from "../batch-walk.js";

function* resolvePostgresBatchKey(table: unknown, key: unknown, origin: BatchOrigin | null): BatchWalk<ResolvedBatchKey> {
  const fail = batchKeyFailure(table, key, origin);
  if (typeof table !== "string" || table === "") return fail("no-such-table", "the table name must be a non-empty string");
  if (typeof key !== "string" || key === "") return fail("invalid-key", "the key must be a non-empty column name");
  // As given, else as PostgreSQL folds an unquoted name (ITEMS is items), as SQLite finds it whatever its case.
  const found = (
    (yield {
      kind: "rows",
      sql: "SELECT c.oid::text AS oid, c.oid::regclass::text AS name FROM pg_catalog.pg_class AS c WHERE c.oid = coalesce(pg_catalog.to_regclass(pg_catalog.quote_ident(?)), pg_catalog.to_regclass(pg_catalog.quote_ident(pg_catalog.lower(?))))",
      params: [table, table],
    }) as Array<{ oid: string; name: string }>
  )[0];
  if (!found) return fail("no-such-table", "there is no such table or view in the schemas of the search_path");
  const columns = (
    (yield {
      kind: "rows",
      sql: "SELECT attname::text AS name FROM pg_catalog.pg_attribute WHERE attrelid = ?::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
      params: [found.oid],
    }) as Array<{ name: string }>
  ).map((column) => column.name);
  const folded = columns.filter((name) => foldIdentifier(name) === foldIdentifier(key));
  const column = columns.find((name) => name === key) ?? (folded.length === 1 ? folded[0] : undefined);
  if (column === undefined) return fail("no-such-column", `"${table}" has no column "${key}"${folded.length > 1 ? " (several differ from it only in case: give the exact name)" : ""}`, columns);
  // regclass prints the name quoted and schema-qualified where the search_path needs it.
  return { sql: quoteIdentifier(column), isRowid: false, columns, tableSql: found.name };
}

/** PostgreSQL's reading of a walk. */
export const POSTGRES_BATCH_DIALECT: BatchDialect = {
  resolveKey: resolvePostgresBatchKey,
  boundSql: (table, key, where) =>
    `SELECT max(${key}) AS bound, max(${key})::text AS text, (pg_catalog.pg_typeof(max(${key}))::text IN ('smallint', 'integer', 'bigint'))::int AS integer FROM ${table} WHERE ${where}`,
};
