/**
 * SQLite reports trouble as error codes; stepwise turns the ones a user can act on (locked, not a
 * database, read-only, disk full) into typed errors that say what to do.
 */
import type { ErrorKind } from "./error-kind.js";
import { StepwiseError } from "./errors.js";
import { recordNativeError } from "./native-error.js";
import { databaseUnusableError, diskFullError, databaseNeedsRecoveryError, databaseLockedError } from "./error-factories.js";

/** The shape of better-sqlite3's `SqliteError`, without importing the native module. */
interface SqliteErrorLike {
  code?: unknown;
  message?: unknown;
}

/** The `SQLITE_*` code of an error, or `null` when it did not come from SQLite. */
export function sqliteCodeOf(error: unknown): string | null {
  // A body may throw anything, a Proxy whose getter throws included; reading it must not replace the failure.
  try {
    const code = (error as SqliteErrorLike | null)?.code;
    return typeof code === "string" && code.startsWith("SQLITE_") ? code : null;
  } catch {
    return null;
  }
}

/**
 * The typed error for a SQLite failure a user can act on; anything else is returned unchanged.
 * `code` is the error's `SQLITE_*` code: the executor passes the one its driver's `classifyError`
 * reads, so a library whose errors carry no `code` property needs none faked; the default reads
 * the property, as better-sqlite3 sets it.
 */
export function translateSqliteError(error: unknown, busyTimeoutMs: number, code: string | null = sqliteCodeOf(error)): unknown {
  if (error instanceof StepwiseError) return error;
  if (code === null) return error;
  const translated = toTypedSqliteError(error, busyTimeoutMs, code);
  return translated instanceof StepwiseError ? recordNativeError(translated, { kind: kindOfSqliteCode(code), nativeCode: code }) : translated;
}

/** Reads an `SQLITE_*` code as stepwise's kind of failure: what every SQLite driver's `classifyError` reports. */
export function kindOfSqliteCode(code: string): ErrorKind {
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")
    ? "locked"
    : code.startsWith("SQLITE_FULL")
      ? "full"
      : code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_PERM")
        ? "readonly"
        : code === "SQLITE_NOTADB"
          ? "notadb"
          : code.startsWith("SQLITE_CORRUPT")
            ? "corrupt"
            : code.startsWith("SQLITE_CANTOPEN")
              ? "cantopen"
              : "other";
}

function toTypedSqliteError(error: unknown, busyTimeoutMs: number, code: string): unknown {
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return databaseLockedError(busyTimeoutMs, error);
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
    return databaseUnusableError(`The file is not a usable SQLite database (${code}). Check the path; stepwise changed nothing.`, code, error);
  }
  // A hot journal (or an unrecovered WAL) from a crashed writer, on a connection that may not write:
  // the fix is to let a writer recover it, not to look for a permission problem on a healthy file.
  if (code === "SQLITE_READONLY_ROLLBACK" || code === "SQLITE_READONLY_RECOVERY") return databaseNeedsRecoveryError(code, error);
  if (code.startsWith("SQLITE_CANTOPEN")) {
    return databaseUnusableError(`SQLite cannot open the database file (${code}): check that the path names a file this process may open. Nothing was changed.`, code, error);
  }
  if (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_PERM")) {
    return databaseUnusableError(
      `The database cannot be written (${code}): the file or its folder is read-only to this process, or the connection has PRAGMA query_only on. Nothing was changed.`,
      code,
      error,
    );
  }
  if (code.startsWith("SQLITE_FULL")) return diskFullError({ version: null, file: null, sqliteCode: code, cause: error });
  if (code === "SQLITE_IOERR_READ" || code === "SQLITE_IOERR_SHORT_READ") {
    return databaseUnusableError(`The database file could not be read (${code}): check the path and the disk. Nothing was changed.`, code, error);
  }
  if (code.startsWith("SQLITE_IOERR")) {
    return databaseUnusableError(`The disk refused the write (${code}); nothing was committed. Free space and retry.`, code, error);
  }
  return error;
}
