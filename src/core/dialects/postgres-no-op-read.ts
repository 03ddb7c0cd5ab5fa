/**
 * The one statement a start with nothing to do sends on PostgreSQL: the planner keys of the history
 * table, and the proof that the table has the shape the careful path accepts, in one round trip.
 *
 * A fresh session pays for every catalog object a statement touches the first time: the history
 * table itself, then each function, operator, sort order and catalog table, each a cold lookup in the
 * server's caches. The hand-written loop an app would write touches only its table, so every extra
 * object showed up in the bench as time over it: the previous form of this read (two sorted
 * `json_agg`s, then the shape proved by joins over `pg_attribute` and `pg_index`) cost 3.5 ms against
 * the hand loop's 1.3 ms on a fresh connection. Here:
 *
 * - The rows come back as one row of three unsorted `string_agg`s, one per column, fed the same
 *   rows in the same order by one aggregate node, so position `i` of each belongs to one row. A NULL
 *   checksum or state is read as `''` (`string_agg` would skip it, and a value holding the separator
 *   could then make up the count), which no registry checksum and no applied row equals; `version`,
 *   the key, is never NULL and its text never holds the separator, so its pieces count the rows, and
 *   equal piece counts prove no checksum or state held the separator. Sorting on the server, and
 *   `count`s, each cost more on a fresh session than placing each version in JavaScript.
 * - The columns and the key are proved by the parser, at no cost when the statement runs: a
 *   `GROUP BY version` that selects `name`, `applied_at` and `duration_ms` is accepted only when every
 *   column exists (else 42703) and `version` alone is the table's non-deferrable primary key (else
 *   42803: PostgreSQL's functional-dependency rule reads the key from the table's constraints, which
 *   opening the table has already read). It sits behind `true OR`, so the planner drops it unrun.
 *   A view, a materialized view or a foreign table has no primary key, so it fails there too.
 * - The key's type is `pg_typeof` of the column, through a subquery that reads no row: exactly
 *   `bigint` (20) or `integer` (23), as the careful path's `format_type` check; a domain has its own
 *   type id and goes to the careful path. `checksum` and `state` the same way, exactly `text` (25) or
 *   `varchar` (1043): `string_agg` takes text, and a `char(n)` value (or a domain over one) loses its
 *   padding on the way there, where the careful path reads it padded and refuses it.
 * - Every `FROM` names the table by the alias `h`: PostgreSQL reads a name that is no column as the
 *   whole row of the `FROM` item so named, so a history table called `name` (or `applied_at`, or
 *   `duration_ms`) without that column would pass for one that has it.
 *
 * Any failure, or any value this parse does not expect, is `null`: the caller asks again the careful
 * way, which reads the catalog and throws the refusal it always threw. So no refusal changes, and a
 * table the careful path refuses (`HISTORY_TABLE_INVALID`) is never taken as nothing pending.
 */
import type { AppliedMigrationKey } from "../planner.js";

/** The type ids `pg_typeof` gives for the version column the careful path accepts: bigint and integer. */
const VERSION_TYPE_IDS: readonly unknown[] = [20, 23];

/** The type ids of `checksum` and `state` whose text `string_agg` passes on unchanged: text and varchar. */
const TEXT_TYPE_IDS: readonly unknown[] = [25, 1043];

/** What separates the values of one `string_agg`: counted afterwards, so a value holding it is caught. */
const SEPARATOR = ",";

/** The statement's one row, as the pg driver reads it. */
export interface PostgresNoOpReadRow {
  readonly versions: unknown;
  readonly checksums: unknown;
  readonly states: unknown;
  readonly version_type: unknown;
  readonly checksum_type: unknown;
  readonly state_type: unknown;
}

/**
 * The no-op read of the history table `quoted` (schema-qualified, quoted). Takes no parameters: a
 * statement without them goes as one simple-query message.
 */
export function postgresNoOpReadSql(quoted: string): string {
  const typeOf = (column: string) => `CAST(pg_catalog.pg_typeof((SELECT ${column} FROM ${quoted} AS h LIMIT 0)) AS pg_catalog.oid) AS ${column}_type`;
  return `SELECT pg_catalog.string_agg(CAST(version AS pg_catalog.text), '${SEPARATOR}') AS versions, pg_catalog.string_agg(COALESCE(checksum, ''), '${SEPARATOR}') AS checksums,
  pg_catalog.string_agg(COALESCE(state, ''), '${SEPARATOR}') AS states, ${typeOf("version")}, ${typeOf("checksum")}, ${typeOf("state")}
 FROM ${quoted} AS h
 WHERE true OR EXISTS (SELECT name, applied_at, duration_ms FROM ${quoted} AS h GROUP BY version)`;
}

/** The values of one `string_agg`, or `null` when they are not `count` pieces of text. */
function splitExactly(joined: unknown, count: number): string[] | null {
  if (typeof joined !== "string") return null;
  const pieces = joined.split(SEPARATOR);
  return pieces.length === count ? pieces : null;
}

/**
 * The planner keys of {@link postgresNoOpReadSql}'s row, oldest first, when every row is an applied
 * one and the versions are 1..n, each once; `null` for anything else (an interrupted migration, a
 * version out of that range, a value of another type), which the careful path reads and reports.
 */
export function parsePostgresNoOpRead(row: PostgresNoOpReadRow | undefined): AppliedMigrationKey[] | null {
  if (row === undefined || !VERSION_TYPE_IDS.includes(row.version_type) || !TEXT_TYPE_IDS.includes(row.checksum_type) || !TEXT_TYPE_IDS.includes(row.state_type)) return null;
  // No rows: every aggregate is NULL.
  if (row.versions === null) return row.checksums === null && row.states === null ? [] : null;
  if (typeof row.versions !== "string") return null;
  const versions = row.versions.split(SEPARATOR);
  const count = versions.length;
  const checksums = splitExactly(row.checksums, count);
  const states = splitExactly(row.states, count);
  if (checksums === null || states === null) return null;
  // The rows come in the table's order, not the versions': each is placed at its version, and a
  // version outside 1..count, or seen twice, leaves the decision to the careful path.
  const keys: AppliedMigrationKey[] = new Array<AppliedMigrationKey>(count);
  for (let index = 0; index < count; index++) {
    const version = Number(versions[index]);
    const checksum = checksums[index]!;
    // An empty piece may have been a NULL, which the careful path reports as such.
    if (!Number.isSafeInteger(version) || version < 1 || version > count || keys[version - 1] !== undefined || states[index] !== "applied" || checksum === "") return null;
    keys[version - 1] = { version, checksum, startedAt: null };
  }
  return keys;
}
