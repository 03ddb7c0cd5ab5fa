/**
 * `stepwise/libsql`: migrate a local database through the `libsql` package (Turso's embedded
 * libSQL). `migrate` and `MigrationManager` take libsql's own `Database`. The safety nets that read
 * through the driver (rehearsal, baseline, verification, repair, the schema snapshot) are exported
 * here as from every entry; rehearsal copies the database with `VACUUM INTO` a private temporary
 * file, as libsql has no `serialize()`. libsql has no `backup()`, so online backups refuse with
 * `DRIVER_CAPABILITY_MISSING`. Importing this entry loads no other driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createLibsqlDriver, LIBSQL_CAPABILITIES } from "../drivers/libsql.js";
export type { Database } from "../drivers/libsql.js";
// Safety nets: standalone functions that take the manager, so an app bundles only those it imports.
export * from "./safety-nets.js";
