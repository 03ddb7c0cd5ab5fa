/**
 * `stepwise/libsql-client`: migrate a libSQL database through `@libsql/client`, a local `file:` URL
 * or a remote one (Turso, sqld). `migrate` and `MigrationManager` take the app's `Client`; every
 * method returns a promise. The safety nets (rehearsal, backups, restore, baseline, verification,
 * repair) are not wired to it. Importing this entry loads no database library: the app brings its
 * own client.
 *
 * @packageDocumentation
 */
export {
  MigrationManager,
  migrate,
  defineMigration,
  createLibsqlClientDriver,
  classifyLibsqlClientError,
  isRemoteClient,
  LIBSQL_CLIENT_FILE_CAPABILITIES,
  LIBSQL_CLIENT_REMOTE_CAPABILITIES,
} from "../drivers/libsql-client.js";
export type { LibsqlClientConnection, LibsqlClientMigrationDefinition, LibsqlClientMigrationManagerProps } from "../drivers/libsql-client.js";
export { createLibsqlClientDialect } from "../drivers/libsql-client-dialect.js";
export type { LibsqlClientDialectOptions } from "../drivers/libsql-client-dialect.js";
