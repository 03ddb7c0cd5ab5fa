/**
 * The embeddable command line: `import { createCli } from "stepwise-migrate/cli"`.
 *
 * @packageDocumentation
 */
export { createCli } from "./embedded-cli.js";
export type { Cli, CreateCliProps } from "./create-cli.js";
export type { CliContext, CliIo } from "./cli-context.js";
export { betterSqlite3Loader } from "./better-sqlite3-loader.js";
export { connectPostgres } from "./open-postgres.js";
export { connectLibsqlClient } from "./open-libsql-client.js";
