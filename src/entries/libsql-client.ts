/**
 * `stepwise-migrate/libsql-client`: migrate a libSQL database through `@libsql/client`, a local `file:` URL
 * or a remote one (Turso, sqld). `migrate` and `MigrationManager` take the app's `Client`; every
 * method returns a promise. Importing this entry loads no database library: the app brings its own
 * client.
 *
 * The safety nets are imported from `stepwise-migrate` and take this entry's manager: `rehearseUp` runs
 * the plan in a write transaction rolled back at the end, `verifySchema` and `baselineDatabase` replay
 * on the manager's `scratchClient`, and the repairs write the history. The file backups are refused
 * by capability (`openFile`): the client reaches no second file.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, defineMigration } from "../drivers/libsql-client.js";
export type { LibsqlClientConnection, LibsqlClientMigrationManagerProps } from "../drivers/libsql-client.js";
export type { AsyncBatchHandler, AsyncMigrationContext } from "../core/async-batches.js";
