/** The check restore and the CLI make on the database path they are given, before anything opens it. */
import { nodeFs } from "../core/node-builtins.js";
import { databasePathInvalidError } from "./errors.js";
import { fileKindAt, resolveDatabaseFile } from "../drivers/database-file.js";

/**
 * The real file `file` (absolute) names, so its journals, sidecars and backups belong to it and a link to it is never replaced. Nothing is opened.
 *
 * @throws `DATABASE_PATH_INVALID` (`directory`, `not-a-file`, `dangling-symlink`, `symlink-loop`, `parent-not-directory`, `too-long`, or `journal-not-a-file` for a `-journal`, `-wal` or `-shm` that is no regular file).
 */
export function realDatabaseFileOrThrow(file: string): string {
  let real: string;
  try {
    real = nodeFs().realpathSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw databasePathInvalidError(file, "symlink-loop");
    if (code === "ENOTDIR") throw databasePathInvalidError(file, "parent-not-directory");
    if (code === "ENAMETOOLONG") throw databasePathInvalidError(file, "too-long");
    // EACCES and the like: SQLite reports them when it opens the path.
    if (code !== "ENOENT") return file;
    // A link to nothing (an unmounted volume): SQLite would create a database through it.
    if (fileKindAt(file, false) === "symlink") throw databasePathInvalidError(file, "dangling-symlink", "symlink");
    real = resolveDatabaseFile(file) ?? file;
  }
  const kind = fileKindAt(real);
  if (kind !== "file" && kind !== "missing") throw databasePathInvalidError(file, kind === "directory" ? "directory" : "not-a-file", kind);
  for (const suffix of ["-journal", "-wal", "-shm"]) {
    const journal = fileKindAt(`${real}${suffix}`, false);
    if (journal !== "file" && journal !== "missing") throw databasePathInvalidError(`${real}${suffix}`, "journal-not-a-file", journal);
  }
  return real;
}
