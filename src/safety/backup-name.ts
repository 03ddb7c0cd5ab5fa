/**
 * Which files in a backup folder belong to which database. Several databases may share one folder
 * (`/var/backups/app` for `/srv/a/app.db` and `/srv/b/app.db`), and the folder may hold files
 * stepwise never wrote, so a backup's name carries the identity of the database it came from.
 * Pruning deletes only files whose name proves they are this database's.
 *
 * A path alone does not tell databases apart: two containers each see their own `/data/app.db` and
 * may share one backup folder. So the identity also hashes the database's lineage, read from inside
 * the file: when its first migration was recorded (the lowest history row's `applied_at` and
 * checksum). That is stable across processes, hosts and mount namespaces, survives the file being
 * copied or moved to another inode, and is put back by a restore, so a restored database prunes the
 * backups of the database it was restored from. Two databases migrated in separate places differ in
 * it, unless their first migrations were recorded in the same millisecond. A database without history
 * rows (before its first migration) has only its path; its backups are of an empty schema.
 */
import { nodeCrypto, nodeFs, nodePath } from "../core/node-builtins.js";

/** A backup file's name, taken apart. */
export interface ParsedBackupName {
  /** The database file's base name. */
  readonly databaseName: string;
  readonly version: number;
  /** The UTC time from the name, as it appears there. */
  readonly stamp: string;
  /** Breaks ties between backups written in the same millisecond. */
  readonly counter: number;
  /** {@link databaseIdentity} of the database it came from; `null` in names written before stepwise recorded it. */
  readonly identity: string | null;
}

const IDENTITY_LENGTH = 16;
const NAME_PATTERN = /^(.+)\.v(\d+)\.(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)(?:-(\d+))?(?:\.([0-9a-f]{16}))?\.bak$/;

/**
 * A short, stable identity for the database at `databasePath` (absolute): a hash of its real path
 * (so a symlink and its target agree, and two files with the same name in different folders differ)
 * and of its `lineage` (see the module comment; `null` before its first migration), so two databases
 * at the same path in two containers differ too.
 */
export function databaseIdentity(databasePath: string, lineage: string | null = null): string {
  let real = databasePath;
  // A relative path would resolve against the working folder, which the library never reads.
  if (nodePath().isAbsolute(databasePath)) {
    try {
      real = nodeFs().realpathSync(databasePath);
    } catch {
      // Not there (yet): its path as given is the best identity there is.
    }
  }
  const hash = nodeCrypto().createHash("sha256").update(real);
  // Without a lineage the hash is the path's alone, as in names written before lineages existed.
  if (lineage !== null) hash.update(`\u0000${lineage}`);
  return hash.digest("hex").slice(0, IDENTITY_LENGTH);
}

/** The time stamp a backup's name carries for `date`: ISO 8601 UTC with `:` and `.` as `-`, so it sorts as text. */
export function formatBackupStamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, "-");
}

/** The file name of a backup: `<database file>.v<version>.<UTC time>[-<counter>].<identity>.bak`. */
export function composeBackupName(databasePath: string, identity: string, version: number, date: Date, counter = 0): string {
  const suffix = counter > 0 ? `-${counter}` : "";
  return `${nodePath().basename(databasePath)}.v${version}.${formatBackupStamp(date)}${suffix}.${identity}.bak`;
}

/** Takes a backup file name apart; `null` when it is not one stepwise writes. */
export function parseBackupName(fileName: string): ParsedBackupName | null {
  const match = NAME_PATTERN.exec(fileName);
  if (!match) return null;
  return { databaseName: match[1]!, version: Number(match[2]), stamp: match[3]!, counter: Number(match[4] ?? 0), identity: match[5] ?? null };
}

/**
 * The private folder a backup is written in before it gets its name (`mkdtemp` adds six characters):
 * no other user can plant a link in it, and the lock file it holds tells a live run's folder from
 * one an interrupted run left, which the next backup into the folder removes.
 */
export const BACKUP_WORK_FOLDER_PREFIX = ".stepwise-backup-";

/** The lock file inside a {@link BACKUP_WORK_FOLDER_PREFIX} folder, held while its backup is written. */
export const BACKUP_WORK_LOCK = "lock";

/**
 * Whether `file` is what a backup in progress, or an interrupted one, writes: a file in a work
 * folder, or a `.partial` file as stepwise wrote them next to the backups before the work folders.
 * Never a backup, whatever it holds.
 */
export function isUnfinishedBackup(file: string): boolean {
  return file.endsWith(".partial") || nodePath().basename(nodePath().dirname(file)).startsWith(BACKUP_WORK_FOLDER_PREFIX);
}
