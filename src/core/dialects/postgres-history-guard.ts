/**
 * Keeps migrations out of stepwise's history table on PostgreSQL (see `history-guard.ts` for
 * SQLite's). PostgreSQL has no temporary triggers, and a migration may run any SQL dynamically (a
 * `DO` block, a function), so every body is checked, by reading, in O(1) whatever the history's
 * length: the server counts, per table, the rows its session has inserted, updated and deleted since
 * it last reported its statistics (`pg_stat_get_xact_tuples_*`, which it never reports inside a
 * transaction), and names the table's storage (`pg_relation_filenode`: a TRUNCATE or a rewrite gives
 * it new storage) and its columns, by name. The table is found by its name (`to_regclass`), so a
 * drop, a rename or a replacement finds another table or none.
 *
 * Inside the migration's transaction: before the body that reading is kept in a transaction-local
 * setting ({@link HistoryGuard.writes}' `capture`); after it, and before each history write of
 * stepwise's, the `check` statement reads it again and fails, with the guard's mark in its message,
 * when it differs; after stepwise's own writes the reading is kept again, so the next body of a whole
 * run is held to it. These are statements of stepwise's own, next to its history writes.
 *
 * A `transaction: false` body runs statement by statement, between which the counters may be
 * reported and reset, so its check reads the table's rows, storage and columns before and after it:
 * O(rows), for the rare migration that cannot run in a transaction. What it changed stays; the error
 * says so.
 */
import { HISTORY_GUARD_MARK, type HistoryGuard } from "../history-guard.js";
import type { PostgresHistoryStore } from "./postgres-history.js";
import { CONCAT, NE, TEXT } from "./postgres-operators.js";
import { exec, queryValue } from "../step.js";
import { historyChangedByMigrationError } from "../error-factories.js";
import type { StepwiseError } from "../errors.js";

/** The transaction-local setting that keeps the reading. */
const SETTING = "stepwise.history_reading";

/** `text` as a literal that reads the same whatever `standard_conforming_strings` says. */
function literal(text: string): string {
  return `E'${text.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** The guard for `store`'s table. */
export function createPostgresHistoryGuard(store: PostgresHistoryStore): HistoryGuard {
  const table = `pg_catalog.to_regclass(${literal(store.quoted)})`;
  const plus = "OPERATOR(pg_catalog.+)";
  // NULL when no table has the name any more.
  const storageAndColumns = `pg_catalog.pg_relation_filenode(c.oid), (SELECT pg_catalog.string_agg(a.attname::${TEXT}, ',' ORDER BY a.attnum) FROM pg_catalog.pg_attribute AS a WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)`;
  const ofTable = `FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) ${table})`;
  const reading =
    `(SELECT pg_catalog.concat_ws(',', pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) ${plus} pg_catalog.pg_stat_get_xact_tuples_updated(c.oid) ${plus} pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid), ` +
    `${storageAndColumns}) ${ofTable}`;
  // Outside a transaction the counters are the session's pending statistics, which the server may
  // report (and reset) at any moment of a long body: a CREATE INDEX CONCURRENTLY read 1 insert (stepwise's
  // own started row) before and 0 after. The rows themselves are compared there instead.
  const shape = `(SELECT pg_catalog.concat_ws(',', ${storageAndColumns}) ${ofTable}`;
  const capture = `SELECT pg_catalog.set_config('${SETTING}', COALESCE(${reading}, 'gone'), true)`;
  // A cast that cannot succeed is how plain SQL fails with a message of its own (no PL/pgSQL needed);
  // of a value read at run time, since the planner folds a constant's cast, and fails, whatever the CASE says.
  const check = `SELECT CASE WHEN COALESCE(pg_catalog.current_setting('${SETTING}', true), '') ${NE} COALESCE(${reading}, 'gone') THEN CAST(${literal(`${HISTORY_GUARD_MARK}: `)} ${CONCAT} COALESCE(${reading}, 'gone') AS pg_catalog.int4) END`;
  // The whole table, for a body outside a transaction: its rows, in order, and its storage and columns.
  const whole =
    `SELECT pg_catalog.md5(COALESCE(pg_catalog.string_agg(h.version::${TEXT} ${CONCAT} ':' ${CONCAT} h.checksum ${CONCAT} ':' ${CONCAT} h.state, ',' ORDER BY h.version), '') ${CONCAT} ';' ${CONCAT} COALESCE(${shape}, 'gone')) ` +
    `FROM ${store.quoted} AS h`;
  let before: unknown = null;

  return {
    writes: { check, capture },
    *enter(_entry, _direction, inTransaction) {
      if (inTransaction) yield* exec(capture);
      else before = yield* queryValue(whole);
      return true;
    },
    *leave(entry, direction, inTransaction) {
      if (inTransaction) {
        yield* exec(check);
        return;
      }
      let after: unknown;
      try {
        after = yield* queryValue(whole);
      } catch (cause) {
        // The table is gone or renamed: the read names it.
        throw changed(entry.version, entry.file, direction, "the table dropped, renamed or altered", cause);
      }
      if (after !== before) throw changed(entry.version, entry.file, direction, "its rows, storage or columns changed");
    },
    *remove() {},
  };

  function changed(version: number, file: string, direction: "up" | "down", change: string, cause?: unknown): StepwiseError<"HISTORY_CHANGED_BY_MIGRATION"> {
    return historyChangedByMigrationError({ version, file, direction, table: store.tableName, change, rolledBack: false, historyChanged: true, ...(cause === undefined ? {} : { cause }) });
  }
}
