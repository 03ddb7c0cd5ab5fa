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
 */
export function createCli<R extends MigrationRegistry>(props: CreateCliProps<R>): Cli {
  if (props.drivers !== undefined && Object.keys(props.drivers).length === 0) throw new TypeError("createCli: drivers offers no driver; pass at least one, or leave drivers out for better-sqlite3.");
  return createCliWith({ ...props, drivers: props.drivers ?? { "better-sqlite3": betterSqlite3Loader } });
}
