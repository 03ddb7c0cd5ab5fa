/**
 * Human-readable rendering of the plain data the library returns. Colour is a parameter, decided by
 * the CLI from NO_COLOR, FORCE_COLOR and whether the output is a terminal.
 */
import type { MigrationResult } from "../core/options.js";
import { formatVersion } from "../core/migration-label.js";
import type { AppliedMigration, MigrationStatus } from "../core/planner.js";
import type { DatabaseInfo } from "./database-info.js";
import { formatDuration } from "./duration.js";

/** Wraps text in ANSI styles, or not at all. */
export interface Palette {
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

/**
 * Picks colour or plain text: NO_COLOR (any value) turns colour off, FORCE_COLOR turns it on,
 * otherwise only a terminal gets it.
 */
export function createPalette(env: Readonly<Record<string, string | undefined>>, isTTY: boolean): Palette {
  const enabled = env.NO_COLOR === undefined || env.NO_COLOR === "" ? (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") || isTTY : false;
  const wrap = (open: number, close: number) => (text: string) => (enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { green: wrap(32, 39), yellow: wrap(33, 39), red: wrap(31, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

/**
 * `status` as a table. A refusal is named by its code on the version line; its message is the
 * caller's to print (the CLI writes it to stderr, as every refusal).
 */
export function formatStatus(status: MigrationStatus, databaseLabel: string, palette: Palette): string {
  const lines = [
    `${palette.bold("Database")}  ${databaseLabel}`,
    `${palette.bold("Version")}   ${status.currentVersion} of ${status.latestVersion}` +
      // Never "up to date" beside a refusal: an interrupted or edited migration is neither pending nor fine.
      (status.problem ? palette.red(` (up refuses: ${status.problem.code})`) : status.pendingCount > 0 ? palette.yellow(` (${status.pendingCount} pending)`) : palette.green(" (up to date)")),
    "",
  ];
  const nameWidth = Math.max(4, ...status.migrations.map((row) => row.name.length));
  for (const row of status.migrations) {
    const name = row.name.padEnd(nameWidth);
    switch (row.state) {
      case "applied":
        lines.push(
          `  ${palette.green("✓")} ${formatVersion(row.version)} ${name}  ${palette.dim(`applied ${formatTimestamp(row.appliedAt)} UTC${row.durationMs === null ? "" : `  ${formatDuration(row.durationMs)}`}`)}`,
        );
        break;
      case "pending":
        lines.push(`  ${palette.yellow("·")} ${formatVersion(row.version)} ${name}  ${palette.yellow("pending")}`);
        break;
      case "changed":
        lines.push(`  ${palette.red("✗")} ${formatVersion(row.version)} ${name}  ${palette.red("changed since it was applied")}`);
        break;
      case "incomplete":
        lines.push(`  ${palette.red("!")} ${formatVersion(row.version)} ${name}  ${palette.red(`interrupted (started ${formatTimestamp(row.appliedAt)})`)}`);
        break;
    }
  }
  for (const version of status.unknownAppliedVersions) {
    lines.push(`  ${palette.red("?")} ${formatVersion(version)} ${"".padEnd(nameWidth)}  ${palette.red("applied, but unknown to this app")}`);
  }
  if (status.migrations.length === 0) lines.push(palette.dim("  no migrations in the registry"));
  return lines.join("\n");
}

/** `history` as a table, oldest first. */
export function formatHistory(rows: readonly AppliedMigration[], palette: Palette): string {
  if (rows.length === 0) return palette.dim("No migrations have been applied.");
  const nameWidth = Math.max(4, ...rows.map((row) => row.name.length));
  const lines = [palette.bold(`${"ver".padEnd(3)} ${"name".padEnd(nameWidth)}  ${"applied at (UTC)".padEnd(19)}  duration  checksum`)];
  for (const row of rows) {
    const when = row.state === "started" ? palette.red("interrupted".padEnd(19)) : formatTimestamp(row.appliedAt).padEnd(19);
    const duration = row.durationMs === null ? "" : formatDuration(row.durationMs);
    lines.push(`${formatVersion(row.version)} ${row.name.padEnd(nameWidth)}  ${when}  ${duration.padStart(8)}  ${palette.dim(row.checksum.slice(0, 12))}`);
  }
  return lines.join("\n");
}

/** The summary after `up`, `down` or `reset`. */
export function formatResult(result: MigrationResult, palette: Palette): string {
  const count = result.steps.length;
  if (count === 0) return palette.green(`Nothing to ${result.direction === "up" ? "apply" : "revert"}: the database is at version ${result.toVersion}.`);
  const verb = result.direction === "up" ? "Applied" : "Reverted";
  const total = result.steps.reduce((sum, step) => sum + step.durationMs, 0);
  return palette.green(`${verb} ${count} migration${count === 1 ? "" : "s"} in ${formatDuration(total)}: the database is now at version ${result.toVersion}.`);
}

/** `info` as aligned key/value lines. */
export function formatInfo(info: DatabaseInfo, palette: Palette): string {
  // A row the database has no such thing for (PostgreSQL: user_version, journal mode) is left out.
  const all: Array<[string, string | null]> = [
    ["Path", info.path],
    ["Size", `${formatBytes(info.sizeBytes)}`],
    ["Schema version", `${info.currentVersion} of ${info.latestVersion}${info.problem ? ` (up refuses: ${info.problem.code})` : info.pendingCount > 0 ? ` (${info.pendingCount} pending)` : ""}`],
    ["user_version", info.userVersion === null ? null : String(info.userVersion)],
    ["Tables", String(info.objects.tables)],
    ["Indexes", String(info.objects.indexes)],
    ["Triggers", String(info.objects.triggers)],
    ["Views", String(info.objects.views)],
    ["Last migration", info.lastMigration ? `${formatVersion(info.lastMigration.version)} ${info.lastMigration.name} at ${formatTimestamp(info.lastMigration.appliedAt)}` : "none"],
    ["Journal mode", info.journalMode],
    ["History table", info.historyTable],
  ];
  const rows = all.filter((row): row is [string, string] => row[1] !== null);
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${palette.bold(key.padEnd(width))}  ${value}`).join("\n");
}

function formatTimestamp(iso: string | null): string {
  return iso === null ? "" : iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
