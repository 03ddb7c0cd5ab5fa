/**
 * `DATABASE_URL`, the conventional place a deployment names its database, read as the last resort
 * after `--db` and the config. Only SQLite can be named there: a plain path, `file:` or `sqlite:`.
 * Anything else (a PostgreSQL URL meant for another tool, say) is refused by its scheme alone, so
 * a password in it never reaches the output.
 */
import { fileURLToPath } from "node:url";
import { DatabasePathInvalidError } from "../errors.js";

const SQLITE_SCHEMES = new Set(["sqlite:", "sqlite3:"]);

/**
 * The database path `DATABASE_URL` names, or `null` when it is unset or blank.
 *
 * @throws DatabasePathInvalidError (`unsupported-url`) for a URL of another database, or one that
 *   names no file.
 */
export function databasePathFromUrl(value: string | undefined): string | null {
  const url = value?.trim() ?? "";
  if (url === "") return null;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)/.exec(url)?.[1]?.toLowerCase() ?? null;
  // A Windows drive letter looks like a one-letter scheme; it is a path.
  if (scheme === null || /^[A-Za-z]:[\\/]/.test(url)) return url;
  const withoutQuery = url.replace(/[?#].*$/, "");
  let file: string;
  if (scheme === "file:") {
    file = withoutQuery.startsWith("file://") ? safeFileUrlToPath(withoutQuery) : decode(withoutQuery.slice("file:".length));
  } else if (SQLITE_SCHEMES.has(scheme)) {
    // sqlite:///abs/path and sqlite://relative/path, as SQLAlchemy and sqlx spell them, and sqlite:path.
    const rest = withoutQuery.slice(scheme.length);
    file = decode(rest.startsWith("//") ? rest.slice(2) : rest);
  } else {
    throw new DatabasePathInvalidError(`DATABASE_URL (${scheme}//…)`, "unsupported-url");
  }
  if (file === "" || file === "/") throw new DatabasePathInvalidError(`DATABASE_URL (${scheme}…)`, "unsupported-url");
  return file;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function safeFileUrlToPath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch {
    // file://host/path names another machine; there is no file here to open.
    throw new DatabasePathInvalidError("DATABASE_URL (file://…)", "unsupported-url");
  }
}
