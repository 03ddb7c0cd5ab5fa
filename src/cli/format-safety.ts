/**
 * Human-readable rendering of the safety-net reports: rehearsal, verification, baseline, restore.
 */
import type { BackupRecord } from "../core/backup-record.js";
import type { RestoreResult } from "../safety/restore.js";
import type { BaselineResult } from "../safety/baseline.js";
import { formatMigrationLabel } from "../core/migration-label.js";
import type { Rehearsal } from "../safety/rehearsal.js";
import { describeSchemaDifference } from "../safety/schema-snapshot.js";
import type { SchemaVerification } from "../safety/verify.js";
import type { Palette } from "./format.js";
import { formatDuration } from "./duration.js";

/**
 * `up --dry-run`: per-migration outcome and duration, schema changes, row counts, failure. `where`
 * says how it ran: on an in-memory copy (sync SQLite, the default) or on the live database inside a
 * transaction rolled back at the end (pg, an async manager).
 */
export function formatRehearsal(rehearsal: Rehearsal, palette: Palette, where: "copy" | "rolled-back" = "copy"): string {
  if (rehearsal.steps.length === 0) return palette.green(`Dry run: nothing to apply; the database is at version ${rehearsal.fromVersion}.`);
  const how = where === "copy" ? "on an in-memory copy (the database file was not touched)" : "inside a transaction rolled back at the end (nothing was kept)";
  const lines = [palette.bold(`Dry run ${how}: version ${rehearsal.fromVersion} → ${rehearsal.targetVersion}`), ""];
  for (const step of rehearsal.steps) {
    const label = formatMigrationLabel(step.version, step.name);
    if (step.status === "applied") lines.push(`  ${palette.green("✓")} ${label} ${palette.dim(formatDuration(step.durationMs!))}`);
    else if (step.status === "failed") lines.push(`  ${palette.red("✗")} ${label} ${palette.red("failed")}`);
    else lines.push(`  ${palette.dim(`- ${label} (not reached)`)}`);
  }
  lines.push("", palette.bold("Schema changes"));
  if (rehearsal.schemaChanges.length === 0) lines.push(palette.dim("  none"));
  for (const change of rehearsal.schemaChanges) {
    const mark = change.change === "added" ? palette.green("+") : change.change === "removed" ? palette.red("-") : palette.yellow("~");
    lines.push(`  ${mark} ${describeSchemaDifference(change, "change")}`);
  }
  const changedCounts = rehearsal.rowCounts.filter((row) => row.before !== row.after);
  lines.push("", palette.bold("Row counts"));
  if (changedCounts.length === 0) lines.push(palette.dim("  unchanged"));
  for (const row of changedCounts) {
    const delta = row.before !== null && row.after !== null ? ` (${row.after - row.before >= 0 ? "+" : ""}${row.after - row.before})` : "";
    lines.push(`  ${row.table}: ${row.before ?? "(no table)"} → ${row.after ?? "(dropped)"}${delta}`);
  }
  lines.push("");
  if (rehearsal.failure) {
    lines.push(palette.red(`The real run would fail${rehearsal.failure.code ? ` [${rehearsal.failure.code}]` : ""}:`), rehearsal.failure.message);
  } else {
    lines.push(palette.green(`The real run would apply ${rehearsal.steps.length} migration${rehearsal.steps.length === 1 ? "" : "s"} and reach version ${rehearsal.reachedVersion}.`));
  }
  return lines.join("\n");
}

/** `verify`: a pass line, or one line per drift. */
export function formatVerification(verification: SchemaVerification, palette: Palette): string {
  if (verification.ok) return palette.green(`Schema verification passed: the schema is what migrations 1..${verification.version} build.`);
  return [palette.red(`Schema drift: the schema differs from what migrations 1..${verification.version} build:`), ...verification.drift.map((line) => `  - ${line}`)].join("\n");
}

/** `baseline`: what was recorded, and the differences when forced. */
export function formatBaseline(result: BaselineResult, palette: Palette): string {
  const recorded = `Recorded migrations 1..${result.version} as applied without running them; "up" continues from ${result.version + 1}.`;
  if (!result.forced) return palette.green(`The schema matches migrations 1..${result.version}. ${recorded}`);
  return [palette.yellow(`Forced: the schema does NOT match migrations 1..${result.version}, and they were recorded anyway (--force):`), ...result.drift.map((line) => `  - ${line}`), recorded].join(
    "\n",
  );
}

/** `restore`: where the database came from and where the replaced one went. */
export function formatRestore(result: RestoreResult, palette: Palette): string {
  const lines = [palette.green(`Restored ${result.restoredFrom} to ${result.databasePath}: the database is at version ${result.version}.`)];
  if (result.previous) lines.push(`The database it replaced was saved as ${result.previous.path}.`);
  if (result.setAside) lines.push(`The file it replaced was not a readable database; its bytes were kept as ${result.setAside}.`);
  if (result.foreignReasons.length > 0) {
    lines.push(
      palette.yellow(
        `Forced: the backup's history does not match this app's migrations (${result.foreignReasons.length} difference${result.foreignReasons.length === 1 ? "" : "s"}, see --json); "up" may refuse it.`,
      ),
    );
  }
  return lines.join("\n");
}

/** The line printed after `up --backup` wrote a snapshot. */
export function formatBackupTaken(backup: BackupRecord, palette: Palette): string {
  const how = ` (${backup.method === "online-backup" ? "online backup" : "VACUUM INTO"})`;
  return palette.dim(`  backup of version ${backup.version}${how}: ${backup.path}${backup.pruned.length > 0 ? ` (removed ${backup.pruned.length} older)` : ""}`);
}
