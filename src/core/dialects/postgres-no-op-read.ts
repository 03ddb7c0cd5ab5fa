/**
 * The one statement a start with nothing to do sends on PostgreSQL: the planner keys of the history
 * table, and the proof that the table has the shape the careful path accepts, in one round trip.
 *
 * A fresh session pays for every catalog object a statement touches the first time: the history
 * table itself, then each function, operator, cast and catalog table, each a cold lookup in the
 * server's caches. The hand-written loop an app would write touches only its table, so every extra
 * object shows up in the bench as time over it. Session 8's form (three `string_agg`s, `pg_typeof`
 * cast to `oid` for three columns) cost about 0.8 ms over the hand loop's two statements on a fresh
 * backend; this one about 0.4 (`bench/README.md`, session 9). Here:
 *
 * - The rows come back as they are stored, as the hand loop reads them: no aggregate, no cast, no
 *   function. The values are the very ones the careful path reads through the same driver, so a
 *   `char(n)` checksum or state arrives padded here as there, and a NULL arrives as `null`; no type
 *   needs proving for `checksum`. The careful read compares `state` with `'started'` in SQL, though,
 *   which fails for a `json`, `jsonb` or `xml` state (no `=`, or `'started'` no JSON) that pg hands
 *   back as the text `applied`: so `state` must be of a text type, whose `=` takes any literal.
 * - The version's type comes from the protocol, for free: the server describes every column of the
 *   result (RowDescription) before the rows, with its type and the table and column it comes from.
 *   It gives a domain's base type for a column, though, and the careful path refuses a domain key; so
 *   the statement adds `ARRAY[version]` behind `CASE WHEN false`: an array keeps the element's own
 *   type (a domain's array type is its own), the planner folds the `CASE` to a NULL, and each row
 *   carries four bytes for it. Its type is exactly `bigint[]` or `integer[]`, as the careful path's
 *   `format_type` check wants `bigint` or `integer`.
 * - The columns and the key are proved by the parser, at no cost when the statement runs: a
 *   `GROUP BY version` that selects `name`, `applied_at` and `duration_ms` is accepted only when every
 *   column exists (else 42703) and `version` alone is the table's non-deferrable primary key (else
 *   42803: PostgreSQL's functional-dependency rule reads the key from the table's constraints). It
 *   sits behind `true OR`, so the planner drops it unrun. A view, a materialized view or a foreign
 *   table has no primary key, so it fails there too.
 * - Every `FROM` names the table by the alias `h`, and the read's own columns are `h.`-qualified:
 *   PostgreSQL reads a name that is no column as the whole row of the `FROM` item so named, so a
 *   history table called `name` (or `applied_at`, or `duration_ms`) without that column would pass
 *   for one that has it.
 *
 * The column descriptions reach the dialect on the rows array itself, under
 * {@link POSTGRES_COLUMN_DESCRIPTIONS}, which the pg driver sets on every result; a driver that does
 * not set it never proves a no-op start, so its starts take the careful path.
 *
 * Any failure, or any value this parse does not expect, is `null`: the caller asks again the careful
 * way, which reads the catalog and throws the refusal it always threw. So no refusal changes, and a
 * table the careful path refuses (`HISTORY_TABLE_INVALID`) is never taken as nothing pending.
 */
import type { AppliedMigrationKey } from "../planner.js";

/**
 * What a PostgreSQL driver knows of one column of a result, as the server describes it
 * (RowDescription, named as the `pg` package names its fields).
 */
export interface PostgresColumnDescription {
  /** The column's type; a domain's base type, as the server sends it. */
  readonly dataTypeID: number;
  /** The table the column is read from, or 0 for a computed column. */
  readonly tableID: number;
  /** The column's number in that table, or 0. */
  readonly columnID: number;
}

/**
 * The key, on the rows array a PostgreSQL driver's `query` returns (not enumerable), of the result's
 * {@link PostgresColumnDescription}s. A symbol: never enumerated, never serialised, never a row.
 */
export const POSTGRES_COLUMN_DESCRIPTIONS: unique symbol = Symbol.for("stepwise.postgresColumnDescriptions");

/** The type id of the version's array for each key type the careful path accepts, by the version's own type id. */
const ARRAY_TYPE_OF: ReadonlyMap<number, number> = new Map([
  [20, 1016], // bigint, bigint[]
  [23, 1007], // integer, integer[]
]);

/**
 * The type ids of `state` (a domain's base type, as the server sends it) the careful read compares
 * with `'started'` without fail: text, varchar and char(n).
 */
const TEXT_TYPES: ReadonlySet<number> = new Set([25, 1043, 1042]);

/** One row of {@link postgresNoOpReadSql}, as the pg driver reads it. */
export interface PostgresNoOpReadRow {
  readonly version: unknown;
  readonly checksum: unknown;
  readonly state: unknown;
}

/**
 * The no-op read of the history table `quoted` (schema-qualified, quoted). Takes no parameters: a
 * statement without them goes as one simple-query message.
 */
export function postgresNoOpReadSql(quoted: string): string {
  return `SELECT h.version, h.checksum, h.state, CASE WHEN false THEN ARRAY[h.version] END AS version_array
 FROM ${quoted} AS h
 WHERE true OR EXISTS (SELECT name, applied_at, duration_ms FROM ${quoted} AS h GROUP BY version)`;
}

/** The column descriptions a driver put on `rows`, or `undefined`. */
export function columnDescriptionsOf(rows: readonly unknown[]): readonly PostgresColumnDescription[] | undefined {
  const columns = (rows as { [POSTGRES_COLUMN_DESCRIPTIONS]?: unknown })[POSTGRES_COLUMN_DESCRIPTIONS];
  return Array.isArray(columns) ? (columns as PostgresColumnDescription[]) : undefined;
}

/**
 * Whether the result's columns are `version`, `checksum` and `state` of one table, `version` of
 * type `bigint` or `integer` itself (no domain), `state` of a text type, and the fourth the version's array.
 */
function hasAcceptedShape(columns: readonly PostgresColumnDescription[] | undefined): boolean {
  if (columns === undefined || columns.length !== 4) return false;
  const [version, checksum, state, versionArray] = columns as [PostgresColumnDescription, PostgresColumnDescription, PostgresColumnDescription, PostgresColumnDescription];
  const table = version.tableID;
  if (typeof table !== "number" || table === 0 || checksum.tableID !== table || state.tableID !== table || !TEXT_TYPES.has(state.dataTypeID)) return false;
  return ARRAY_TYPE_OF.get(version.dataTypeID) === versionArray.dataTypeID;
}

/**
 * The planner keys of {@link postgresNoOpReadSql}'s rows, oldest first, when the columns have the
 * accepted shape, every row is an applied one and the versions are 1..n, each once; `null` for
 * anything else (an interrupted migration, a version out of that range, a value of another type),
 * which the careful path reads and reports.
 *
 * @param columns the result's column descriptions ({@link columnDescriptionsOf}).
 */
export function parsePostgresNoOpRead(rows: readonly PostgresNoOpReadRow[], columns: readonly PostgresColumnDescription[] | undefined): AppliedMigrationKey[] | null {
  if (!hasAcceptedShape(columns)) return null;
  const count = rows.length;
  // The rows come in the table's order, not the versions': each is placed at its version, and a
  // version outside 1..count, or seen twice, leaves the decision to the careful path.
  const keys: AppliedMigrationKey[] = new Array<AppliedMigrationKey>(count);
  for (let index = 0; index < count; index++) {
    const { version, checksum, state } = rows[index]!;
    if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1 || version > count || keys[version - 1] !== undefined) return null;
    if (typeof checksum !== "string" || state !== "applied") return null;
    keys[version - 1] = { version, checksum, startedAt: null };
  }
  return keys;
}
