/**
 * The connection URL of a driver that connects by URL, checked by that driver's rules before its
 * client sees it. The clients' own parse errors quote the URL, which may hold a password or an
 * `authToken=`, so each refusal here names where the URL came from and its shape, never its text.
 */
import { fileURLToPath } from "node:url";
import { usageError } from "../core/error-factories.js";
import { usableDatabasePathOrThrow } from "./database-path.js";
import { exampleUrlOf, LIBSQL_URL_EXAMPLE, type CliDriverName } from "./driver-names.js";
import { redactConnectionString } from "./secrets.js";

/** A checked connection URL. */
export interface ServerUrl {
  /** What the driver's client takes; it may hold a password. */
  readonly url: string;
  /** How the CLI shows it: the password hidden, a server's URL without its query, or a `file:` URL's absolute path. */
  readonly label: string;
  /** The local database file a `file:` URL names, else `null`. */
  readonly file: string | null;
}

/** The environment variable the CLI reads a libSQL server's auth token from; never printed. */
export const LIBSQL_AUTH_TOKEN_ENV = "LIBSQL_AUTH_TOKEN";

const refuse = (problem: string) => usageError(`${problem}. Nothing was changed.`);

/**
 * `url` checked for `driver`; `resolvePath` resolves a `file:` URL's relative path against the CLI's
 * working folder, so the client opens the file the messages name.
 *
 * @throws `USAGE` naming `source` and what is wrong, never the URL's text; for a `file:` URL, what `usableDatabasePathOrThrow` throws.
 */
export function parseServerUrl(driver: CliDriverName, url: string, source: string, resolvePath: (file: string) => string): ServerUrl {
  const trimmed = url.trim();
  if (driver !== "libsql-client") return { url: checkPostgresUrl(trimmed, source), label: redactConnectionString(trimmed), file: null };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)/.exec(trimmed)?.[1]?.toLowerCase() ?? null;
  if (scheme === "file:") {
    const named = trimmed.replace(/[?#].*$/, "");
    let file: string;
    try {
      file = named.startsWith("file://") ? fileURLToPath(named) : decodeURIComponent(named.slice("file:".length));
    } catch {
      throw refuse(`${source} is a file: URL that names no local file (write it as file:data/app.db or file:///absolute/path.db)`);
    }
    if (file === "" || file === ":memory:") throw refuse(`${source} names no database file; write it as file:data/app.db`);
    // As --db: resolved through links, and refused when it is a folder, a FIFO or a device.
    const absolute = usableDatabasePathOrThrow(resolvePath(file));
    // The client takes file:<path>; a character a URL reserves would start a query.
    if (/[?#%]/.test(absolute)) throw refuse(`The database path in ${source} holds ?, # or %, which a file: URL cannot carry; rename the file or its folder`);
    return { url: `file:${absolute}`, file: absolute, label: absolute };
  }
  if (scheme === null || !["libsql:", "http:", "https:", "ws:", "wss:"].includes(scheme)) {
    throw refuse(`${source} is not a libSQL URL (${scheme === null ? "it has no scheme" : `its scheme is ${scheme}`}); the libsql-client driver needs one such as ${LIBSQL_URL_EXAMPLE}`);
  }
  checkLibsqlQuery(trimmed, source);
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    throw refuse(`${source} is not a valid URL; write it as libsql://host (set ${LIBSQL_AUTH_TOKEN_ENV} for the token)`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw refuse(`${source} carries a user name or password; a libSQL server takes a token instead: leave them out and set ${LIBSQL_AUTH_TOKEN_ENV}`);
  }
  return { url: trimmed, file: null, label: `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}` };
}

/** Refuses what `@libsql/client` would refuse quoting the URL: a fragment, and any query parameter but `authToken` and `tls=0|1`, decoded as the client decodes them. */
function checkLibsqlQuery(url: string, source: string): void {
  if (url.includes("#")) throw refuse(`${source} has a fragment (#…), which a libSQL URL cannot carry; remove it`);
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
      throw refuse(`${source} has a query parameter with a % that does not start an escape such as %25 (for % itself)`);
    }
    if (key === "authToken" || (key === "tls" && (value === "0" || value === "1"))) continue;
    if (key === "tls") throw refuse(`${source} has a tls parameter other than tls=0 or tls=1`);
    throw refuse(`${source} has a query parameter a libSQL URL does not take (only authToken and tls=0|1); remove it, and set ${LIBSQL_AUTH_TOKEN_ENV} for the token`);
  }
}

/** A `postgres://` or `postgresql://` URL that parses, whose user and password decode: pg hands a URL it cannot parse to WHATWG `URL`, whose error quotes it whole. */
function checkPostgresUrl(url: string, source: string): string {
  const example = exampleUrlOf("pg");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\//.exec(url)?.[1]?.toLowerCase() ?? null;
  if (scheme !== "postgres:" && scheme !== "postgresql:") {
    throw refuse(`${source} is not a PostgreSQL URL (${scheme === null ? "it has no scheme://" : `its scheme is ${scheme}//`}); the pg driver needs one such as ${example}`);
  }
  // pg ignores a fragment, and a # in the user or password ends the authority early: either way what
  // follows it (maybe the password) would reach the labels the CLI prints.
  if (url.includes("#")) throw refuse(`${source} holds a #, which starts a URL fragment: percent-encode a # in the user name or password as %23, and remove any fragment`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse(
      `${source} is not a valid URL. Write it as ${example}, and percent-encode any @, :, / or ? in the user name or password (%40, %3A, %2F, %3F), or leave the password out of the URL and set PGPASSWORD`,
    );
  }
  for (const [part, value] of [
    ["user name", parsed.username],
    ["password", parsed.password],
  ] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      throw refuse(`The ${part} in ${source} has a % that does not start an escape such as %25 (for % itself)`);
    }
  }
  return url;
}
