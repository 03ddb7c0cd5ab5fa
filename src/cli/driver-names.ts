/** The driver names the CLI and the config accept, apart from the code that opens connections, so the config reader loads no database library. */
import { driverUnknownError } from "../core/error-factories.js";
import type { SqlDialect } from "../core/types.js";

/** A driver the CLI can open a database with, one per driver entry. */
export type CliDriverName = "better-sqlite3" | "node-sqlite" | "bun-sqlite" | "libsql" | "sql-js" | "pg" | "libsql-client";

/** Every {@link CliDriverName}, in the order help and errors list them. */
export const CLI_DRIVER_NAMES: readonly CliDriverName[] = ["better-sqlite3", "node-sqlite", "bun-sqlite", "libsql", "sql-js", "pg", "libsql-client"];

/** The driver used when neither `--driver` nor the config names one. */
export const DEFAULT_CLI_DRIVER: CliDriverName = "better-sqlite3";

/** Other spellings people use: the packages' and modules' own names. */
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

/** Whether `driver` reaches its database by URL (`--url`) rather than a file (`--db`); its managers return promises. */
export function connectsByUrl(driver: CliDriverName): boolean {
  return driver === "pg" || driver === "libsql-client";
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
