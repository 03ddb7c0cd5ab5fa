/** The tables stepwise keeps next to the history: the record of `repair --checksums` (`<history>_checksum_repairs`, created by the first repair), and verify's cache. */
import { ADOPTED_SUFFIX } from "../core/error-factories.js";

/** The suffix of the log of `repair --checksums`: `<history>_checksum_repairs`. */
export const CHECKSUM_REPAIRS_SUFFIX = "checksum_repairs";

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

/** The table verify's expected-schema cache lives in: `<history>_expected_schema`. */
export function expectedSchemaTableName(tableName: string): string {
  return `${tableName}_expected_schema`;
}

/** The tables stepwise itself keeps (`_adopted`: what `stepwise adopt` adopted from), which schema reads (verify, baseline, rehearsal, info) leave out. */
export function stepwiseTableNames(historyTableName: string): string[] {
  return [historyTableName, `${historyTableName}_${CHECKSUM_REPAIRS_SUFFIX}`, expectedSchemaTableName(historyTableName), `${historyTableName}_${ADOPTED_SUFFIX}`];
}
