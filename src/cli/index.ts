/**
 * The embeddable command line: `import { createCli } from "stepwise-migrate/cli"`.
 *
 * @packageDocumentation
 */
export { createCli } from "./embedded-cli.js";
export { reportError } from "./create-cli.js";
export type { Cli, CreateCliProps, ReportErrorOptions } from "./create-cli.js";
export type { CliContext, CliIo } from "./cli-context.js";
export { createPalette, formatHistory, formatInfo, formatResult, formatStatus } from "./format.js";
export type { Palette } from "./format.js";
export { collectDatabaseInfo } from "./database-info.js";
export type { DatabaseInfo, SchemaObjectCounts } from "./database-info.js";
export { formatBaseline, formatRehearsal, formatRestore, formatVerification } from "./format-safety.js";
export { createProgressDisplay, DEFAULT_PLAIN_PROGRESS_INTERVAL_MS } from "./progress-display.js";
export type { ProgressDisplay, ProgressDisplayOptions } from "./progress-display.js";
export { CLI_DRIVER_NAMES, DEFAULT_CLI_DRIVER, parseDriverName } from "./driver-names.js";
export type { CliDriverName } from "./driver-names.js";
export { betterSqlite3Loader } from "./better-sqlite3-loader.js";
export { connectBetterSqlite3 } from "./open-database.js";
export type {
  BetterSqlite3Modules,
  DriverConnect,
  NativeConnection,
  DriverConnector,
  DriverLoader,
  DriverLoaders,
  OpenDatabaseOptions,
  OpenedDatabase,
  OpenMode,
  CommandMode,
} from "./open-database.js";
export { connectPostgres, DEFAULT_PG_CONNECT_TIMEOUT_MS } from "./open-postgres.js";
export type { PostgresModules } from "./open-postgres.js";
export { connectLibsqlClient } from "./open-libsql-client.js";
export type { LibsqlClientModules } from "./open-libsql-client.js";
export type { CliManager, UrlDriverConnect } from "./open-database.js";
export { redactConnectionString } from "./secrets.js";
export { AsyncBackupUnsupportedError } from "./backup-refusals.js";
export { NoDatabaseGivenError } from "./no-database-error.js";
export type { DatabaseLookup } from "./no-database-error.js";
