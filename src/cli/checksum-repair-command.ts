/**
 * `repair --checksums [version] [--yes] [--by <name>]` and the repair events `history` shows. Only
 * parses, calls `src/safety/checksum-repair.ts` and prints.
 *
 * Without `--yes` it prints what would change and exits 1 when something would, so a script that
 * forgot `--yes` does not read "done"; with nothing to realign it exits 0 and says so, with or
 * without `--yes` (running it twice is safe).
 */
import os from "node:os";
import type { MigrationRegistry } from "../core/types.js";
import type { ChecksumRepairEvent } from "../core/checksum-repair-log.js";
import type { AppliedMigration } from "../core/planner.js";
import { SyncMigrationManager } from "../core/manager.js";
import { describeChecksumRepair, listChecksumRepairs, repairChecksums, type ChecksumRepairResult } from "../safety/checksum-repair.js";
import type { SafetyNetManager } from "../safety/schema-reader.js";
import type { CliManager } from "./open-database.js";
import { formatMigrationLabel } from "../core/migration-label.js";

/** The environment variable that names who repairs, when `--by` is not given (a CI job's name, say). */
export const REPAIRED_BY_ENV = "STEPWISE_REPAIRED_BY";

/** Who a repair is recorded as: `--by`, then {@link REPAIRED_BY_ENV}, then the OS user. */
export function resolveRepairedBy(by: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const given = by?.trim() || env[REPAIRED_BY_ENV]?.trim();
  if (given) return given;
  try {
    return os.userInfo().username;
  } catch {
    // A container user with no passwd entry has no name to read.
    return env.USER?.trim() || env.USERNAME?.trim() || "unknown";
  }
}

/** Runs the repair (or its report) on the manager the CLI opened. */
export async function repairChecksumsWith<R extends MigrationRegistry>(
  manager: CliManager<R>,
  options: { apply: boolean; version: number | undefined; repairedBy: string },
): Promise<ChecksumRepairResult> {
  const repairOptions = { apply: options.apply, repairedBy: options.repairedBy, ...(options.version === undefined ? {} : { version: options.version }) };
  if (manager instanceof SyncMigrationManager) return repairChecksums(manager as SyncMigrationManager<unknown>, repairOptions);
  return repairChecksums(manager as unknown as SafetyNetManager<MigrationRegistry, true>, repairOptions);
}

/** The exit code for a result: 1 for a report that found something to change, else 0. */
export function exitCodeOfChecksumRepair(result: ChecksumRepairResult): number {
  return !result.applied && result.realignments.length > 0 ? 1 : 0;
}

/** The text for a result. */
export function formatChecksumRepair(result: ChecksumRepairResult): string {
  return describeChecksumRepair(result);
}

/** The recorded repair events of the manager's database. */
export async function checksumRepairsWith<R extends MigrationRegistry>(manager: CliManager<R>): Promise<ChecksumRepairEvent[]> {
  if (manager instanceof SyncMigrationManager) return listChecksumRepairs(manager as SyncMigrationManager<unknown>);
  return listChecksumRepairs(manager as unknown as SafetyNetManager<MigrationRegistry, true>);
}

/**
 * `history --json`'s rows: each row of a version that was realigned carries its events as
 * `checksumRepairs`; rows that never were are exactly as before.
 */
export function attachChecksumRepairs(rows: readonly AppliedMigration[], events: readonly ChecksumRepairEvent[]): Array<AppliedMigration & { checksumRepairs?: ChecksumRepairEvent[] }> {
  return rows.map((row) => {
    const own = events.filter((event) => event.version === row.version);
    return own.length === 0 ? row : { ...row, checksumRepairs: own };
  });
}

/** The lines `history` prints under its table, one per event; empty when there were none. */
export function formatChecksumRepairEvents(events: readonly ChecksumRepairEvent[]): string {
  if (events.length === 0) return "";
  return [
    "",
    "Checksum repairs (repair --checksums):",
    ...events.map(
      (event) => `  ${event.repairedAt}  ${formatMigrationLabel(event.version, event.name)}  by ${event.repairedBy}: ${event.oldChecksum.slice(0, 12)} -> ${event.newChecksum.slice(0, 12)}`,
    ),
  ].join("\n");
}
