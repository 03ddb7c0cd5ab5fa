/**
 * PostgreSQL reports trouble as SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html);
 * stepwise reads the ones a user can act on as its error kinds, and turns those into the same typed
 * errors SQLite's codes give (`DATABASE_LOCKED`, `DISK_FULL`, `DATABASE_UNUSABLE`).
 */
import type { ErrorClassification, ErrorKind } from "../driver.js";
import { DatabaseLockedError, DatabaseUnusableError, DiskFullError, StepwiseError } from "../errors.js";
import { recordNativeError } from "../native-error.js";

/** The SQLSTATE of an error from the `pg` package (a `DatabaseError` carries it as `code`), or `null`. */
export function sqlstateOf(error: unknown): string | null {
  try {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
  } catch {
    return null;
  }
}

/**
 * A SQLSTATE as stepwise's kind of failure:
 * - `locked`: `55P03` lock not available (a `lock_timeout` ran out), `40P01` deadlock, `55006` object in use;
 * - `full`: class `53` insufficient resources (`53100` disk full, `53200` out of memory, `53300` too many connections);
 * - `readonly`: `25006` read-only transaction (a hot standby), `42501` insufficient privilege;
 * - `cantopen`: class `08` connection exceptions, `28` authorisation, `3D000` no such database;
 * - `corrupt`: `XX001` data corrupted, `XX002` index corrupted;
 * - `other`: everything else, such as `42P01` (no such table) and `57014` (a statement cancelled by
 *   `statement_timeout` or by hand), which are the statement's failure, not the database's.
 */
export function kindOfSqlstate(code: string): ErrorKind {
  if (code === "55P03" || code === "40P01" || code === "55006") return "locked";
  if (code.startsWith("53")) return "full";
  if (code === "25006" || code === "42501") return "readonly";
  if (code.startsWith("08") || code.startsWith("28") || code === "3D000") return "cantopen";
  if (code === "XX001" || code === "XX002") return "corrupt";
  return "other";
}

/** The `pg` package's errors read as stepwise's kinds; what the pg driver's `classifyError` reports. */
export function classifyPostgresError(error: unknown): ErrorClassification {
  const code = sqlstateOf(error);
  return code === null ? { kind: "other", nativeCode: null } : { kind: kindOfSqlstate(code), nativeCode: code };
}

/** The typed error for a PostgreSQL failure a user can act on; anything else is returned unchanged. */
export function translatePostgresError(error: unknown, busyTimeoutMs: number, classification: ErrorClassification): unknown {
  if (error instanceof StepwiseError) return error;
  const code = classification.nativeCode;
  if (code === null || !/^[0-9A-Z]{5}$/.test(code)) return error;
  const translated = toTypedError(error, busyTimeoutMs, code, classification.kind);
  return translated instanceof StepwiseError ? recordNativeError(translated, classification) : translated;
}

function toTypedError(error: unknown, busyTimeoutMs: number, code: string, kind: ErrorKind): unknown {
  switch (kind) {
    case "locked":
      return new DatabaseLockedError(busyTimeoutMs, error);
    case "full":
      return new DiskFullError({ version: null, file: null, sqliteCode: code, cause: error });
    case "readonly":
      return new DatabaseUnusableError(`The database cannot be written (SQLSTATE ${code}): the server is read-only (a standby) or this role lacks the privilege. Nothing was changed.`, code, error);
    case "cantopen":
      return new DatabaseUnusableError(`The database cannot be reached (SQLSTATE ${code}): check the connection settings and that the database exists. Nothing was changed.`, code, error);
    case "corrupt":
      return new DatabaseUnusableError(`PostgreSQL reports corrupted data (SQLSTATE ${code}). Nothing was changed.`, code, error);
    default:
      return error;
  }
}
