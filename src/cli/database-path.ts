/** The database file a command opens, checked before SQLite sees it; `DATABASE_URL` read as a SQLite path; the folder a new database is created in. */
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { databaseFolderMissingError, databasePathInvalidError, databaseUnusableError, pathEncodingError } from "../core/error-factories.js";
import { StepwiseError } from "../core/errors.js";
import { realDatabaseFileOrThrow } from "../drivers/database-file.js";

/**
 * The real file `databasePath` (absolute) names through symlinks, so every command opens, backs up
 * and locks the same file; `DATABASE_PATH_INVALID` for a folder, a FIFO or device, a dangling link,
 * a linked journal, a NUL byte, or a file where a folder on the way should be.
 */
export function usableDatabasePathOrThrow(databasePath: string): string {
  if (databasePath === ":memory:" || databasePath === "") return databasePath;
  if (databasePath.includes("\0")) throw databasePathInvalidError(databasePath, "nul-byte");
  try {
    const real = realDatabaseFileOrThrow(databasePath);
    if (!existsSync(real)) {
      // The nearest ancestor that exists must be a folder, or neither SQLite nor mkdir gets past it.
      let dir = path.dirname(databasePath);
      while (statIfPresent(dir) === null && path.dirname(dir) !== dir) dir = path.dirname(dir);
      if (statIfPresent(dir)?.isDirectory() === false) throw databasePathInvalidError(databasePath, "parent-not-directory");
    }
    return real;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") throw databasePathInvalidError(databasePath, "parent-not-directory");
    if (code === "ENAMETOOLONG") throw databasePathInvalidError(databasePath, "too-long");
    throw error;
  }
}

/** A failure to create the database's folder as a typed error naming the path and the fix, never a stack trace. */
export function translateFolderError(error: unknown, databasePath: string): StepwiseError {
  if (error instanceof StepwiseError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOTDIR" || code === "EEXIST") return databasePathInvalidError(databasePath, "parent-not-directory");
  if (code === "ENAMETOOLONG") return databasePathInvalidError(databasePath, "too-long");
  if (code === "ELOOP") return databasePathInvalidError(databasePath, "symlink-loop");
  // A dangling symlink (an unmounted volume, a deleted target) on the way.
  if (code === "ENOENT") return databaseFolderMissingError(databasePath, path.dirname(databasePath));
  const message =
    code === "EACCES" || code === "EPERM" || code === "EROFS"
      ? `Cannot create the folder for ${databasePath} (${code}): a folder on the way is read-only or this process lacks permission. Create it, or pass --db a path you may write. Nothing was changed.`
      : `Cannot create the folder for ${databasePath} (${code ?? (error instanceof Error ? error.message : String(error))}). Create the folder yourself, or pass --db a path on a writable local disk. Nothing was changed.`;
  return databaseUnusableError(message, null, error);
}

/** The file's stats, or `null` when it is not there or not reachable (the open that follows reports that in SQLite's words). */
function statIfPresent(file: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(file);
  } catch (error) {
    if (["ENOENT", "EACCES", "ELOOP"].includes((error as NodeJS.ErrnoException).code ?? "")) return null;
    throw error;
  }
}

/** Creates the folder of `databasePath` and its parents one level at a time (Node's recursive mkdir retries forever under /proc); failures as {@link translateFolderError} types them. */
export function createDatabaseFolder(databasePath: string): void {
  try {
    const missing: string[] = [];
    for (let dir = path.dirname(path.resolve(databasePath)); statIfPresent(dir) === null && path.dirname(dir) !== dir; dir = path.dirname(dir)) missing.unshift(dir);
    for (const dir of missing) {
      try {
        mkdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        // Another process made it in between; or a symlink to nothing (an unmounted volume) sits there.
        if (statIfPresent(dir)?.isDirectory()) continue;
        throw lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink() ? databaseFolderMissingError(databasePath, dir) : error;
      }
    }
  } catch (error) {
    throw translateFolderError(error, databasePath);
  }
}

/**
 * Refuses (`PATH_NOT_UTF8`) a path holding U+FFFD that is no real U+FFFD of the process's arguments
 * or environment: Node decodes bytes that are not UTF-8 as U+FFFD, so `--db $'\xff.db'` arrives as
 * "�.db", another file. The error names the bytes as given (read where Linux shows them), else `\ufffd`.
 */
export function assertPathRoundTrips(value: string): void {
  if (!value.includes("\uFFFD")) return;
  const sources = processStrings().filter((bytes) => new TextDecoder().decode(bytes).includes(value));
  const raw = sources.find((bytes) => {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      return false;
    } catch {
      return true;
    }
  });
  if (sources.length > 0 && raw === undefined) return;
  // Printable ASCII as itself, a backslash doubled, every other byte as `\xNN`.
  const escaped = raw && Array.from(raw, (byte) => (byte === 0x5c ? "\\\\" : byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`)).join("");
  throw pathEncodingError(value, escaped ?? value.replace(/\\/g, "\\\\").replace(/\uFFFD/g, "\\ufffd"));
}

/** The process's arguments and environment entries as the bytes it was started with; none off Linux. */
function processStrings(): Uint8Array[] {
  const strings: Uint8Array[] = [];
  for (const file of ["/proc/self/cmdline", "/proc/self/environ"]) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch {
      continue;
    }
    let start = 0;
    for (let end = bytes.indexOf(0); end !== -1; start = end + 1, end = bytes.indexOf(0, start)) strings.push(bytes.subarray(start, end));
    if (start < bytes.length) strings.push(bytes.subarray(start));
  }
  return strings;
}

/**
 * The database path `DATABASE_URL` names (a plain path, `file:` or `sqlite:`), or `null` when unset
 * or blank. Anything else is refused (`DATABASE_PATH_INVALID`) by its shape or scheme alone, so a
 * password in it never reaches the output; `%XX` escapes that are not UTF-8 are `PATH_NOT_UTF8`.
 */
export function databasePathFromUrl(value: string | undefined): string | null {
  const url = value?.trim() ?? "";
  if (url === "") return null;
  refuseConnectionString(url, "");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)/.exec(url)?.[1]?.toLowerCase() ?? null;
  // A Windows drive letter looks like a one-letter scheme; it is a path.
  if (scheme === null || /^[A-Za-z]:[\\/]/.test(url)) {
    refuseConnectionString(url, url);
    return url;
  }
  const sqlite = scheme === "sqlite:" || scheme === "sqlite3:";
  if (scheme !== "file:" && !sqlite) throw databasePathInvalidError(`DATABASE_URL (${scheme}//…${serverUrlHint(scheme, "")})`, "unsupported-url");
  // A query (`?mode=ro`) is SQLite's own and dropped; the part naming the file must be plain.
  const named = url.replace(/[?#].*$/, "");
  refuseConnectionString(url, named);
  const rest = named.slice(scheme.length);
  let file: string;
  if (scheme === "file:" && rest.startsWith("//")) {
    try {
      file = fileURLToPath(named);
    } catch (error) {
      if (error instanceof URIError) throw pathEncodingError(named, named);
      // file://host/path names another machine.
      throw databasePathInvalidError("DATABASE_URL (file://…)", "unsupported-url");
    }
  } else {
    // sqlite:///abs/path and sqlite://relative/path, as SQLAlchemy and sqlx spell them, and sqlite:path.
    file = decodeEscapes(sqlite && rest.startsWith("//") ? rest.slice(2) : rest);
  }
  if (file === "" || file === "/") throw databasePathInvalidError(`DATABASE_URL (${scheme}…)`, "unsupported-url");
  return file;
}

/** The hint for a server's URL given where a SQLite path goes: the driver that takes it. `flag` is appended to the pg hint (` and --url`). */
export function serverUrlHint(scheme: string, flag: string): string {
  if (/^postgres(ql)?:$/.test(scheme)) return `; for PostgreSQL pass --driver pg${flag}`;
  return /^(libsql|https?|wss?):$/.test(scheme) ? `; for a libSQL server pass --driver libsql-client${flag}` : "";
}

/**
 * Throws unless `url` can be a SQLite path or URL, naming only its shape: quotes, a leading `//`,
 * control characters, or in `named` (without a SQLite URL's query) `key=value`, `;` or `user@host`,
 * which mark another database's connection string, password and all.
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

/** Decodes each run of `%XX` escapes (a `%` that starts none stays); `PATH_NOT_UTF8` when they spell bytes that are not UTF-8. */
function decodeEscapes(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      throw pathEncodingError(text, text);
    }
  });
}
