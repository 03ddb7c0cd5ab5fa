/**
 * The runtime commands' settings as the `stepwise` bin reads them from the project's config: the
 * props of `createCli` that a flag overrides (`--db`, `--url`, `--driver`, `--schema`, `--table`).
 * Each is read only when the CLI asks for it, which it does only when its flag is not given: so a
 * flag always wins, and the config's value for it is never checked, nor its `${NAME}`s expanded.
 */
import path from "node:path";
import { DEFAULT_TABLE_NAME } from "../src/core/history.js";
import type { CreateCliProps } from "../src/cli/create-cli.js";
import { describeConfigLookup } from "./config-lookup.js";
import type { CliDriverName } from "../src/cli/driver-names.js";
import { configDriver, expandConfigUrl, readConfigFile, WORKER_DRIVERS, type ConfigFile, type StepwiseSettings } from "./config.js";
import { usageError } from "../src/core/error-factories.js";
import { StepwiseError } from "../src/core/errors.js";

/** The config-backed props of `createCli`, and the URL `gen --check` replays a postgres registry on. */
export interface RuntimeConfig extends Required<Pick<CreateCliProps, "database" | "url" | "schema" | "tableName" | "driver" | "databaseSearched">> {
  /**
   * The server `gen --check` replays on: the config's `url` expanded, else `DATABASE_URL`; `url`
   * `null` when there is none, with `unset` naming the config's variable that is not set, if that is why.
   */
  replayUrl(): { readonly url: string | null; readonly unset: string | null };
}

/** The settings of the project at `projectRoot`, `${NAME}`s read from `env`. */
export function runtimeConfig(projectRoot: string, env: Readonly<Record<string, string | undefined>>): RuntimeConfig {
  let read: ConfigFile | undefined;
  const file = () => (read ??= readConfigFile(projectRoot));
  const config = () => file().config;
  const url = (): string | null => {
    const written = config().url;
    return written === undefined ? null : expandConfigUrl(written, env, file().file ?? projectRoot);
  };
  return {
    url,
    database: () => {
      const database = config().database;
      return database === undefined ? null : path.resolve(projectRoot, database);
    },
    schema: () => config().schema,
    tableName: () => config().tableName ?? DEFAULT_TABLE_NAME,
    driver: () => cliDriverOf(configDriver(file())),
    databaseSearched: () => describeConfigLookup(projectRoot),
    replayUrl: () => {
      try {
        return { url: url() ?? env.DATABASE_URL ?? null, unset: null };
      } catch (error) {
        if (error instanceof StepwiseError && error.is("USAGE") && error.details.variable !== undefined) return { url: null, unset: error.details.variable };
        throw error;
      }
    },
  };
}

/** The config's driver as the runtime commands open it; a Worker's driver needs `--driver` instead. */
function cliDriverOf(driver: StepwiseSettings["driver"]): CliDriverName | null {
  if (driver === null || !WORKER_DRIVERS.includes(driver)) return driver as CliDriverName | null;
  throw usageError(
    `The config's driver is "${driver}", which runs only inside a Cloudflare Worker: the stepwise bin cannot open it. Pass --driver and --db for a local copy of the database (such as --driver sql-js --db <the .sqlite file wrangler keeps under .wrangler/state>).`,
  );
}
