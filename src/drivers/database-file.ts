/**
 * Where a connection's main database really lives on disk. Two processes can reach one file by
 * different strings (a symlink, a relative path opened before a `chdir`, `./a/../a.db`); anything
 * stepwise places next to the database must agree across all of them, so it is located from the path
 * SQLite itself resolved when it opened the file (`PRAGMA database_list`, which a driver reads with
 * its own library), with symlinks resolved. Library-agnostic: it takes that name, never a connection.
 */
import { nodeFs, nodePath } from "../core/node-builtins.js";
import type { FileKind } from "../core/errors.js";
import { databasePathInvalidError } from "../core/error-factories.js";

/**
 * The absolute path, symlinks resolved, of the database file SQLite reported as `opened`; `null` for
 * an in-memory or temporary database (`null` or `""`), which no other process can open.
 *
 * SQLite made the name absolute at open time, so a later `chdir` does not move it. A file not created
 * yet resolves through its folder, so the answer is the same before and after the first write.
 */
export function resolveDatabaseFile(opened: string | null): string | null {
  if (opened === null || opened === "" || opened === ":memory:") return null;
  const absolute = nodePath().resolve(opened);
  try {
    return nodeFs().realpathSync(absolute);
  } catch {
    try {
      return nodePath().join(nodeFs().realpathSync(nodePath().dirname(absolute)), nodePath().basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/**
 * The main database's file as SQLite reports it in `PRAGMA database_list` rows, or `null` when the
 * rows name none (in memory). Drivers pass the rows their library read.
 */
export function mainDatabaseFile(rows: ReadonlyArray<{ name?: unknown; file?: unknown }>): string | null {
  const main = rows.find((row) => row.name === "main");
  return typeof main?.file === "string" && main.file !== "" ? main.file : null;
}

/**
 * What `file` is on disk, as errors name it, without opening it (a FIFO opened for reading blocks
 * until a writer comes): through symlinks unless `follow` is false. `missing` when nothing is there.
 */
export function fileKindAt(file: string, follow = true): FileKind {
  const stats = follow ? nodeFs().statSync(file, { throwIfNoEntry: false }) : nodeFs().lstatSync(file, { throwIfNoEntry: false });
  if (stats === undefined) return "missing";
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "directory";
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isFIFO()) return "fifo";
  if (stats.isSocket()) return "socket";
  return stats.isCharacterDevice() ? "character-device" : "block-device";
}

/** The files SQLite keeps beside a database, named after its real path. */
const JOURNAL_SUFFIXES = ["-journal", "-wal", "-shm"];

/**
 * The database file `file` (absolute) names, resolved once: through symlinks to the real file, or,
 * for a file not created yet, its folder's real path joined with its name. Everything stepwise
 * reads, writes or places beside the database (its journals, lock sidecars, the names of its
 * backups) then belongs to the real file, and a link to it is never replaced. Nothing is opened.
 *
 * @throws `DATABASE_PATH_INVALID`: `directory` or `not-a-file` (with the `kind`: a FIFO, socket or
 *   device) for what is no database file; `dangling-symlink` for a link to nothing (an unmounted
 *   volume), which SQLite would create a database through; `symlink-loop`; `parent-not-directory`;
 *   `too-long`; `journal-not-a-file` when its `-journal`, `-wal` or `-shm` is a symbolic link or
 *   other non-file, which SQLite refuses to use and a restore must not follow or remove.
 */
export function realDatabaseFileOrThrow(file: string): string {
  const fs = nodeFs();
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw databasePathInvalidError(file, "symlink-loop");
    if (code === "ENOTDIR") throw databasePathInvalidError(file, "parent-not-directory");
    if (code === "ENAMETOOLONG") throw databasePathInvalidError(file, "too-long");
    // Not reachable (EACCES): SQLite reports it when it opens the path as given.
    if (code !== "ENOENT") return file;
    if (fileKindAt(file, false) === "symlink") throw databasePathInvalidError(file, "dangling-symlink", "symlink");
    real = resolveDatabaseFile(file) ?? file;
  }
  const kind = fileKindAt(real);
  if (kind !== "file" && kind !== "missing") throw databasePathInvalidError(file, kind === "directory" ? "directory" : "not-a-file", kind);
  for (const suffix of JOURNAL_SUFFIXES) {
    const journal = fileKindAt(`${real}${suffix}`, false);
    if (journal !== "file" && journal !== "missing") throw databasePathInvalidError(`${real}${suffix}`, "journal-not-a-file", journal);
  }
  return real;
}

/**
 * The mode for a file stepwise writes that holds the database's data (a backup, a copy): the
 * database's own permissions for group and others, never more, and read-write for its owner (who
 * writes it); `0o600` when the database's cannot be read.
 */
export function privateModeFor(databaseFile: string | null): number {
  const stats = databaseFile === null ? undefined : nodeFs().statSync(databaseFile, { throwIfNoEntry: false });
  return 0o600 | ((stats?.mode ?? 0) & 0o066);
}

/**
 * Creates `file`, empty, with exactly `mode` (whatever the umask). Fails with `EEXIST` when anything
 * is there already, a symlink included, which is neither followed nor replaced: what stepwise then
 * writes into the file (SQLite opening it by name) lands in a file it made itself.
 */
export function createFileExclusively(file: string, mode: number): void {
  const fs = nodeFs();
  const fd = fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, mode);
  try {
    fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}
