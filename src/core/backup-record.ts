/** The record of a backup, in the core because a run's result and its `backed-up` event carry it. */

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
