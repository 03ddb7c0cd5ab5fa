/**
 * Backup settings that need no database library, so the CLI can show them in `--help` without
 * loading better-sqlite3 (a project on another driver may not have it).
 */

/** How many backups of one database are kept in a folder when `keep` is not given. */
export const DEFAULT_BACKUP_KEEP = 5;
