/**
 * SQLite reports trouble as error codes; stepwise turns the ones a user can act on (locked, not a
 * database, read-only, disk full) into typed errors that say what to do.
 */
import { DatabaseLockedError, DatabaseUnusableError, DiskFullError, StepwiseError } from "./errors.js";

/** The shape of better-sqlite3's `SqliteError`, without importing the native module. */
interface SqliteErrorLike {
  code?: unknown;
  message?: unknown;
}

/** The `SQLITE_*` code of an error, or `null` when it did not come from SQLite. */
export function sqliteCodeOf(error: unknown): string | null {
  const code = (error as SqliteErrorLike | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : null;
}

/** The typed error for a SQLite failure a user can act on; anything else is returned unchanged. */
export function translateSqliteError(error: unknown, busyTimeoutMs: number): unknown {
  if (error instanceof StepwiseError) return error;
  const code = sqliteCodeOf(error);
  if (code === null) return error;
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return new DatabaseLockedError(busyTimeoutMs, error);
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
    return new DatabaseUnusableError(`The file is not a usable SQLite database (${code}). Check the path; stepwise changed nothing.`, code, error);
  }
  if (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_PERM")) {
    return new DatabaseUnusableError(
      `The database cannot be written (${code}): the file or its folder is read-only, or this process lacks permission. Nothing was changed.`,
      code,
      error,
    );
  }
  if (code.startsWith("SQLITE_FULL")) return new DiskFullError({ version: null, file: null, sqliteCode: code, cause: error });
  if (code.startsWith("SQLITE_IOERR")) {
    return new DatabaseUnusableError(`The disk refused the write (${code}); nothing was committed. Free space and retry.`, code, error);
  }
  return error;
}

/** Maps SQLite's own failures (locked, not a database, read-only) to typed errors. */
export function guardSqlite<T>(action: () => T, busyTimeoutMs: number): T {
  try {
    return action();
  } catch (error) {
    throw translateSqliteError(error, busyTimeoutMs);
  }
}
