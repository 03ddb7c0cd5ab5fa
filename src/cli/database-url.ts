/**
 * `DATABASE_URL`, the conventional place a deployment names its database, read as the last resort
 * after `--db` and the config. Only SQLite can be named there: a plain path, `file:` or `sqlite:`.
 * Anything else (a PostgreSQL URL meant for another tool, say, or a libpq `key=value` string) is
 * refused by its shape or scheme alone, so a password in it never reaches the output.
 */
import { fileURLToPath } from "node:url";
import { databasePathInvalidError, pathEncodingError } from "../core/error-factories.js";

const SQLITE_SCHEMES = new Set(["sqlite:", "sqlite3:"]);

/**
 * The database path `DATABASE_URL` names, or `null` when it is unset or blank.
 *
 * @throws `DATABASE_PATH_INVALID` (`unsupported-url`) for a URL of another database, or one that
 *   names no file; `PATH_NOT_UTF8` when its `%XX` escapes spell bytes that are not UTF-8.
 */
export function databasePathFromUrl(value: string | undefined): string | null {
  const url = value?.trim() ?? "";
  if (url === "") return null;
  // Whatever fails a rule is named by its shape only: it may hold a password.
  refuseConnectionString(url, "");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)/.exec(url)?.[1]?.toLowerCase() ?? null;
  // A Windows drive letter looks like a one-letter scheme; it is a path.
  if (scheme === null || /^[A-Za-z]:[\\/]/.test(url)) {
    refuseConnectionString(url, url);
    return url;
  }
  const withoutQuery = url.replace(/[?#].*$/, "");
  // A query (`?mode=ro`) is SQLite's own and dropped; the part naming the file must be plain.
  if (scheme === "file:" || SQLITE_SCHEMES.has(scheme)) refuseConnectionString(url, withoutQuery);
  let file: string;
  if (scheme === "file:") {
    file = withoutQuery.startsWith("file://") ? safeFileUrlToPath(withoutQuery) : decode(withoutQuery.slice("file:".length));
  } else if (SQLITE_SCHEMES.has(scheme)) {
    // sqlite:///abs/path and sqlite://relative/path, as SQLAlchemy and sqlx spell them, and sqlite:path.
    const rest = withoutQuery.slice(scheme.length);
    file = decode(rest.startsWith("//") ? rest.slice(2) : rest);
  } else {
    // The usual reason: a PostgreSQL app's environment, with the driver not chosen.
    const hint =
      scheme === "postgres:" || scheme === "postgresql:"
        ? "; for PostgreSQL pass --driver pg"
        : scheme === "libsql:" || scheme === "http:" || scheme === "https:" || scheme === "ws:" || scheme === "wss:"
          ? "; for a libSQL server pass --driver libsql-client"
          : "";
    throw databasePathInvalidError(`DATABASE_URL (${scheme}//…${hint})`, "unsupported-url");
  }
  if (file === "" || file === "/") throw databasePathInvalidError(`DATABASE_URL (${scheme}…)`, "unsupported-url");
  return file;
}

/**
 * Throws unless `url` can be a SQLite path or URL, naming only its shape, never its content. The
 * rule: the value holds no quotes around it, does not start with `//`, and has no control
 * characters; and `named` (the value, or a SQLite URL without its query) holds no `key=value` pairs,
 * no `;` separators and no `user@host` part. Each of those marks a connection string for another
 * database (libpq, ADO.NET, a quoted, scheme-relative or credentialed URL), which would otherwise be
 * created as a file named after it, password and all.
 */
function refuseConnectionString(url: string, named: string): void {
  const shape = /^["'`]|["'`]$/.test(url)
    ? "a quoted value; remove the quotes"
    : url.startsWith("//") || url.startsWith("\\\\")
      ? "a URL without a scheme"
      : /[\u0000-\u001f\u007f]/.test(url)
        ? "a value with control characters"
        : /[=;]/.test(named)
          ? "a connection string"
          : named.includes("@")
            ? "a URL with credentials or a host"
            : null;
  if (shape !== null) throw databasePathInvalidError(`DATABASE_URL (${shape})`, "unsupported-url");
}

/**
 * Decodes each run of `%XX` escapes; a `%` that starts none is a plain character.
 *
 * @throws `PATH_NOT_UTF8` when escapes spell bytes that are not UTF-8: no string names that file.
 */
function decode(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      throw pathEncodingError(text, text);
    }
  });
}

function safeFileUrlToPath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch (error) {
    if (error instanceof URIError) throw pathEncodingError(url, url);
    // file://host/path names another machine; there is no file here to open.
    throw databasePathInvalidError("DATABASE_URL (file://…)", "unsupported-url");
  }
}
