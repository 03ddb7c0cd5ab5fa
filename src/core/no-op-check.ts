/**
 * The usual start, proven in one statement: every migration of the registry is applied, unchanged,
 * and nothing is interrupted. A start with nothing to do used to read every history row into an
 * object, check each row, then walk the rows again against the registry: three loops over 1,000
 * rows, each compiled by the engine on a cold start, plus reading each version as a bigint on
 * node:sqlite. Here SQLite compares each row's checksum with the registry's and answers with one
 * value, and the only loop in JavaScript joins the registry's checksums.
 *
 * The answer is only ever "nothing pending, proven" or "not proven": anything else (a missing or odd
 * table, a pending migration, a changed checksum, an interrupted migration, a legacy checksum, a
 * checksum of another format, a failed read) falls back to the careful path, which reads the rows
 * and throws the very refusal it always threw. So no refusal changes, and a wrong "nothing pending"
 * would need SQLite to lie.
 */
import { query, type Step } from "./step.js";
import type { HistoryStore } from "./history.js";
import type { MigrationPlan } from "./planner.js";
import type { MigrationEntry } from "./types.js";

/** The length of a checksum `gen` writes (SHA-256, hexadecimal). */
const CHECKSUM_LENGTH = 64;

/**
 * One read that is 1 exactly when the history table is a table with the shape stepwise reads (the
 * six columns `readKeys` requires, `version` its INTEGER PRIMARY KEY: 7 marks), holds the versions
 * 1..n for the n bound, and every row is an applied migration whose checksum is the registry's for
 * its version. The registry's checksums come as one blob of fixed-width slices, so the comparison
 * does not depend on the order SQLite scans the rows in; a blob because substr() on text counts
 * characters from the start on every call (15-50 ms for 1,000 rows), and slices a blob by offset.
 * The blob's length in bytes must be the joined text's length in JavaScript (bound next): only then
 * is every character one byte, so each slice is exactly one checksum (a character past ASCII takes
 * two to four bytes, and shifts every slice after it). SQLite checks it natively; a regular
 * expression over the 64 KB text ran in V8's regexp interpreter on a cold start (0.3-0.4 ms).
 * COLLATE BINARY: a hand-made table may declare NOCASE on a column, and the careful path compares
 * exactly.
 */
function provenSql(quoted: string): string {
  return (
    `WITH r(s) AS (SELECT CAST(? AS BLOB)) SELECT (SELECT length(s) FROM r) = ? AND count(*) = ? AND coalesce(min(version), 1) = 1 AND coalesce(max(version), 0) = count(*) ` +
    `AND total(typeof(version) <> 'integer' OR typeof(checksum) <> 'text' OR state IS NOT 'applied' COLLATE BINARY ` +
    `OR checksum IS NOT CAST(substr((SELECT s FROM r), version * ${CHECKSUM_LENGTH} - ${CHECKSUM_LENGTH - 1}, ${CHECKSUM_LENGTH}) AS TEXT) COLLATE BINARY) = 0 ` +
    `AND (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE) = 1 ` +
    `AND (SELECT total((name IN ('version', 'name', 'checksum', 'applied_at', 'duration_ms', 'state')) + (name = 'version' AND pk = 1 AND upper(type) = 'INTEGER')) FROM pragma_table_info(?)) = 7 ` +
    `AS proven FROM ${quoted}`
  );
}

/**
 * The registry's checksums end to end, or `null` when one is not text of the length `gen` writes.
 * Whether each character is one byte is the proof's own first check (see {@link provenSql}).
 */
function joinChecksums(migrations: readonly MigrationEntry[]): string | null {
  let joined = "";
  for (let index = 0; index < migrations.length; index++) {
    const checksum = migrations[index]?.checksum;
    if (typeof checksum !== "string" || checksum.length !== CHECKSUM_LENGTH) return null;
    joined += checksum;
  }
  return joined;
}

/**
 * The plan of an `up` with nothing to do, when one read proves it; `null` when it does not, and the
 * caller must plan from the rows. SQLite's dialect offers it (`dialects/sqlite.ts`), for its own
 * history table; only when `to` is the latest version or absent.
 *
 * @param to `up`'s target, as the caller was given it.
 */
export function* planIfNothingPending<E extends MigrationEntry>(store: HistoryStore, migrations: readonly E[], to: number | undefined): Step<MigrationPlan<E> | null> {
  const latest = migrations.length;
  if (to !== undefined && to !== latest) return null;
  const joined = joinChecksums(migrations);
  if (joined === null) return null;
  let proven: unknown;
  try {
    const name = store.tableName;
    // The name is a plain identifier (HistoryStore refuses any other), so quoting needs no escaping.
    proven = (yield* query(provenSql(`"${name}"`), [joined, joined.length, latest, name, name]))[0]?.proven;
  } catch {
    // No table yet, or one this read cannot use: the careful path says which.
    return null;
  }
  if (proven !== 1) return null;
  return { direction: "up", fromVersion: latest, toVersion: latest, steps: [] };
}
