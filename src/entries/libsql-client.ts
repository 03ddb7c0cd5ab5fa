/**
 * `stepwise-migrate/libsql-client`: migrate a libSQL database through an `@libsql/client` `Client`
 * (a `file:` URL, Turso or sqld). Every method returns a promise. The safety nets, imported from
 * `stepwise-migrate`, take this entry's manager; verify and baseline replay on its `scratchClient`,
 * and the file backups are refused (`openFile`). Loads no database library.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, defineMigration } from "../drivers/libsql-client.js";
export type { LibsqlClientConnection, LibsqlClientMigrationManagerProps } from "../drivers/libsql-client.js";
export type { AsyncBatchHandler, AsyncMigrationContext } from "../core/async-batches.js";
