/**
 * The embeddable command line: `import { createCli } from "stepwise-migrate/cli"`. Its default driver,
 * better-sqlite3, is imported statically, as an app that bundles its own CLI needs.
 *
 * @packageDocumentation
 */
export type { Cli, CliContext, CliIo, CreateCliProps } from "./cli-props.js";
export { connectLibsqlClient, connectPostgres } from "./open-database.js";
import Database from "better-sqlite3";
import type { MigrationRegistry } from "../core/types.js";
import { AsyncMigrationManager, MigrationManager } from "../drivers/better-sqlite3.js";
import type { Cli, CreateCliProps } from "./cli-props.js";
import { createCli as createCliWith } from "./create-cli.js";
import { connectBetterSqlite3, type DriverLoader } from "./open-database.js";

/** Opens databases with better-sqlite3. */
export const betterSqlite3Loader: DriverLoader = async () => connectBetterSqlite3({ Database, MigrationManager, AsyncMigrationManager });

/**
 * Builds the runtime command line, embeddable in an app's own binary; `drivers` defaults to better-sqlite3 alone.
 *
 * ```ts
 * import { createCli } from "stepwise-migrate/cli";
 * import { migrations } from "./generated/registry.js";
 * process.exitCode = await createCli({ migrations, database: "data/app.db" }).run(process.argv.slice(2));
 * ```
 */
export function createCli<R extends MigrationRegistry>(props: CreateCliProps<R>): Cli {
  return createCliWith({ ...props, drivers: props.drivers ?? { "better-sqlite3": betterSqlite3Loader } });
}
