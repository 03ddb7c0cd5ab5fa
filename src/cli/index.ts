/**
 * The embeddable command line: `import { createCli } from "stepwise-migrate/cli"`.
 *
 * @packageDocumentation
 */
export { createCli } from "./embedded-cli.js";
export type { Cli, CreateCliProps } from "./create-cli.js";
export type { CliContext, CliIo } from "./cli-context.js";
export type { Palette } from "./format.js";
export type { CliDriverName } from "./driver-names.js";
export { betterSqlite3Loader } from "./better-sqlite3-loader.js";
export type { DriverConnect, NativeConnection, DriverLoader, DriverLoaders, OpenDatabaseOptions, OpenedDatabase, OpenMode, CliManager, UrlDriverConnect } from "./open-database.js";
export { connectPostgres } from "./open-postgres.js";
export type { PostgresModules } from "./open-postgres.js";
export { connectLibsqlClient } from "./open-libsql-client.js";
export type { LibsqlClientModules } from "./open-libsql-client.js";
export type { DatabaseLookup } from "./no-database-error.js";
