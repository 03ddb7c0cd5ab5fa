/**
 * The embeddable command line: `import { createCli } from "stepwise-migrate/cli"`. Its default driver,
 * better-sqlite3, is imported statically, as an app that bundles its own CLI needs.
 *
 * @packageDocumentation
 */
export type { Cli, CliContext, CliIo, CreateCliProps } from "./cli-props.js";
export { connectLibsqlClient, connectPostgres } from "./open-database.js";
import Database from "better-sqlite3";
import { describeOption, describeThrownValue } from "../core/error-factories.js";
import { StepwiseError } from "../core/errors.js";
import { checkBusyTimeout, optionsObject } from "../core/options.js";
import { tryOr } from "../shared/try-or.js";
import type { MigrationRegistry } from "../core/types.js";
import { AsyncMigrationManager, MigrationManager } from "../drivers/better-sqlite3.js";
import type { Cli, CreateCliProps } from "./cli-props.js";
import { createCli as createCliWith } from "./create-cli.js";
import { withFix } from "./error-fix.js";
import { connectBetterSqlite3, type DriverLoader } from "./open-database.js";

/** Opens databases with better-sqlite3. */
export const betterSqlite3Loader: DriverLoader = async () => connectBetterSqlite3({ Database, MigrationManager, AsyncMigrationManager });

/**
 * Builds the runtime command line, embeddable in an app's own binary; `drivers` defaults to better-sqlite3 alone. Without a `driver` setting, the CLI uses better-sqlite3 when `drivers` offers it,
 * else the first driver `drivers` lists.
 *
 * ```ts
 * import { createCli } from "stepwise-migrate/cli";
 * import { migrations } from "./generated/registry.js";
 * process.exitCode = await createCli({ migrations, database: "data/app.db" }).run(process.argv.slice(2));
 * ```
 *
 * @throws `TypeError` when `drivers` offers none: a CLI that can open no database is a programming error, refused when it is built rather than on each run.
 * @throws `StepwiseError` `USAGE` (`option`: the prop) for a prop it does not take (a misspelt one would be ignored) or a value of the wrong kind, which would fail only in a command as a `TypeError`.
 */
export function createCli<R extends MigrationRegistry>(props: CreateCliProps<R>): Cli {
  optionsObject(props, "createCli", Object.keys(PROP_CHECKS) as (keyof CreateCliProps<R>)[]);
  const given: Readonly<Record<string, unknown>> = { ...props };
  for (const [key, [check, what]] of Object.entries(PROP_CHECKS)) {
    const value = given[key];
    const setting = SETTING_FLAGS[key] !== undefined && typeof value === "function";
    if ((value !== undefined || key === "migrations") && !setting && !check(value))
      throw new StepwiseError("USAGE", `createCli's ${key} must be ${what}; got ${describeOption(value)}. Nothing was run.`, { option: key });
  }
  if (props.drivers !== undefined && Object.keys(props.drivers).length === 0) throw new TypeError("createCli: drivers offers no driver; pass at least one, or leave drivers out for better-sqlite3.");
  const settings = Object.fromEntries(
    Object.keys(SETTING_FLAGS).flatMap((key) => {
      const value = given[key];
      return typeof value === "function" ? [[key, appSetting(key, value as (...args: never[]) => unknown)]] : [];
    }),
  );
  return createCliWith({ ...props, ...settings, drivers: props.drivers ?? { "better-sqlite3": betterSqlite3Loader } });
}

const isString = (value: unknown) => typeof value === "string";
const isFunction = (value: unknown) => typeof value === "function";
const isObject = (value: unknown) => typeof value === "object" && value !== null;
const isTimeout = (value: unknown) => tryOr(() => checkBusyTimeout(value) === value, false);

/** What each prop of `createCli` takes, checked when it is built. A setting may also be a function, checked by what it returns. */
const PROP_CHECKS: Readonly<Record<keyof CreateCliProps, readonly [check: (value: unknown) => boolean, what: string]>> = {
  migrations: [Array.isArray, `the registry's array (import { migrations } from "./generated/registry.js"), or a function that loads it`],
  database: [(value) => value === null || isString(value), "a database path, null, or a function returning one"],
  url: [(value) => value === null || isString(value), "a connection URL, null, or a function returning one"],
  schema: [isString, "a schema name, or a function returning one"],
  cwd: [isString, "a folder path"],
  tableName: [isString, "a table name, or a function returning one"],
  driver: [isString, "a driver name, or a function returning one"],
  drivers: [isObject, "an object of driver loaders, such as { pg: async () => connectPostgres(...) }"],
  busyTimeoutMs: [isTimeout, "a number of milliseconds"],
  lockTimeoutMs: [isTimeout, "a number of milliseconds"],
  programName: [isString, "the command as your users type it"],
  version: [isString, "a version string"],
  io: [isObject, "an object of stdout, stderr, env and isTTY"],
  databaseSearched: [isFunction, "a function"],
  extend: [isFunction, "a function"],
  // By its shape, as runFleet checks it: a signal of another realm is no instance of this one's AbortSignal.
  signal: [(value) => typeof (value as Partial<AbortSignal> | null)?.aborted === "boolean", "an AbortSignal"],
};

/** The props an app may give as functions, each with the flag that overrides it. */
const SETTING_FLAGS: Readonly<Record<string, string>> = { migrations: "", database: "--db", url: "--url", schema: "--schema", tableName: "--table", driver: "--driver" };

/**
 * The app's setting function `read`, whose throw is the app's error, not a bug of stepwise's: the registry's loader fails as `REGISTRY_LOAD_FAILED` (a result that is no registry, `USAGE`),
 * another setting as `USAGE` naming it. A `StepwiseError` it throws passes as it is.
 */
function appSetting(key: string, read: (...args: never[]) => unknown) {
  const failed = (error: unknown) => {
    if (error instanceof StepwiseError) return error;
    const threw = `createCli's ${key} function threw: ${describeThrownValue(error)}`;
    return key === "migrations"
      ? withFix(
          new StepwiseError("REGISTRY_LOAD_FAILED", `Could not load the registry: ${threw}.`, { file: "createCli's migrations", location: null }, { cause: error }),
          "fix the app's migrations function, then run the command again",
        )
      : withFix(new StepwiseError("USAGE", `${threw}.`, { setting: key }, { cause: error }), `fix the app's ${key} function, or give ${SETTING_FLAGS[key]}`);
  };
  if (key === "migrations") {
    return async (...args: never[]) => {
      let registry: unknown;
      try {
        registry = await read(...args);
      } catch (error) {
        throw failed(error);
      }
      if (!Array.isArray(registry))
        throw new StepwiseError("USAGE", `createCli's migrations function must return the registry's array; it returned ${describeOption(registry)}. Nothing was run.`, { option: key });
      return registry;
    };
  }
  return (...args: never[]) => {
    try {
      return read(...args);
    } catch (error) {
      throw failed(error);
    }
  };
}
