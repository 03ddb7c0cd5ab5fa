/** The text the commands print: the library's plain data as people read it, coloured or not. */
import type { BackupRecord } from "../core/events.js";
import type { ChecksumRepairEvent } from "../safety/checksum-repair-log.js";
import { builtBy, migrationsUpTo } from "../safety/errors.js";
import { formatMigrationLabel, formatVersion } from "../core/migration-label.js";
import type { MigrationResult } from "../core/options.js";
import type { AppliedMigration, MigrationStatus } from "../core/planner.js";
import type { BaselineResult } from "../safety/baseline.js";
import type { Rehearsal } from "../safety/rehearsal.js";
import type { RestoreResult } from "../safety/restore.js";
import { describeSchemaDifference } from "../safety/schema-snapshot.js";
import type { SchemaVerification } from "../safety/verify.js";

/** Wraps text in ANSI styles, or not at all. */
export type Palette = Readonly<Record<"green" | "yellow" | "red" | "dim" | "bold", (text: string) => string>>;

/** Colour or plain text: NO_COLOR (any value) turns colour off, FORCE_COLOR turns it on (`0` or `false`, as Node reads them: off, even on a terminal), otherwise only a terminal gets it. */
export function createPalette(env: Readonly<Record<string, string | undefined>>, isTTY: boolean): Palette {
  const forced = env.FORCE_COLOR === undefined ? isTTY : !["0", "false"].includes(env.FORCE_COLOR.trim().toLowerCase());
  const enabled = (env.NO_COLOR === undefined || env.NO_COLOR === "") && forced;
  const wrap = (open: number, close: number) => (text: string) => (enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { green: wrap(32, 39), yellow: wrap(33, 39), red: wrap(31, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

/** `0 ms`, `12 ms`, `1.3 s`, `42 s`, `2 min 05 s`: the fractions `performance.now()` measures are noise in a log line. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "? ms";
  const rounded = Math.round(ms);
  if (rounded < 1000) return `${rounded} ms`;
  // 1.0 s up to 9.9 s keep a decimal; from 10 s the tenths no longer help.
  return rounded < 9950 ? `${(rounded / 1000).toFixed(1)} s` : formatSeconds(Math.round(rounded / 1000));
}

/** Whole seconds as `42 s`, `2 min 05 s`, `1 h 05 min`; `compact`, as a progress bar's ETA: `42s`, `2m05s`, `1h05m`. */
export function formatSeconds(seconds: number, compact = false): string {
  const [space, min] = compact ? ["", "m"] : [" ", "min"];
  const pad = (value: number) => String(value).padStart(2, "0");
  if (seconds < 60) return `${seconds}${space}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}${space}${min}${space}${pad(seconds % 60)}${space}s`;
  return `${Math.floor(minutes / 60)}${space}h${space}${pad(minutes % 60)}${space}${min}`;
}

/** An ISO timestamp as a table shows it: `2024-01-02 03:04:05`. */
export function formatTimestamp(iso: string | null): string {
  return iso === null ? "" : iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
}

/** `status` as a table, with the history's `schema` where the database has schemas (PostgreSQL). A refusal is named by its code on the version line; its message is the caller's to print (on stderr). */
export function formatStatus(status: MigrationStatus, databaseLabel: string, palette: Palette, schema?: string): string {
  const lines = [
    `${palette.bold("Database")}  ${databaseLabel}`,
    ...(schema === undefined ? [] : [`${palette.bold("Schema")}    ${schema}`]),
    `${palette.bold("Version")}   ${status.currentVersion} of ${status.latestVersion}` +
      // Never "up to date" beside a refusal: an interrupted or edited migration is neither pending nor fine.
      (status.problem ? palette.red(` (up refuses: ${status.problem.code})`) : status.pendingCount > 0 ? palette.yellow(` (${status.pendingCount} pending)`) : palette.green(" (up to date)")),
    "",
  ];
  const nameWidth = Math.max(4, ...status.migrations.map((row) => row.name.length));
  for (const row of status.migrations) {
    const start = `${formatVersion(row.version)} ${row.name.padEnd(nameWidth)}  `;
    if (row.state === "applied") {
      const took = row.durationMs === null ? "" : `  ${formatDuration(row.durationMs)}`;
      lines.push(`  ${palette.green("✓")} ${start}${palette.dim(`applied ${formatTimestamp(row.appliedAt)} UTC${took}`)}`);
    } else if (row.state === "pending") lines.push(`  ${palette.yellow("·")} ${start}${palette.yellow("pending")}`);
    else if (row.state === "changed") {
      // Only the first mismatch is the problem: a later row of another migration still reads "changed".
      const problem = status.problem as { code: string; version?: unknown; replaced?: unknown; recordedName?: unknown } | null;
      const other =
        problem?.code === "CHECKSUM_MISMATCH" && problem.version === row.version && problem.replaced === true
          ? `another migration ("${String(problem.recordedName)}") was applied as ${formatVersion(row.version)}`
          : null;
      lines.push(`  ${palette.red("✗")} ${start}${palette.red(other ?? "changed since it was applied")}`);
    } else {
      // A live owner's attempt is running: "interrupted" would point at repair --forget, which would run it twice.
      const running = status.problem?.code === "MIGRATION_IN_PROGRESS" && (status.problem as { version?: unknown }).version === row.version;
      lines.push(`  ${palette.red("!")} ${start}${palette.red(`${running ? "running" : "interrupted"} (started ${formatTimestamp(row.appliedAt)})`)}`);
    }
  }
  for (const version of status.unknownAppliedVersions) {
    lines.push(`  ${palette.red("?")} ${formatVersion(version)} ${"".padEnd(nameWidth)}  ${palette.red("applied, but unknown to this app")}`);
  }
  if (status.migrations.length === 0) lines.push(palette.dim("  no migrations in the registry"));
  return lines.join("\n");
}

/** The characters that move a terminal's cursor, start an escape sequence or end a line: C0, DEL, C1, and the Unicode line and paragraph separators. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** `value` with each control character as `\uXXXX`: text read from a database (written by hand, or by an older version) cannot rewrite or forge a line it is printed on. */
export function escapeControlCharacters(value: string): string {
  return value.replace(CONTROL_CHARACTERS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** `history` as a table, oldest first, then the checksum repairs recorded, one line each. */
export function formatHistory(rows: readonly AppliedMigration[], repairs: readonly ChecksumRepairEvent[], palette: Palette): string {
  if (rows.length === 0) return palette.dim("No migrations have been applied.") + formatRepairEvents(repairs);
  const names = rows.map((row) => escapeControlCharacters(row.name));
  const nameWidth = Math.max(4, ...names.map((name) => name.length));
  const lines = [palette.bold(`${"ver".padEnd(3)} ${"name".padEnd(nameWidth)}  ${"applied at (UTC)".padEnd(19)}  duration  checksum`)];
  for (const [index, row] of rows.entries()) {
    const when = row.state === "started" ? palette.red("interrupted".padEnd(19)) : escapeControlCharacters(formatTimestamp(row.appliedAt)).padEnd(19);
    const duration = row.durationMs === null ? "" : formatDuration(row.durationMs);
    lines.push(`${formatVersion(row.version)} ${names[index]!.padEnd(nameWidth)}  ${when}  ${duration.padStart(8)}  ${palette.dim(escapeControlCharacters(row.checksum.slice(0, 12)))}`);
  }
  return lines.join("\n") + formatRepairEvents(repairs);
}

function formatRepairEvents(events: readonly ChecksumRepairEvent[]): string {
  if (events.length === 0) return "";
  const lines = events.map((event) =>
    escapeControlCharacters(
      `  ${event.repairedAt}  ${formatMigrationLabel(event.version, event.name)}  by ${event.repairedBy}: ${event.oldChecksum.slice(0, 12)} -> ${event.newChecksum.slice(0, 12)}`,
    ),
  );
  return ["", "Checksum repairs (repair --checksums):", ...lines].join("\n");
}

/** The summary after `up`, `down` or `reset`; reset's (`resetFromVersion` given) first says what it dropped, and at which version (`null`: one it could not read). */
export function formatResult(result: MigrationResult & { readonly resetFromVersion?: number | null }, palette: Palette): string {
  const count = result.steps.length;
  const from = result.resetFromVersion;
  const reset = from === undefined ? null : `Dropped everything the database held${from === null ? "" : ` at version ${from}`}`;
  if (count === 0) {
    if (reset !== null) return palette.green(`${reset}; no migration to apply: the database is at version ${result.toVersion}.`);
    return palette.green(`Nothing to ${result.direction === "up" ? "apply" : "revert"}: the database is at version ${result.toVersion}.`);
  }
  const total = result.steps.reduce((sum, step) => sum + step.durationMs, 0);
  const ran = `${result.direction === "up" ? "applied" : "reverted"} ${count} migration${count === 1 ? "" : "s"} in ${formatDuration(total)}`;
  const done = reset === null ? ran.charAt(0).toUpperCase() + ran.slice(1) : `${reset}, then ${ran}`;
  return palette.green(`${done}: the database is now at version ${result.toVersion}.`);
}

/** `up --dry-run`: each migration's outcome and duration, schema changes, row counts, failure; `where` it ran (a copy, or a transaction rolled back). */
export function formatRehearsal(rehearsal: Rehearsal, palette: Palette, where: "copy" | "rolled-back"): string {
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
  const { failure, steps } = rehearsal;
  // Where it failed, as the real run's report says it: a SQL statement's line (a TypeScript body's is read from its stack, which the report's plain data does not keep).
  const at = failure?.fields.location as { file?: unknown; line?: unknown; column?: unknown } | null | undefined;
  if (failure) lines.push(palette.red(`The real run would fail${failure.code ? ` [${failure.code}]` : ""}:`), failure.message);
  if (at && typeof at.file === "string") lines.push(`Thrown at ${at.file}:${String(at.line)}:${String(at.column)}`);
  if (!failure) lines.push(palette.green(`The real run would apply ${steps.length} migration${steps.length === 1 ? "" : "s"} and reach version ${rehearsal.reachedVersion}.`));
  return lines.join("\n");
}

/** `verify`: a pass line, or one line per drift. */
export function formatVerification(verification: SchemaVerification, palette: Palette): string {
  const built = verification.version === 0 ? "an empty database (nothing is applied)" : builtBy(verification.version);
  if (verification.ok) return palette.green(`Schema verification passed: the schema is ${built}.`);
  return [palette.red(`Schema drift: the schema differs from ${built}:`), ...verification.drift.map((line) => `  - ${line}`)].join("\n");
}

/** `baseline`: what was recorded, and the differences when forced. */
export function formatBaseline(result: BaselineResult, palette: Palette): string {
  const kept =
    result.oldTables.length === 0
      ? ""
      : ` ${result.oldTables.join(", ")} ${result.oldTables.length === 1 ? "is" : "are"} kept, and verify leaves ${result.oldTables.length === 1 ? "it" : "them"} out; drop ${result.oldTables.length === 1 ? "it" : "them"} once the other tool no longer runs.`;
  const recorded = `Recorded ${migrationsUpTo(result.version)} as applied without running ${result.version === 1 ? "it" : "them"}; "up" continues from ${result.version + 1}.${kept}`;
  if (!result.forced) return palette.green(`The schema matches ${migrationsUpTo(result.version)}. ${recorded}`);
  const forced = palette.yellow(`Forced: the schema does NOT match ${migrationsUpTo(result.version)}, and ${result.version === 1 ? "it was" : "they were"} recorded anyway (--force):`);
  return [forced, ...result.drift.map((line) => `  - ${line}`), recorded].join("\n");
}

/** `restore`: where the database came from and where the replaced one went. */
export function formatRestore(result: RestoreResult, palette: Palette): string {
  const lines = [palette.green(`Restored ${result.restoredFrom} to ${result.databasePath}: the database is at version ${result.version}.`)];
  if (result.previous) lines.push(`The database it replaced was saved as ${result.previous.path}.`);
  if (result.setAside) lines.push(`The file it replaced was not a readable database; its bytes were kept as ${result.setAside}.`);
  const count = result.foreignReasons.length;
  if (count > 0) lines.push(palette.yellow(`Forced: the backup's history does not match this app's migrations (${count} difference${count === 1 ? "" : "s"}, see --json); "up" may refuse it.`));
  return lines.join("\n");
}

/** Aligned `key  value` lines, as `info` prints them; a row without a value is left out. */
export function formatKeyValues(all: ReadonlyArray<readonly [key: string, value: string | null]>, palette: Palette): string {
  const rows = all.filter((row): row is [string, string] => row[1] !== null);
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${palette.bold(key.padEnd(width))}  ${value}`).join("\n");
}

/** The line printed after `up --backup` wrote a snapshot. */
export function formatBackupTaken(backup: BackupRecord, palette: Palette): string {
  const how = ` (${backup.method === "online-backup" ? "online backup" : "VACUUM INTO"})`;
  return palette.dim(`  backup of version ${backup.version}${how}: ${backup.path}${backup.pruned.length > 0 ? ` (removed ${backup.pruned.length} older)` : ""}`);
}
