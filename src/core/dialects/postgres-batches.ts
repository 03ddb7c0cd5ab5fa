/**
 * How `forEachBatch` reads a PostgreSQL table: the table resolved through the session's
 * `search_path` (`to_regclass`), its columns from `pg_attribute`, and the bound's type from
 * `pg_typeof`. A key is matched exactly, else ASCII case-insensitively when that names one column
 * (so `id` finds a column created as `"ID"`, as on SQLite); PostgreSQL has no rowid, so `rowid` is
 * a column like any other name. A table is found as given, else as an unquoted name folds, else, for
 * `schema.table` (one dot, no quotes), as that table of that schema, given or folded.
 */
import { batchKeyFailure, matchColumn, quoteIdentifier } from "../batch-key.js";
import type { BatchDialect, BatchOrigin, BatchWalk, ResolvedBatchKey } from "../batch-types.js";
import { tokenizePostgresSql } from "../../shared/postgres-tokens.js";
import { CONCAT, EQ, GT, TEXT } from "./postgres-operators.js";

/** Integer types: pg hands BIGINT back as text past 2^53 (the pg driver's parseInt8), compared as integers. */
const INTEGER_KEY_TYPES = new Set(["int2", "int4", "int8"]);

/**
 * Key types whose JavaScript value binds back as exactly the value read, so `key > $last` and
 * `key <= $bound` mean what they say. Any other type is refused: a timestamp comes back as a Date
 * rounded to milliseconds, so the rows in a bound's last microseconds would be skipped in silence.
 */
const EXACT_KEY_TYPES = new Set([...INTEGER_KEY_TYPES, "numeric", "text", "varchar", "bpchar", "name", "citext", "uuid", "bytea"]);

function* resolvePostgresBatchKey(table: unknown, key: unknown, origin: BatchOrigin): BatchWalk<ResolvedBatchKey> {
  const fail = batchKeyFailure(table, key, origin);
  if (typeof table !== "string" || table === "") return fail("no-such-table", "the table name must be a non-empty string");
  if (typeof key !== "string" || key === "") return fail("invalid-key", "the key must be a non-empty column name");
  // As given, else as PostgreSQL folds an unquoted name (ITEMS is items), as SQLite finds it whatever its
  // case; a table literally named "app.items" wins over app.items. The qualified name is built from
  // quoted parts, never parsed by to_regclass from the text given: a syntax error there would abort
  // the migration's transaction.
  const qualified = /^([^."]+)\.([^."]+)$/.exec(table);
  const [schema, name] = qualified ? [qualified[1], qualified[2]] : [null, null];
  const found = (
    (yield {
      kind: "rows",
      sql:
        `SELECT c.oid::${TEXT} AS oid, c.oid::pg_catalog.regclass::${TEXT} AS name FROM pg_catalog.pg_class AS c WHERE c.oid ${EQ} coalesce(` +
        "pg_catalog.to_regclass(pg_catalog.quote_ident(?)), pg_catalog.to_regclass(pg_catalog.quote_ident(pg_catalog.lower(?))), " +
        `pg_catalog.to_regclass(pg_catalog.quote_ident(?::${TEXT}) ${CONCAT} '.' ${CONCAT} pg_catalog.quote_ident(?::${TEXT})), ` +
        `pg_catalog.to_regclass(pg_catalog.quote_ident(pg_catalog.lower(?::${TEXT})) ${CONCAT} '.' ${CONCAT} pg_catalog.quote_ident(pg_catalog.lower(?::${TEXT}))))`,
      params: [table, table, schema, name, schema, name],
    }) as Array<{ oid: string; name: string }>
  )[0];
  if (!found) return fail("no-such-table", "there is no such table or view in the schemas of the search_path");
  const described = (yield {
    kind: "rows",
    // A domain is judged by the type it is over: its values come back as that type's do.
    sql:
      `SELECT a.attname::${TEXT} AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, b.typname::${TEXT} AS base ` +
      `FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_type AS t ON t.oid ${EQ} a.atttypid ` +
      `JOIN pg_catalog.pg_type AS b ON b.oid ${EQ} CASE WHEN t.typtype ${EQ} 'd' THEN t.typbasetype ELSE t.oid END ` +
      `WHERE a.attrelid ${EQ} ?::pg_catalog.oid AND a.attnum ${GT} 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    params: [found.oid],
  }) as Array<{ name: string; type: string; base: string }>;
  const columns = described.map((column) => column.name);
  const { column, ambiguous } = matchColumn(columns, key);
  if (column === undefined) return fail("no-such-column", `"${table}" has no column "${key}"${ambiguous ? " (several differ from it only in case: give the exact name)" : ""}`, columns);
  const base = described.find((candidate) => candidate.name === column)!.base;
  if (!EXACT_KEY_TYPES.has(base)) {
    const type = described.find((candidate) => candidate.name === column)!.type;
    return fail(
      "invalid-key",
      `the key "${column}" is of type ${type}, which JavaScript does not read back exactly (a timestamp is rounded to milliseconds), so rows could be skipped; walk by an integer, numeric, text, uuid or bytea column`,
      columns,
    );
  }
  // regclass prints the name quoted and schema-qualified where the search_path needs it.
  return {
    sql: quoteIdentifier(column),
    isRowid: false,
    columns,
    tableSql: found.name,
    matchColumns: true,
    integerKey: INTEGER_KEY_TYPES.has(base),
    // A built-in key type compares by pg_catalog's operators, which are its own (varchar's are text's);
    // citext's are its extension's, wherever the app installed it, so they resolve as the app's SQL does.
    ...(base === "citext" ? {} : { sqlOf: QUALIFIED_SQL }),
  };
}

/** The walk's count and comparisons for a built-in key type: pg_catalog's, whatever the search_path holds. */
const QUALIFIED_SQL = { count: "pg_catalog.count(*)", countGt: GT, eq: EQ, gt: GT, le: "OPERATOR(pg_catalog.<=)" } as const;

/** PostgreSQL's reading of a walk. */
export const POSTGRES_BATCH_DIALECT: BatchDialect = {
  resolveKey: resolvePostgresBatchKey,
  boundSql: (table, key, where) =>
    // max() stays unqualified: it is the key type's own aggregate (citext's lives in its extension's schema).
    `SELECT max(${key}) AS bound, max(${key})::${TEXT} AS text, (pg_catalog.pg_typeof(max(${key})) ${EQ} ANY ('{smallint,integer,bigint}'::pg_catalog.regtype[]))::int AS integer FROM ${table} WHERE ${where}`,
  // A `$1` outside strings, quoted names, comments and dollar quotes: the tokeniser makes it a word.
  hasNumberedPlaceholders: (where) => tokenizePostgresSql(where).some((token) => token.kind === "word" && /^\$\d+$/.test(token.text)),
};
