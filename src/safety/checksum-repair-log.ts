/** The tables stepwise keeps next to the history: the record of `repair --checksums` (`<history>_checksum_repairs`, created by the first repair), and verify's cache. */
import type { HistoryStore } from "../core/history.js";
import { exec, query, run, type Step } from "../core/step.js";
import { ADOPTED_SUFFIX } from "../core/error-factories.js";

const SUFFIX = "checksum_repairs";

/** One realigned checksum, as recorded. Plain data. */
export interface ChecksumRepairEvent {
  readonly version: number;
  readonly name: string;
  readonly oldChecksum: string;
  readonly newChecksum: string;
  /** ISO 8601 UTC. */
  readonly repairedAt: string;
  /** Who ran it: the `--by` name, `STEPWISE_REPAIRED_BY`, or the OS user (see `repairChecksums`). */
  readonly repairedBy: string;
}

/** Creates the table when missing. Call inside the write transaction that records into it. */
export function* ensureChecksumRepairLog(store: HistoryStore): Step<void> {
  // BIGINT: a version as wide as the history's on PostgreSQL; SQLite reads it as INTEGER.
  yield* exec(`CREATE TABLE IF NOT EXISTS ${store.companionTable(SUFFIX)} (
    version BIGINT NOT NULL,
    name ${store.textType} NOT NULL,
    old_checksum ${store.textType} NOT NULL,
    new_checksum ${store.textType} NOT NULL,
    repaired_at ${store.textType} NOT NULL,
    repaired_by ${store.textType} NOT NULL
  )`);
}

/** Appends one event; the table must exist ({@link ensureChecksumRepairLog}). */
export function* recordChecksumRepair(store: HistoryStore, event: ChecksumRepairEvent): Step<void> {
  const sql = `INSERT INTO ${store.companionTable(SUFFIX)} (version, name, old_checksum, new_checksum, repaired_at, repaired_by) VALUES (?, ?, ?, ?, ?, ?)`;
  yield* run(sql, [event.version, event.name, event.oldChecksum, event.newChecksum, event.repairedAt, event.repairedBy]);
}

/** Every event, oldest first; `[]` when nothing was ever repaired (the table does not exist). Does not write. */
export function* readChecksumRepairs(store: HistoryStore): Step<ChecksumRepairEvent[]> {
  if (!(yield* store.companionExists(SUFFIX))) return [];
  const rows = yield* query<{ version: number | string; name: string; old_checksum: string; new_checksum: string; repaired_at: string; repaired_by: string }>(
    `SELECT version, name, old_checksum, new_checksum, repaired_at, repaired_by FROM ${store.companionTable(SUFFIX)} ORDER BY repaired_at, version`,
  );
  return rows.map((row) => ({ version: Number(row.version), name: row.name, oldChecksum: row.old_checksum, newChecksum: row.new_checksum, repairedAt: row.repaired_at, repairedBy: row.repaired_by }));
}

/** The table verify's expected-schema cache lives in: `<history>_expected_schema`. */
export function expectedSchemaTableName(tableName: string): string {
  return `${tableName}_expected_schema`;
}

/** The tables stepwise itself keeps (`_adopted`: what `stepwise adopt` adopted from), which schema reads (verify, baseline, rehearsal, info) leave out. */
export function stepwiseTableNames(historyTableName: string): string[] {
  return [historyTableName, `${historyTableName}_${SUFFIX}`, expectedSchemaTableName(historyTableName), `${historyTableName}_${ADOPTED_SUFFIX}`];
}
