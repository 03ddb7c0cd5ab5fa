/** What a run reports as it goes: its events (with the record of a backup, which the `backed-up` event and `up`'s result carry, so it is the core's), and the line a logger gets for each. */
import { formatMigrationLabel } from "./migration-label.js";
import type { ProgressMeasure } from "./progress.js";
import type { MigrationDirection } from "./types.js";

/** Something the manager did, for apps that want to show or record progress. */
export type MigrationEvent =
  | { readonly type: "migrating"; readonly direction: MigrationDirection; readonly version: number; readonly name: string }
  | { readonly type: "migrated"; readonly direction: MigrationDirection; readonly version: number; readonly name: string; readonly durationMs: number }
  | { readonly type: "skipped"; readonly direction: MigrationDirection; readonly version: number; readonly name: string; readonly reason: "applied-elsewhere" }
  | { readonly type: "nothing-pending"; readonly direction: MigrationDirection; readonly currentVersion: number }
  | ({ readonly type: "progress"; readonly direction: MigrationDirection; readonly version: number; readonly name: string } & ProgressMeasure)
  | { readonly type: "backed-up"; readonly backup: BackupRecord }
  | { readonly type: "verified"; readonly version: number };

/** A backup that was written. Plain data. */
export interface BackupRecord {
  /** Absolute path of the backup file. */
  readonly path: string;
  /** The schema version the database was at. */
  readonly version: number;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  /** The file's size. */
  readonly sizeBytes: number;
  /** How it was copied: SQLite's online backup API where the driver has it, else `VACUUM INTO` (a compacted copy with the same schema, rows and `user_version`). */
  readonly method: "online-backup" | "vacuum-into";
  /** Older backups of the same database deleted to respect `keep`. */
  readonly pruned: readonly string[];
}

/** A minimal logger; `console` fits. */
export interface MigrationLogger {
  info(message: string): void;
}

/** The one-line text a logger receives for an event. */
export function describeEvent(event: MigrationEvent): string {
  switch (event.type) {
    case "migrating":
      return `${event.direction === "up" ? "applying" : "reverting"} ${formatMigrationLabel(event.version, event.name)}`;
    case "migrated":
      return `${event.direction === "up" ? "applied" : "reverted"} ${formatMigrationLabel(event.version, event.name)} in ${event.durationMs.toFixed(1)} ms`;
    case "skipped":
      return `skipped ${formatMigrationLabel(event.version, event.name)}: another process ${event.direction === "up" ? "applied" : "reverted"} it`;
    case "nothing-pending":
      return `nothing to ${event.direction === "up" ? "apply" : "revert"}: the database is at version ${event.currentVersion}`;
    case "progress":
      return `${formatMigrationLabel(event.version, event.name)}: ${event.done}${event.total === null ? "" : `/${event.total}`} done`;
    case "backed-up":
      return `backed up version ${event.backup.version} to ${event.backup.path}`;
    case "verified":
      return `schema verification passed at version ${event.version}`;
  }
}
