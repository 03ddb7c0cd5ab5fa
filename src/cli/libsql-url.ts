/**
 * Checks a libSQL URL before `@libsql/client` sees it: a local `file:` database, or a server
 * (`libsql://`, `http(s)://`, `ws(s)://`: Turso, sqld). The client's own parse errors may quote the
 * URL, and a URL may carry an `authToken=` parameter; so every refusal here names where the URL came
 * from and what is wrong with its shape, never its text.
 */
import { fileURLToPath } from "node:url";
import { usableDatabasePathOrThrow } from "./database-path.js";
import { usageError } from "../core/error-factories.js";

/** The schemes `@libsql/client` reaches a server by. */
const REMOTE_SCHEMES = new Set(["libsql:", "http:", "https:", "ws:", "wss:"]);

/** How a URL is written, for the refusals. */
export const LIBSQL_URL_EXAMPLE = "file:data/app.db or libsql://your-db.turso.io";

/** The environment variable the CLI reads a libSQL server's auth token from; never printed. */
export const LIBSQL_AUTH_TOKEN_ENV = "LIBSQL_AUTH_TOKEN";

/** A checked libSQL URL. */
export interface LibsqlUrl {
  /** The URL as `createClient` takes it: a `file:` URL with an absolute path, or the server's URL as given. */
  readonly url: string;
  /** The database file's absolute path for a `file:` URL; `null` for a server. */
  readonly file: string | null;
  /** The URL as the CLI shows it: the file's path, or the server's URL without its query (where a token may sit). */
  readonly label: string;
}

/**
 * `url`, checked. A `file:` URL's path is resolved with `resolvePath` (relative to the CLI's working
 * folder), so the client opens the same file the messages name. `source` (`"--url"`,
 * `"DATABASE_URL"`, the config's path) is named in the refusals.
 *
 * @throws `USAGE` naming `source` and the problem, never the URL's text; for a `file:` URL, what
 *   `usableDatabasePathOrThrow` throws.
 */
export function parseLibsqlUrl(url: string, source: string, resolvePath: (file: string) => string): LibsqlUrl {
  const trimmed = url.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)/.exec(trimmed)?.[1]?.toLowerCase() ?? null;
  if (scheme === "file:") {
    const withoutQuery = trimmed.replace(/[?#].*$/, "");
    let file: string;
    try {
      file = withoutQuery.startsWith("file://") ? fileURLToPath(withoutQuery) : decodeURIComponent(withoutQuery.slice("file:".length));
    } catch {
      throw usageError(`${source} is a file: URL that names no local file (write it as file:data/app.db or file:///absolute/path.db). Nothing was changed.`);
    }
    if (file === "" || file === ":memory:") throw usageError(`${source} names no database file; write it as file:data/app.db. Nothing was changed.`);
    // As --db: resolved through links, and refused when it is a folder, a FIFO or a device.
    const absolute = usableDatabasePathOrThrow(resolvePath(file));
    // The client takes file:<path>; a path with characters a URL reserves would be read as a query.
    if (/[?#%]/.test(absolute)) throw usageError(`The database path in ${source} holds ?, # or %, which a file: URL cannot carry; rename the file or its folder. Nothing was changed.`);
    return { url: `file:${absolute}`, file: absolute, label: absolute };
  }
  if (scheme === null || !REMOTE_SCHEMES.has(scheme)) {
    throw usageError(
      `${source} is not a libSQL URL (${scheme === null ? "it has no scheme" : `its scheme is ${scheme}`}); the libsql-client driver needs one such as ${LIBSQL_URL_EXAMPLE}. Nothing was changed.`,
    );
  }
  checkLibsqlQuery(trimmed, source);
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    throw usageError(`${source} is not a valid URL; write it as libsql://host (set ${LIBSQL_AUTH_TOKEN_ENV} for the token). Nothing was changed.`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw usageError(`${source} carries a user name or password; a libSQL server takes a token instead: leave them out and set ${LIBSQL_AUTH_TOKEN_ENV}. Nothing was changed.`);
  }
  return { url: trimmed, file: null, label: `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}` };
}

/**
 * Refuses what `@libsql/client` would refuse with the URL's text in its message (which reaches
 * `--verbose` as the cause): a fragment, and any query parameter but `authToken` and `tls=0|1`. Keys
 * and values are percent-decoded as the client decodes them; a refusal names neither, since either
 * may be a secret.
 *
 * @throws `USAGE` naming `source` and the problem.
 */
function checkLibsqlQuery(url: string, source: string): void {
  if (url.includes("#")) throw usageError(`${source} has a fragment (#…), which a libSQL URL cannot carry; remove it. Nothing was changed.`);
  const start = url.indexOf("?");
  if (start === -1) return;
  for (const pair of url.slice(start + 1).split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent((equals === -1 ? pair : pair.slice(0, equals)).replaceAll("+", " "));
      value = decodeURIComponent((equals === -1 ? "" : pair.slice(equals + 1)).replaceAll("+", " "));
    } catch {
      throw usageError(`${source} has a query parameter with a % that does not start an escape such as %25 (for % itself). Nothing was changed.`);
    }
    if (key === "authToken") continue;
    if (key === "tls") {
      if (value === "0" || value === "1") continue;
      throw usageError(`${source} has a tls parameter other than tls=0 or tls=1. Nothing was changed.`);
    }
    throw usageError(`${source} has a query parameter a libSQL URL does not take (only authToken and tls=0|1); remove it, and set ${LIBSQL_AUTH_TOKEN_ENV} for the token. Nothing was changed.`);
  }
}
