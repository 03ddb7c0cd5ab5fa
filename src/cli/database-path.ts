/**
 * Checks the path a command is about to open as a database, before SQLite does: SQLite reports a
 * folder as a read error and a file in the way of a folder as "cannot open", opening a FIFO blocks,
 * and mkdir reports it as a stack trace, none of which says "this path does not name a database file".
 */
import { existsSync, lstatSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { StepwiseError } from "../core/errors.js";
import { realDatabaseFileOrThrow } from "../drivers/database-file.js";
import { databaseFolderMissingError, databaseUnusableError, databasePathInvalidError } from "../core/error-factories.js";

/** Paths SQLite treats as names, not files. */
const SPECIAL_PATHS = new Set([":memory:", ""]);

/**
 * The database file `databasePath` (absolute) names, resolved once through symlinks (see
 * `realDatabaseFileOrThrow`), so every command opens, backs up, restores and locks the real file.
 * A path that does not exist yet is fine: the caller decides whether to create it.
 *
 * @throws `DATABASE_PATH_INVALID` when it is a folder, a FIFO, socket or device (named in `kind`), a
 *   link to nothing, beside a journal that is a link, or when something on the way to it is a file.
 */
export function usableDatabasePathOrThrow(databasePath: string): string {
  if (SPECIAL_PATHS.has(databasePath)) return databasePath;
  if (databasePath.includes("\0")) throw databasePathInvalidError(databasePath, "nul-byte");
  try {
    const real = realDatabaseFileOrThrow(databasePath);
    if (!existsSync(real)) checkAncestors(databasePath);
    return real;
  } catch (error) {
    // stat says ENOTDIR when a file sits where a folder of the path should be.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") throw databasePathInvalidError(databasePath, "parent-not-directory");
    if (code === "ENAMETOOLONG") throw databasePathInvalidError(databasePath, "too-long");
    throw error;
  }
}

/** The nearest ancestor that exists must be a folder, or neither SQLite nor mkdir can get past it. */
function checkAncestors(databasePath: string): void {
  for (let dir = path.dirname(databasePath); ; dir = path.dirname(dir)) {
    const stats = statIfPresent(dir);
    if (stats) {
      if (!stats.isDirectory()) throw databasePathInvalidError(databasePath, "parent-not-directory");
      return;
    }
    if (path.dirname(dir) === dir) return;
  }
}

/**
 * Maps a failure to create the database's folder to a typed error. Total: every errno, and anything
 * that is not one, becomes a {@link StepwiseError} that names the path and the fix, never a stack trace.
 */
export function translateFolderError(error: unknown, databasePath: string): StepwiseError {
  if (error instanceof StepwiseError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOTDIR" || code === "EEXIST") return databasePathInvalidError(databasePath, "parent-not-directory");
  if (code === "ENAMETOOLONG") return databasePathInvalidError(databasePath, "too-long");
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return databaseUnusableError(
      `Cannot create the folder for ${databasePath} (${code}): a folder on the way is read-only or this process lacks permission. Create it, or pass --db a path you may write. Nothing was changed.`,
      null,
      error,
    );
  }
  // A dangling symlink (an unmounted volume, a deleted target) on the way: nothing there to hold it.
  if (code === "ENOENT") return databaseFolderMissingError(databasePath, path.dirname(databasePath));
  if (code === "ELOOP") return databasePathInvalidError(databasePath, "symlink-loop");
  return databaseUnusableError(
    `Cannot create the folder for ${databasePath} (${code ?? (error instanceof Error ? error.message : String(error))}). Create the folder yourself, or pass --db a path on a writable local disk. Nothing was changed.`,
    null,
    error,
  );
}

function statIfPresent(file: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Not there, or not reachable: the open that follows reports it with SQLite's own code.
    if (code === "ENOENT" || code === "EACCES" || code === "ELOOP") return null;
    throw error;
  }
}

/**
 * Creates the folder that holds `databasePath`, and its missing parents, one level at a time. Node's recursive mkdir retries
 * forever on some virtual file systems (under /proc it never returns); a plain mkdir per level fails
 * at once there. Every failure is thrown as a typed error (see {@link translateFolderError}).
 */
export function createDatabaseFolder(databasePath: string): void {
  const missing: string[] = [];
  for (let dir = path.dirname(path.resolve(databasePath)); statIfPresent(dir) === null; dir = path.dirname(dir)) {
    missing.push(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (error) {
      // Another process may create the same folder between the check and the mkdir.
      if ((error as NodeJS.ErrnoException).code === "EEXIST" && statIfPresent(dir)?.isDirectory()) continue;
      // A symlink whose target is gone (an unmounted volume): mkdir says EEXIST, but there is no folder.
      if ((error as NodeJS.ErrnoException).code === "EEXIST" && isSymlink(dir)) throw databaseFolderMissingError(databasePath, dir);
      throw translateFolderError(error, databasePath);
    }
  }
}

function isSymlink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}
