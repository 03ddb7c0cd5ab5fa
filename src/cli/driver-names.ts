/** The drivers the CLI and the config accept, and what sets each apart, with no database library loaded (the config reader uses it). */
import { driverUnknownError } from "./errors.js";
import type { SqlDialect } from "../core/types.js";

/** A driver the CLI can open a database with, one per driver entry. */
export type CliDriverName = "better-sqlite3" | "node-sqlite" | "bun-sqlite" | "libsql" | "sql-js" | "pg" | "libsql-client";

/** Each driver: its library (the npm package or built-in module) and, for a driver that connects by URL (`--url`, not `--db`), how one is written. */
export const CLI_DRIVERS: Readonly<Record<CliDriverName, { readonly library: string; readonly exampleUrl?: string }>> = {
  "better-sqlite3": { library: "better-sqlite3" },
  "node-sqlite": { library: "node:sqlite" },
  "bun-sqlite": { library: "bun:sqlite" },
  libsql: { library: "libsql" },
  "sql-js": { library: "sql.js" },
  pg: { library: "pg", exampleUrl: "postgres://user@host:5432/database" },
  "libsql-client": { library: "@libsql/client", exampleUrl: "file:data/app.db or libsql://your-db.turso.io" },
};

/** Other spellings people use: the libraries' own names. */
const ALIASES: Readonly<Record<string, CliDriverName>> = {
  "sql.js": "sql-js",
  "node:sqlite": "node-sqlite",
  "bun:sqlite": "bun-sqlite",
  postgres: "pg",
  postgresql: "pg",
  "@libsql/client": "libsql-client",
};

/** Every {@link CliDriverName}, in the order help and errors list them. */
export const CLI_DRIVER_NAMES = Object.keys(CLI_DRIVERS) as CliDriverName[];

/** The driver used when neither `--driver` nor the config names one. */
const DEFAULT_CLI_DRIVER: CliDriverName = "better-sqlite3";

/** The driver a CLI offering `offered` uses when neither `--driver` nor the app names one: better-sqlite3 when offered, else the first it offers. */
export function defaultDriverOf(offered: readonly string[]): CliDriverName {
  return (offered.includes(DEFAULT_CLI_DRIVER) ? DEFAULT_CLI_DRIVER : (offered[0] ?? DEFAULT_CLI_DRIVER)) as CliDriverName;
}

/** A URL's scheme, lower-cased with its colon (`postgres:`), or `null` when it has none. */
export const schemeOf = (url: string): string | null => /^([A-Za-z][A-Za-z0-9+.-]*:)/.exec(url)?.[1]?.toLowerCase() ?? null;

/** The driver a URL's scheme (`postgres:`, as {@link schemeOf} reads it) names when neither `--driver` nor the app does: pg, or libsql-client for `libsql:`, `http(s):`, `ws(s):`; else `null`. */
export function urlDriverOfScheme(scheme: string | null): "pg" | "libsql-client" | null {
  return scheme === null ? null : /^postgres(ql)?:$/.test(scheme) ? "pg" : /^(libsql|https?|wss?):$/.test(scheme) ? "libsql-client" : null;
}

/** The driver among `offered` that `url`'s scheme names ({@link urlDriverOfScheme}), or `null`. */
export function driverOfScheme(url: string, offered: readonly string[]): CliDriverName | null {
  const driver = urlDriverOfScheme(schemeOf(url.trim()));
  return driver !== null && offered.includes(driver) ? driver : null;
}

/** The default `--driver`'s help states for a CLI offering `offered`: the URL drivers it offers besides the fallback, then the fallback. */
export function describeDefaultDriver(offered: readonly string[]): string {
  const fallback = defaultDriverOf(offered);
  const byUrl = [
    ["pg", "pg for a postgres:// --url, url setting or --url-file"],
    ["libsql-client", "libsql-client for a libsql://, http(s):// or ws(s):// --url or --url-file"],
  ].filter(([driver]) => driver !== fallback && offered.includes(driver!));
  return byUrl.length === 0 ? fallback : `${byUrl.map(([, text]) => text).join(", ")}, else ${fallback}`;
}

/** The SQL dialect of the databases `driver` opens, which picks the registry the CLI loads. */
export function dialectOfDriver(driver: CliDriverName): SqlDialect {
  return driver === "pg" ? "postgres" : "sqlite";
}

/** Whether `driver` reaches its database by URL (`--url`) rather than a file (`--db`); its managers return promises. */
export function connectsByUrl(driver: CliDriverName): boolean {
  return CLI_DRIVERS[driver].exampleUrl !== undefined;
}

/**
 * The driver `value` names, read case- and space-insensitively; `source` (`"--driver"`, a config file) is named in the error.
 *
 * @throws `DRIVER_UNKNOWN` listing the valid names.
 */
export function parseDriverName(value: string, source: string): CliDriverName {
  const name = value.trim().toLowerCase();
  const found = CLI_DRIVER_NAMES.find((driver) => driver === name) ?? (Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined);
  if (found === undefined) throw driverUnknownError({ driver: value, source, validDrivers: [...CLI_DRIVER_NAMES, ...Object.keys(ALIASES)] });
  return found;
}

/** The other spellings {@link parseDriverName} accepts for `driver`, such as `postgres` for `pg`. */
export function aliasesOf(driver: string): string[] {
  return Object.keys(ALIASES).filter((alias) => ALIASES[alias] === driver);
}
