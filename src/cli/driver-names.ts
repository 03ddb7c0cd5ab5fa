/**
 * The driver names the CLI and the config accept, apart from the code that opens a connection so
 * that the config reader can check a name without loading any database library.
 */
import type { SqlDialect } from "../core/types.js";
import { driverUnknownError } from "../core/error-factories.js";

/** A driver the CLI can open a database with, one per driver entry. */
export type CliDriverName = "better-sqlite3" | "node-sqlite" | "bun-sqlite" | "libsql" | "sql-js" | "pg" | "libsql-client";

/** Every {@link CliDriverName}, in the order help and errors list them. */
export const CLI_DRIVER_NAMES: readonly CliDriverName[] = ["better-sqlite3", "node-sqlite", "bun-sqlite", "libsql", "sql-js", "pg", "libsql-client"];

/** The driver used when neither `--driver` nor the config names one. */
export const DEFAULT_CLI_DRIVER: CliDriverName = "better-sqlite3";

/** Other spellings people use: the package's own name (`sql.js`) and the modules' (`node:sqlite`). */
const ALIASES: Readonly<Record<string, CliDriverName>> = {
  "sql.js": "sql-js",
  "node:sqlite": "node-sqlite",
  "bun:sqlite": "bun-sqlite",
  postgres: "pg",
  postgresql: "pg",
  "@libsql/client": "libsql-client",
};

/** The SQL dialect of the databases `driver` opens, which picks the registry the CLI loads. */
export function dialectOfDriver(driver: CliDriverName): SqlDialect {
  return driver === "pg" ? "postgres" : "sqlite";
}

/** Whether `driver` reaches its database through a URL (`--url`) rather than a file (`--db`); its managers return promises. */
export function connectsByUrl(driver: CliDriverName): boolean {
  return driver === "pg" || driver === "libsql-client";
}

/**
 * The driver `value` names, read case- and space-insensitively.
 *
 * @param source - where the value came from (`"--driver"`, or the config file's path), named in the error.
 * @throws `DRIVER_UNKNOWN` listing the valid names.
 */
export function parseDriverName(value: string, source: string): CliDriverName {
  const name = value.trim().toLowerCase();
  if ((CLI_DRIVER_NAMES as readonly string[]).includes(name)) return name as CliDriverName;
  const alias = ALIASES[name];
  if (alias !== undefined) return alias;
  throw driverUnknownError({ driver: value, source, validDrivers: [...CLI_DRIVER_NAMES, ...Object.keys(ALIASES)] });
}

/** The other spellings {@link parseDriverName} accepts for `driver`, such as `postgres` for `pg`. */
export function aliasesOf(driver: string): string[] {
  return Object.keys(ALIASES).filter((alias) => ALIASES[alias] === driver);
}
