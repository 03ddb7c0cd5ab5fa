/**
 * `createCli` as `stepwise-migrate/cli` exports it: the runtime CLI with better-sqlite3 as its driver unless
 * the app passes others in `drivers`.
 */
import { createCli as createCliWith, type Cli, type CreateCliProps } from "./create-cli.js";
import { betterSqlite3Loader } from "./better-sqlite3-loader.js";
import type { MigrationRegistry } from "../core/types.js";

/**
 * Builds the runtime command line, embeddable in an app's own binary:
 *
 * ```ts
 * import { createCli } from "stepwise-migrate/cli";
 * import { migrations } from "./generated/registry.js";
 * process.exitCode = await createCli({ migrations, database: "data/app.db" }).run(process.argv.slice(2));
 * ```
 *
 * `drivers` defaults to better-sqlite3 alone, imported statically so a bundler resolves it.
 */
export function createCli<R extends MigrationRegistry>(props: CreateCliProps<R>): Cli {
  return createCliWith({ ...props, drivers: props.drivers ?? { "better-sqlite3": betterSqlite3Loader } });
}
