/**
 * The record of a backup, declared in the core because a run's result and its `backed-up` event
 * carry it; taking the backup is the safety nets' work (`safety/backup.ts`).
 */
/** A backup that was written. Plain data. */
export interface BackupRecord {
  /** Absolute path of the backup file. */
  readonly path: string;
  readonly version: number;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly sizeBytes: number;
  /** Older backups deleted to respect `keep`. */
  readonly pruned: readonly string[];
}
