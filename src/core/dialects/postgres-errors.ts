/**
 * PostgreSQL reports trouble as SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html);
 * stepwise reads the ones a user can act on as its error kinds, and turns those into the same typed
 * errors SQLite's codes give (`DATABASE_LOCKED`, `DISK_FULL`, `DATABASE_UNUSABLE`).
 */
import type { ErrorClassification } from "../driver.js";
import type { ErrorKind } from "../error-kind.js";
import { StepwiseError } from "../errors.js";
import { recordNativeError } from "../native-error.js";
import { describeConnectionFailure, firstLineOf, isConnectionLost } from "./postgres-connection-errors.js";
import { isLockTimeout, lockTimedOut } from "./postgres-failures.js";
import { databaseUnusableError, diskFullError, databaseLockedError } from "../error-factories.js";
import { connectionLostError } from "../connection-errors.js";

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
 * - `lost`: the session ended under stepwise: `57P01` (`pg_terminate_backend`, a fast shutdown),
 *   `57P02`, `57P05`, `25P03` (the idle timeouts), and the connection exceptions of a live session
 *   (`08000`, `08003`, `08006`, `08007`);
 * - `cantopen`: the other connection exceptions (`08001`, `08004`), class `28` authorisation, `3D000`
 *   no such database, `57P03` the server is starting;
 * - `corrupt`: `XX001` data corrupted, `XX002` index corrupted;
 * - `other`: everything else, such as `42P01` (no such table) and `57014` (a statement cancelled by
 *   `statement_timeout` or by hand), which are the statement's failure, not the database's.
 */
export function kindOfSqlstate(code: string): ErrorKind {
  if (code === "55P03" || code === "40P01" || code === "55006") return "locked";
  if (code.startsWith("53")) return "full";
  if (code === "25006" || code === "42501") return "readonly";
  if (isConnectionLost({ code })) return "lost";
  if (code.startsWith("08") || code.startsWith("28") || code === "3D000" || code === "57P03") return "cantopen";
  if (code === "XX001" || code === "XX002") return "corrupt";
  return "other";
}

/**
 * The `pg` package's errors read as stepwise's kinds; what the pg driver's `classifyError` reports. A
 * session that ended is `lost` whatever shape the error has: a SQLSTATE, a socket's code, or the
 * client's own words once its socket is gone.
 */
export function classifyPostgresError(error: unknown): ErrorClassification {
  const code = sqlstateOf(error);
  if (isConnectionLost(error)) return { kind: "lost", nativeCode: code ?? systemCodeOf(error) };
  return code === null ? { kind: "other", nativeCode: null } : { kind: kindOfSqlstate(code), nativeCode: code };
}

/** A socket's system code (`ECONNRESET`), or `null`. */
function systemCodeOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
}

/**
 * The typed error for a PostgreSQL failure a user can act on; anything else is returned unchanged.
 * `lockTimeoutMs` is the `lock_timeout` stepwise set, which a `LOCK_TIMEOUT` reports.
 */
export function translatePostgresError(error: unknown, busyTimeoutMs: number, classification: ErrorClassification, lockTimeoutMs = 0): unknown {
  if (error instanceof StepwiseError) return error;
  if (classification.kind === "lost") return recordNativeError(lostConnection(error), classification);
  if (isLockTimeout(error)) return recordNativeError(lockTimedOut(error, lockTimeoutMs, null), classification);
  const code = classification.nativeCode;
  if (code === null || !/^[0-9A-Z]{5}$/.test(code)) return error;
  const translated = toTypedError(error, busyTimeoutMs, code, classification.kind);
  return translated instanceof StepwiseError ? recordNativeError(translated, classification) : translated;
}

/**
 * `error`, which ended the session, as `CONNECTION_LOST` with no migration running;
 * `during` says what was (`"waiting for the run lock"`).
 */
export function lostConnection(error: unknown, during?: string): StepwiseError<"CONNECTION_LOST"> {
  return connectionLostError({ outcome: "none-running", reason: firstLineOf(error), cause: error, ...(during === undefined ? {} : { during }) });
}

function toTypedError(error: unknown, busyTimeoutMs: number, code: string, kind: ErrorKind): unknown {
  switch (kind) {
    case "locked":
      return databaseLockedError(busyTimeoutMs, error);
    case "full":
      return diskFullError({ version: null, file: null, sqliteCode: code, cause: error });
    case "readonly":
      return databaseUnusableError(`The database cannot be written (SQLSTATE ${code}): the server is read-only (a standby) or this role lacks the privilege. Nothing was changed.`, code, error);
    case "cantopen":
      return describeConnectionFailure(error);
    case "corrupt":
      return databaseUnusableError(`PostgreSQL reports corrupted data (SQLSTATE ${code}). Nothing was changed.`, code, error);
    default:
      return error;
  }
}
