/**
 * What every SQLite driver shares and no single library owns: reading SQLite's result codes as
 * stepwise's error kinds. Kept apart from any driver file so that a driver entry importing it loads
 * no other driver's library.
 */
import { sqliteCodeOf } from "../core/sqlite-errors.js";
import type { ErrorClassification } from "../core/driver.js";

/** Reads an `SQLITE_*` code as stepwise's error kinds. Shared by every driver that reports SQLite's codes. */
export function classifySqliteError(error: unknown): ErrorClassification {
  const code = sqliteCodeOf(error);
  if (code === null) return { kind: "other", nativeCode: null };
  const kind =
    code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED") ? "locked"
    : code.startsWith("SQLITE_FULL") ? "full"
    : code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_PERM") ? "readonly"
    : code === "SQLITE_NOTADB" ? "notadb"
    : code.startsWith("SQLITE_CORRUPT") ? "corrupt"
    : code.startsWith("SQLITE_CANTOPEN") ? "cantopen"
    : "other";
  return { kind, nativeCode: code };
}
