/** `stepwise repair --checksums`: after a deliberate edit, realigns the recorded checksums with the registry's and logs each realignment next to the history. */
import { CHECKSUM_REPAIRS_SUFFIX, type ChecksumRepairEvent } from "./checksum-repair-log.js";
import { databaseAheadError, incompleteMigrationError, invalidTargetError, usageError } from "../core/error-factories.js";
import type { SyncMigrationManager } from "../core/manager.js";
import { formatMigrationLabel } from "../core/migration-label.js";
import { matchesRecordedChecksum, matchesRecordedName, type AppliedMigration } from "../core/planner.js";
import { exec, query, run, type Step } from "../core/step.js";
import type { HistoryStore } from "../core/history.js";
import type { MigrationRegistry } from "../core/types.js";
import { inWriteTransaction, runSafetyNet, type SafetyNetManager, booleanOption, requireManager } from "./schema-reader.js";
import { optionsObject } from "../core/options.js";
import { describeOption } from "../core/error-factories.js";

/** Options for {@link repairChecksums}. */
export interface ChecksumRepairOptions {
  /** Rewrite the checksums. Default `false`: only report what would change. */
  readonly apply?: boolean;
  /** Realign this version only. Default: every applied migration whose checksum differs. */
  readonly version?: number;
  /** Who is recorded as having repaired. Default `"unknown"`. */
  readonly repairedBy?: string;
}

/** One applied migration whose recorded checksum is (or would be) replaced by the registry's. */
export interface ChecksumRealignment {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  readonly oldChecksum: string;
  readonly newChecksum: string;
  /** `edited`: the file changed after it ran. `legacy-format`: the row holds an earlier release's checksum of the same source. */
  readonly reason: "edited" | "legacy-format";
}

/** What {@link repairChecksums} found and did: plain data, for logs and `--json`. */
export interface ChecksumRepairResult {
  /** True when the checksums were rewritten. */
  readonly applied: boolean;
  /** The realignments, by version. */
  readonly realignments: readonly ChecksumRealignment[];
  /** Interrupted (`started`) versions, left alone. */
  readonly interrupted: readonly number[];
  /** When they were rewritten (ISO 8601 UTC); `null` when nothing was. */
  readonly repairedAt: string | null;
  /** Who they were recorded as rewritten by; `null` when nothing was. */
  readonly repairedBy: string | null;
}

/**
 * Realigns the recorded checksums of applied migrations with the registry, or (without `apply`) reports what that would change. Rows of interrupted migrations are left alone and listed.
 *
 * @example
 * repairChecksums(manager, { apply: true, repairedBy: "alice" });
 * @throws `USAGE` for an `apply` that is no boolean, a `version` that is no number or a `repairedBy` that is no string; `DATABASE_AHEAD` when the history holds versions this registry lacks; `INVALID_TARGET` for a `version` the registry lacks or the history does not hold; `INCOMPLETE_MIGRATION` for a
 *   `version` whose attempt was interrupted. Nothing is changed.
 */
export function repairChecksums(manager: SyncMigrationManager<unknown>, options?: ChecksumRepairOptions): ChecksumRepairResult;
/** Handed a manager whose methods return promises, a promise of the same result; on PostgreSQL `apply` holds the run lock. */
export function repairChecksums(manager: SafetyNetManager<MigrationRegistry, true>, options?: ChecksumRepairOptions): Promise<ChecksumRepairResult>;
export function repairChecksums(manager: SafetyNetManager, options: ChecksumRepairOptions = {}): ChecksumRepairResult | Promise<ChecksumRepairResult> {
  requireManager(manager, "repairChecksums");
  // Checked in the step, so an async manager's refusal is a rejection like its others.
  if (!options?.apply) return runSafetyNet(manager, () => realign(manager, options));
  return runSafetyNet(manager, () => inWriteTransaction(() => realign(manager, options)), "repairChecksums");
}

function* realign(manager: SafetyNetManager, options: ChecksumRepairOptions): Step<ChecksumRepairResult> {
  optionsObject(options, "repairChecksums", ["apply", "version", "repairedBy"]);
  const { version, repairedBy: by, apply } = options;
  booleanOption(apply, "apply", "repairChecksums");
  if (version !== undefined && typeof version !== "number") throw usageError(`repairChecksums' version must be a number; got ${describeOption(version)}. Nothing was changed.`);
  if (by !== undefined && typeof by !== "string") throw usageError(`repairChecksums' repairedBy must be a name; got ${describeOption(by)}. Nothing was changed.`);
  const store = manager.executor.store;
  const plan = planRealignment(manager.migrations, yield* store.readAll(), version);
  if (!apply || plan.realignments.length === 0) return { ...plan, applied: false, repairedAt: null, repairedBy: null };
  const repairedAt = new Date().toISOString();
  const repairedBy = by?.trim() || "unknown";
  const log = store.companionTable(CHECKSUM_REPAIRS_SUFFIX);
  // BIGINT: a version as wide as the history's on PostgreSQL; SQLite reads it as INTEGER.
  yield* exec(`CREATE TABLE IF NOT EXISTS ${log} (
    version BIGINT NOT NULL,
    name ${store.textType} NOT NULL,
    old_checksum ${store.textType} NOT NULL,
    new_checksum ${store.textType} NOT NULL,
    repaired_at ${store.textType} NOT NULL,
    repaired_by ${store.textType} NOT NULL
  )`);
  for (const { version, name, oldChecksum, newChecksum } of plan.realignments) {
    // Only while the row still holds the checksum read.
    const sql = `UPDATE ${store.quoted} SET checksum = ? WHERE version ${store.eq} ? AND checksum ${store.eq} ? AND state ${store.eq} 'applied'`;
    if ((yield* run(sql, [newChecksum, version, oldChecksum])).changes !== 1) throw new Error(`stepwise bug: the history row of migration ${version} changed inside the repair's transaction`);
    const insert = `INSERT INTO ${log} (version, name, old_checksum, new_checksum, repaired_at, repaired_by) VALUES (?, ?, ?, ?, ?, ?)`;
    yield* run(insert, [version, name, oldChecksum, newChecksum, repairedAt, repairedBy]);
  }
  return { ...plan, applied: true, repairedAt, repairedBy };
}

/**
 * Every recorded checksum repair, oldest first (`[]` when none was ever made). Never writes.
 *
 * @example
 * for (const event of listChecksumRepairs(manager)) console.log(event.version, event.repairedBy);
 */
export function listChecksumRepairs(manager: SyncMigrationManager<unknown>): ChecksumRepairEvent[];
/** Handed a manager whose methods return promises, the events as a promise. */
export function listChecksumRepairs(manager: SafetyNetManager<MigrationRegistry, true>): Promise<ChecksumRepairEvent[]>;
export function listChecksumRepairs(manager: SafetyNetManager): ChecksumRepairEvent[] | Promise<ChecksumRepairEvent[]> {
  requireManager(manager, "listChecksumRepairs");
  return manager.run(readChecksumRepairs(manager.executor.store));
}

/** Every event, oldest first; `[]` when nothing was ever repaired (the table does not exist). */
function* readChecksumRepairs(store: HistoryStore): Step<ChecksumRepairEvent[]> {
  if (!(yield* store.companionExists(CHECKSUM_REPAIRS_SUFFIX))) return [];
  const rows = yield* query<{ version: number | string; name: string; old_checksum: string; new_checksum: string; repaired_at: string; repaired_by: string }>(
    `SELECT version, name, old_checksum, new_checksum, repaired_at, repaired_by FROM ${store.companionTable(CHECKSUM_REPAIRS_SUFFIX)} ORDER BY repaired_at, version`,
  );
  return rows.map((row) => ({ version: Number(row.version), name: row.name, oldChecksum: row.old_checksum, newChecksum: row.new_checksum, repairedAt: row.repaired_at, repairedBy: row.repaired_by }));
}

/** Which rows differ from the registry. */
function planRealignment(registry: MigrationRegistry, rows: readonly AppliedMigration[], version: number | undefined): Pick<ChecksumRepairResult, "realignments" | "interrupted"> {
  const unknown = rows.filter((row) => row.version > registry.length).map((row) => row.version);
  if (unknown.length > 0) throw databaseAheadError(unknown, registry.length);
  if (version !== undefined) {
    if (!Number.isSafeInteger(version) || version < 1 || version > registry.length) {
      throw invalidTargetError(version, `There is no migration ${version} to repair; the versions go from 1 to ${registry.length}. Nothing was changed.`);
    }
    const row = rows.find((candidate) => candidate.version === version);
    if (!row) throw invalidTargetError(version, `Migration ${version} is not applied to this database, so it has no recorded checksum to repair; "up" records it when it runs. Nothing was changed.`);
    if (row.state === "started") throw incompleteMigrationError({ version, file: registry[version - 1]!.file, startedAt: row.appliedAt });
  }
  const chosen = rows.filter((row) => version === undefined || row.version === version);
  const realignments = chosen.flatMap(({ version, name, checksum, state }): ChecksumRealignment[] => {
    const entry = registry[version - 1]!;
    if (state === "started") return [];
    // Another migration under the same number (a branch's), not an edit.
    if (!matchesRecordedName(entry, name, checksum)) {
      const message = `Migration ${version} was applied as "${name}", but the registry's migration ${version} is "${entry.name}" (${entry.file}): a different migration, not an edit of it, so its checksum is not realigned. Revert it with the code that applied it (the branch it came from), or, if it is the same migration renamed, give the file its old name back. Nothing was changed.`;
      throw invalidTargetError(version, message);
    }
    // A squash's row from before it, holding the checksum of the migration it replaced: as a database at the squash should be.
    if (checksum === entry.checksum || name !== entry.name) return [];
    return [{ version, name, file: entry.file, oldChecksum: checksum, newChecksum: entry.checksum, reason: matchesRecordedChecksum(entry, checksum) ? "legacy-format" : "edited" }];
  });
  const interrupted = chosen.filter((row) => row.state === "started").map((row) => row.version);
  return { realignments, interrupted };
}

/** The lines a CLI or logger prints for a checksum repair or its report. */
export function describeChecksumRepair({ applied, realignments, interrupted, repairedAt, repairedBy }: ChecksumRepairResult): string {
  const lines = [
    realignments.length === 0
      ? "Every applied migration's recorded checksum already matches the registry; nothing to repair."
      : applied
        ? `Realigned ${realignments.length} checksum(s) with the registry (recorded as by ${repairedBy}, ${repairedAt}):`
        : "Would realign these recorded checksums with the registry:",
  ];
  for (const { version, name, file, reason, oldChecksum, newChecksum } of realignments) {
    const why = reason === "legacy-format" ? ", unchanged: recorded by an earlier release's checksum format" : "";
    lines.push(`  ${formatMigrationLabel(version, name)} (${file}${why})`, `    old: ${oldChecksum}`, `    new: ${newChecksum}`);
  }
  if (realignments.length > 0 && !applied) {
    lines.push(
      "Nothing was changed. Do this only if each file was edited on purpose and the database already has what it now says;",
      'otherwise restore the file to what was applied. Run again with --yes to rewrite them ("history" will show it).',
    );
  }
  if (interrupted.length > 0) lines.push(`Left alone: ${interrupted.join(", ")} (interrupted; resolve with "stepwise repair --applied <version> --yes" or "--forget <version> --yes" first).`);
  return lines.join("\n");
}
