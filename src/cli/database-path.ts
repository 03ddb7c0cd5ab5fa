/** The database a user names, checked before any library sees it (the clients' own parse errors quote a URL whole, password and all); and the folder a new database file is made in. */
import { tryOr } from "../shared/try-or.js";
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { databaseUnusableError } from "../core/error-factories.js";
import { databaseFolderMissingError, databasePathInvalidError } from "../safety/errors.js";
import { pathEncodingError, refusal } from "./errors.js";
import { StepwiseError } from "../core/errors.js";
import { realDatabaseFileOrThrow } from "../safety/real-database-file.js";
import { CLI_DRIVERS, schemeOf, urlDriverOfScheme, type CliDriverName } from "./driver-names.js";
import { redactConnectionString } from "./secrets.js";

/** The environment variable the CLI reads a libSQL server's auth token from; never printed. */
export const LIBSQL_AUTH_TOKEN_ENV = "LIBSQL_AUTH_TOKEN";

/** `chosen` checked as a SQLite path and resolved: a connection string is refused (a password would become a file name), as is "this folder" (resolving drops the `/`) and `:memory:`. */
export function checkDatabasePath(chosen: string, source: string, resolve: (file: string) => string): string {
  // An empty path would resolve to the working folder itself; SQLite would open "" as a temporary database.
  if (chosen === "") throw databasePathInvalidError("", "empty");
  // The CLI's process ends with the command: an in-memory database would report a migration applied, or a version, that no one can ever see.
  if (chosen === ":memory:") {
    throw refusal(
      `${source} names an in-memory database (:memory:), which keeps nothing once the command ends, so what it applied or reported would be of no database.`,
      "pass --db <path> naming a database file (to try the migrations on a scratch database, gen --check replays them in memory)",
    );
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+:)\/\//.exec(chosen)?.[1]?.toLowerCase();
  if (scheme !== undefined) throw databasePathInvalidError(`${source} (a ${scheme}// URL${serverUrlHint(scheme, " and --url")})`, "unsupported-url");
  if (redactConnectionString(chosen) !== chosen) throw databasePathInvalidError(`${source} (a connection string with a password or token)`, "unsupported-url");
  if (/[\\/]$/.test(chosen) || /(^|[\\/])\.{1,2}$/.test(chosen)) throw databasePathInvalidError(chosen, "directory");
  return usableDatabasePathOrThrow(resolve(chosen));
}

/** The real file `databasePath` names through symlinks, so every command opens, backs up and locks the same file; `DATABASE_PATH_INVALID` for what is no usable file. */
function usableDatabasePathOrThrow(databasePath: string): string {
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
    if (code === "ENOTDIR" || code === "ENAMETOOLONG") throw translateFolderError(error, databasePath);
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

/** Refuses (`PATH_NOT_UTF8`) a U+FFFD the process's arguments or environment did not hold: Node decodes bytes that are not UTF-8 as U+FFFD, so `--db $'\xff.db'` names another file. */
export function assertPathRoundTrips(value: string): void {
  if (!value.includes("\uFFFD")) return;
  // The process's arguments and environment entries as the bytes it was started with; none off Linux.
  const strings = ["/proc/self/cmdline", "/proc/self/environ"].flatMap((file) => {
    const bytes = tryOr(() => readFileSync(file), Buffer.alloc(0));
    const parts: Uint8Array[] = [];
    for (let start = 0; start < bytes.length;) {
      const end = bytes.indexOf(0, start) === -1 ? bytes.length : bytes.indexOf(0, start);
      parts.push(bytes.subarray(start, end));
      start = end + 1;
    }
    return parts;
  });
  const sources = strings.filter((bytes) => new TextDecoder().decode(bytes).includes(value));
  const raw = sources.find((bytes) => decoded(bytes) === null);
  if (sources.length > 0 && raw === undefined) return;
  throw pathEncodingError(value, raw ? escapeBytes(raw) : value.replace(/\\/g, "\\\\").replace(/\uFFFD/g, "\\ufffd"));
}

/** Bytes as a message shows them: printable ASCII as itself, a backslash doubled, every other byte as `\xNN`. */
export function escapeBytes(raw: Uint8Array): string {
  return Array.from(raw, (byte) => (byte === 0x5c ? "\\\\" : byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`)).join("");
}

/** Whether `url` names a SQLite file as {@link databasePathFromUrl} reads one (a plain path, a Windows drive, `file:` or `sqlite:`) rather than a server's URL. */
export function namesSqliteFile(url: string): boolean {
  const trimmed = url.trim();
  const scheme = schemeOf(trimmed);
  return scheme === null || /^[A-Za-z]:[\\/]/.test(trimmed) || ["file:", "sqlite:", "sqlite3:"].includes(scheme);
}

/** The database path `DATABASE_URL` (or `source`) holds, or `null` when blank; anything else is refused by its shape or scheme alone, so a password in it is never printed. */
export function databasePathFromUrl(value: string | undefined, source = "DATABASE_URL"): string | null {
  const url = value?.trim() ?? "";
  if (url === "") return null;
  refuseConnectionString(url, "", source);
  const scheme = schemeOf(url);
  // A Windows drive letter looks like a one-letter scheme; it is a path.
  if (scheme === null || /^[A-Za-z]:[\\/]/.test(url)) {
    refuseConnectionString(url, url, source);
    return url;
  }
  const sqlite = scheme === "sqlite:" || scheme === "sqlite3:";
  if (scheme !== "file:" && !sqlite) throw databasePathInvalidError(`${source} (${scheme}//…${serverUrlHint(scheme, "")})`, "unsupported-url");
  const named = url.replace(/[?#].*$/, "");
  refuseConnectionString(url, named, source);
  refuseUrlQuery(url, source);
  const rest = named.slice(scheme.length);
  let file: string;
  if (scheme === "file:" && rest.startsWith("//")) {
    try {
      file = fileURLToPath(named);
    } catch (error) {
      if (error instanceof URIError) throw pathEncodingError(named, named);
      // file://host/path names another machine.
      throw databasePathInvalidError(`${source} (file://…)`, "unsupported-url");
    }
  } else {
    // sqlite:///abs/path and sqlite://relative/path, as SQLAlchemy and sqlx spell them, and sqlite:path.
    // Each run of `%XX` escapes is decoded (a `%` that starts none stays).
    const text = sqlite && rest.startsWith("//") ? rest.slice(2) : rest;
    file = text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (escapes) => {
      const plain = decoded(escapes);
      if (plain === null) throw pathEncodingError(text, text);
      return plain;
    });
  }
  if (file === "" || file === "/") throw databasePathInvalidError(`${source} (${scheme}…)`, "unsupported-url");
  return file;
}

/** The hint for a server's URL given where a SQLite path goes: the driver that takes it. `flag` is appended to it (` and --url`). */
function serverUrlHint(scheme: string, flag: string): string {
  const driver = urlDriverOfScheme(scheme);
  return driver === null ? "" : `; for ${driver === "pg" ? "PostgreSQL" : "a libSQL server"} pass --driver ${driver}${flag}`;
}

/** Throws unless `url` can be a SQLite path or URL, naming only its shape: another database's connection string may hold a password. */
function refuseConnectionString(url: string, named: string, source: string): void {
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
  if (shape !== null) throw databasePathInvalidError(`${source} (${shape})`, "unsupported-url");
}

/**
 * Refuses a SQLite URL's query (`?mode=ro`, `?mode=memory`, `?cache=shared`) or fragment: the CLI opens the file it names read-write, as SQLite's own URI parameters would not,
 * so a `mode=ro` would be written to and a `mode=memory` created on disk. `mode=rwc` is what the CLI does anyway. Named by its parameters' names alone (a value may be a secret).
 */
function refuseUrlQuery(url: string, source: string): void {
  const at = url.search(/[?#]/);
  if (at === -1) return;
  const rest = url.slice(at);
  const pairs = rest.startsWith("?") ? rest.slice(1).replace(/#.*$/, "").split("&") : [];
  if (!rest.includes("#") && pairs.every((pair) => pair === "" || pair === "mode=rwc")) return;
  const names = pairs
    .filter((pair) => pair !== "" && pair !== "mode=rwc")
    // A bare value or an escaped name may be a secret: named only as "a parameter".
    .map((pair) => /^[A-Za-z_][A-Za-z0-9_.-]{0,39}=/.exec(pair)?.[0].slice(0, -1) ?? "a parameter");
  const part = names.length > 0 ? `query parameters (${names.join(", ")})` : "a fragment (#…)";
  throw refusal(
    `${source} is a SQLite URL with ${part}, which stepwise does not honour: it opens the file the URL names, read-write, whatever a parameter says (mode=ro would be written to, mode=memory created on disk).`,
    `remove everything from the ? or # in ${source}, leaving the file's path (such as file:data/app.db); the read-only commands (status, history, version, info) never write`,
  );
}

/** A checked connection URL: what the client takes (it may hold a password), how the CLI shows it, and the local file a `file:` URL names. */
export interface ServerUrl {
  readonly url: string;
  readonly label: string;
  readonly file: string | null;
}

/** `url` checked for `driver`, whose messages name `source`, never the URL's text (a password); a `file:` URL's path is checked as `--db` is. */
export function parseServerUrl(driver: CliDriverName, url: string, source: string, resolve: (file: string) => string): ServerUrl {
  const trimmed = url.trim();
  const scheme = schemeOf(trimmed);
  const example = CLI_DRIVERS[driver].exampleUrl!;
  if (driver !== "libsql-client") {
    const slashed = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\//.exec(trimmed)?.[1]?.toLowerCase() ?? null;
    if (urlDriverOfScheme(slashed) !== "pg") {
      throw refusal(
        `${source} is not a PostgreSQL URL (${slashed === null ? "it has no scheme://" : `its scheme is ${slashed}//`}); the pg driver needs one such as ${example}.`,
        `give ${source} a PostgreSQL URL such as ${example}`,
      );
    }
    // pg ignores a fragment, and a # in the user or password ends the authority early: what follows it (maybe the password) would reach the label.
    if (trimmed.includes("#"))
      throw refusal(
        `${source} holds a #, which starts a URL fragment: percent-encode a # in the user name or password as %23, and remove any fragment.`,
        `percent-encode a # in the user name or password of ${source} as %23, and remove any fragment`,
      );
    // pg hands a URL it cannot parse to WHATWG `URL`, whose error quotes it whole.
    const parsed = parseUrl(trimmed);
    if (parsed === null) {
      throw refusal(
        `${source} is not a valid URL. Write it as ${example}, and percent-encode any @, :, / or ? in the user name or password (%40, %3A, %2F, %3F), or leave the password out of the URL and set PGPASSWORD.`,
        `write ${source} as ${example}, percent-encoding any @, :, / or ? in the user name or password (%40, %3A, %2F, %3F), or leave the password out and set PGPASSWORD`,
      );
    }
    for (const [part, value] of [
      ["user name", parsed.username],
      ["password", parsed.password],
    ] as const) {
      if (decoded(value) === null) throw refusal(`The ${part} in ${source} has a % that does not start an escape such as %25 (for % itself).`, `write a % in the ${part} of ${source} as %25`);
    }
    return { url: trimmed, label: redactConnectionString(trimmed), file: null };
  }
  if (scheme === "file:") {
    refuseUrlQuery(trimmed, source);
    const named = trimmed.replace(/[?#].*$/, "");
    let file: string;
    try {
      file = named.startsWith("file://") ? fileURLToPath(named) : decodeURIComponent(named.slice("file:".length));
    } catch {
      throw refusal(`${source} is a file: URL that names no local file (write it as file:data/app.db or file:///absolute/path.db).`, `write ${source} as file:data/app.db or file:///absolute/path.db`);
    }
    if (file === "" || file === ":memory:") throw refusal(`${source} names no database file; write it as file:data/app.db.`, `write ${source} as file:data/app.db, naming a database file`);
    const absolute = usableDatabasePathOrThrow(resolve(file));
    // The client takes file:<path>; a character a URL reserves would start a query.
    if (/[?#%]/.test(absolute))
      throw refusal(
        `The database path in ${source} holds ?, # or %, which a file: URL cannot carry; rename the file or its folder.`,
        "rename the database file or its folder so that its path holds no ?, # or %",
      );
    return { url: `file:${absolute}`, file: absolute, label: absolute };
  }
  if (urlDriverOfScheme(scheme) !== "libsql-client") {
    throw refusal(
      `${source} is not a libSQL URL (${scheme === null ? "it has no scheme" : `its scheme is ${scheme}`}); the libsql-client driver needs one such as ${example}.`,
      `give ${source} a libSQL URL such as ${example}`,
    );
  }
  // What `@libsql/client` would refuse quoting the URL: a fragment, and any query parameter but `authToken` and `tls=0|1`, decoded as the client decodes them.
  if (trimmed.includes("#")) throw refusal(`${source} has a fragment (#…), which a libSQL URL cannot carry; remove it.`, `remove the fragment (#…) from ${source}`);
  const query = trimmed.includes("?") ? trimmed.slice(trimmed.indexOf("?") + 1) : "";
  for (const pair of query.split("&").filter((pair) => pair !== "")) {
    const equals = pair.includes("=") ? pair.indexOf("=") : pair.length;
    const [key, value] = [pair.slice(0, equals), pair.slice(equals + 1)].map((part) => decoded(part.replaceAll("+", " ")));
    if (key === null || value === null) {
      throw refusal(`${source} has a query parameter with a % that does not start an escape such as %25 (for % itself).`, `write a % in a query parameter of ${source} as %25`);
    }
    if (key === "authToken" || (key === "tls" && /^[01]$/.test(value!))) continue;
    if (key === "tls") throw refusal(`${source} has a tls parameter other than tls=0 or tls=1.`, `write tls=0 or tls=1 in ${source}, or leave it out`);
    throw refusal(
      `${source} has a query parameter a libSQL URL does not take (only authToken and tls=0|1); remove it, and set ${LIBSQL_AUTH_TOKEN_ENV} for the token.`,
      `remove every query parameter but authToken and tls from ${source}, and set ${LIBSQL_AUTH_TOKEN_ENV} for the token`,
    );
  }
  const parsed = parseUrl(trimmed);
  if (parsed === null)
    throw refusal(
      `${source} is not a valid URL; write it as libsql://host (set ${LIBSQL_AUTH_TOKEN_ENV} for the token).`,
      `write ${source} as libsql://host, and set ${LIBSQL_AUTH_TOKEN_ENV} for the token`,
    );
  if (parsed.username !== "" || parsed.password !== "") {
    throw refusal(
      `${source} carries a user name or password; a libSQL server takes a token instead: leave them out and set ${LIBSQL_AUTH_TOKEN_ENV}.`,
      `leave the user name and password out of ${source}, and set ${LIBSQL_AUTH_TOKEN_ENV}`,
    );
  }
  return { url: trimmed, file: null, label: `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}` };
}

/** `text` percent-decoded (bytes: strictly as UTF-8), or `null` where that fails. */
const decoded = (text: string | Uint8Array): string | null => tryOr(() => (typeof text === "string" ? decodeURIComponent(text) : new TextDecoder("utf-8", { fatal: true }).decode(text)), null);
const parseUrl = (text: string): URL | null => tryOr(() => new URL(text), null);
