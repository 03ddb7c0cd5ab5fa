/**
 * The connection URL of a driver that connects by URL, checked by that driver's rules: pg's
 * `postgres://` URL, or libsql-client's `file:` or server URL. Each refusal names where the URL came
 * from, never its text.
 */
import { LIBSQL_URL_EXAMPLE, parseLibsqlUrl } from "./libsql-url.js";
import { parsePostgresUrl } from "./postgres-url.js";
import { redactConnectionString } from "./secrets.js";
import type { CliDriverName } from "./driver-names.js";

/** A checked connection URL. */
export interface ServerUrl {
  /** What the driver's client takes; it may hold a password. */
  readonly url: string;
  /** How the CLI shows it: the password hidden, or a `file:` URL's absolute path. */
  readonly label: string;
  /** The local database file a `file:` URL names, else `null`. */
  readonly file: string | null;
}

/** An example URL for `driver`, for messages that ask for one. */
export function exampleUrlOf(driver: CliDriverName): string {
  return driver === "libsql-client" ? LIBSQL_URL_EXAMPLE : "postgres://user@host:5432/database";
}

/**
 * `url` checked for `driver`; `source` names where it came from, `resolvePath` resolves a `file:`
 * URL's relative path against the CLI's working folder.
 *
 * @throws `USAGE` naming `source` and what is wrong, never the URL's text.
 */
export function parseServerUrl(driver: CliDriverName, url: string, source: string, resolvePath: (file: string) => string): ServerUrl {
  if (driver === "libsql-client") return parseLibsqlUrl(url, source, resolvePath);
  const checked = parsePostgresUrl(url, source);
  return { url: checked, label: redactConnectionString(checked), file: null };
}
